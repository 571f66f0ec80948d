package cohort

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures/embedded"
	"github.com/opengpsoc/gpsoc/record"
)

// Build reads every record a search needs through the services (the search
// right: managers and clinicians) into an index.
func Build(ctx context.Context, s *clinical.Service) (*Index, error) {
	return BuildKinds(ctx, s, nil)
}

// BuildKinds builds an index of some record kinds only (Def.Kinds; nil:
// all), for a search whose records come over the network.
func BuildKinds(ctx context.Context, s *clinical.Service, kinds []record.Kind) (*Index, error) {
	b := NewBuilder(false)
	if err := s.ScanKindsForSearch(ctx, kinds, b.Add); err != nil {
		return nil, err
	}
	return b.Build(), nil
}

// BuildPatient reads one patient (NHS number or id) into an index of one,
// with record ids, for an explanation.
func BuildPatient(ctx context.Context, s *clinical.Service, ref string) (*Index, error) {
	return BuildPatientWith(ctx, s, ref, "")
}

// BuildPatientWith reads one patient with the reason the user gave for
// reading a sensitive record ("" when none), which a server that keeps such
// reads behind a reason (gpsoc serve, in remote mode) is sent. It does not
// decide what is shown: withholding values is the explanation's and the
// rows' business.
func BuildPatientWith(ctx context.Context, s *clinical.Service, ref, reason string) (*Index, error) {
	b := NewBuilder(true)
	if _, err := s.PatientForSearchWith(ctx, ref, clinical.ReadOptions{Reason: reason}, b.Add); err != nil {
		return nil, err
	}
	return b.Build(), nil
}

// Fetched says where a search ran when its records were fetched from a FHIR
// server by standard search (the server cannot run it), and how many: the
// words the CLI and the registers screen show.
func Fetched(ix *Index) string {
	return fmt.Sprintf("in the workstation over standard FHIR search: %d patients, %d records fetched", ix.Len(), ix.Records)
}

// FetchedNote is the CLI's note of a search run over fetched records.
func FetchedNote(ix *Index, took time.Duration) string {
	return "searched " + Fetched(ix) + " in " + took.Round(time.Millisecond).String() +
		" (the server does not run gpsoc searches); slower than on a gpsoc server, which runs it where the data is"
}

