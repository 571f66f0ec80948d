package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// tmuxSession drives the built gpsoc in a real terminal (tmux), on its own
// tmux server so it never touches the user's sessions.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func (s *tmuxSession) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...); err != nil {
		s.t.Fatalf("tmux send-keys: %v %s", err, out)
	}
}

// literal types text as is (no key names).
func (s *tmuxSession) literal(text string) {
	s.t.Helper()
	if out, err := s.tmux("send-keys", "-t", s.name, "-l", text); err != nil {
		s.t.Fatalf("tmux send-keys: %v %s", err, out)
	}
}

func (s *tmuxSession) screen() string {
	out, _ := s.tmux("capture-pane", "-p", "-t", s.name)
	return out
}

// waitFor polls the screen until every string shows (a real terminal has
// no hook to wait on; the poll ends as soon as it is true).
func (s *tmuxSession) waitFor(want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(scr, w)
		}
		if ok {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", want, scr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWorkstation runs the built gpsoc on the practice in dir as dr.patel,
// in a 100x30 tmux terminal on a tmux server of its own (socket prefix).
func startWorkstation(t *testing.T, dir, socket string) *tmuxSession {
	t.Helper()
	s := &tmuxSession{t: t, socket: fmt.Sprintf("%s-%d", socket, os.Getpid()), name: "tui"}
	cmd := fmt.Sprintf("env GPSOC_DATA_DIR=%s XDG_CONFIG_HOME=%s TERM=xterm-256color %s --as dr.patel; echo gpsoc-exited-$?; sleep 60",
		dir, filepath.Join(dir, "cfg"), gpsoc)
	if out, err := s.tmux("new-session", "-d", "-s", s.name, "-x", "100", "-y", "30", cmd); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	t.Cleanup(func() { s.tmux("kill-server") })
	return s
}

// TestTUISmoke opens the demo practice in tmux, finds a patient by a surname
// fragment and by NHS number, opens the record, shows the help and quits.
func TestTUISmoke(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the real-terminal smoke test of the workstation needs it (CI installs tmux)")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if r := run(t, dir, "", "demo", "--patients", "300"); r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	// A patient to look for, through the CLI.
	r := run(t, dir, "", "patient", "find", "a", "--as", "dr.patel", "-o", "json")
	if r.code != 0 {
		t.Fatalf("patient find: %d %s", r.code, r.stderr)
	}
	var found []struct {
		NHSNumber string   `json:"nhsNumber"`
		Family    string   `json:"family"`
		Given     []string `json:"given"`
		Status    string   `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || len(found) == 0 {
		t.Fatalf("patient find: %v %q", err, r.stdout)
	}
	p := found[0]
	for _, f := range found {
		if f.NHSNumber != "" && f.Status == "active" && len(f.Family) >= 4 {
			p = f
			break
		}
	}
	upper := strings.ToUpper(p.Family) + ", " + p.Given[0]

	s := startWorkstation(t, dir, "gpsoc-e2e")

	start := time.Now()
	s.waitFor("Find", "DEMO")
	t.Logf("first frame after %v (tmux polling included)", time.Since(start).Round(time.Millisecond))

	// A surname fragment.
	frag := strings.ToLower(p.Family[:4])
	s.literal(frag)
	s.waitFor(`found for "`+frag+`"`, upper)

	// By NHS number, spaced as people read it.
	s.keys("C-u")
	nhs := p.NHSNumber[:3] + " " + p.NHSNumber[3:6] + " " + p.NHSNumber[6:]
	s.literal(nhs)
	s.waitFor(`1 found for "`+nhs+`"`, upper)

	s.keys("Enter")
	scr := s.waitFor("Record", upper, "NHS "+nhs)
	if !strings.Contains(scr, "DEMO") {
		t.Errorf("the record banner does not say DEMO:\n%s", scr)
	}
	s.literal("?")
	s.waitFor("Keys: record", "journal", "pgdown for more")
	s.keys("PageDown", "PageDown", "PageDown")
	s.waitFor("Everywhere") // the help pages on a screen it does not fit
	s.keys("Escape")
	// The record's footer is back (esc is told apart from alt+key by a pause,
	// so the next key waits for the help to close).
	s.waitFor("j journal", "c consult")
	s.keys("C-q")
	scr = s.waitFor("gpsoc-exited-0")
	if strings.Contains(scr, "panic") {
		t.Fatalf("the workstation panicked:\n%s", scr)
	}
}

// While the workstation runs, another process holding the practice file
// makes it wait; its "busy" notice goes to the status bar, not to the
// terminal under the screen (a line written there scrolled the screen, and
// the record's header was never seen again).
func TestTUIBusyNoticeStaysInTheStatusBar(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the real-terminal test of the workstation needs it (CI installs tmux)")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if r := run(t, dir, "", "demo", "--patients", "50"); r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	s := startWorkstation(t, dir, "gpsoc-e2e-busy")
	s.waitFor("Find", "DEMO")
	s.literal("a")
	s.waitFor(`found for "a"`)

	// Another process takes the practice file; the workstation opens the
	// first patient found and must wait for it.
	db, err := bbolt.Open(filepath.Join(dir, "practice.db"), 0o600, &bbolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("the practice file could not be taken from the workstation: %v", err)
	}
	s.keys("Enter")
	scr := s.waitFor("busy")
	if strings.Contains(scr, "gpsoc: the pra") { // the line wraps where it lands
		t.Errorf("the busy notice was written over the screen, not shown in its status bar:\n%s", scr)
	}
	if first := strings.SplitN(scr, "\n", 2)[0]; !strings.Contains(first, "DEMO") && !strings.Contains(first, "Find") {
		t.Errorf("the screen scrolled: its first line is %q:\n%s", first, scr)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	scr = s.waitFor("Record", "j journal")
	if strings.Contains(scr, "gpsoc: the pra") {
		t.Errorf("the busy notice is on the screen after the record opened:\n%s", scr)
	}
	s.keys("C-q")
	s.waitFor("gpsoc-exited-0")
}
