package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Two processes each importing 2,000 patients into one practice at the same
// time end with 4,000 patients, no error but a retried "busy", and a clean check.
func TestConcurrentImports(t *testing.T) {
	dir := newPractice(t)
	files := []string{patientsNDJSON(2000, 0), patientsNDJSON(2000, 100000)}
	var wg sync.WaitGroup
	res := make([]result, 2)
	for i := range files {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = run(t, dir, files[i], "patient", "import", "-")
		}(i)
	}
	wg.Wait()
	for i, r := range res {
		if r.code != 0 {
			t.Fatalf("import %d: exit %d: %s", i, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "written 2000") {
			t.Errorf("import %d: %s", i, r.stdout)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if line != "" && !strings.Contains(line, "busy") {
				t.Errorf("import %d printed an error other than busy: %q", i, line)
			}
		}
	}
	if n := countPatients(t, dir); n != 4000 {
		t.Fatalf("patients = %d, want 4000", n)
	}
	if r := run(t, dir, "", "check"); r.code != 0 {
		t.Fatalf("check: %d %s", r.code, r.stderr)
	}
	// Running the same import again changes nothing.
	r := run(t, dir, files[0], "patient", "import", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "written 0, unchanged 2000") {
		t.Fatalf("re-import: %d %q %s", r.code, r.stdout, r.stderr)
	}
}

// A process killed with SIGKILL in the middle of a large import leaves a file
// that opens, passes check, and holds only whole records.
func TestKilledImportLeavesWholeRecords(t *testing.T) {
	dir := newPractice(t)
	big := patientsNDJSON(60000, 0)
	cmd := exec.Command(gpsoc, "patient", "import", "-")
	cmd.Env = append(os.Environ(), "GPSOC_DATA_DIR="+dir, "GPSOC_USER=admin")
	cmd.Stdin = strings.NewReader(big)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some chunks have been committed (the file grows), or after 3 s.
	path := filepath.Join(dir, "practice.db")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() > 2<<20 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if strings.Contains(out.String(), "written 60000") {
		t.Skip("the import finished before it could be killed")
	}
	if r := run(t, dir, "", "check"); r.code != 0 {
		t.Fatalf("check after SIGKILL: %d %s", r.code, r.stderr)
	}
	n := countPatients(t, dir)
	if n%5000 != 0 {
		t.Errorf("patients after a killed import = %d: not whole chunks of 5000", n)
	}
	if r := run(t, dir, "", "audit", "verify"); r.code != 0 {
		t.Fatalf("audit verify: %s", r.stderr)
	}
	// The import can simply be run again: what was written counts as unchanged.
	r := run(t, dir, big, "patient", "import", "-")
	if r.code != 0 || countPatients(t, dir) != 60000 {
		t.Fatalf("re-run after crash: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// A backup taken while another process writes restores to a practice that passes check.
func TestBackupWhileAnotherProcessWrites(t *testing.T) {
	dir := newPractice(t)
	done := make(chan result)
	go func() { done <- run(t, dir, patientsNDJSON(20000, 0), "patient", "import", "-") }()
	time.Sleep(50 * time.Millisecond)
	bk := filepath.Join(t.TempDir(), "backup.db")
	if r := run(t, dir, "", "backup", bk); r.code != 0 {
		t.Fatalf("backup: %d %s", r.code, r.stderr)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if r := run(t, restored, "", "restore", bk); r.code != 0 {
		t.Fatalf("restore: %d %s", r.code, r.stderr)
	}
	if r := run(t, restored, "", "check"); r.code != 0 {
		t.Fatalf("check restored: %d %s", r.code, r.stderr)
	}
	if r := run(t, restored, "", "audit", "verify"); r.code != 0 {
		t.Fatalf("verify restored: %s", r.stderr)
	}
}
