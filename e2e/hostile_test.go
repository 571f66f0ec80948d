package e2e

import (
	"bytes"
	"context"
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
