package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// The bulk imports' readers: NDJSON (one record's JSON a line, what a noun
// prints with -o ndjson) and CSV whose header names are the JSON field names,
// each turned into the clinical.LineReader the chunked import services take.

// maxLineBytes bounds one line of a bulk import (a record is a few hundred bytes).
const maxLineBytes = 16 << 20

func ndjsonLines(r io.Reader) clinical.LineReader {
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
func csvLines(r io.Reader, kind record.Kind) (clinical.LineReader, error) {
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

// ImportPatients reads patients, NDJSON or CSV (o.Format, else guessed from
// the first byte), and imports them by the chunked service, under its role,
// validation and audit: valid lines are written, a rejected line writes
// nothing and is reported, and an identical re-run changes nothing.
func ImportPatients(ctx context.Context, s *clinical.Service, r io.Reader, o clinical.ImportOptions) (*clinical.ImportSummary, error) {
	return s.ImportPatients(ctx, func() (clinical.LineReader, error) {
		br := bufio.NewReaderSize(r, 1<<20)
		format := o.Format
		if format == "" {
			format = sniffFormat(br)
		}
		switch format {
		case "ndjson", "json":
			return ndjsonLines(br), nil
		case "csv":
			return csvLines(br, record.KindPatient)
		}
		return nil, record.Invalid("format", format, "must be ndjson or csv")
	}, o)
}

// ImportEntries reads one kind's NDJSON (what `NOUN list -o ndjson` prints)
// and imports it by the chunked service (clinical.Service.ImportEntries).
func ImportEntries(ctx context.Context, s *clinical.Service, kind record.Kind, r io.Reader, o clinical.ImportOptions) (*clinical.ImportSummary, error) {
	return s.ImportEntries(ctx, kind, ndjsonLines(bufio.NewReaderSize(r, 1<<20)), o)
}
