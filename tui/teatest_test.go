package tui

import (
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
)

func startProgram(t *testing.T, dir string, svc *clinical.Service) (*teatest.TestModel, *Model) {
	t.Helper()
	m := newModel(t, dir, svc, 120, 40)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	return tm, m
}

// waitFor waits until the screen shows every string. The terminal output is
// drawn as diffs, so the condition reads the model's last frame (stored
// atomically by View) rather than the byte stream.
func waitFor(t *testing.T, tm *teatest.TestModel, m *Model, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func([]byte) bool {
		f := m.LastFrame()
		for _, w := range want {
			if !strings.Contains(f, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	if t.Failed() {
		t.Fatalf("last frame:\n%s", m.LastFrame())
	}
}

func typeKeys(tm *teatest.TestModel, ks ...string) {
	for _, k := range ks {
		tm.Send(key(k))
	}
}

// TestFlowConsultSeenInJournal: find → open → consult with a coded entry and
// a blood pressure → save → the consultation is in the journal.
func TestFlowConsultSeenInJournal(t *testing.T) {
	dir, svc := practice(t, 50)
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "No recent patients yet")
	tm.Type("kingsland")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "KINGSLAND, Kathleen", "Record")
	typeKeys(tm, "c")
	waitFor(t, tm, m, "History:")
	tm.Type("Thirst for two weeks")
	typeKeys(tm, "tab", "tab", "tab")
	tm.Type("150/95")
	typeKeys(tm, "ctrl+o")
	waitFor(t, tm, m, "Add a coded entry")
	tm.Type("diab")
	waitFor(t, tm, m, "44054006")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "Coded entries")
	typeKeys(tm, "ctrl+s")
	waitFor(t, tm, m, "Consultation saved")
	waitFor(t, tm, m, "Record · Journal", "Thirst for two weeks")
	typeKeys(tm, "ctrl+q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if fm.Page() != "record" {
		t.Fatalf("final page %q, want record", fm.Page())
	}
	screen := ansi.Strip(fm.Render())
	for _, want := range []string{"Record · Journal", "Thirst for two weeks", "Diabetes mellitus type 2 (sct 44054006)", "Blood pressure 150/95 mmHg"} {
		if !strings.Contains(screen, want) {
			t.Errorf("journal lacks %q:\n%s", want, screen)
		}
	}
	// One write: the consultation and its observation are in the store.
	ix, _ := svc.Practice().Index(t.Context())
	hits := ix.Search(t.Context(), "kingsland", 1)
	l, err := svc.Consultations(t.Context(), hits[0].ID, clinical.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range l.Items {
		found = found || c.History == "Thirst for two weeks"
	}
	if !found {
		t.Error("the consultation is not in the store")
	}
}

// TestFlowDraftSurvivesCrash: text typed in a consultation is on disk before
// any save; a new program (the first one dropped without quitting) offers it back.
func TestFlowDraftSurvivesCrash(t *testing.T) {
	dir, svc := practice(t, 50)
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "No recent patients yet")
	tm.Type("kingsland")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter", "c")
	waitFor(t, tm, m, "History:")
	tm.Type("Chest pain on exertion")
	waitFor(t, tm, m, "draft saved")
	// The terminal closes: this program never quits, saves or flushes.
	t.Cleanup(func() { _ = tm.Quit() })

	drafts, _ := os.ReadDir(dir + "/drafts")
	if len(drafts) != 1 {
		t.Fatalf("drafts: %v", drafts)
	}
	if fi, _ := os.Stat(dir + "/drafts/" + drafts[0].Name()); fi.Mode().Perm() != 0o600 {
		t.Errorf("draft mode %v, want 0600", fi.Mode().Perm())
	}

	tm2, m2 := startProgram(t, dir, svc)
	waitFor(t, tm2, m2, "Find")
	tm2.Type("kingsland")
	waitFor(t, tm2, m2, "1 found")
	typeKeys(tm2, "enter", "c")
	waitFor(t, tm2, m2, "A draft of a consultation with this patient was kept", "Chest pain on exertion")
	typeKeys(tm2, "enter")
	waitFor(t, tm2, m2, "draft restored")
	typeKeys(tm2, "tab") // a key clears the notice; the restored draft is written again
	waitFor(t, tm2, m2, "draft saved")
	typeKeys(tm2, "ctrl+q")
	fm := tm2.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	c, ok := fm.top().(*consultPage)
	if !ok {
		t.Fatalf("final page %s, want consult", fm.Page())
	}
	if got := c.fields[0].Value(); got != "Chest pain on exertion" {
		t.Errorf("history after restore = %q", got)
	}
}

// TestFlowIdleLockEngages: the real program with its real idle timer — the
// practice's idle-lock is 1s here — locks by itself with a record open,
// hides it, and opens again only with the user's own passphrase.
func TestFlowIdleLockEngages(t *testing.T) {
	dir, svc := practice(t, 50)
	admin, _ := svc.Practice().As(t.Context(), "admin")
	if _, err := admin.SetPractice(t.Context(), clinical.SettingIdleLock, "1s"); err != nil {
		t.Fatal(err)
	}
	svc, _ = svc.Practice().As(t.Context(), "dr.patel") // sees the new setting
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: time.Now, DataDir: dir, Plain: true, Width: 120, Height: 40})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	tm.Type("kingsland")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "KINGSLAND, Kathleen")
	waitFor(t, tm, m, "Locked after being idle") // no key for a second
	if strings.Contains(m.LastFrame(), "KINGSLAND") {
		t.Fatalf("the record shows behind the lock:\n%s", m.LastFrame())
	}
	tm.Type("not it")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "wrong passphrase")
	tm.Type(testPassphrase)
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "KINGSLAND, Kathleen")
	typeKeys(tm, "ctrl+q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
