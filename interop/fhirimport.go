package interop

import (
	"context"
	"runtime"
	"sort"
	"strconv"
	"sync"

	"github.com/google/uuid"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// FHIR R4 (UK Core) import (issue 9, design.md §5): a bulk import of history.
// The mapping is in fhir/; the writes are the services' (clinical.BulkImport):
// each bundle is written in one transaction with one audit event per record.

type outcome int

const (
	outNone outcome = iota
	outImported
	outSkipped
	outRejected
)

type fitem struct {
	file    string
	entry   int
	fullURL string
	base    string // RESTful base of fullUrl, for relative references
	res     fhir.Resource
	typ     string
	id      string // the resource's id
	fixed   bool   // skipped when read (not by the transaction, so kept if it is retried)
	raw     []byte // undecoded resource (decoded just before its unit is written)
	dres    fhir.Resource
	derr    error
	unit    *funit

	recID  string // record id this resource maps to
	kind   record.Kind
	target *ftarget // the record this resource was written into
	out    outcome
	why    string
}

// ftarget is a record to write, and the items that make it up.
type ftarget struct {
	e       record.Entity
	written bool
	same    bool
	user    *record.User
	first   *fitem
}

type funit struct {
	file     string
	items    []*fitem
	rejected bool // at parse time
	rejs     []FHIRRejection
}

type importer struct {
	b       *clinical.BulkImport
	o       FHIRImportOptions
	sum     *FHIRImportSummary
	byFull  map[string]*fitem
	byTID   map[string]*fitem
	byIdent map[string]*fitem
	skips   map[[2]string]int

	users    map[string]record.User
	practice record.Practice
	source   string // the practice an imported audit trail came from (its Organization)
}

var idNamespace = uuid.MustParse("5b0e6a1e-7c1c-4f0e-9a53-0b5e0f6a9d21")

// ImportFHIR imports Bundles (transaction, batch, collection, searchset…) and
// FHIR Bulk NDJSON. Each Bundle is written in one transaction, all or nothing;
// bulk NDJSON is written per patient (the patient and every record that
// refers to it). References (urn:uuid:, Type/id, absolute, conditional
// Type?identifier=system|value, and logical identifiers) resolve across every
// file of the import and against the practice. Patients are matched by NHS
// number, id and other identifiers; records by id, so a re-run changes nothing.
func ImportFHIR(ctx context.Context, s *clinical.Service, inputs []FHIRInput, o FHIRImportOptions) (*FHIRImportSummary, error) {
	// A bulk import of history needs the bulk-import right; an API
	// transaction is not an import: the server applies each of its entries
	// by the service action a single request takes.
	b, err := s.StartBulkImport(ctx)
	if err != nil {
		return nil, err
	}
	im := &importer{b: b, o: o, sum: &FHIRImportSummary{ByType: map[string]*FHIRTypeCount{}, Rejections: []FHIRRejection{}, Skips: []FHIRSkip{}},
		byFull: map[string]*fitem{}, byTID: map[string]*fitem{}, byIdent: map[string]*fitem{}, skips: map[[2]string]int{}}
	var units []*funit
	var pool []*fitem
	ps := make([]*parsed, len(inputs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ps[i] = parseGuarded(inputs[i])
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, p := range ps {
		if p.err != nil {
			return nil, p.err
		}
		for _, r := range p.rejs {
			im.reject(r)
		}
		im.sum.RejectedBundles += p.rejBundles
		units = append(units, p.units...)
		pool = append(pool, p.pool...)
	}
	all := pool
	for _, u := range units {
		all = append(all, u.items...)
	}
	for _, it := range all {
		im.index(it)
	}
	units = append(im.group(pool), units...)
	if err := im.loadUsers(ctx); err != nil {
		return nil, err
	}
	// Decode each bundle's remaining resources one unit ahead of the writer.
	ready := make(chan *funit, 4)
	go func() {
		defer close(ready)
		for _, u := range units {
			for _, it := range u.items {
				if it.raw != nil {
					it.dres, it.derr = fhir.Parse(it.raw)
				}
			}
			ready <- u
		}
	}()
	defer func() {
		for range ready {
		}
	}()
	var batch []*funit
	n := 0
	flush := func() error {
		err := im.runBatch(ctx, batch)
		batch, n = batch[:0], 0
		return err
	}
	for u := range ready {
		im.decoded(u)
		if err := ctx.Err(); err != nil {
			return im.sum, err
		}
		batch = append(batch, u)
		n += len(u.items)
		if n >= batchItems || len(ready) == 0 && n >= batchItems/4 {
			if err := flush(); err != nil {
				return im.sum, err
			}
		}
	}
	if err := flush(); err != nil {
		return im.sum, err
	}
	for _, it := range all {
		im.count(it)
	}
	for k, n := range im.skips {
		im.sum.Skips = append(im.sum.Skips, FHIRSkip{Type: k[0], Reason: k[1], Count: n})
	}
	sort.Slice(im.sum.Skips, func(i, j int) bool {
		a, b := im.sum.Skips[i], im.sum.Skips[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Reason < b.Reason
	})
	return im.sum, nil
}

// decoded takes the resources the decoder read for a unit (on the writer's
// goroutine: the channel orders it after the decoding) and rejects the unit
// when one of them is unreadable.
func (im *importer) decoded(u *funit) {
	bad := ""
	for _, it := range u.items {
		if it.raw == nil {
			continue
		}
		it.res, it.raw = it.dres, nil
		if it.derr != nil && bad == "" {
			bad = "entry " + strconv.Itoa(it.entry) + ": " + it.derr.Error()
		}
	}
	if bad != "" && !u.rejected {
		for _, it := range u.items {
			it.out = outRejected
		}
		im.reject(FHIRRejection{File: u.file, Entry: -1, Path: "Bundle", Reason: bad})
		im.sum.RejectedBundles++
		u.rejected = true
	}
}

func (im *importer) count(it *fitem) {
	tc := im.sum.ByType[it.typ]
	if tc == nil {
		tc = &FHIRTypeCount{}
		im.sum.ByType[it.typ] = tc
	}
	out, why := it.out, it.why
	if out == outNone && it.target != nil {
		switch {
		case it.target.written:
			out = outImported
		case it.target.same:
			out, why = outSkipped, "unchanged: already in the record"
		}
	}
	switch out {
	case outImported:
		tc.Imported++
		im.sum.Imported++
	case outRejected:
		tc.Rejected++
		im.sum.Rejected++
	default:
		if why == "" {
			why = "not written"
		}
		tc.Skipped++
		im.sum.Skipped++
		im.skips[[2]string{it.typ, why}]++
	}
}

func (im *importer) flag(n []fhir.Note) {
	for _, x := range n {
		if im.sum.Flagged == nil {
			im.sum.Flagged = map[string]int{}
		}
		im.sum.Flagged[x.Msg]++
	}
}
