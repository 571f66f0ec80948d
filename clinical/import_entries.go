package clinical

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	gojson "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ImportKinds are the kinds `gpsoc NOUN import` takes besides patients.
var ImportKinds = []record.Kind{record.KindConsultation, record.KindProblem, record.KindObservation,
	record.KindMedication, record.KindAllergy, record.KindImmunisation, record.KindAppointment, record.KindSession,
	record.KindTask, record.KindRecall}

// ImportEntries reads one kind's NDJSON (what `NOUN list -o ndjson` prints)
// under the import rules of patient import: each valid line is written with
// its own audit event, a rejected line writes nothing and is reported, and a
// line already in the record (same id and content, or without an id the same
// content for the same patient) counts as unchanged, so a re-run changes
// nothing. patientId may be the patient's id or NHS number. Codes are
// checked against the terminology. Imported appointments are history: they
// are not checked for clashes.
func (s *Service) ImportEntries(ctx context.Context, kind record.Kind, next LineReader, o ImportOptions) (*ImportSummary, error) {
	ok := false
	for _, k := range ImportKinds {
		ok = ok || k == kind
	}
	if !ok {
		return nil, record.Invalid("kind", string(kind), "cannot be imported this way")
	}
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	if o.Chunk <= 0 {
		o.Chunk = 5000
	}
	sum := &ImportSummary{Rejections: []Rejection{}}
	reject := func(rj Rejection) { sum.reject(rj, o) }
	known := map[string]map[string]string{} // patient id (or "" for sessions) -> content key -> id
	pats := map[string]*record.Patient{}    // patients of the lines so far, for the date checks
	flush := func(batch []bulkItem) error {
		var rejects []Rejection
		var written, unchanged int
		var added [][3]string
		err := s.store().Update(ctx, func(tx store.WTx) error {
			rejects, written, unchanged, added = rejects[:0], 0, 0, added[:0]
			for _, it := range batch {
				if it.err != nil {
					rejects = append(rejects, rejectionOf(it.line, it.err))
					continue
				}
				pe := it.e.(*preparedEntry)
				st, err := s.importEntry(tx, pe, known, pats)
				switch {
				case err != nil:
					rejects = append(rejects, rejectionOf(it.line, err))
				case st == "unchanged":
					unchanged++
				default:
					written++
					added = append(added, [3]string{pe.Head().PatientID, pe.key, pe.Head().ID})
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
		for _, a := range added {
			known[a[0]][a[1]] = a[2]
		}
		for _, rj := range rejects {
			reject(rj)
		}
		sum.Written += written
		sum.Unchanged += unchanged
		return nil
	}
	read, err := s.bulk(ctx, next, o.Chunk, func(obj []byte) (record.Entity, error) {
		e, _ := record.New(kind)
		if err := decodeStrict(obj, e); err != nil {
			return nil, err
		}
		if m := e.Head(); o.Source != "" && m.Imported == nil {
			// History from another system: who recorded it there, and when,
			// is kept as data (recordedBy becomes the importing user).
			m.Imported = &record.ImportedFrom{Source: o.Source, Author: m.RecordedBy, At: m.RecordedAt.UTC()}
		}
		if err := s.checkImportCodes(e); err != nil {
			return nil, err
		}
		if err := s.checkImported(e); err != nil {
			return nil, err
		}
		return s.prepareEntry(e)
	}, flush)
	sum.Read = read
	return sum, err
}

// checkImportCodes checks every code of a record against the terminology,
// filling a missing display.
func (s *Service) checkImportCodes(e record.Entity) error {
	check := func(field string, c *record.Code) error {
		if c == nil || c.Code == "" {
			return nil
		}
		got, err := s.Code(field, c.System, c.Code)
		if err != nil {
			return err
		}
		c.System = got.System
		if c.Display == "" {
			c.Display = got.Display
		}
		return nil
	}
	switch x := e.(type) {
	case *record.Problem:
		return check("code", &x.Code)
	case *record.Observation:
		return check("code", &x.Code)
	case *record.Allergy:
		if x.NKDA {
			return nil
		}
		if err := check("agent", &x.Agent); err != nil {
			return err
		}
		return check("finding", x.Finding)
	case *record.Immunisation:
		return check("code", &x.Code)
	case *record.Medication: // history: imported without the prescribing checks
		return check("code", &x.Code)
	case *record.Recall:
		return check("code", &x.Code)
	case *record.Consultation:
		for i := range x.Entries {
			if err := check(fmt.Sprintf("entries[%d].code", i), &x.Entries[i].Code); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkImported is the validation an imported record gets besides its codes
// being known: codes valid for their field, and an observation's value
// against its observable (implausible values stored and flagged).
func (s *Service) checkImported(e record.Entity) error {
	if err := s.checkCodes(e); err != nil {
		return err
	}
	if o, ok := e.(*record.Observation); ok {
		return CheckObservation(o, ValuesImported)
	}
	return nil
}

// contentKey is a record's content without who wrote it, when, or its version.
func contentKey(e record.Entity) string {
	b, err := gojson.Marshal(e)
	if err != nil {
		return ""
	}
	return keyOfEncoding(b)
}

// keyOfEncoding is the content key from a record's JSON: the encoding
// without id, version, recordedAt and recordedBy. Meta's fields come first
// and hold only strings and numbers, so they are cut out without decoding.
func keyOfEncoding(b []byte) string {
	if len(b) < 2 || b[0] != '{' {
		return string(b)
	}
	out := make([]byte, 1, len(b))
	out[0] = '{'
	i, dropped := 1, 0
	for dropped < 4 && i < len(b) && b[i] == '"' {
		kEnd := skipString(b, i)
		if kEnd < 0 || kEnd >= len(b) || b[kEnd] != ':' {
			return string(b)
		}
		v := kEnd + 1
		var vEnd int
		if b[v] == '"' {
			vEnd = skipString(b, v)
		} else {
			vEnd = v
			for vEnd < len(b) && b[vEnd] != ',' && b[vEnd] != '}' {
				vEnd++
			}
		}
		if vEnd < 0 || vEnd >= len(b) || b[v] == '{' || b[v] == '[' {
			return string(b)
		}
		switch string(b[i+1 : kEnd-1]) {
		case "id", "version", "recordedAt", "recordedBy":
			dropped++
		default:
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, b[i:vEnd]...)
		}
		i = vEnd
		if b[i] == ',' {
			i++
		}
	}
	// Whether a record came by an import (its mark, after recordedBy) is not
	// its content: a record marked on import and the same one unmarked agree.
	if dropped == 4 && bytes.HasPrefix(b[i:], []byte(`"imported":{`)) {
		if end := skipObject(b, i+len(`"imported":`)); end > 0 {
			i = end
			if i < len(b) && b[i] == ',' {
				i++
			}
		}
	}
	if i < len(b) && b[i] != '}' && len(out) > 1 {
		out = append(out, ',')
	}
	return string(append(out, b[i:]...))
}

// skipObject returns the index just after the JSON object starting at b[i], or -1.
func skipObject(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			k := skipString(b, j)
			if k < 0 {
				return -1
			}
			j = k - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// skipString returns the index just after the JSON string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// preparedEntry is an imported record with what needs no transaction done by
// the decoding goroutine: stamped and validated, its content key, and its
// stored encoding as version 1 under its id (a new one when the line gave
// none). A record whose patientId is an NHS number is finished by the writer,
// which resolves the patient first.
type preparedEntry struct {
	record.Entity
	given string // the id the line gave, "" when none
	key   string
	enc   []byte
	hash  string // record.HashCanonical(enc), made off the writing goroutine
}

func (s *Service) prepareEntry(e record.Entity) (*preparedEntry, error) {
	m := e.Head()
	pe := &preparedEntry{Entity: e, given: m.ID}
	if pid := strings.ReplaceAll(m.PatientID, " ", ""); len(pid) == 10 && isDigits(pid) {
		return pe, nil
	}
	return pe, s.finishEntry(pe)
}

// finishEntry stamps, validates, keys and encodes a record whose patient is known.
func (s *Service) finishEntry(pe *preparedEntry) error {
	m := pe.Head()
	m.Version = 0
	s.stamp(m)
	if err := pe.Validate(); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = newID()
	}
	m.Version = 1
	enc, err := record.Canonical(pe.Entity)
	m.Version = 0 // a create
	if err != nil {
		return err
	}
	pe.enc, pe.key, pe.hash = enc, keyOfEncoding(enc), record.HashCanonical(enc)
	return nil
}

func (s *Service) importEntry(tx store.WTx, pe *preparedEntry, known map[string]map[string]string, pats map[string]*record.Patient) (string, error) {
	e, m := pe.Entity, pe.Head()
	if pe.key == "" { // patientId is an NHS number
		p, err := resolvePatient(tx, strings.ReplaceAll(m.PatientID, " ", ""))
		if err != nil {
			return "", record.Invalid("patientId", m.PatientID, "no patient with this NHS number")
		}
		m.PatientID = p.ID
		if err := s.finishEntry(pe); err != nil {
			return "", err
		}
	}
	if err := s.checkWriteIn(tx, e, pats); err != nil {
		return "", err
	}
	// The same id with other content is refused; the same id and content is unchanged.
	sameID := func() (string, error) {
		cur, err := tx.Get(e.Kind(), pe.given)
		if err != nil {
			return "", nil
		}
		if contentKey(cur) == pe.key {
			return "unchanged", nil
		}
		return "", record.Invalid("id", pe.given, "already exists with different details")
	}
	pk := m.PatientID
	if known[pk] == nil {
		ks := map[string]string{}
		add := func(x record.Entity) error { ks[contentKey(x)] = x.Head().ID; return nil }
		if e.Kind() == record.KindSession || pk == "" {
			if err := tx.ForEach(e.Kind(), func(x record.Entity) error {
				if x.Head().PatientID == pk {
					return add(x)
				}
				return nil
			}); err != nil {
				return "", err
			}
		} else {
			es, err := tx.List(pk, e.Kind())
			if err != nil {
				return "", err
			}
			for _, x := range es {
				_ = add(x)
			}
		}
		known[pk] = ks
	}
	if id, ok := known[pk][pe.key]; ok {
		if pe.given != "" && id != pe.given {
			if st, err := sameID(); st != "" || err != nil {
				return st, err
			}
		}
		return "unchanged", nil
	}
	// A missing patient is found by Put (a NotFoundError naming patientId);
	// a taken id by its conflict.
	if err := tx.Put(&store.Prepared{Entity: e, JSON: pe.enc, Hash: pe.hash}); err != nil {
		var ce *record.ConflictError
		if pe.given != "" && errors.As(err, &ce) {
			if st, serr := sameID(); st != "" || serr != nil {
				return st, serr
			}
		}
		return "", err
	}
	ev := s.event("create", e.Kind(), m.ID, m.PatientID, m.Version)
	ev.Reason = "import"
	return "written", tx.Append(ev)
}
