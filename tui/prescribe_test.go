package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/terminology"
)

// termsOf is the pickers' view of a real terminology (what commands adapts).
type termsOf struct{ tm *terminology.Terminology }

func (termsOf) Picked(string) {}

func (a termsOf) Search(ctx context.Context, text, picker, system, ecl string, limit int) ([]Code, error) {
	rs, err := a.tm.Search(ctx, text, terminology.SearchOptions{Picker: picker, System: system, ECL: ecl, Limit: limit})
	var out []Code
	for _, r := range rs {
		out = append(out, Code{r.System, r.Code, r.Term})
	}
	return out, err
}

func (a termsOf) MapLegacy(system, code string) ([]Code, error) { return nil, terminology.ErrNoMap }

func waitUntil(t *testing.T, tm *teatest.TestModel, m *Model, cond func(string) bool) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func([]byte) bool { return cond(m.LastFrame()) },
		teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	if t.Failed() {
		t.Fatalf("last frame:\n%s", m.LastFrame())
	}
}

// TestFlowPrescribeAllergyAlert: amoxicillin for a patient allergic to
// penicillin raises an alert that type-ahead cannot answer; it is answered
// on its own, the override asks a reason, and the reason is recorded.
func TestFlowPrescribeAllergyAlert(t *testing.T) {
	dir, svc := practice(t, 50)
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmn.Close()
	svc.Practice().SetDrugs(tmn)
	AlertGrace = 400 * time.Millisecond

	draftDebounce = time.Millisecond
	m := New(Options{Svc: svc, Terms: termsOf{tmn}, Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	waitFor(t, tm, m, "No recent patients yet")
	tm.Type("9993652814")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "O'CONNOR, Siobhan Mary", "ALLERGY: Penicillin")
	typeKeys(tm, "x")
	waitFor(t, tm, m, "Drug:")
	tm.Type("amoxicillin 500mg caps")
	waitFor(t, tm, m, "Amoxicillin 500mg capsules")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "Dose:")
	tm.Type("1 tds")
	typeKeys(tm, "enter")
	tm.Type("15")
	typeKeys(tm, "ctrl+s")
	// Type-ahead right behind the confirm: none of it may answer the alert.
	typeKeys(tm, "ctrl+o", "enter", "ctrl+a", "y", "enter")
	waitFor(t, tm, m, "SAFETY ALERT 1 of", "enicillin")
	// ... nor keys typed once it is on screen, within its grace period.
	typeKeys(tm, "ctrl+o", "enter", "ctrl+a", "enter")
	waitFor(t, tm, m, "Answer with:", "key(s) typed during the grace period were ignored")
	if f := m.LastFrame(); strings.Contains(f, "Reason for overriding") {
		t.Fatalf("type-ahead opened the override:\n%s", f)
	}
	l, _ := svc.Medications(context.Background(), "9993652814", clinical.ListOptions{All: true})
	for _, med := range l.Items {
		if strings.Contains(med.Code.Display, "Amoxicillin") && med.AuthorisedOn == "2026-11-24" {
			t.Fatal("type-ahead prescribed through the alert")
		}
	}
	// Answer each alert on its own.
	for i := 0; i < 10; i++ {
		f := m.LastFrame()
		if strings.Contains(f, "Prescribed") {
			break
		}
		if strings.Contains(f, "HIGH SAFETY ALERT") || strings.Contains(f, "enicillin") {
			typeKeys(tm, "ctrl+o")
			waitFor(t, tm, m, "Reason for overriding")
			tm.Type("tolerated amoxicillin in 2025, reaction was a non-allergic rash")
			typeKeys(tm, "enter")
		} else {
			typeKeys(tm, "ctrl+a")
		}
		waitUntil(t, tm, m, func(s string) bool {
			return strings.Contains(s, "Prescribed") || strings.Contains(s, "Answer with:") && !strings.Contains(s, "Reason for overriding")
		})
	}
	waitFor(t, tm, m, "Prescribed Amoxicillin 500mg capsules", "Record · Medication")
	// The record reloads after the write: wait for it before quitting, so no
	// read is still running when the test closes the store.
	waitFor(t, tm, m, "completed  24-Nov-2026")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	l, err = svc.Medications(context.Background(), "9993652814", clinical.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, med := range l.Items {
		for _, a := range med.Answers {
			if a.Answer == "override" && strings.Contains(a.Reason, "non-allergic rash") {
				found = true
			}
		}
	}
	if !found {
		for _, med := range l.Items {
			t.Logf("%s %s %+v", med.Code.Display, med.AuthorisedOn, med.Answers)
		}
		t.Fatal("no override with its reason recorded on the prescription")
	}
}
