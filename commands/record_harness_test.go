package commands

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// Golden files under testdata/ are rewritten with UPDATE_GOLDEN=1 (or -update-golden).
var updateGolden = flag.Bool("update-golden", os.Getenv("UPDATE_GOLDEN") == "1", "rewrite golden files")

// practiceEnv is a practice in a temp data dir with a pinned clock that
// moves on one minute per command, so every run of a script is identical.
type practiceEnv struct {
	t   *testing.T
	dir string
	now time.Time
	tty bool
	// terms, when set, is the terminology the commands check codes against.
	terms clinical.Terminology
	// remote, when set, runs each command in remote mode against a server
	// (commands/remote_day_test.go).
	remote *remoteSide
	// config is set in each command's config (e.g. store.url, store.practice).
	config map[string]string
}

// remoteSide is a server the env's commands use in remote mode.
type remoteSide struct {
	url    string
	tokens map[string]string // user name -> bearer token
	dir    string            // the client machine's own data dir
	now    *atomic.Int64     // the server's clock (Unix ns): each command's pinned time
}

// asUser is the user a command line names with --as.
func asUser(args []string) string {
	for i, a := range args {
		if a == "--as" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--as="); ok {
			return v
		}
	}
	return ""
}

// testLogin is the OS login every test command runs as: init binds it to
// the admin, setUp to each user (acting as a user needs a credential).
const testLogin = "tester"

// t0 is 08:30 UK time on the day of the surgery (GMT in November).
var t0 = time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)

func newPracticeEnv(t *testing.T, tty bool) *practiceEnv {
	t.Helper()
	t.Setenv("GPSOC_USER", "")
	t.Setenv("GPSOC_DATA_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir()) // gpsoc login's session files
	t.Setenv("GPSOC_PASSPHRASE_FILE", "")
	e := &practiceEnv{t: t, dir: t.TempDir(), now: t0, tty: tty}
	return e
}

type result struct {
	out, err string
	code     int
}

// run runs one gpsoc command line against the practice.
func (e *practiceEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	ios, out, errOut := Test(stdin, e.tty)
	f := NewFactory(ios)
	f.Login = func() string { return testLogin }
	now := e.now
	f.Now = func() time.Time { return now }
	e.now = e.now.Add(time.Minute)
	if e.terms != nil {
		old := termsHook
		termsHook = func(*Factory) clinical.Terminology { return e.terms }
		defer func() { termsHook = old }()
	}
	for k, v := range e.config {
		f.Config.Set(k, v)
	}
	dir := e.dir
	if e.remote != nil {
		// Remote mode: the token of the user --as names; the server's clock
		// is the command's.
		e.remote.now.Store(now.UnixNano())
		f.Config.Set("remote.url", e.remote.url)
		f.Config.Set("remote.token", e.remote.tokens[asUser(args)])
		dir = e.remote.dir
	}
	root := NewRootCmd(f)
	root.SetArgs(append([]string{"--data-dir", dir}, args...))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		var ee *ExitError
		if !(errors.As(err, &ee) && ee.Msg == "") {
			fmt.Fprintln(errOut, "gpsoc: "+err.Error())
		}
	}
	_ = f.Close()
	return result{out.String(), errOut.String(), ExitCode(err)}
}

// ok runs a command that must succeed.
func (e *practiceEnv) ok(args ...string) string {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 0 {
		e.t.Fatalf("gpsoc %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// want runs a command that must exit with code, and returns its stderr.
func (e *practiceEnv) want(code int, args ...string) string {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != code {
		e.t.Fatalf("gpsoc %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	return r.err
}

// jsonOf runs a command with -o json (as a pipe) and decodes its output.
func (e *practiceEnv) jsonOf(v any, args ...string) {
	e.t.Helper()
	tty := e.tty
	e.tty = false
	defer func() { e.tty = tty }()
	out := e.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		e.t.Fatalf("gpsoc %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// setUp makes a practice with a GP, a nurse, a receptionist and an admin.
func (e *practiceEnv) setUp() {
	e.t.Helper()
	e.ok("init", "--practice", "Leeds Road Surgery", "--ods", "B86001", "--admin", "admin")
	e.ok("--as", "admin", "user", "add", "dr.patel", "--role", "gp", "--reg-number", "7012345")
	e.ok("--as", "admin", "user", "add", "nurse.jones", "--role", "nurse", "--reg-number", "12A3456E")
	e.ok("--as", "admin", "user", "add", "reception", "--role", "receptionist")
	e.bind("dr.patel", "nurse.jones", "reception")
}

// bind binds the test login to users, as the practice admin would.
func (e *practiceEnv) bind(users ...string) {
	e.t.Helper()
	for _, u := range users {
		e.ok("--as", "admin", "user", "bind", u, "--login", testLogin)
	}
}

// auditEvents reads the whole audit trail (as admin).
func (e *practiceEnv) auditEvents() []record.AuditEvent {
	e.t.Helper()
	var evs []record.AuditEvent
	e.jsonOf(&evs, "--as", "admin", "audit", "list")
	return evs
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// stableIDs replaces each UUID by a placeholder of the same width numbered in
// order of first appearance, so golden files do not depend on random ids.
func stableIDs(s string) string {
	seen := map[string]string{}
	return uuidRE.ReplaceAllStringFunc(s, func(id string) string {
		if r, ok := seen[id]; ok {
			return r
		}
		r := fmt.Sprintf("00000000-0000-0000-0000-%012d", len(seen)+1)
		seen[id] = r
		return r
	})
}

// checkGolden compares got with testdata/name, or rewrites it.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (UPDATE_GOLDEN=1 rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, a, c)
			if b.Len() > 3000 {
				break
			}
		}
	}
	return b.String()
}

// fakeTerms is a terminology of a few real SNOMED CT concepts, one of them
// inactive with its replacement, for the code-check paths.
type fakeTerms map[string]string

func (ft fakeTerms) Lookup(system, code string) (string, error) {
	if system != record.SystemSNOMED {
		return "", record.Invalid("code", code, "unknown code in %s", system)
	}
	// The fake retires 195967001 |Asthma| in favour of 266364000 to exercise
	// the inactive-code path (both are real; in the real release Asthma is active).
	if code == "195967001" {
		return "", record.Invalid("code", code, "is inactive: use 266364000 instead")
	}
	d, ok := ft[code]
	if !ok {
		return "", record.Invalid("code", code, "unknown SNOMED CT concept")
	}
	return d, nil
}

var testTerms = fakeTerms{
	"38341003":      "Hypertensive disorder",
	"44054006":      "Type 2 diabetes mellitus",
	"75367002":      "Blood pressure",
	"27113001":      "Body weight",
	"91936005":      "Allergy to penicillin",
	"764146007":     "Penicillin",
	"182836005":     "Review of medication",
	"1181000221105": "Influenza virus antigen only vaccine product",
	"6142004":       "Influenza",
	"39579001":      "Anaphylaxis",
	"365981007":     "Finding of tobacco smoking behavior",
	"8517006":       "Ex-smoker",
}
