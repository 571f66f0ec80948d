package tui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// otherWriter is a second handle on the practice file with its own service,
// as another process (a script, another workstation) has.
func otherWriter(t *testing.T, dir string) *clinical.Service {
	t.Helper()
	st2, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	other, err := clinical.New(clinical.Options{Store: st2, Now: clock, Source: "test"}).As(context.Background(), "dr.patel")
	if err != nil {
		t.Fatal(err)
	}
	return other
}

// An open find list follows the change feed: a patient registered by
// another writer appears at the next tick, the selection staying on the
// patient it was on; one renamed elsewhere leaves the list.
func TestFindResultsFollowOtherWriters(t *testing.T) {
	if _, ok := remoteTests.Load(t); ok {
		t.Skip("local store only")
	}
	ctx := context.Background()
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("kingsland")
	d.contains(`1 found for "kingsland"`)
	d.contains("› KINGSLAND, Kathleen")

	other := otherWriter(t, dir)
	p := &record.Patient{NHSNumber: "4010232137", Family: "Kingsland", Given: []string{"Aaron"}, BirthDate: "1990-02-03", Sex: "male", Postcode: "LS6 1AA"}
	if _, err := other.AddPatient(ctx, p); err != nil {
		t.Fatal(err)
	}
	d.contains(`1 found for "kingsland"`) // nothing until the tick
	d.send(watchTickMsg{})
	d.contains(`2 found for "kingsland"`)
	d.contains("KINGSLAND, Aaron")
	d.contains("› KINGSLAND, Kathleen") // the selection did not jump

	fam := "Kingsley"
	if _, err := other.UpdatePatient(ctx, p.ID, clinical.PatientUpdate{Family: &fam}); err != nil {
		t.Fatal(err)
	}
	d.send(watchTickMsg{})
	d.contains(`1 found for "kingsland"`)
	if strings.Contains(d.screen(), "Aaron") {
		t.Fatalf("a renamed patient stays in the list:\n%s", d.screen())
	}
}

// TestFlowFindIsLive: the real program with its real watch timer: a
// patient registered by another writer appears in the open list by itself.
func TestFlowFindIsLive(t *testing.T) {
	if _, ok := remoteTests.Load(t); ok {
		t.Skip("local store only")
	}
	dir, svc := practice(t, 50)
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true,
		Width: 120, Height: 40, Watch: 50 * time.Millisecond})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	tm.Type("kingsland")
	waitFor(t, tm, m, `1 found for "kingsland"`)
	other := otherWriter(t, dir)
	if _, err := other.AddPatient(context.Background(), &record.Patient{NHSNumber: "4010232137", Family: "Kingsland", Given: []string{"Aaron"},
		BirthDate: "1990-02-03", Sex: "male", Postcode: "LS6 1AA"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, tm, m, `2 found for "kingsland"`, "KINGSLAND, Aaron")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestFlowRecordIsLive: the real program with its real watch timer and a
// record open: a severe allergy recorded by another writer replaces
// "allergy status unknown" in the banner without a key pressed.
func TestFlowRecordIsLive(t *testing.T) {
	if _, ok := remoteTests.Load(t); ok {
		t.Skip("local store only")
	}
	dir, svc := practice(t, 50)
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true,
		Width: 120, Height: 40, Watch: 50 * time.Millisecond})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	tm.Type("kingsland")
	waitFor(t, tm, m, `1 found for "kingsland"`)
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "KINGSLAND, Kathleen", "allergy status unknown")
	other := otherWriter(t, dir)
	ix, _ := svc.Practice().Index(t.Context())
	pid := ix.Search(t.Context(), "kingsland", 1)[0].ID
	if _, err := other.AddAllergy(context.Background(), clinical.AllergyInput{PatientRef: pid, System: "sct", Code: "300916003",
		Reaction: "anaphylaxis", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, tm, m, func(s string) bool {
		return strings.Contains(s, "ALLERGY:") && !strings.Contains(s, "allergy status unknown")
	})
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
