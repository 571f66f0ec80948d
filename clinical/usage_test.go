package clinical_test

import (
	"context"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// The practice's code usage counts what it records (a retracted entry does
// not count), names no patient, and is audited as one list.
func TestCodeUsageCountsWhatThePracticeRecords(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	gp := rp.as("dr.patel")
	pr, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: rp.pid, Code: "44054006"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: rp.pid, Code: "38341003"}); err != nil {
		t.Fatal(err)
	}
	if _, err := gp.Retract(ctx, pr.ID, "wrong patient", 0); err != nil {
		t.Fatal(err)
	}
	counts, err := gp.CodeUsage(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if counts["38341003"] != 1 || counts["44054006"] != 0 {
		t.Errorf("usage %v: want hypertension 1 and the retracted diabetes 0", counts)
	}
	evs, err := rp.as("admin").AuditEvents(ctx, clinical.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || (ev.Action == "list" && ev.Kind == record.Kind("code-usage") && ev.User == "dr.patel")
	}
	if !found {
		t.Error("the code usage read is not audited")
	}
}
