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
