package commands

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Remote mode against `gpsoc serve`: the same commands, through FHIR.
func TestRemoteModeAgainstServe(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	gpTok := strings.TrimSpace(e.ok("--as", "admin", "user", "token", "dr.patel"))
	recTok := strings.TrimSpace(e.ok("--as", "admin", "user", "token", "reception"))

	ios, _, errOut := Test("", false)
	f := NewFactory(ios)
	f.DataDirFlag = e.dir
	srvNow := e.now // the server's clock is the practice's pinned one: its tokens are fresh
	f.Now = func() time.Time { return srvNow }
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveRun(ctx, &ServeOptions{F: f, Addr: "127.0.0.1:0", MaxBody: 1 << 20, Ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, errOut)
	}
	defer func() { cancel(); <-done }()

	// The client is another machine: its own data dir (terminology is always local).
	server := e
	e = newPracticeEnv(t, false)
	_ = server
	t.Setenv("GPSOC_REMOTE_URL", "http://"+addr+"/")
	t.Setenv("GPSOC_REMOTE_TOKEN", gpTok)
	gp := func(args ...string) []string { return append([]string{"--as", "dr.patel"}, args...) }
	e.ok(gp("patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")...)
	if out := e.ok(gp("patient", "show", "9434765919")...); !strings.Contains(out, "SMITH") {
		t.Errorf("patient show: %s", out)
	}
	if out := e.ok(gp("patient", "find", "smi j")...); !strings.Contains(out, "SMITH") {
		t.Errorf("patient find: %s", out)
	}
	e.ok(gp("obs", "add", "9434765919", "--code", "27113001", "--value", "80", "--unit", "kg")...)
	if out := e.ok(gp("obs", "list", "9434765919")...); !strings.Contains(out, "80") {
		t.Errorf("obs list: %s", out)
	}
	e.want(ExitConflict, gp("patient", "update", "9434765919", "--phone", "0113 496 0000", "--if-version", "7")...)

	// The server's role rules hold whatever the client believes.
	t.Setenv("GPSOC_REMOTE_TOKEN", recTok)
	e.want(ExitForbidden, "--as", "reception", "obs", "list", "9434765919")

	// Local-only commands say so.
	for _, args := range [][]string{{"backup", t.TempDir() + "/b"}, {"check"}, {"audit", "verify"}, {"user", "token", "dr.patel"}, {"init", "--practice", "X", "--ods", "B86001"}} {
		if msg := e.want(ExitUsage, append([]string{"--as", "admin"}, args...)...); !strings.Contains(msg, "remote mode") {
			t.Errorf("%v: %s", args, msg)
		}
	}
}
