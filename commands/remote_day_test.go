package commands

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
)

// serveDay serves the env's practice in this process, as `gpsoc serve` does,
// and switches the env to remote mode: each later command uses the server
// with the token of the user its --as names, from a data dir of its own (the
// client is another machine; terminology is always local). The server's
// clock is the clock each command is pinned to.
func serveDay(t *testing.T) func(e *practiceEnv) {
	return func(e *practiceEnv) {
		t.Helper()
		tokens := map[string]string{}
		at := e.now // making tokens is not part of the day: its clock stays as it was
		for _, u := range []string{"admin", "dr.patel", "nurse.jones", "reception"} {
			tokens[u] = strings.TrimSpace(e.ok("--as", "admin", "user", "token", u))
		}
		e.now = at
		now := &atomic.Int64{}
		now.Store(e.now.UnixNano())
		ios, _, errOut := Test("", false)
		f := NewFactory(ios)
		f.DataDirFlag = e.dir
		f.Now = func() time.Time { return time.Unix(0, now.Load()).UTC() }
		if e.terms != nil {
			old := termsHook
			termsHook = func(*Factory) clinical.Terminology { return e.terms }
			defer func() { termsHook = old }()
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- serveRun(ctx, &ServeOptions{F: f, Addr: "127.0.0.1:0", MaxBody: 8 << 20, Ready: func(a string) { ready <- a }})
		}()
		select {
		case addr := <-ready:
			e.remote = &remoteSide{url: "http://" + addr + "/", tokens: tokens, dir: t.TempDir(), now: now}
		case err := <-done:
			t.Fatalf("serve: %v\n%s", err, errOut)
		}
		t.Cleanup(func() { cancel(); <-done })
	}
}

// The scripted surgery day in remote mode: set up locally, then served, the
// day's commands run through the server with each user's own token, and
// every step prints what it prints locally (ids aside) and exits the same.
func TestSurgeryDayRemote(t *testing.T) {
	_, local := surgeryDay(t, false)
	e, remote := surgeryDayServed(t, false, serveDay(t))
	want, got := stableIDs(local.b.String()), stableIDs(remote.b.String())
	if want != got {
		t.Errorf("the day in remote mode differs from the local day:\n%s", lineDiff(want, got))
	}

	// The token decides who is acting: naming someone else is a usage error.
	e.remote.tokens["impostor"] = e.remote.tokens["reception"]
	if msg := e.want(ExitUsage, "--as", "impostor", "patient", "show", smithNHS); !strings.Contains(msg, "reception's, not impostor's") {
		t.Errorf("--as naming another user than the token's: %s", msg)
	}

	// The commands that act on a practice file say so and exit 2.
	for _, args := range [][]string{{"init", "--practice", "X", "--ods", "B86001"}, {"backup", t.TempDir() + "/b"},
		{"restore", t.TempDir() + "/b"}, {"check"}, {"audit", "verify"}, {"codes", "import", "rf2", t.TempDir()}, {"user", "token", "dr.patel"}} {
		if msg := e.want(ExitUsage, append([]string{"--as", "admin"}, args...)...); !strings.Contains(msg, "remote mode") {
			t.Errorf("%v: %s", args, msg)
		}
	}
}
