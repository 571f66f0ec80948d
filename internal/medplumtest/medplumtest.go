// Package medplumtest starts another vendor's FHIR R4 server for tests:
// Medplum's open-source FHIR router with its in-memory repository, behind
// the small wrapper in store/remote/testdata/medplum (installed from npm
// with `npm ci --no-audit --no-fund` there; .ci/run does it). Imported by
// tests only, so it never reaches the shipped binary.
package medplumtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Token is the bearer token the wrapper accepts.
const Token = "medplum-test-token"

// Dir is the wrapper's folder.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "store", "remote", "testdata", "medplum")
}

// missing skips the test, or fails it in CI (where the tools are installed).
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Start starts a fresh server (empty) for the test and returns its FHIR base URL.
func Start(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the Medplum test runs node")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed: the Medplum test needs Node.js 20 and npm")
	}
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@medplum", "fhir-router")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			missing(t, "npm is not installed: run `npm ci` in store/remote/testdata/medplum")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			missing(t, "npm ci in %s failed (no registry?): %v\n%s", dir, err, out)
		}
	}
	cmd := exec.Command(node, "--experimental-websocket", "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MEDPLUM_TOKEN="+Token)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
			}
		}
	}()
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p + "/"
	case <-time.After(3 * time.Minute): // indexing the FHIR definitions is slow on a busy machine
		t.Fatal("the Medplum wrapper did not start")
	}
	return ""
}
