package fhir_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// userResolver knows the practice's users by their Practitioner references.
type userResolver map[string]bool

func (userResolver) ID(*fhir.Reference, string) string { return "" }
func (u userResolver) User(r *fhir.Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	id, ok := strings.CutPrefix(r.Reference, "Practitioner/")
	return id, ok && u[id]
}
func (u userResolver) Who(r *fhir.Reference) string {
	if n, ok := u.User(r); ok {
		return n
	}
	if r == nil {
		return ""
	}
	return r.Display
}

// A session goes out as a Schedule and comes back the same, in winter and in
// summer time, for a user and for a clinician who is not one, and entered in error.
func TestSessionScheduleRoundTrip(t *testing.T) {
	c := &fhir.Context{Practice: record.Practice{ODS: "B86001", Name: "Leeds Road"},
		Users: map[string]record.User{"dr.patel": {Name: "dr.patel", Role: record.RoleGP}}}
	rs := userResolver{"dr.patel": true}
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for _, se := range []*record.Session{
		{Meta: record.Meta{ID: "s1", Version: 1, Status: "active", RecordedAt: at}, Clinician: "dr.patel", Date: "2026-11-24", Start: "09:00", End: "10:00", SlotMinutes: 15},
		{Meta: record.Meta{ID: "s2", Version: 2, Status: "active", RecordedAt: at}, Clinician: "dr.patel", Date: "2026-07-01", Start: "14:00", End: "17:30", SlotMinutes: 10},
		{Meta: record.Meta{ID: "s3", Version: 1, Status: "active", RecordedAt: at}, Clinician: "Dr Locum (visiting)", Date: "2026-03-29", Start: "08:00", End: "12:00", SlotMinutes: 20},
		{Meta: record.Meta{ID: "s4", Version: 3, Status: record.StatusEnteredInError, RecordedAt: at,
			Retraction: &record.Retraction{Reason: "set up twice", By: "reception", At: at}}, Clinician: "dr.patel", Date: "2026-11-25", Start: "09:00", End: "09:30", SlotMinutes: 10},
	} {
		r := c.ScheduleResource(se)
		raw, err := fhir.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := fhir.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v\n%s", se.ID, err, raw)
		}
		sch, ok := back.(*fhir.Schedule)
		if !ok {
			t.Fatalf("%s parsed as %T", se.ID, back)
		}
		got, notes, err := fhir.ScheduleFrom(sch, rs)
		if err != nil {
			t.Fatalf("%s: %v\n%s", se.ID, err, raw)
		}
		if len(notes) != 0 {
			t.Errorf("%s: notes %v", se.ID, notes)
		}
		if got.Clinician != se.Clinician || got.Date != se.Date || got.Start != se.Start || got.End != se.End ||
			got.SlotMinutes != se.SlotMinutes || got.Status != se.Status {
			t.Errorf("%s: round trip gave %+v, want %+v\n%s", se.ID, got, se, raw)
		}
		if len(got.FHIRExtra) != 0 {
			t.Errorf("%s: the export's own elements came back as unmapped: %s", se.ID, got.FHIRExtra)
		}
		if se.ID == "s2" && !strings.Contains(string(raw), `"start":"2026-07-01T14:00:00+01:00"`) {
			t.Errorf("summer time: planningHorizon not in UK local time with its offset:\n%s", raw)
		}
		if se.ID == "s1" && !strings.Contains(string(raw), `"reference":"Practitioner/dr.patel"`) {
			t.Errorf("the clinician is not the Practitioner:\n%s", raw)
		}
	}
}

// Another server's Schedule (no slot length, a planning horizon in UTC) imports, flagged.
func TestForeignScheduleImports(t *testing.T) {
	in := `{"resourceType":"Schedule","id":"x","active":true,"actor":[{"reference":"Practitioner/99","display":"Dr Who"}],
	 "serviceType":[{"text":"GP"}],"planningHorizon":{"start":"2026-06-01T08:00:00Z","end":"2026-06-01T11:00:00Z"}}`
	r, err := fhir.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	se, notes, err := fhir.ScheduleFrom(r.(*fhir.Schedule), userResolver{})
	if err != nil {
		t.Fatal(err)
	}
	if se.Clinician != "Dr Who" || se.Date != "2026-06-01" || se.Start != "09:00" || se.End != "12:00" || se.SlotMinutes != 10 || len(notes) != 1 {
		t.Errorf("got %+v, notes %v", se, notes)
	}
	if err := se.Validate(); err != nil {
		t.Errorf("not a valid session: %v", err)
	}
	if !strings.Contains(string(se.FHIRExtra), "serviceType") {
		t.Errorf("serviceType not kept: %s", se.FHIRExtra)
	}
	if _, _, err := fhir.ScheduleFrom(&fhir.Schedule{ResourceType: "Schedule", Actor: []fhir.Reference{{Display: "Dr Who"}}}, userResolver{}); err == nil {
		t.Error("a Schedule with no planningHorizon made a session")
	}
}
