package commands

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

// task reassign and task cancel: the inbox's actions as subcommands, with
// their refusals (no reason, an unknown user, a closed task) exiting as
// style.md says.
func TestTaskReassignCancelCLI(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	var task record.Task
	e.jsonOf(&task, "--as", "reception", "task", "add", smithNHS, "--text", "Chase discharge letter", "--to", "dr.patel")
	if stderr := e.want(ExitUsage, "--as", "dr.patel", "task", "reassign", task.ID, "--to", "nobody"); !strings.Contains(stderr, `"nobody"`) {
		t.Errorf("unknown user: %q", stderr)
	}
	var moved record.Task
	e.jsonOf(&moved, "--as", "dr.patel", "task", "reassign", task.ID, "--to", "nurse.jones")
	if moved.To != "nurse.jones" || moved.Version != task.Version+1 {
		t.Fatalf("reassigned: %+v", moved)
	}
	e.want(ExitConflict, "--as", "dr.patel", "task", "reassign", task.ID, "--to", "", "--if-version", "1")
	if stderr := e.want(ExitUsage, "--as", "nurse.jones", "task", "cancel", task.ID, "--reason", " "); !strings.Contains(stderr, "reason") {
		t.Errorf("blank reason: %q", stderr)
	}
	var gone record.Task
	e.jsonOf(&gone, "--as", "nurse.jones", "task", "cancel", task.ID, "--reason", "letter arrived")
	if gone.Status != "cancelled" || gone.CancelReason != "letter arrived" || gone.DoneBy != "nurse.jones" {
		t.Fatalf("cancelled: %+v", gone)
	}
	e.want(ExitConflict, "--as", "nurse.jones", "task", "done", task.ID)
}

// obs list shows each result's abnormal flag and the range it rests on; with
// no laboratory range, the observables table's cited interval, marked so.
func TestObsListFlagsAgainstTheReferenceTable(t *testing.T) {
	e := newPracticeEnv(t, false)
	terms := fakeTerms{"1000651000000109": "Serum potassium level"}
	for c, d := range testTerms {
		terms[c] = d
	}
	e.terms = terms
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	e.ok("--as", "dr.patel", "obs", "add", smithNHS, "--code", "1000651000000109", "--value", "5.9", "--unit", "mmol/L", "--date", "2026-11-20")
	e.ok("--as", "dr.patel", "obs", "add", smithNHS, "--code", "27113001", "--value", "80", "--unit", "kg", "--date", "2026-11-20")
	out := e.ok("--as", "dr.patel", "obs", "list", smithNHS)
	var k, w string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "1000651000000109"):
			k = l
		case strings.Contains(l, "27113001"):
			w = l
		}
	}
	if !strings.HasSuffix(k, "\tH\t3.5-5.3 (ref table)") {
		t.Errorf("potassium 5.9: %q", k)
	}
	if !strings.HasSuffix(w, "\t\t") {
		t.Errorf("a weight has no range and no flag: %q", w)
	}
	// The record's latest results say the same.
	rec := e.ok("--as", "dr.patel", "record", smithNHS)
	if !strings.Contains(rec, "latest\t1000651000000109\tSerum potassium level\t5.9 mmol/L\t2026-11-20") ||
		!strings.Contains(rec, "\tH\t3.5-5.3 (ref table)") {
		t.Errorf("record's latest potassium lacks its flag and range:\n%s", rec)
	}
}
