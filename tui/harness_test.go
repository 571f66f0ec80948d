package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// testPassphrase is dr.patel's passphrase in every test practice.
const testPassphrase = "correct horse"

// fixedNow is the pinned clock of every test: 10:30 UK time on 24-Nov-2026.
var fixedNow = time.Date(2026, 11, 24, 10, 30, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

// dataDir is a temporary data dir removed when the test ends. Unlike
// t.TempDir it tries again for a moment: a program the test quit may still
// be finishing a command it started (a search, a draft, a read) that writes
// beside the practice, which a real process's exit would simply end.
func dataDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "gpsoc-tui-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		for range 50 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("remove the data dir: %v", err)
	})
	return dir
}

// practice builds a small deterministic practice in a temp data dir through
// the clinical services: 50 synthetic patients with histories.
func practice(t testing.TB, n int) (dir string, svc *clinical.Service) {
	t.Helper()
	ctx := context.Background()
	dir = dataDir(t)
	gen := filepath.Join(dir, "gen")
	_, users, err := fixtures.WriteNDJSON(gen, fixtures.Options{Patients: n, Seed: 1, Today: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st, Now: clock, Source: "test"})
	if _, err := p.Init(ctx, fixtures.PracticeName, fixtures.PracticeODS, "admin", "", true); err != nil {
		t.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Name != "admin" {
			if _, err := admin.AddUser(ctx, record.User{Name: u.Name, Role: u.Role, RegNumber: u.RegNumber, Prescriber: u.Prescriber}); err != nil {
				t.Fatal(err)
			}
		}
	}
	kinds := append([]record.Kind{record.KindPatient}, clinical.ImportKinds...)
	for _, k := range kinds {
		fh, err := os.Open(filepath.Join(gen, string(k)+".ndjson"))
		if err != nil {
			continue
		}
		if k == record.KindPatient {
			_, err = interop.ImportPatients(ctx, admin, fh, clinical.ImportOptions{Format: "ndjson"})
		} else {
			_, err = interop.ImportEntries(ctx, admin, k, fh, clinical.ImportOptions{})
		}
		fh.Close()
		if err != nil {
			t.Fatalf("import %s: %v", k, err)
		}
	}
	// dr.patel has their own passphrase, so the workstation opens on the
	// find page (a user without one is asked to set it first).
	gp, err := p.As(ctx, "dr.patel")
	if err != nil {
		t.Fatal(err)
	}
	if err := gp.SetPassphrase(ctx, testPassphrase); err != nil {
		t.Fatal(err)
	}
	if _, ok := remoteTests.Load(t); ok {
		return overRemote(t, p)
	}
	svc, err = p.As(ctx, "dr.patel")
	if err != nil {
		t.Fatal(err)
	}
	return dir, svc
}

// fakeTerms is a tiny terminology for the pickers.
type fakeTerms struct{}

var fakeCodes = []Code{
	{"http://snomed.info/sct", "49727002", "Cough"},
	{"http://snomed.info/sct", "38341003", "Hypertensive disorder"},
	{"http://snomed.info/sct", "44054006", "Diabetes mellitus type 2"},
	{"http://snomed.info/sct", "84229001", "Fatigue"},
}

func (fakeTerms) Picked(string) {}

func (fakeTerms) Search(_ context.Context, text, _, system, ecl string, limit int) ([]Code, error) {
	var out []Code
	if system == "read2" {
		if strings.Contains("cough", strings.ToLower(text)) {
			out = append(out, Code{"http://read.info/readv2", "171..", "Cough"})
		}
		return out, nil
	}
	for _, c := range fakeCodes {
		if strings.Contains(strings.ToLower(c.Term), strings.ToLower(text)) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (fakeTerms) MapLegacy(system, code string) ([]Code, error) {
	if code == "171.." {
		return []Code{{"http://snomed.info/sct", "49727002", "Cough"}}, nil
	}
	return nil, nil
}

func newModel(t testing.TB, dir string, svc *clinical.Service, w, h int) *Model {
	t.Helper()
	draftDebounce = time.Millisecond
	return New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true, Width: w, Height: h})
}

// driver runs the model synchronously: every command is run and its message
// fed back until nothing is left, so a test sees the settled screen.
type driver struct {
	t    testing.TB
	m    *Model
	quit bool
}

func (d *driver) send(msg tea.Msg) {
	d.t.Helper()
	queue := []tea.Msg{msg}
	for len(queue) > 0 && len(queue) < 10000 {
		msg := queue[0]
		queue = queue[1:]
		if msg == nil {
			continue
		}
		if _, ok := msg.(tea.QuitMsg); ok {
			d.quit = true
			continue
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil {
					queue = append(queue, c())
				}
			}
			continue
		}
		_, cmd := d.m.Update(msg)
		if cmd != nil {
			queue = append(queue, cmd())
		}
	}
}

func (d *driver) init() {
	d.m.noTimer = true
	if cmd := d.m.Init(); cmd != nil {
		d.send(cmd())
	}
}

func key(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "f2":
		return tea.KeyPressMsg{Code: tea.KeyF2}
	case "f4":
		return tea.KeyPressMsg{Code: tea.KeyF4}
	case "f5":
		return tea.KeyPressMsg{Code: tea.KeyF5}
	case "f6":
		return tea.KeyPressMsg{Code: tea.KeyF6}
	case "f7":
		return tea.KeyPressMsg{Code: tea.KeyF7}
	}
	if strings.HasPrefix(s, "ctrl+") {
		return tea.KeyPressMsg{Code: rune(s[5]), Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// typeText sends each character as a key press.
func (d *driver) typeText(s string) {
	for _, r := range s {
		if r == ' ' {
			d.send(key("space"))
			continue
		}
		d.send(key(string(r)))
	}
}

func (d *driver) keys(ks ...string) {
	for _, k := range ks {
		d.send(key(k))
	}
}

func (d *driver) screen() string { return ansi.Strip(d.m.Render()) }

func (d *driver) contains(want string) {
	d.t.Helper()
	if s := d.screen(); !strings.Contains(s, want) {
		d.t.Fatalf("screen lacks %q:\n%s", want, s)
	}
}

func defaultKey(ctx, action string) string { return keymaps.Default().Key(ctx, action) }
