package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

// Acting as another user without their credential is refused (exit 4),
// and the attempt is in the audit trail with the OS login that tried.
func TestActingAsAnotherUserNeedsACredential(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.ok("init", "--practice", "Leeds Road Surgery", "--ods", "B86001", "--admin", "admin")
	e.ok("--as", "admin", "user", "add", "dr.patel", "--role", "gp", "--reg-number", "7012345")
	stderr := e.want(ExitForbidden, "--as", "dr.patel", "patient", "list")
	if !strings.Contains(stderr, "not permitted to act as dr.patel") || !strings.Contains(stderr, "gpsoc login") {
		t.Errorf("refusal does not say why or what to do: %q", stderr)
	}
	found := false
	for _, ev := range e.auditEvents() {
		if ev.Action == "login" && ev.Outcome == "denied" && ev.User == "dr.patel" && ev.Login == testLogin {
			found = true
		}
		if ev.User == "admin" && ev.Action == "list" && ev.Login != testLogin {
			t.Errorf("an admin's event does not record the OS login beside the user: %+v", ev)
		}
	}
	if !found {
		t.Error("the refused attempt to act as dr.patel is not audited with the OS login")
	}
	// A binding lets the login act as the user, with no prompt; unbinding stops it.
	e.bind("dr.patel")
	e.ok("--as", "dr.patel", "patient", "list")
	e.ok("--as", "admin", "user", "unbind", "dr.patel", "--login", testLogin)
	e.want(ExitForbidden, "--as", "dr.patel", "patient", "list")
	// Only an admin binds.
	e.ok("--as", "admin", "user", "add", "reception", "--role", "receptionist")
	e.bind("reception")
	e.want(ExitForbidden, "--as", "reception", "user", "bind", "dr.patel", "--login", testLogin)
}

// A login bound to several users acts as the one --as names; with no --as
// and no user named as the login, it must pick (usage error naming them).
func TestOneLoginBoundToSeveralUsers(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	t.Setenv("GPSOC_USER", "")
	stderr := e.want(ExitUsage, "patient", "list")
	if !strings.Contains(stderr, "admin, dr.patel, nurse.jones, reception") || !strings.Contains(stderr, "--as") {
		t.Errorf("no-user message: %q", stderr)
	}
	e.ok("--as", "nurse.jones", "patient", "list")
}

// Scripts use GPSOC_PASSPHRASE_FILE (owner-only); gpsoc login opens a session
// later commands use without the passphrase, until gpsoc logout.
func TestPassphraseFileAndLoginSession(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	// dr.patel, bound, sets a passphrase of their own; then the binding goes.
	if r := e.run("correct horse battery\n", "--as", "dr.patel", "passphrase", "--from-file", "-"); r.code != 0 {
		t.Fatalf("passphrase: %d %s", r.code, r.err)
	}
	e.ok("--as", "admin", "user", "unbind", "dr.patel", "--login", testLogin)

	dir := t.TempDir()
	good, bad, open := filepath.Join(dir, "good"), filepath.Join(dir, "bad"), filepath.Join(dir, "open")
	os.WriteFile(good, []byte("correct horse battery\n"), 0o600)
	os.WriteFile(bad, []byte("wrong horse battery\n"), 0o600)
	os.WriteFile(open, []byte("correct horse battery\n"), 0o644)
	t.Setenv("GPSOC_PASSPHRASE_FILE", bad)
	e.want(ExitForbidden, "--as", "dr.patel", "patient", "list")
	t.Setenv("GPSOC_PASSPHRASE_FILE", open)
	if stderr := e.want(ExitUsage, "--as", "dr.patel", "patient", "list"); !strings.Contains(stderr, "chmod 600") {
		t.Errorf("a passphrase file others can read: %q", stderr)
	}
	t.Setenv("GPSOC_PASSPHRASE_FILE", good)
	e.ok("--as", "dr.patel", "patient", "list")
	out := e.ok("--as", "dr.patel", "login")
	if !strings.Contains(out, "logged in as dr.patel") {
		t.Errorf("login: %q", out)
	}
	t.Setenv("GPSOC_PASSPHRASE_FILE", "")
	files, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "gpsoc", "session-*-dr.patel"))
	if len(files) != 1 {
		t.Fatalf("session files: %v", files)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v, want 0600", fi.Mode().Perm())
	}
	e.ok("--as", "dr.patel", "patient", "list") // the session, no passphrase
	var ts []tokenView
	e.jsonOf(&ts, "--as", "dr.patel", "user", "tokens", "dr.patel")
	if len(ts) != 1 || ts[0].Kind != record.TokenSession || ts[0].Login != testLogin || !ts[0].ExpiresAt.Equal(ts[0].IssuedAt.Add(12*60*60*1e9)) {
		t.Errorf("dr.patel's session: %+v", ts)
	}
	e.ok("--as", "dr.patel", "logout")
	e.want(ExitForbidden, "--as", "dr.patel", "patient", "list")
}

// A session expires with the practice's token-lifetime.
func TestSessionExpires(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "admin", "practice", "set", "token-lifetime", "30m")
	if r := e.run("correct horse battery\n", "--as", "dr.patel", "passphrase", "--from-file", "-"); r.code != 0 {
		t.Fatalf("passphrase: %d %s", r.code, r.err)
	}
	e.want(ExitUsage, "--as", "dr.patel", "login", "--for", "2h") // longer than the practice allows
	e.ok("--as", "dr.patel", "login", "--for", "20m")
	e.ok("--as", "admin", "user", "unbind", "dr.patel", "--login", testLogin)
	e.ok("--as", "dr.patel", "patient", "list") // each command is a minute later
	e.now = e.now.Add(20 * 60 * 1e9)
	e.want(ExitForbidden, "--as", "dr.patel", "patient", "list")
}

