package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInteropFHIRKitClient drives `gpsoc serve`'s API with fhir-kit-client
// (npm), a FHIR client that is not ours: testdata/interop/interop.js.
func TestInteropFHIRKitClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the interop test runs node")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the fhir-kit-client interop test needs Node.js 18+ and npm")
	}
	dir := filepath.Join("testdata", "interop")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fhir-kit-client")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("npm is not installed: run `npm ci` in server/testdata/interop for the interop test")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("npm ci in %s failed (no registry?): %v\n%s", dir, err, out)
		}
	}
	f := start(t)
	cmd := exec.Command(node, "interop.js", f.url+"/", f.tokens["dr.gp"], f.tokens["recep"])
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fhir-kit-client against gpsoc serve: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "interop ok") {
		t.Fatalf("interop script: %s", out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
