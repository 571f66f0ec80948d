package pathology

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop/hl7v2"
	"github.com/opengpsoc/gpsoc/record"
)

// Input is one file or message to import: its name (for errors) and a way
// to read it.
type Input struct {
	Name string
	Read func() ([]byte, error)
}

// Summary is what an import did (design.md's bulk summary, with the
// inbox's own counts).
type Summary struct {
	Read       int                  `json:"read"`
	Written    int                  `json:"written"`
	Unchanged  int                  `json:"unchanged"`
	Rejected   int                  `json:"rejected"`
	Matched    int                  `json:"matched"`
	Unmatched  int                  `json:"unmatched"`
	AutoFiled  int                  `json:"autoFiled"`
	Corrected  int                  `json:"corrected"`
	Rejections []clinical.Rejection `json:"rejections"`
}

// ImportOptions control an import.
type ImportOptions struct {
	// DryRun parses and counts, and delivers nothing.
	DryRun bool
	// OnReject is called with each rejection as it happens.
	OnReject func(clinical.Rejection)
	// Chunk is how many reports are delivered per transaction (default 1000).
	Chunk int
}

type parsed struct {
	name    string
	reports []*record.Report
	err     error
}

// Import reads inputs and delivers their reports through the inbox (the
// acting user must be allowed to deliver: an interface user, a clinician
// or an admin). Files are parsed on every core while the previous chunk of
// reports is written; each chunk is one transaction, each report in it
// delivered (or refused) as DeliverReport would. A file that cannot be
// read as a report is rejected, naming it, and writes nothing.
func Import(ctx context.Context, s *clinical.Service, inputs []Input, o ImportOptions) (*Summary, error) {
	if o.Chunk <= 0 {
		o.Chunk = 1000
	}
	sum := &Summary{Rejections: []clinical.Rejection{}}
	reject := func(line int, name, reason string) {
		rj := clinical.Rejection{Line: line, Field: "FILE", Value: name, Reason: reason}
		sum.Rejected++
		sum.Rejections = append(sum.Rejections, rj)
		if o.OnReject != nil {
			o.OnReject(rj)
		}
	}
	// Parse in order-preserving parallel: results[i] is inputs[i]'s.
	results := make([]chan parsed, len(inputs))
	for i := range results {
		results[i] = make(chan parsed, 1)
	}
	work := make(chan int)
	// At most this many files are parsed ahead of the writer, so a large
	// directory is not held in memory whole.
	ahead := make(chan struct{}, 256)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer close(stop)
	for w := 0; w < max(1, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				in := inputs[i]
				data, err := in.Read()
				var rs []*record.Report
				if err == nil {
					rs, err = Parse(data)
				}
				results[i] <- parsed{in.Name, rs, err}
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range inputs {
			select {
			case ahead <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case work <- i:
			case <-stop:
				return
			}
		}
	}()
	var batch []*record.Report
	var where []string
	flush := func() error {
		defer func() { batch, where = batch[:0], where[:0] }()
		if len(batch) == 0 || o.DryRun {
			return nil
		}
		ds, errs, err := s.DeliverReports(ctx, batch)
		if err != nil {
			return err
		}
		for i, d := range ds {
			if errs[i] != nil {
				reject(1, where[i], errs[i].Error())
				continue
			}
			switch d.Outcome {
			case clinical.DeliveredDuplicate:
				sum.Unchanged++
				continue
			case clinical.DeliveredMatched:
				sum.Matched++
			case clinical.DeliveredUnmatched:
				sum.Unmatched++
			case clinical.DeliveredAutoFiled:
				sum.Matched++
				sum.AutoFiled++
			}
			sum.Written++
			if d.Corrected {
				sum.Corrected++
			}
		}
		return nil
	}
	for i := range inputs {
		p := <-results[i]
		<-ahead
		if p.err != nil {
			sum.Read++
			line, reason := errWhere(p.err)
			reject(line, p.name, reason)
			continue
		}
		for _, r := range p.reports {
			sum.Read++
			batch, where = append(batch, r), append(where, p.name)
			if len(batch) >= o.Chunk {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	wg.Wait()
	return sum, nil
}

// errWhere is the line a parse error names (an HL7 v2 message's segment line;
// 1 for JSON) and the reason without it, for the rejection line
// "line N: FILE "NAME": reason".
func errWhere(err error) (int, string) {
	var he *hl7v2.Error
	if errors.As(err, &he) && he.Line > 0 {
		return he.Line, "HL7 v2 " + strings.TrimPrefix(he.Error(), "line "+strconv.Itoa(he.Line)+": ")
	}
	return 1, err.Error()
}
