package fhir

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

// fuzzResolver resolves every reference to a fixed id, so the mapping runs
// as far as it can.
type fuzzResolver struct{}

func (fuzzResolver) ID(r *Reference, fhirType string) string { return "p1" }
func (fuzzResolver) User(r *Reference) (string, bool)        { return "dr.gp", true }
func (fuzzResolver) Who(r *Reference) string                 { return "dr.gp" }

// mapResource runs the one mapping from a resource to a record and the
// record's validation: the path every FHIR import takes.
func mapResource(r Resource) {
	rs := fuzzResolver{}
	var e record.Entity
	switch x := r.(type) {
	case *Patient:
		e, _, _ = PatientFrom(x, rs)
	case *Encounter:
		e, _, _ = ConsultationFrom(x, rs)
	case *Condition:
		e, _, _ = ProblemFrom(x, rs)
	case *Observation:
		_, _, _ = EntryFromObservation(x)
		e, _, _ = ObservationFrom(x, rs)
	case *MedicationRequest:
		e, _, _ = MedicationFrom(x, nil, rs)
		_, _ = IssueFrom(x, rs)
	case *MedicationStatement:
		e, _, _ = MedicationFromStatement(x, nil, rs)
	case *AllergyIntolerance:
		e, _, _ = AllergyFrom(x, rs)
	case *Immunization:
		e, _, _ = ImmunisationFrom(x, rs)
	case *Appointment:
		e, _, _ = AppointmentFrom(x, rs)
	case *Task:
		if IsRecall(x) {
			e, _, _ = RecallFrom(x, rs)
		} else {
			e, _, _ = TaskFrom(x, rs)
		}
	case *Procedure:
		_, _, _ = EntryFromProcedure(x)
		_, _ = ProcedureTime(x)
	case *Provenance:
		_, _ = RetractionFrom(x, rs)
	case *AuditEvent:
		_, _ = AuditEventFrom(x)
	case *Schedule:
		e, _, _ = ScheduleFrom(x, rs)
	case *Practitioner:
		_, _ = UserFrom(x)
	}
	if e != nil && !isNilEntity(e) {
		if err := e.Validate(); err == nil {
			// A record that validates holds no control characters.
			if err := record.CheckStrings(e); err != nil {
				panic("validated record fails the text checks: " + err.Error())
			}
		}
	}
}

func isNilEntity(e record.Entity) bool { return reflect.ValueOf(e).IsNil() }

// addSyntheaSeeds adds a few real bundles (small ones) to a corpus.
func addSyntheaSeeds(f *testing.F, n int) {
	paths, _ := filepath.Glob("testdata/synthea/*.json.gz")
	added := 0
	for _, p := range paths {
		if added == n {
			break
		}
		fh, err := os.Open(p)
		if err != nil {
			f.Fatal(err)
		}
		z, err := gzip.NewReader(fh)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := io.ReadAll(z)
		fh.Close()
		if len(b) > 200<<10 {
			continue
		}
		f.Add(b)
		added++
	}
}

// FuzzSplitBundle feeds any bytes to the Bundle splitter, then each entry to
// the resource parser and the mapping to records. Nothing may panic or hang,
// and a Bundle that splits with every entry parsed must be valid JSON as a
// whole (a truncated or malformed one is refused whole).
func FuzzSplitBundle(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"a"}},`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":[{"family":"Smith\u001b[2J","given":["Jo\nhn"]}],"birthDate":"1961-03-12","gender":"male"}}]}`))
	addSyntheaSeeds(f, 2)
	f.Fuzz(func(t *testing.T, b []byte) {
		bd, err := SplitBundle(b)
		if err != nil {
			return
		}
		all := true
		for _, e := range bd.Entry {
			if e.Resource == nil {
				continue
			}
			r, err := Parse(e.Resource)
			if err != nil {
				all = false
				continue
			}
			if _, raw := r.(*Raw); raw {
				all = false // unmodelled: kept as given, not validated (an import skips it)
			}
			mapResource(r)
			if _, err := Marshal(r); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		}
		if all && !json.Valid(b) {
			t.Fatalf("a malformed Bundle was split whole: %q", b)
		}
	})
}

// FuzzParseResource is one resource through Parse, the mapping and Marshal:
// a resource read and written again must be valid JSON.
func FuzzParseResource(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"a","name":[{"family":"Smith","given":["John"]}],"_birthDate":{"extension":[]},"birthDate":"1961-03-12"}`))
	f.Add([]byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"271649006"}]},"valueQuantity":{"value":120.50,"unit":"mm[Hg]"}}`))
	f.Add([]byte(`{"resourceType":"MedicationRequest","dosageInstruction":[{"text":"1 tablet twice a day"}]}`))
	f.Add([]byte(`{"resourceType":"Unmodelled","x":[1,2,{"y":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		mapResource(r)
		out, err := Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, raw := r.(*Raw); !raw && !json.Valid(out) {
			t.Fatalf("Parse then Marshal of %q wrote invalid JSON %q", b, out)
		}
		_ = bytes.TrimSpace(out)
	})
}
