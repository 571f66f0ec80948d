package clinical_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// A task in the inbox is passed on or cancelled: each a new version, by the
// user acting, with the reason in the task and its audit event; a closed
// task cannot change, and bad input names the field and writes nothing.
func TestTaskReassignAndCancel(t *testing.T) {
	ctx := context.Background()
	rp := newRecordPractice(t)
	recep, gp := rp.as("reception"), rp.as("dr.patel")
	task, err := recep.AddTask(ctx, clinical.TaskInput{PatientRef: rp.pid, Text: "Chase discharge letter", Due: "2026-11-25", To: "dr.patel"})
	if err != nil {
		t.Fatal(err)
	}

	var ve *record.ValidationError
	if _, err := gp.ReassignTask(ctx, task.ID, "nobody", 0); !errors.As(err, &ve) || ve.Field != "to" || ve.Value != "nobody" {
		t.Fatalf("reassign to an unknown user: %v", err)
	}
	if _, err := gp.ReassignTask(ctx, task.ID, "dr.patel", 0); !errors.As(err, &ve) || ve.Field != "to" {
		t.Fatalf("reassign to whom it is already for: %v", err)
	}
	moved, err := gp.ReassignTask(ctx, task.ID, "nurse.jones", task.Version)
	if err != nil {
		t.Fatal(err)
	}
	if moved.To != "nurse.jones" || moved.Version != task.Version+1 || moved.RecordedBy != "dr.patel" || moved.Status != "open" {
		t.Fatalf("reassigned: %+v", moved)
	}
	var ce *record.ConflictError
	if _, err := gp.ReassignTask(ctx, task.ID, "", task.Version); !errors.As(err, &ce) {
		t.Fatalf("a stale version must conflict: %v", err)
	}
	back, err := gp.ReassignTask(ctx, task.ID, "", 0)
	if err != nil || back.To != "" {
		t.Fatalf("back to anyone: %+v %v", back, err)
	}

	seq := lastSeq(rp)
	for _, bad := range []string{"", "  ", "two\nlines"} {
		if _, err := gp.CancelTask(ctx, task.ID, bad, 0); !errors.As(err, &ve) || ve.Field != "reason" {
			t.Fatalf("cancel with reason %q: %v", bad, err)
		}
	}
	if evs := rp.events(seq); len(evs) != 0 {
		t.Fatalf("a refused cancel wrote %d audit events", len(evs))
	}
	done, err := gp.CancelTask(ctx, task.ID, "letter arrived by post", 0)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != "cancelled" || done.CancelReason != "letter arrived by post" || done.DoneBy != "dr.patel" || done.DoneAt.IsZero() {
		t.Fatalf("cancelled: %+v", done)
	}
	evs := rp.events(seq)
	if len(evs) != 1 || evs[0].Reason != "cancelled: letter arrived by post" || evs[0].User != "dr.patel" {
		t.Fatalf("audit of the cancel: %+v", evs)
	}
	if _, err := gp.CancelTask(ctx, task.ID, "again", 0); !errors.As(err, &ce) {
		t.Fatalf("cancelling a cancelled task: %v", err)
	}
	if _, err := gp.ReassignTask(ctx, task.ID, "nurse.jones", 0); !errors.As(err, &ce) {
		t.Fatalf("reassigning a cancelled task: %v", err)
	}
	if _, err := gp.DoneTask(ctx, task.ID, 0); !errors.As(err, &ce) {
		t.Fatalf("completing a cancelled task: %v", err)
	}
	open, _ := gp.Tasks(ctx, clinical.TaskFilter{})
	for _, x := range open {
		if x.ID == task.ID {
			t.Fatal("a cancelled task is still listed as open")
		}
	}
}

func lastSeq(rp *recordPractice) uint64 {
	evs := rp.events(0)
	return evs[len(evs)-1].Seq
}
