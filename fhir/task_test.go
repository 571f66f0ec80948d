package fhir_test

import (
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// A cancelled task goes out as a cancelled Task and comes back with who
// closed it and why (remote mode keeps the inbox's reason).
func TestCancelledTaskRoundTrip(t *testing.T) {
	c := &fhir.Context{Practice: record.Practice{ODS: "B86001", Name: "Leeds Road"},
		Users: map[string]record.User{"dr.patel": {Name: "dr.patel", Role: record.RoleGP}}}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	in := &record.Task{Meta: record.Meta{ID: "t1", Version: 3, PatientID: "p1", Status: "cancelled", RecordedAt: at, RecordedBy: "dr.patel"},
		Text: "Chase discharge letter", Due: "2026-11-25", To: "dr.patel", DoneAt: at, DoneBy: "dr.patel", CancelReason: "letter arrived by post"}
	raw, err := fhir.Marshal(c.TaskResource(in))
	if err != nil {
		t.Fatal(err)
	}
	back, err := fhir.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := fhir.TaskFrom(back.(*fhir.Task), patientResolver{userResolver{"dr.patel": true}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "cancelled" || got.CancelReason != in.CancelReason || got.DoneBy != "dr.patel" || !got.DoneAt.Equal(at) {
		t.Fatalf("round trip: %+v\n%s", got, raw)
	}
}

// patientResolver also knows patient p1.
type patientResolver struct{ userResolver }

func (patientResolver) ID(r *fhir.Reference, _ string) string {
	if r != nil && r.Reference == "Patient/p1" {
		return "p1"
	}
	return ""
}
