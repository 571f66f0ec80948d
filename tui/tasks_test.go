package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// inboxPractice is a practice with tasks the tests know: one for dr.patel
// about a patient, overdue; one for anyone about no patient.
func inboxPractice(t *testing.T) (dir string, svc *clinical.Service, pid string, mine, pool *record.Task) {
	t.Helper()
	ctx := context.Background()
	dir, svc = practice(t, 50)
	found, err := svc.FindPatients(ctx, "kingsland", 1)
	if err != nil || len(found) == 0 {
		t.Fatalf("kingsland: %v", err)
	}
	pid = found[0].Patient.ID
	if mine, err = svc.AddTask(ctx, clinical.TaskInput{PatientRef: pid, Text: "Chase HbA1c result", Due: "2026-11-23", To: "dr.patel"}); err != nil {
		t.Fatal(err)
	}
	if pool, err = svc.AddTask(ctx, clinical.TaskInput{Text: "Sign the locum rota", To: ""}); err != nil {
		t.Fatal(err)
	}
	return dir, svc, pid, mine, pool
}

// selectTask moves the inbox's selection to the row showing text.
func selectTask(d *driver, text string) {
	d.t.Helper()
	for range 60 {
		d.keys("up")
	}
	for range 60 {
		for _, l := range strings.Split(d.screen(), "\n") {
			if strings.HasPrefix(l, "› ") && strings.Contains(l, text) {
				return
			}
		}
		d.keys("down")
	}
	d.t.Fatalf("no row %q to select:\n%s", text, d.screen())
}

func taskByID(t *testing.T, svc *clinical.Service, id string) *record.Task {
	t.Helper()
	ts, err := svc.Tasks(context.Background(), clinical.TaskFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x.ID == id {
			return x
		}
	}
	t.Fatalf("no task %s", id)
	return nil
}

// The task inbox from the keyboard: the user's own list and the team's,
// then done, reassign and cancel, each asking first and writing once
// through the service; enter opens the patient over the inbox.
func TestTaskInboxActs(t *testing.T) {
	ctx := context.Background()
	dir, svc, pid, mine, pool := inboxPractice(t)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.keys("f4")
	d.contains("Tasks")
	d.contains("Mine (")
	d.contains("Chase HbA1c result")
	d.contains("OVERDUE")
	d.contains("KINGSLAND, Kathleen") // the patient's name, not an id
	if strings.Contains(d.screen(), "Sign the locum rota") {
		t.Fatalf("a task for anyone shows under Mine:\n%s", d.screen())
	}
	d.keys("tab")
	d.contains("Sign the locum rota")
	d.keys("tab")
	d.contains("Sign the locum rota")
	d.contains("Chase HbA1c result")
	d.keys("tab") // back to Mine

	// enter opens the patient over the inbox; esc comes back to it.
	selectTask(d, "Chase HbA1c result")
	d.keys("enter")
	d.contains("KINGSLAND, Kathleen")
	d.contains("Record · Summary")
	d.contains("1 task(s) due") // the banner's slot
	d.keys("esc")
	d.contains("Chase HbA1c result")

	// done: asks, writes nothing until ctrl+s.
	selectTask(d, "Chase HbA1c result")
	d.keys("d")
	d.contains("Mark done: Chase HbA1c result?")
	if taskByID(t, svc, mine.ID).Status != "open" {
		t.Fatal("d alone marked the task done")
	}
	d.keys("ctrl+s")
	d.contains("Task done: Chase HbA1c result")
	if got := taskByID(t, svc, mine.ID); got.Status != "done" || got.DoneBy != "dr.patel" {
		t.Fatalf("after done: %+v", got)
	}
	d.contains("Mine (0)") // done: no longer in the list
	d.contains("no open tasks")

	// reassign: the pool's task to nurse.jones.
	d.keys("tab")
	selectTask(d, "Sign the locum rota")
	d.keys("r")
	d.contains("Give to someone else: Sign the locum rota")
	for range 10 {
		if strings.Contains(d.screen(), "  › nurse.jones") {
			break
		}
		d.keys("down")
	}
	d.keys("ctrl+s")
	d.contains("Task for nurse.jones: Sign the locum rota")
	if got := taskByID(t, svc, pool.ID); got.To != "nurse.jones" || got.Version != pool.Version+1 {
		t.Fatalf("after reassign: %+v", got)
	}

	if _, err := svc.AddTask(ctx, clinical.TaskInput{PatientRef: pid, Text: "Chase discharge letter", Due: "2026-11-25", To: "dr.patel"}); err != nil {
		t.Fatal(err)
	}

	// cancel: a reason is required; esc leaves the task as it was.
	d.keys("tab") // everyone's
	selectTask(d, "Sign the locum rota")
	d.keys("ctrl+x")
	d.contains("Cancel: Sign the locum rota")
	d.keys("ctrl+s")
	d.contains("Why it will not be done: required")
	d.typeText("rota done by the manager")
	d.keys("ctrl+s")
	d.contains("Task cancelled: Sign the locum rota")
	if got := taskByID(t, svc, pool.ID); got.Status != "cancelled" || got.CancelReason != "rota done by the manager" {
		t.Fatalf("after cancel: %+v", got)
	}

	// A task added elsewhere about a patient appears on the next tick; the
	// selection stays on the task it was on, though the new one sorts first.
	selectTask(d, "Chase discharge")
	if _, err := svc.AddTask(ctx, clinical.TaskInput{PatientRef: pid, Text: "Ring about the scan", Due: "2026-11-01", To: "dr.patel"}); err != nil {
		t.Fatal(err)
	}
	d.send(watchTickMsg{})
	d.contains("Ring about the scan")
	d.contains("› 25-Nov-2026 dr.patel")
}

// TestFlowTaskInbox: the real program: f4 opens the inbox, d then ctrl+s
// completes the user's task, and the store has it done.
func TestFlowTaskInbox(t *testing.T) {
	dir, svc, _, mine, _ := inboxPractice(t)
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "No recent patients yet")
	typeKeys(tm, "f4")
	waitFor(t, tm, m, "Mine (1)", "› 23-Nov-2026 dr.patel") // the user's one task, selected
	typeKeys(tm, "d")
	waitFor(t, tm, m, "Mark done: Chase HbA1c result?")
	typeKeys(tm, "ctrl+s")
	waitFor(t, tm, m, "Task done: Chase HbA1c result")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if got := taskByID(t, svc, mine.ID); got.Status != "done" {
		t.Fatalf("after the flow: %+v", got)
	}
}

// TestGoldenTaskInbox draws the inbox (everyone's list, a reassign form
// open) at 80x24 and 120x40.
func TestGoldenTaskInbox(t *testing.T) {
	dir, svc, _, _, _ := inboxPractice(t)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			d := &driver{t: t, m: newModel(t, dir, svc, w, h)}
			d.init()
			d.keys("f4")
			golden(t, fmt.Sprintf("tasks-mine-%dx%d", w, h), d.screen())
			d.keys("tab", "tab", "r")
			golden(t, fmt.Sprintf("tasks-reassign-%dx%d", w, h), d.screen())
		})
	}
}