// Admins disable and re-enable users and change roles; each is audited; a
// disabled user cannot act, however they come in, and loses their tokens.
func TestDisableEnableAndRole(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "admin", "user", "token", "dr.patel")
	e.ok("--as", "admin", "user", "disable", "dr.patel", "--reason", "left the practice")
	if stderr := e.want(ExitForbidden, "--as", "dr.patel", "patient", "list"); !strings.Contains(stderr, "disabled") {
		t.Errorf("a disabled user: %q", stderr)
	}
	var ts []tokenView
	e.jsonOf(&ts, "--as", "admin", "user", "tokens", "dr.patel")
	if len(ts) != 0 {
		t.Errorf("a disabled user keeps tokens: %+v", ts)
	}
	e.want(ExitUsage, "--as", "admin", "user", "disable", "admin") // not yourself
	e.want(ExitForbidden, "--as", "reception", "user", "enable", "dr.patel")
	e.ok("--as", "admin", "user", "enable", "dr.patel")
	e.ok("--as", "dr.patel", "patient", "list")

	var u record.User
	e.jsonOf(&u, "--as", "admin", "user", "role", "reception", "manager")
	if u.Role != record.RoleManager {
		t.Errorf("role: %+v", u)
	}
	e.want(ExitUsage, "--as", "admin", "user", "role", "reception", "boss")
	actions := map[string]bool{}
	for _, ev := range e.auditEvents() {
		if ev.Kind == "user" {
			actions[ev.Action+" "+ev.EntityID+" "+ev.Reason] = true
		}
	}
	for _, want := range []string{"disable dr.patel left the practice", "enable dr.patel ", "role reception manager", "bind dr.patel tester"} {
		if !actions[want] {
			t.Errorf("audit lacks %q: %v", want, actions)
		}
	}
}

// The manager, exactly as design.md's role table: registrations and the
// book, tasks and a single recall; no journal, no users or settings, no
// bulk export. An interface user (a lab feed) may do nothing here.
func TestManagerAndInterfaceRoles(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.terms = testTerms
	e.setUp()
	e.ok("--as", "admin", "user", "add", "mrs.khan", "--role", "manager")
	e.ok("--as", "admin", "user", "add", "lab.feed", "--role", "interface")
	e.bind("mrs.khan", "lab.feed")
	m := func(args ...string) []string { return append([]string{"--as", "mrs.khan"}, args...) }
	e.ok(m("patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")...)
	e.ok(m("patient", "update", smithNHS, "--phone", "0113 496 0000", "--if-version", "1")...)
	e.ok(m("appt", "session", "add", "--clinician", "dr.patel", "--date", "2026-11-24", "--start", "09:00", "--end", "10:00", "--slot", "15m")...)
	e.ok(m("appt", "book", smithNHS, "--clinician", "dr.patel", "--at", "2026-11-24 09:15")...)
	e.ok(m("task", "add", smithNHS, "--text", "Invite for review")...)
	var r record.Recall
	e.jsonOf(&r, m("recall", "add", smithNHS, "--code", "182836005", "--due", "2026-12-01")...)
	e.ok(m("recall", "done", r.ID)...)
	e.ok(m("patient", "list", "--problem-ecl", "<< 73211009")...) // a population search
	for _, args := range [][]string{
		{"consult", "list", smithNHS}, {"problem", "list", smithNHS}, {"med", "list", smithNHS},
		{"consult", "add", smithNHS, "--text", "x"},
		{"user", "add", "x", "--role", "gp"}, {"practice", "set", "idle-lock", "5m"}, {"audit", "list"},
		{"export", "fhir", "--all", "--out", t.TempDir()},
	} {
		e.want(ExitForbidden, m(args...)...)
	}
	for _, args := range [][]string{{"patient", "list"}, {"patient", "show", smithNHS}, {"task", "list"}, {"user", "list"}} {
		e.want(ExitForbidden, append([]string{"--as", "lab.feed"}, args...)...)
	}
	// An admin may give a feed's token a longer life; no one else's.
	var tok map[string]any
	e.jsonOf(&tok, "--as", "admin", "user", "token", "lab.feed", "--expires", "90d")
	if tok["expiresAt"] == nil {
		t.Errorf("token: %v", tok)
	}
	if stderr := e.want(ExitUsage, "--as", "admin", "user", "token", "dr.patel", "--expires", "90d"); !strings.Contains(stderr, "interface") {
		t.Errorf("a long-lived gp token: %q", stderr)
	}
}

// Guessing is stopped: after five wrong passphrases in 15 minutes even the
// right one is refused until the window has passed.
func TestWrongPassphrasesLockOut(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	if r := e.run("correct horse battery\n", "--as", "dr.patel", "passphrase", "--from-file", "-"); r.code != 0 {
		t.Fatalf("passphrase: %d %s", r.code, r.err)
	}
	e.ok("--as", "admin", "user", "unbind", "dr.patel", "--login", testLogin)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	os.WriteFile(good, []byte("correct horse battery\n"), 0o600)
	os.WriteFile(bad, []byte("123456\n"), 0o600)
	t.Setenv("GPSOC_PASSPHRASE_FILE", bad)
	for range 5 {
		e.want(ExitForbidden, "--as", "dr.patel", "patient", "list")
	}
	t.Setenv("GPSOC_PASSPHRASE_FILE", good)
	if stderr := e.want(ExitForbidden, "--as", "dr.patel", "patient", "list"); !strings.Contains(stderr, "5 wrong passphrases") {
		t.Errorf("after 5 wrong passphrases: %q", stderr)
	}
	e.now = e.now.Add(15 * 60 * 1e9)
	e.ok("--as", "dr.patel", "patient", "list")
}
