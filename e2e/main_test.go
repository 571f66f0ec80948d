// Package e2e drives the built gpsoc binary as users and scripts do: several
// processes on one practice file, crashes, pipes and exit codes.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

var gpsoc string // path of the binary built for the tests

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gpsoc-e2e-")
	if err != nil {
		panic(err)
	}
	gpsoc = filepath.Join(dir, "gpsoc")
	build := exec.Command("go", "build", "-o", gpsoc, "../cmd/gpsoc")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build gpsoc:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs gpsoc on a data dir as a user.
func run(t testing.TB, dataDir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(gpsoc, args...)
	cmd.Env = append(os.Environ(), "GPSOC_DATA_DIR="+dataDir, "GPSOC_USER=admin", "NO_COLOR=1", "XDG_CONFIG_HOME="+filepath.Join(dataDir, "cfg"))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run gpsoc %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

func newPractice(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if r := run(t, dir, "", "init", "--practice", "E2E Surgery", "--ods", "B86001", "--admin", "admin"); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	return dir
}

// patientsNDJSON makes n synthetic patients with valid, distinct NHS numbers
// starting from a seed offset.
func patientsNDJSON(n, offset int) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for i, k := 0, offset*10; i < n; k++ {
		nhs, ok := record.CompleteNHS(fmt.Sprintf("%09d", 600000000+k*13))
		if !ok {
			continue
		}
		i++
		_ = enc.Encode(map[string]any{"nhsNumber": nhs, "family": fmt.Sprintf("Fam%d", k), "given": []string{"Given"},
			"birthDate": fmt.Sprintf("19%02d-%02d-%02d", 20+k%80, 1+k%12, 1+k%28), "sex": []string{"female", "male"}[k%2],
			"postcode": "LS6 2QT"})
	}
	return b.String()
}

func countPatients(t testing.TB, dir string) int {
	t.Helper()
	r := run(t, dir, "", "patient", "list", "-o", "json")
	if r.code != 0 {
		t.Fatalf("patient list: %d %s", r.code, r.stderr)
	}
	var ps []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil {
		t.Fatalf("patient list json: %v", err)
	}
	return len(ps)
}

// osLogin is the OS login the tests run gpsoc as (bound to users as an
// admin would: acting as a user needs a credential).
func osLogin(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
