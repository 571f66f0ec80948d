package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// The hostile-input suite: the real binary fed malformed, truncated,
// oversized and escape-laden input, each run under a time limit. None may
// hang, panic (a Go panic exits 2 and prints "goroutine"), or leave
// anything half-written.

// runHostile runs gpsoc like run, with extra environment and a time limit.
func runHostile(t *testing.T, dataDir, stdin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, gpsoc, args...)
	cmd.Env = append(os.Environ(), "GPSOC_DATA_DIR="+dataDir, "GPSOC_USER=admin", "NO_COLOR=1", "XDG_CONFIG_HOME="+filepath.Join(dataDir, "cfg"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("gpsoc %v did not finish in 60 s (a hang)", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run gpsoc %v: %v", args, err)
	}
	r := result{out.String(), errb.String(), code}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("gpsoc %v panicked:\n%s", args, r.stderr)
	}
	return r
}

// After the busy timeout a command exits 3 with a plain message (it once
// panicked closing a store it never opened, and exited 2).
func TestHostileBusyTimeoutExits3(t *testing.T) {
	dir := newPractice(t)
	db, err := bbolt.Open(filepath.Join(dir, "practice.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := runHostile(t, dir, "", []string{"GPSOC_BUSY_TIMEOUT=300ms"}, "patient", "list")
	if r.code != 3 || !strings.Contains(r.stderr, "busy") {
		t.Fatalf("exit %d, stderr %q; want 3 and a busy message", r.code, r.stderr)
	}
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A malformed or truncated FHIR Bundle is refused whole: exit 1, nothing
// written, and the 55-byte one that looped for ever finishes at once.
func TestHostileFHIRBundles(t *testing.T) {
	dir := newPractice(t)
	var entries []string
	for i := 0; i < 96; i++ {
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:p%d","resource":{"resourceType":"Patient","id":"p%d","name":[{"family":"Fam%d","given":["G"]}],"gender":"female","birthDate":"1970-01-01"}}`, i, i, i))
	}
	whole := `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(entries, ",\n") + "]}"
	cut := strings.Index(whole, entries[31]) + len(entries[31]) // between entries 31 and 32
	for name, body := range map[string]string{
		"malformed-55.json":     `{"resourceType":"Bundle","type":"batch","entry":[}]}   `,
		"cut-between.json":      whole[:cut],
		"cut-after-comma.json":  whole[:cut+1],
		"cut-inside.json":       whole[:cut+150],
		"no-closing-brace.json": whole[:len(whole)-1],
		"garbage-after.json":    whole + "{",
	} {
		t.Run(name, func(t *testing.T) {
			r := runHostile(t, dir, "", nil, "import", "fhir", writeFile(t, name, []byte(body)))
			if r.code != 1 || !strings.Contains(r.stderr, name) {
				t.Fatalf("exit %d, stderr %q; want 1 naming the file", r.code, r.stderr)
			}
			if n := countPatients(t, dir); n != 0 {
				t.Fatalf("%d patients written from a refused Bundle", n)
			}
		})
	}
	// The whole Bundle imports (the cases above fail for their damage alone).
	if r := runHostile(t, dir, "", nil, "import", "fhir", writeFile(t, "whole.json", []byte(whole))); r.code != 0 {
		t.Fatalf("whole Bundle: exit %d: %s", r.code, r.stderr)
	}
	if n := countPatients(t, dir); n != 96 {
		t.Fatalf("whole Bundle wrote %d patients, want 96", n)
	}
}

// Bulk imports report each bad line (line and field) and exit 1; the good
// lines are written. Escape-laden and oversized values are refused, not stored.
func TestHostilePatientImports(t *testing.T) {
	dir := newPractice(t)
	csv := "family,given,birthDate,sex,noNhsReason\n" +
		"Smith,John,1961-03-12,male,temporary-resident\n" +
		"\"Jones,Mary,1950-12-01,female,temporary-resident\n" // a quote never closed
	r := runHostile(t, dir, "", nil, "patient", "import", writeFile(t, "p.csv", []byte(csv)))
	if r.code != 1 || !strings.Contains(r.stderr, "line 3: csv") {
		t.Fatalf("broken CSV quote: exit %d, stderr %q", r.code, r.stderr)
	}
	nd := strings.Join([]string{
		`{"noNhsReason":"temporary-resident","family":"Brown","given":["Ann"],"birthDate":"1970-01-01","sex":"female"}`,
		`{"noNhsReason":"temporary-resident","family":"Evil\u001b]0;pwned\u0007\u001b[2J","given":["Eve"],"birthDate":"1970-01-01","sex":"female"}`,
		`{"noNhsReason":"temporary-resident","family":"Split","given":["Two\nRows"],"birthDate":"1970-01-01","sex":"female"}`,
		`{"noNhsReason":"temporary-resident","family":"` + strings.Repeat("A", 5000) + `","given":["Long"],"birthDate":"1970-01-01","sex":"female"}`,
		`{"noNhsReason":"temporary-resident","family":"Bidi\u202e","given":["X"],"birthDate":"1970-01-01","sex":"female"}`,
		`{"family":`,
	}, "\n")
	r = runHostile(t, dir, "", nil, "patient", "import", writeFile(t, "p.ndjson", []byte(nd)))
	if r.code != 1 {
		t.Fatalf("NDJSON: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"line 2: family", "line 3: given", "line 4: family", "line 5: family", "line 6: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("NDJSON: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.ContainsAny(r.stderr, "\x1b\x07") {
		t.Errorf("stderr carries raw escape characters: %q", r.stderr)
	}
	if n := countPatients(t, dir); n != 2 {
		t.Fatalf("%d patients, want the 2 good lines", n)
	}
	// Piped output: one row per patient, whatever is in the file.
	r = runHostile(t, dir, "", nil, "patient", "list")
	if got := strings.Count(strings.TrimSpace(r.stdout), "\n") + 1; r.code != 0 || got != 2 {
		t.Fatalf("patient list: exit %d, %d rows:\n%s", r.code, got, r.stdout)
	}
	// The same checks on the command line.
	r = runHostile(t, dir, "", nil, "patient", "add", "--family", "Smith\x1b[2J", "--given", "Jo", "--dob", "1961-03-12", "--sex", "male", "--no-nhs-reason", "temporary-resident")
	if r.code != 2 || !strings.Contains(r.stderr, `\x1b`) || strings.Contains(r.stderr, "\x1b") {
		t.Fatalf("escape in --family: exit %d, stderr %q", r.code, r.stderr)
	}
	// An NDJSON line longer than the limit stops the run with a clear error.
	huge := `{"family":"` + strings.Repeat("x", 17<<20) + `"}`
	r = runHostile(t, dir, "", nil, "patient", "import", writeFile(t, "huge.ndjson", []byte(huge)))
	if r.code != 1 || !strings.Contains(r.stderr, "line 1") {
		t.Fatalf("oversized line: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := countPatients(t, dir); n != 2 {
		t.Fatalf("%d patients after the refused runs, want 2", n)
	}
}

// A practice file with a damaged page: check, backup and restore exit 1
// naming the page, with no stack trace, and nothing is restored.
func TestHostileDamagedFile(t *testing.T) {
	dir := newPractice(t)
	if r := runHostile(t, dir, patientsNDJSON(3000, 0), nil, "patient", "import", "-"); r.code != 0 {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	good := filepath.Join(t.TempDir(), "good.db")
	if r := runHostile(t, dir, "", nil, "backup", good); r.code != 0 {
		t.Fatalf("backup of a sound file: %d %s", r.code, r.stderr)
	}
	// Damage every page after the meta pages and the first few: whatever
	// bbolt placed there, the patients' pages are among them.
	path := filepath.Join(dir, "practice.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const ps = 16 << 10
	for off := 8 * ps; off+ps <= len(b); off += 3 * ps {
		for i := off; i < off+ps; i++ {
			b[i] = 0xa5
		}
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runHostile(t, dir, "", nil, "check")
	if r.code != 1 || !strings.Contains(r.stderr, "page ") {
		t.Fatalf("check: exit %d, stderr %q", r.code, r.stderr)
	}
	bak := filepath.Join(t.TempDir(), "bad.db")
	r = runHostile(t, dir, "", nil, "backup", bak)
	if r.code != 1 || !strings.Contains(r.stderr, "damaged") {
		t.Fatalf("backup: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(bak); !os.IsNotExist(err) {
		t.Fatal("a backup of the damaged file was left behind")
	}
	empty := filepath.Join(t.TempDir(), "restored")
	r = runHostile(t, empty, "", nil, "restore", path)
	if r.code != 1 || !strings.Contains(r.stderr, "page ") {
		t.Fatalf("restore of the damaged file: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, "practice.db")); !os.IsNotExist(err) {
		t.Fatal("a damaged file was restored")
	}
	// The good backup restores into an empty data dir.
	if r := runHostile(t, empty, "", nil, "restore", good); r.code != 0 {
		t.Fatalf("restore of the good backup: %d %s", r.code, r.stderr)
	}
}