// LoadDefs reads the definitions of the embedded registers directory, then
// those of dir (when not ""), whose ids replace embedded ones.
func LoadDefs(dir string) ([]*Def, error) {
	byID := map[string]*Def{}
	var order []string
	add := func(d *Def, where string) error {
		if d.Kind == KindSearch {
			return &SyntaxError{File: d.File, Pos: Pos{1, 1}, Msg: "a registers directory holds registers and indicators, not searches"}
		}
		if prev, ok := byID[d.ID]; ok && strings.HasPrefix(prev.File, where) {
			return &SyntaxError{File: d.File, Pos: d.IDPos, Msg: fmt.Sprintf("id %s is also defined in %s", d.ID, prev.File)}
		}
		if _, ok := byID[d.ID]; !ok {
			order = append(order, d.ID)
		}
		byID[d.ID] = d
		return nil
	}
	ents, err := fs.ReadDir(embedded.Registers, "registers")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".search") {
			continue
		}
		b, err := embedded.Registers.ReadFile(path.Join("registers", e.Name()))
		if err != nil {
			return nil, err
		}
		d, err := Parse("registers/"+e.Name(), string(b))
		if err != nil {
			return nil, err
		}
		if err := add(d, "registers/"); err != nil {
			return nil, err
		}
	}
	if dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.search"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			if _, err := os.Stat(dir); err != nil {
				return nil, record.Invalid("--registers", dir, "cannot read the directory: "+err.Error())
			}
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			d, err := Parse(f, string(b))
			if err != nil {
				return nil, err
			}
			if err := add(d, dir); err != nil {
				return nil, err
			}
		}
	}
	out := make([]*Def, 0, len(order))
	for _, id := range order {
		out = append(out, byID[id])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind == KindRegister
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Find returns the definition with an id (case-insensitive).
func Find(defs []*Def, id string) (*Def, error) {
	for _, d := range defs {
		if strings.EqualFold(d.ID, id) {
			return d, nil
		}
	}
	var ids []string
	for _, d := range defs {
		ids = append(ids, d.ID)
	}
	return nil, record.Invalid("register", id, "no register or indicator has this id ("+suggest(id, ids)+")")
}

// Purposes are what a run may be for besides a search (the CLI's search
// recall|task and register export): its audit event's query begins with it.
var Purposes = []string{"export", "recall/task from", "dry run of recall/task from"}

// Query is what the audit event names: the definition, its text's hash and the date.
func Query(d *Def, on int32) string {
	h := sha256.Sum256([]byte(d.Source))
	return fmt.Sprintf("%s %s %q (%s, sha256 %s) on %s", d.Kind, d.ID, d.Title, d.File, hex.EncodeToString(h[:])[:16], DayString(on))
}

// Row is one patient of a result, with the values that matched.
type Row struct {
	PatientID string     `json:"patientId"`
	Name      string     `json:"name"`
	NHSNumber string     `json:"nhsNumber,omitempty"`
	Sensitive bool       `json:"sensitive"`
	Status    string     `json:"status,omitempty"`
	Matched   []Evidence `json:"matched"`
}

// Rows lists a result's members (an indicator's denominator) in name order.
// A sensitive patient, or a row whose matching entries include a sensitive
// one, is listed flagged and without values unless withReason (the reason
// the user gave, audited with the run): never left out.
func (r *Run) Rows(res *Result, withReason bool) []Row {
	ix := r.e.ix
	var out []Row
	res.Members.Each(func(p int) {
		row := ix.Patients[p]
		m := r.Matched(res, p)
		sens := row.Sensitive
		for _, e := range m {
			sens = sens || e.Sensitive
		}
		if sens && !withReason {
			m = []Evidence{}
		}
		if m == nil {
			m = []Evidence{}
		}
		out = append(out, Row{PatientID: row.ID, Name: row.Name, NHSNumber: row.NHSNumber, Sensitive: sens,
			Status: res.Status(p), Matched: m})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Withhold empties an explanation's values when the record is sensitive and
// no reason was given; it reports whether it did.
func (x *Explanation) Withhold(patientSensitive, withReason bool) bool {
	sens := patientSensitive
	for _, l := range x.Lines {
		for _, e := range l.Evidence {
			sens = sens || e.Sensitive
		}
	}
	if !sens || withReason {
		return false
	}
	for i := range x.Lines {
		x.Lines[i].Evidence = nil
	}
	x.Withheld = true
	return true
}

// ExplainFor explains d for one patient (NHS number or id) on reference
// date R where the data is: on a server that runs searches (it reads the
// patient with the search right, withholds and audits there), else here
// over the patient's records read on their own, a sensitive record's
// entries withheld unless a reason is given, and the explanation audited
// with the reason. (gpsoc serve's own Group/$explain is the second case.)
func ExplainFor(ctx context.Context, s *clinical.Service, res Resolver, defs []*Def, d *Def, R int32, ref, reason string) (*Explanation, error) {
	var sx Explanation
	ok, err := s.ExplainOnServer(ctx, ServerText(d, defs), ref, DayString(R), reason, &sx)
	if err != nil {
		return nil, err
	}
	if ok {
		return &sx, nil
	}
	ix, err := BuildPatientWith(ctx, s, ref, strings.TrimSpace(reason))
	if err != nil {
		return nil, err
	}
	x, err := NewEngine(ix, res, defs).NewRun(R).Explain(d, 0)
	if err != nil {
		return nil, err
	}
	x.Withhold(ix.Patients[0].Sensitive, strings.TrimSpace(reason) != "")
	count := 0
	if x.In {
		count = 1
	}
	if err := s.AuditSearch(ctx, clinical.SearchRun{Action: "explain", Query: Query(d, R), PatientID: x.PatientID,
		Count: count, Reason: reason}); err != nil {
		return nil, err
	}
	return x, nil
}

// ServerRows are a server's search result as rows (the values as the server
// wrote them, in Note).
func ServerRows(sr *clinical.ServerSearch) []Row {
	rows := make([]Row, 0, len(sr.Members))
	for _, m := range sr.Members {
		r := Row{PatientID: m.PatientID, Name: m.Name, NHSNumber: m.NHSNumber, Status: m.Status, Sensitive: m.Sensitive,
			Matched: []Evidence{}}
		for _, s := range m.Evidence { // as the engine gave them: the rows a local run prints
			var e Evidence
			if json.Unmarshal([]byte(s), &e) == nil {
				r.Matched = append(r.Matched, e)
			}
		}
		if len(r.Matched) != len(m.Evidence) || len(m.Evidence) == 0 {
			r.Matched = r.Matched[:0] // a server that sent none (or one unreadable): its text
			for _, s := range m.Matched {
				r.Matched = append(r.Matched, Evidence{Role: "server", Note: s})
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// ServerText is what a server is sent to run d: the definition, then the
// registers it names (at any depth) as the caller holds them, each after a
// line of ---, so the server runs exactly what would run locally.
func ServerText(d *Def, defs []*Def) string {
	var b strings.Builder
	b.WriteString(d.Source)
	seen := map[string]bool{d.ID: true}
	var add func(x *Def)
	add = func(x *Def) {
		for _, id := range x.Registers() {
			r, err := Find(defs, id)
			if err != nil || seen[r.ID] {
				continue
			}
			seen[r.ID] = true
			b.WriteString("\n---\n")
			b.WriteString(r.Source)
			add(r)
		}
	}
	add(d)
	return b.String()
}
