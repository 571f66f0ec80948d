package fhir_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// refResolver resolves a Type/id reference to its id, and knows dr.patel.
type refResolver struct{}

func (refResolver) ID(r *fhir.Reference, want string) string {
	if r == nil {
		return ""
	}
	if id, ok := strings.CutPrefix(r.Reference, want+"/"); ok {
		return id
	}
	return ""
}
func (refResolver) User(r *fhir.Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	return userResolver{"dr.patel": true}.User(r)
}
func (rs refResolver) Who(r *fhir.Reference) string { return userResolver{"dr.patel": true}.Who(r) }

// oneOfEach is a record of every kind, as little as each needs.
func oneOfEach() []record.Entity {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	meta := func(id, pid string) record.Meta {
		return record.Meta{ID: id, Version: 1, PatientID: pid, Status: "active", RecordedAt: at, RecordedBy: "dr.patel"}
	}
	sct := func(code, display string) record.Code {
		return record.Code{System: record.SystemSNOMED, Code: code, Display: display}
	}
	v := 82.5
	pm := meta("p1", "")
	return []record.Entity{
		&record.Patient{Meta: pm, NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"},
		&record.Consultation{Meta: meta("c1", "p1"), Type: "surgery", Start: at, Clinician: "dr.patel", Text: "Cough"},
		&record.Problem{Meta: meta("pr1", "p1"), Code: sct("38341003", "Hypertensive disorder"), Significance: "major", Onset: "2020-01-01"},
		&record.Observation{Meta: meta("o1", "p1"), Code: sct("27113001", "Body weight"), Value: &v, Unit: "kg", Effective: at},
		&record.Medication{Meta: meta("m1", "p1"), Code: record.Code{System: record.SystemDMD, Code: "39732311000001104", Display: "Amoxicillin 500mg capsules"},
			Type: "acute", Dose: "1 tds", Quantity: 21, Unit: "capsule", Prescriber: "dr.patel", AuthorisedOn: "2026-11-24"},
		&record.Allergy{Meta: meta("a1", "p1"), Agent: sct("373270004", "Penicillin"), Type: "allergy"},
		&record.Immunisation{Meta: meta("i1", "p1"), Code: sct("1119349007", "COVID-19 vaccine"), Date: "2026-10-01"},
		&record.Appointment{Meta: record.Meta{ID: "ap1", Version: 1, PatientID: "p1", Status: "booked", RecordedAt: at},
			Clinician: "dr.patel", Start: at, Minutes: 10, Mode: "in-person"},
		&record.Task{Meta: record.Meta{ID: "t1", Version: 1, PatientID: "p1", Status: "open", RecordedAt: at}, Text: "Call back", Due: "2026-11-30"},
		&record.Recall{Meta: record.Meta{ID: "r1", Version: 1, PatientID: "p1", Status: "open", RecordedAt: at},
			Code: sct("38341003", "Hypertension review"), Due: "2027-01-01"},
		&record.Session{Meta: record.Meta{ID: "s1", Version: 1, Status: "active", RecordedAt: at}, Clinician: "dr.patel",
			Date: "2026-11-24", Start: "09:00", End: "10:00", SlotMinutes: 15},
	}
}

// The one mapping covers every record kind: each is in the table once, with
// a resource type that leads back to it, and a record of each kind goes
// out as its resource and comes back as the same kind through the table
// alone. A new record kind fails here until its row is added to
// fhir.Mappings, and then the server (types served, /metadata, reads,
// creates), the remote store and interop's exports and imports carry it.
func TestEveryKindIsMapped(t *testing.T) {
	seen := map[record.Kind]int{}
	for _, m := range fhir.Mappings {
		seen[m.Kind]++
	}
	for _, k := range record.Kinds {
		if seen[k] != 1 {
			t.Errorf("record kind %s is in the FHIR mapping table %d times, want once (add its row to fhir.Mappings)", k, seen[k])
			continue
		}
		typ := fhir.KindType(k)
		if typ == "" || !slices.Contains(fhir.KindsOfType(typ), k) || !slices.Contains(fhir.Types(), typ) {
			t.Errorf("kind %s: type %q does not lead back to it (types %v)", k, typ, fhir.Types())
		}
	}
	if len(fhir.Mappings) != len(record.Kinds) {
		t.Errorf("%d mappings for %d record kinds", len(fhir.Mappings), len(record.Kinds))
	}
	c := &fhir.Context{Practice: record.Practice{ODS: "B86001", Name: "Leeds Road"},
		Users: map[string]record.User{"dr.patel": {Name: "dr.patel", Role: record.RoleGP, Prescriber: true}}}
	covered := map[record.Kind]bool{}
	for _, e := range oneOfEach() {
		k := e.Kind()
		covered[k] = true
		rs := c.Resources(e)
		if len(rs) == 0 {
			t.Errorf("%s: no resources", k)
			continue
		}
		own := c.Resource(e, fhir.KindType(k))
		if own == nil || own.FHIRType() != fhir.KindType(k) || *own.Head().ID != e.Head().ID {
			t.Errorf("%s: its own resource is %v", k, own)
			continue
		}
		raw, err := fhir.Marshal(own)
		if err != nil {
			t.Fatal(err)
		}
		back, err := fhir.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v\n%s", k, err, raw)
		}
		got, _, err := fhir.RecordFrom(back, refResolver{})
		if err != nil {
			t.Errorf("%s: back from %s: %v\n%s", k, own.FHIRType(), err, raw)
			continue
		}
		if got.Kind() != k {
			t.Errorf("%s went out as %s and came back as a %s", k, own.FHIRType(), got.Kind())
		}
		if k != record.KindSession && got.Head().PatientID != "p1" && k != record.KindPatient {
			t.Errorf("%s: patient %q, want p1", k, got.Head().PatientID)
		}
	}
	for _, k := range record.Kinds {
		if !covered[k] {
			t.Errorf("kind %s has no sample in oneOfEach: add one so its mapping is exercised", k)
		}
	}
}

// A resource type that holds no record is named, not mapped to anything.
func TestRecordFromRefusesOtherTypes(t *testing.T) {
	r, err := fhir.Parse([]byte(`{"resourceType":"Organization","id":"o1","name":"Leeds Road"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fhir.RecordFrom(r, refResolver{}); err == nil || !strings.Contains(err.Error(), "Organization") {
		t.Fatalf("RecordFrom(Organization): %v, want an error naming the type", err)
	}
}
