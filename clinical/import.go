package clinical

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"

	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

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
	Format string // ndjson | csv | "" (guess from the first byte)
	DryRun bool
	// Chunk is how many lines are written per transaction (default 5000);
	// the file is released between chunks so other processes get their turn.
	Chunk int
	// OnReject is called as each line is rejected (for streaming to stderr).
	OnReject func(Rejection)
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

// lineReader yields raw records (JSON objects) with their line numbers.
type lineReader func() (line int, obj []byte, err error)

// maxLineBytes bounds one line of a bulk import (a record is a few hundred bytes).
const maxLineBytes = 16 << 20

func ndjsonLines(r io.Reader) lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), maxLineBytes)
	n := 0
	return func() (int, []byte, error) {
		for sc.Scan() {
			n++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			return n, b, nil
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return n + 1, nil, fmt.Errorf("longer than %d MiB: not one JSON object a line", maxLineBytes>>20)
			}
			return n, nil, err
		}
		return n, nil, io.EOF
	}
}

// csvLines turns CSV rows whose header names are JSON field names into JSON
// objects. Dotted names (registration.type) nest; given and flags split on ';' or spaces.
func csvLines(r io.Reader, kind record.Kind) (lineReader, error) {
	cr := csv.NewReader(&lineLimit{r: r, max: maxLineBytes})
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	e, _ := record.New(kind)
	types := jsonFieldTypes(reflect.TypeOf(e).Elem())
	// Every column must be a field: a misnamed one (dob for birthDate) is
	// named once, with the names to use, before any line is read.
	var unknown []string
	for _, h := range header {
		if _, ok := types[h]; !ok && h != "" {
			unknown = append(unknown, h)
		}
	}
	if len(unknown) > 0 {
		return nil, record.Invalid("csv header", strings.Join(unknown, ", "),
			"not a field of %s: the header names are the JSON field names (%s)", kind, strings.Join(CSVHeader(kind), ", "))
	}
	return func() (int, []byte, error) {
		row, err := cr.Read()
		if err != nil {
			// FieldPos is only defined for a row that was read: after an
			// error (a broken quote) it panics, so the line comes from the error.
			var pe *csv.ParseError
			switch {
			case err == io.EOF:
				return 0, nil, io.EOF
			case errors.As(err, &pe):
				return pe.StartLine, nil, &record.ValidationError{Field: "csv", Value: fmt.Sprintf("line %d, column %d", pe.Line, pe.Column), Reason: pe.Err.Error()}
			}
			var le *lineTooLong
			if errors.As(err, &le) {
				return le.line, nil, fmt.Errorf("longer than %d MiB: not a CSV row", maxLineBytes>>20)
			}
			return 0, nil, err
		}
		line, _ := cr.FieldPos(0)
		obj := map[string]any{}
		for i, v := range row {
			if i >= len(header) || strings.TrimSpace(v) == "" {
				continue
			}
			name := header[i]
			var val any = v
			switch types[name] {
			case reflect.Slice:
				if t := strings.TrimSpace(v); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
					if !json.Valid([]byte(t)) {
						return line, nil, record.Invalid(name, v, "not valid JSON")
					}
					val = json.RawMessage(t) // a list of objects, as CSVRow writes it
					break
				}
				sep := func(r rune) bool { return r == ';' || r == '|' || (name == "given" && r == ' ') }
				if strings.ContainsRune(v, ';') { // a ';' list keeps the spaces inside its items
					sep = func(r rune) bool { return r == ';' }
				}
				var items []string
				for _, it := range strings.FieldsFunc(v, sep) {
					if it = strings.TrimSpace(it); it != "" {
						items = append(items, it)
					}
				}
				val = items
			case reflect.String:
				if isDateColumn(name) {
					d, err := csvDate(name, v)
					if err != nil {
						return line, nil, err
					}
					val = d
				}
			case reflect.Bool:
				b, err := strconv.ParseBool(v)
				if err != nil {
					return line, nil, record.Invalid(name, v, "must be true or false")
				}
				val = b
			case reflect.Int, reflect.Float64:
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return line, nil, record.Invalid(name, v, "must be a number")
				}
				val = f
			}
			setPath(obj, strings.Split(name, "."), val)
		}
		b, err := json.Marshal(obj)
		return line, b, err
	}, nil
}

// lineLimit passes a reader through, failing once a line (a run of bytes
// without a newline) is longer than max: encoding/csv has no limit of its
// own and would read a file without newlines whole.
type lineLimit struct {
	r    io.Reader
	max  int
	run  int // bytes since the last newline
	line int // newlines seen
}

type lineTooLong struct{ line int }

func (e *lineTooLong) Error() string { return fmt.Sprintf("line %d is too long", e.line) }

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.run += len(b)
			break
		}
		l.run, l.line, b = 0, l.line+1, b[i+1:]
	}
	if l.run > l.max {
		return n, &lineTooLong{line: l.line + 1}
	}
	return n, err
}

func setPath(m map[string]any, path []string, v any) {
	for len(path) > 1 {
		sub, ok := m[path[0]].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[path[0]] = sub
		}
		m, path = sub, path[1:]
	}
	m[path[0]] = v
}

// jsonFieldTypes maps JSON names (dotted for nested structs) to their kinds.
func jsonFieldTypes(t reflect.Type) map[string]reflect.Kind {
	out := map[string]reflect.Kind{}
	for _, f := range jsonFields(t) {
		out[f.name] = f.kind
	}
	return out
}

type jsonField struct {
	name string // dotted for nested structs
	kind reflect.Kind
}

// jsonFields lists a record type's JSON fields in the order of its JSON,
// nested structs (not times) flattened with dotted names: the CSV columns.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type, prefix)
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
				walk(ft, prefix+name+".")
				continue
			}
			out = append(out, jsonField{prefix + name, ft.Kind()})
		}
	}
	walk(t, "")
	return out
}

func sniffFormat(br *bufio.Reader) string {
	for {
		b, err := br.Peek(1)
		if err != nil || len(b) == 0 {
			return "ndjson"
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n', 0xEF, 0xBB, 0xBF:
			if _, err := br.ReadByte(); err != nil {
				return "ndjson"
			}
			continue
		case '{':
			return "ndjson"
		}
		return "csv"
	}
}

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
func (s *Service) ImportPatients(ctx context.Context, r io.Reader, o ImportOptions) (*ImportSummary, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	if o.Chunk <= 0 {
		o.Chunk = 5000
	}
	br := bufio.NewReaderSize(r, 1<<20)
	format := o.Format
	if format == "" {
		format = sniffFormat(br)
	}
	var next lineReader
	switch format {
	case "ndjson", "json":
		next = ndjsonLines(br)
	case "csv":
		var err error
		if next, err = csvLines(br, record.KindPatient); err != nil {
			return nil, err
		}
	default:
		return nil, record.Invalid("format", format, "must be ndjson or csv")
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
func (s *Service) bulk(ctx context.Context, next lineReader, chunk int, decode func([]byte) (record.Entity, error), write func([]bulkItem) error) (int, error) {
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
