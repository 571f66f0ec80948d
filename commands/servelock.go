package commands

// While `gpsoc serve` runs on a data dir it owns the practice file (design.md
// §3): it writes serve.lock there, and local commands on that data dir are
// told to use the server (exit 3, naming its address) instead of waiting on
// the file lock.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// ServeLockName is the file a running server keeps in its data dir.
const ServeLockName = "serve.lock"

// ServeLock is what serve.lock holds.
type ServeLock struct {
	PID     int       `json:"pid"`
	Addr    string    `json:"addr"`
	URL     string    `json:"url"`
	Started time.Time `json:"started"`
}

// readServeLock returns the lock of a server that is running on dir, or nil.
// A lock left by a server that is no longer running is ignored.
func readServeLock(dir string) *ServeLock {
	b, err := os.ReadFile(filepath.Join(dir, ServeLockName))
	if err != nil {
		return nil
	}
	var l ServeLock
	if json.Unmarshal(b, &l) != nil || l.PID <= 0 || !processAlive(l.PID) {
		return nil
	}
	return &l
}

func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// checkServeLock refuses a local open of a data dir a server owns.
func checkServeLock(dir string) error {
	l := readServeLock(dir)
	if l == nil {
		return nil
	}
	return &record.BusyError{Path: filepath.Join(dir, bolt.FileName),
		Msg: fmt.Sprintf("gpsoc serve (pid %d) owns it and serves it at %s: use the server (set GPSOC_REMOTE_URL=%s and GPSOC_REMOTE_TOKEN), or stop it", l.PID, l.URL, l.URL)}
}

// writeServeLock takes the data dir for a server; the returned func releases it.
func writeServeLock(dir string, l ServeLock) (func(), error) {
	if other := readServeLock(dir); other != nil && other.PID != os.Getpid() {
		return nil, &record.BusyError{Path: filepath.Join(dir, bolt.FileName),
			Msg: fmt.Sprintf("another gpsoc serve (pid %d) already serves it at %s", other.PID, other.URL)}
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	path := filepath.Join(dir, ServeLockName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return func() {
		if cur := readServeLock(dir); cur == nil || cur.PID == l.PID {
			_ = os.Remove(path)
		}
	}, nil
}

// openHook runs where the factory opens the store (factory.go): a data dir a
// running server owns is refused, naming the server; in remote mode the store
// is the remote one (commands/remote.go). Both nil: open the local file.
func openHook(f *Factory, create bool) (store.Store, error) {
	if postgresConfigured(f) {
		return openPostgres(f, create)
	}
	if remoteConfigured(f) {
		return openRemote(f, create)
	}
	return nil, checkServeLock(f.DataDir())
}
