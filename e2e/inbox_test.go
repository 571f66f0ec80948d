package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An inbox import killed with SIGKILL loses no report it committed and
// leaves no half-written one: the file passes check and audit verify, the
// unfiled reports are there after the crash, each with its values, in
// whole transactions; running the import again delivers the rest and
// changes nothing that was there.
func TestKilledInboxImportLosesNoReport(t *testing.T) {
	dir := newPractice(t)
	if r := run(t, dir, "", "patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John",
		"--dob", "1961-03-12", "--sex", "male"); r.code != 0 {
		t.Fatalf("patient add: %s", r.stderr)
	}
	for _, args := range [][]string{{"user", "add", "dr.e2e", "--role", "gp"}, {"user", "bind", "dr.e2e", "--login", osLogin(t)}} {
		if r := run(t, dir, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "pathology-message.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, tmpl); err != nil {
		t.Fatal(err)
	}
	const n = 6000
	var big strings.Builder
	for i := 0; i < n; i++ {
		big.WriteString(strings.Replace(strings.Replace(c.String(), "RR8-24-0001234", fmt.Sprintf("RR8-E2E-%06d", i), 1),
			"b3c1e0a4-0001-4c1e-9a11-000000000001", fmt.Sprintf("b3c1e0a4-0001-4c1e-9a11-%012d", i), 1))
		big.WriteByte('\n')
	}
	file := filepath.Join(t.TempDir(), "reports.ndjson")
	if err := os.WriteFile(file, []byte(big.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gpsoc, "inbox", "import", file)
	cmd.Env = append(os.Environ(), "GPSOC_DATA_DIR="+dir, "GPSOC_USER=admin", "XDG_CONFIG_HOME="+filepath.Join(dir, "cfg"))
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some chunks are committed (the file grows), or after 5 s.
	path := filepath.Join(dir, "practice.db")
	st0, _ := os.Stat(path)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() > st0.Size()+(2<<20) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	finished := strings.Contains(out.String(), fmt.Sprintf("written %d", n))
	if r := run(t, dir, "", "check"); r.code != 0 {
		t.Fatalf("check after SIGKILL: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "", "audit", "verify"); r.code != 0 {
		t.Fatalf("audit verify: %s", r.stderr)
	}
	count := func() int {
		r := run(t, dir, "", "--as", "dr.e2e", "inbox", "list", "-o", "json")
		if r.code != 0 {
			t.Fatalf("inbox list: %d %s", r.code, r.stderr)
		}
		var items []struct {
			Report struct {
				Tests []struct {
					ObservationID string `json:"observationId"`
				} `json:"tests"`
			} `json:"report"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if len(it.Report.Tests) != 3 || it.Report.Tests[0].ObservationID == "" {
				t.Fatalf("a report without its values after the crash: %+v", it)
			}
		}
		return len(items)
	}
	got := count()
	if !finished && got%1000 != 0 {
		t.Errorf("reports after a killed import = %d: not whole transactions of 1,000", got)
	}
	t.Logf("%d of %d reports committed before the kill (finished: %v)", got, n, finished)
	r := run(t, dir, "", "inbox", "import", file)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("unchanged %d", got)) {
		t.Fatalf("re-run after the crash: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := count(); got != n {
		t.Fatalf("after the re-run: %d reports, want %d", got, n)
	}
}
