package clinical

import (
	"bytes"
	"context"
	"encoding/json"

	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	gojson "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Rejection is one refused input line.
type Rejection struct {
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

func (r Rejection) String() string {
	return fmt.Sprintf("line %d: %s %q: %s", r.Line, r.Field, r.Value, r.Reason)
}

// ImportSummary is what a bulk import did (or, dry, would do).
type ImportSummary struct {
	Read       int         `json:"read"`
	Written    int         `json:"written"`
	Unchanged  int         `json:"unchanged"`
	Rejected   int         `json:"rejected"`
	Rejections []Rejection `json:"rejections"`
}

// ImportOptions control a bulk import.
type ImportOptions struct {
	Format string // ndjson | csv | "" (guess from the first byte): read by interop's readers
	DryRun bool
	// Chunk is how many lines are written per transaction (default 5000);
	// the file is released between chunks so other processes get their turn.
	Chunk int
	// OnReject is called as each line is rejected (for streaming to stderr).
	OnReject func(Rejection)
	// Source names the system an entries import's history comes from: when
	// set, each entry is marked imported from it, its line's recordedBy and
	// recordedAt kept as the original author and time (a user's `NOUN
	// import` sets it; loading our own generated practice does not).
	Source string
}

func rejectionOf(line int, err error) Rejection {
	var ve *record.ValidationError
	var ce *record.ConflictError
	var nf *record.NotFoundError
	switch {
	case errors.As(err, &ve):
		return Rejection{Line: line, Field: ve.Field, Value: ve.Value, Reason: ve.Reason}
	case errors.As(err, &ce):
		return Rejection{Line: line, Field: "id", Value: ce.What, Reason: ce.Msg}
	case errors.As(err, &nf):
		return Rejection{Line: line, Field: "patientId", Value: nf.ID, Reason: nf.Error()}
	}
	return Rejection{Line: line, Field: "line", Value: "", Reason: err.Error()}
}

// LineReader yields a bulk import's raw records (JSON objects, a record's
// own encoding) with their line numbers: io.EOF at the end. A line the
// reader itself refuses comes back as a *record.ValidationError with a nil
// object (reported as a rejected line); any other error stops the run.
// interop's readers turn NDJSON and CSV files into one.
type LineReader func() (line int, obj []byte, err error)

// decodeStrict decodes one JSON object into e (a pointer), refusing unknown
// fields (a misspelt field would otherwise be silently dropped). Bulk imports
// spend much of their time here, so a line whose keys are all known fields
// (one scan, onlyKnownKeys) is decoded by goccy/go-json's fast decoder; any
// other line, or one it refuses, by goccy's strict streaming decoder, and
// a line that refuses is decoded again with encoding/json, whose errors name
// the field and the value.
func decodeStrict(b []byte, e any) error {
	rv := reflect.ValueOf(e)
	if onlyKnownKeys(b, keyTreeOf(rv.Type())) {
		if gojson.UnmarshalNoEscape(b, e) == nil {
			return nil
		}
		rv.Elem().SetZero() // what the failed decode filled in
	}
	return decodeStrictSlow(b, e)
}

// decodeStrictSlow is decodeStrict without the fast path.
func decodeStrictSlow(b []byte, e any) error {
	fast := gojson.NewDecoder(bytes.NewReader(b))
	fast.DisallowUnknownFields()
	ferr := fast.Decode(e)
	if ferr == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(e)
	if err == nil {
		err = ferr
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return record.Invalid(ute.Field, ute.Value, "must be %s", ute.Type.String())
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		f := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return record.Invalid(f, "", "unknown field")
	}
	return record.Invalid("line", truncate(string(b), 40), "not a JSON object: %s", msg)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ImportPatients reads patients (NDJSON or CSV) under the import rules:
// valid lines are written, a rejected line writes nothing and is reported,
// and an identical re-run changes nothing (lines count as unchanged).
func (s *Service) ImportPatients(ctx context.Context, lines func() (LineReader, error), o ImportOptions) (*ImportSummary, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	if o.Chunk <= 0 {
		o.Chunk = 5000
	}
	next, err := lines() // read only once the role allows it
	if err != nil {
		return nil, err
	}
	sum := &ImportSummary{Rejections: []Rejection{}}
	reject := func(rj Rejection) { sum.reject(rj, o) }
	var noNHS map[string]string // natural key -> id, for patients without an NHS number
	var written []*record.Patient
	// An index already loaded takes the new patients at the end; one loaded
	// later (or in another process) catches up through the change log, so
	// a run with no index keeps nothing (a million patients held to the end
	// are much for the collector to scan).
	keep := s.p.indexLoaded()
	flush := func(batch []bulkItem) error {
		var chunkWritten []*record.Patient
		var chunkRejects []Rejection
		var chunkUnchanged int
		err := s.store().Update(ctx, func(tx store.WTx) error {
			chunkWritten, chunkRejects, chunkUnchanged = chunkWritten[:0], chunkRejects[:0], 0
			for _, it := range batch {
				if it.err != nil {
					chunkRejects = append(chunkRejects, rejectionOf(it.line, it.err))
					continue
				}
				pp := it.e.(*preparedPatient)
				p := pp.Patient
				st, err := s.importOne(tx, pp, &noNHS)
				switch {
				case err != nil:
					chunkRejects = append(chunkRejects, rejectionOf(it.line, err))
				case st == "unchanged":
					chunkUnchanged++
				default:
					chunkWritten = append(chunkWritten, p)
				}
			}
			if o.DryRun {
				return errDryRun
			}
			return nil
		})
		if err != nil && err != errDryRun {
			return err
		}
		for _, rj := range chunkRejects {
			reject(rj)
		}
		sum.Unchanged += chunkUnchanged
		sum.Written += len(chunkWritten)
		if !o.DryRun && keep {
			written = append(written, chunkWritten...)
		}
		return nil
	}
	read, err := s.bulk(ctx, next, o.Chunk, func(obj []byte) (record.Entity, error) {
		p := &record.Patient{}
		if err := decodeStrict(obj, p); err != nil {
			return nil, err
		}
		if o.Source != "" && p.Imported == nil {
			// Registered from another system: who registered them there,
			// and when, is kept as data, as an entries import keeps it.
			p.Imported = &record.ImportedFrom{Source: o.Source, Author: p.RecordedBy, At: p.RecordedAt.UTC()}
		}
		s.stamp(&p.Meta)
		if err := p.Validate(); err != nil {
			return nil, err
		}
		return preparePatient(p)
	}, flush)
	sum.Read = read
	if err != nil {
		return sum, err
	}
	for _, p := range written {
		s.p.indexPut(p)
	}
	return sum, nil
}

var errDryRun = errors.New("dry run")

func (sum *ImportSummary) reject(rj Rejection, o ImportOptions) {
	sum.Rejected++
	sum.Rejections = append(sum.Rejections, rj)
	if o.OnReject != nil {
		o.OnReject(rj)
	}
}

// bulkItem is one input line, decoded and checked, or refused.
type bulkItem struct {
	line int
	e    record.Entity
	err  error // refused while decoding: reported in line order
}

// bulk runs a bulk import: lines are decoded and checked in one goroutine
// while chunks of them are written in this one, the practice file held
// between chunks (with pauses for other processes). A line the reader itself
// refuses (a bad CSV row) becomes a refused item; other read errors stop the
// run. It returns how many lines were read.
func (s *Service) bulk(ctx context.Context, next LineReader, chunk int, decode func([]byte) (record.Entity, error), write func([]bulkItem) error) (int, error) {
	batches := make(chan []bulkItem, 2) // decoding runs ahead while a commit syncs
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		line := 0
		defer func() {
			// The last line of defence on this goroutine (a panic here would
			// end the process): the run stops with an error; chunks already
			// committed stay, as after any read error.
			if r := recover(); r != nil {
				readErr = fmt.Errorf("internal error at or after line %d (please report this): %v", line, r)
			}
		}()
		var batch []bulkItem
		send := func() bool {
			select {
			case batches <- batch:
				batch = nil
				return true
			case <-stop:
				return false
			}
		}
		for {
			l, obj, err := next()
			line = l
			if err == io.EOF {
				break
			}
			it := bulkItem{line: line, err: err}
			if err != nil {
				var ve *record.ValidationError
				if obj != nil || !errors.As(err, &ve) {
					readErr = fmt.Errorf("line %d: %w", line, err)
					return
				}
			} else {
				it.e, it.err = decode(obj)
			}
			batch = append(batch, it)
			if len(batch) >= chunk && !send() {
				return
			}
		}
		if len(batch) > 0 {
			send()
		}
	}()
	defer close(stop)
	defer BatchGC()()
	hold := newBulkHold(s.p.st)
	defer hold.done()
	read := 0
	for batch := range batches {
		read += len(batch)
		if err := write(batch); err != nil {
			return read, err
		}
		hold.tick()
		if err := ctx.Err(); err != nil {
			return read, err
		}
	}
	return read, readErr
}

// preparedPatient is an imported patient with what needs no transaction
// done by the decoding goroutine, while the writer is busy with the chunk
// before: its id (a new one when the line gave none), its stored encoding
// as version 1, and its find row.
type preparedPatient struct {
	*record.Patient
	given string // the id the line gave, "" when none
	enc   []byte
	hash  string // record.HashCanonical(enc), made here, off the writing goroutine
	row   []byte
}

func preparePatient(p *record.Patient) (*preparedPatient, error) {
	pp := &preparedPatient{Patient: p, given: p.ID}
	if p.Registration.RegisteredOn == "" {
		p.Registration.RegisteredOn = p.RecordedAt.Format(record.DateLayout)
	}
	if p.ID == "" {
		p.ID = newID()
	}
	p.Version = 1
	enc, err := record.Canonical(p)
	p.Version = 0 // a create
	if err != nil {
		return nil, err
	}
	pp.enc, pp.hash, pp.row = enc, record.HashCanonical(enc), find.EncodePatientRow(findDoc(p))
	return pp, nil
}

// importOne writes one patient unless it is already there. The create is
// tried first: only when the store refuses it (the id or the NHS number is
// taken) is the holder looked up, to tell "unchanged" from a clash.
func (s *Service) importOne(tx store.WTx, pp *preparedPatient, noNHS *map[string]string) (string, error) {
	p := pp.Patient
	var existing *record.Patient
	if p.NHSNumber == "" && pp.given != "" {
		if e, err := tx.Get(record.KindPatient, pp.given); err == nil {
			existing = e.(*record.Patient)
		}
	}
	if existing == nil && p.NHSNumber == "" {
		if *noNHS == nil {
			m := map[string]string{}
			_ = tx.ForEach(record.KindPatient, func(e record.Entity) error {
				q := e.(*record.Patient)
				if q.NHSNumber == "" {
					m[naturalKey(q)] = q.ID
				}
				return nil
			})
			*noNHS = m
		}
		if id, ok := (*noNHS)[naturalKey(p)]; ok {
			if e, err := tx.Get(record.KindPatient, id); err == nil {
				existing = e.(*record.Patient)
			}
		}
	}
	if existing == nil {
		err := tx.Put(&store.Prepared{Entity: p, JSON: pp.enc, Hash: pp.hash})
		if err == nil {
			return s.imported(tx, pp, noNHS)
		}
		var ce *record.ConflictError
		if !errors.As(err, &ce) {
			return "", err
		}
		if existing = s.holder(tx, pp); existing == nil {
			return "", err
		}
	}
	if samePatient(existing, p) {
		return "unchanged", nil
	}
	if p.NHSNumber != "" && existing.NHSNumber == p.NHSNumber {
		return "", &record.ValidationError{Field: "nhsNumber", Value: p.NHSNumber,
			Reason: "already registered to patient " + existing.ID + " with different details (use patient update)"}
	}
	if pp.given != "" && existing.ID == pp.given {
		return "", &record.ValidationError{Field: "id", Value: pp.given, Reason: "already exists with different details (use patient update)"}
	}
	// A patient without an NHS number who matches another on name, date of
	// birth and postcode but differs otherwise is a new patient.
	if err := tx.Put(&store.Prepared{Entity: p, JSON: pp.enc, Hash: pp.hash}); err != nil {
		return "", err
	}
	return s.imported(tx, pp, noNHS)
}

// holder is the stored patient an imported one clashes with: the one with
// its id, else the one with its NHS number.
func (s *Service) holder(tx store.WTx, pp *preparedPatient) *record.Patient {
	if pp.given != "" {
		if e, err := tx.Get(record.KindPatient, pp.given); err == nil {
			return e.(*record.Patient)
		}
	}
	if pp.NHSNumber != "" {
		if e, err := tx.PatientByNHS(pp.NHSNumber); err == nil {
			return e
		}
	}
	return nil
}

// imported finishes a written patient: its find row and audit event.
func (s *Service) imported(tx store.WTx, pp *preparedPatient, noNHS *map[string]string) (string, error) {
	p := pp.Patient
	if p.NHSNumber == "" && *noNHS != nil {
		(*noNHS)[naturalKey(p)] = p.ID
	}
	if err := tx.SetSearchRow(p.ID, pp.row); err != nil {
		return "", err
	}
	ev := s.event("create", record.KindPatient, p.ID, p.ID, p.Version)
	ev.Reason = "import"
	return "written", tx.Append(ev)
}

func naturalKey(p *record.Patient) string {
	return strings.ToLower(p.Family + "|" + strings.Join(p.Given, " ") + "|" + p.BirthDate + "|" + p.Postcode)
}

// samePatient compares what an import line says with what is stored.
func samePatient(a, b *record.Patient) bool {
	x, y := *a, *b
	x.Meta, y.Meta = record.Meta{}, record.Meta{}
	x.Registration.RegisteredOn, y.Registration.RegisteredOn = "", ""
	if b.Registration.RegisteredOn != "" && a.Registration.RegisteredOn != b.Registration.RegisteredOn {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return bytes.Equal(xs, ys) && a.Sensitive == b.Sensitive
}

// bulkHold keeps the practice file open across the chunks of a bulk import,
// giving it up between chunks only when another process (a workstation,
// another import) is waiting for it.
type bulkHold struct {
	h       store.Holder
	release func() error
}

func newBulkHold(st store.Store) *bulkHold {
	h, ok := st.(store.Holder)
	if !ok {
		return &bulkHold{}
	}
	b := &bulkHold{h: h}
	if r, err := h.Hold(); err == nil {
		b.release = r
	}
	return b
}

// tick lets waiting processes in between chunks.
func (b *bulkHold) tick() {
	if b.release != nil {
		_ = b.h.Yield()
	}
}

func (b *bulkHold) done() {
	if b.release != nil {
		_ = b.release()
		b.release = nil
	}
}
