package commands

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeOwnsTheDataDir(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	tok := strings.TrimSpace(e.ok("--as", "admin", "user", "token", "reception"))

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
	lock, err := os.ReadFile(filepath.Join(e.dir, ServeLockName))
	if err != nil || !strings.Contains(string(lock), addr) {
		t.Fatalf("serve.lock = %s, %v", lock, err)
	}

	// A local command on the data dir is told to use the server, at once.
	msg := e.want(ExitBusy, "--as", "reception", "patient", "list")
	if !strings.Contains(msg, "http://"+addr+"/") {
		t.Errorf("exit 3 message does not name the server: %s", msg)
	}
	// A second server is refused.
	f2 := NewFactory(ios)
	f2.DataDirFlag = e.dir
	if err := serveRun(ctx, &ServeOptions{F: f2, Addr: "127.0.0.1:0"}); ExitCode(err) != ExitBusy {
		t.Errorf("second serve: %v", err)
	}

	req, _ := http.NewRequest("GET", "http://"+addr+"/Patient", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"searchset"`) {
		t.Fatalf("GET /Patient: %d %s", res.StatusCode, body)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, ServeLockName)); !os.IsNotExist(err) {
		t.Errorf("serve.lock left behind: %v", err)
	}
	e.ok("--as", "reception", "patient", "list") // the file is local again
}

func TestServeRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	msg := e.want(ExitUsage, "serve", "--addr", "0.0.0.0:0")
	if !strings.Contains(msg, "--insecure") {
		t.Errorf("message: %s", msg)
	}
}

func TestStaleServeLockIsIgnored(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	// pid 2^22+1 is above Linux's pid_max default; no such process.
	if err := os.WriteFile(filepath.Join(e.dir, ServeLockName), []byte(`{"pid":4194305,"addr":"127.0.0.1:1","url":"http://127.0.0.1:1/"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("--as", "reception", "patient", "list")
}
