// Package bolt is the embedded backend: one bbolt file per practice.
//
// Several processes share the file by opening it only for the length of a
// transaction (bbolt's flock: shared for reads, exclusive for writes), so a
// workstation left open never blocks a script, and bulk paths release the
// file between chunks. A process waiting for the lock retries until its busy
// timeout and then fails with record.BusyError (exit 3).
package bolt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"
)

// FileName is the practice file inside a data dir.
const FileName = "practice.db"

// Options tune how the file is shared.
type Options struct {
	// BusyTimeout is how long to wait for another process's lock (default 30s).
	BusyTimeout time.Duration
	// OnBusy is called once each time a transaction has to wait for the lock.
	OnBusy func()
	// Hold keeps the file open (and locked) between transactions until Close:
	// for servers and benchmarks, never for an interactive workstation.
	Hold bool
	// NoSync skips fsync (tests only; never for real practices).
	NoSync bool
	// OpenFile replaces os.OpenFile, for fault injection in tests.
	OpenFile func(string, int, os.FileMode) (*os.File, error)
}

// Store is the bbolt backend.
type Store struct {
	path string
	opt  Options

	mu   sync.Mutex // serialises this process's writers; bbolt's flock does other processes
	held *bbolt.DB
	// yieldable: held by Hold (a bulk run), not by Options.Hold (a server).
	yieldable bool
	// opened: the file has been made; from then on a transaction opens it
	// again and never creates it (a data dir moved or deleted under a
	// running process is an error, not a new empty practice). closed: Close
	// was called; later transactions are refused.
	opened, closed atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Exists reports whether a practice file exists in dir.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, FileName))
	return err == nil
}

// Open opens the practice file at path, creating it (owner-only) when absent,
// and runs any pending forward migrations after an automatic backup.
func Open(path string, opt Options) (*Store, error) {
	if opt.BusyTimeout == 0 {
		opt.BusyTimeout = 30 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s := &Store{path: path, opt: opt}
	db, err := s.open(false)
	if err != nil {
		return nil, err
	}
	s.opened.Store(true)
	if err := s.guard(func() error { return s.prepare(db) }); err != nil {
		db.Close()
		return nil, err
	}
	if opt.Hold {
		s.held = db
	} else if err := db.Close(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the practice file.
func (s *Store) Path() string { return s.path }

func (s *Store) open(readOnly bool) (*bbolt.DB, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("practice file %s: the store is closed", s.path)
	}
	if s.opened.Load() && s.opt.OpenFile == nil {
		if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("practice file %s is gone (moved or deleted while gpsoc ran): not making an empty one", s.path)
		}
	}
	deadline := time.Now().Add(s.opt.BusyTimeout)
	var unannounce func()
	defer func() {
		if unannounce != nil {
			unannounce() // after the lock is ours (or we gave up)
		}
	}()
	for {
		bo := &bbolt.Options{
			// One try per call: the retries are this loop's, every few
			// milliseconds, so a file handed over is taken at once.
			Timeout:      time.Nanosecond,
			ReadOnly:     readOnly,
			NoSync:       s.opt.NoSync,
			FreelistType: bbolt.FreelistMapType,
			// Address space, not memory: a large first mapping saves remapping the
			// file (and waiting for readers) as a write transaction grows it.
			InitialMmapSize: 1 << 30,
			// For a new file: 16 KiB pages, a quarter of the page writes of
			// bbolt's 4 KiB default when a bulk import commits a chunk (one
			// write call per page), at a small cost to single writes. A file
			// keeps the page size it was made with.
			PageSize: pageSize,
			OpenFile: s.opt.OpenFile,
		}
		var db *bbolt.DB
		err := s.guard(func() (err error) { db, err = bbolt.Open(s.path, 0o600, bo); return err })
		if err == nil {
			return db, nil
		}
		if !errors.Is(err, bberrors.ErrTimeout) {
			return nil, fmt.Errorf("open practice file %s: %w", s.path, err)
		}
		if time.Now().After(deadline) {
			return nil, &record.BusyError{Path: s.path, Msg: "another gpsoc process kept it locked for " + s.opt.BusyTimeout.String()}
		}
		if unannounce == nil {
			unannounce = announceWait(s.path)
			if s.opt.OnBusy != nil {
				s.opt.OnBusy()
			}
		}
		time.Sleep(retryEvery)
	}
}

const pageSize = 16 << 10

// retryEvery is how often a process waiting for the file tries its lock.
const retryEvery = 5 * time.Millisecond

// with runs fn with an open database, opened for this call unless held.
func (s *Store) with(readOnly bool, fn func(*bbolt.DB) error) error {
	if s.held != nil {
		return s.guard(func() error { return fn(s.held) })
	}
	db, err := s.open(readOnly)
	if err != nil {
		return err
	}
	ferr := s.guard(func() error { return fn(db) })
	cerr := db.Close()
	if ferr != nil {
		return ferr
	}
	return cerr
}

// View runs fn in a read-only transaction.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error { return fn(&rtx{tx: tx}) })
	})
}

// Update runs fn in one read-write transaction with fsync on commit.
func (s *Store) Update(ctx context.Context, fn func(store.WTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.with(false, func(db *bbolt.DB) error {
		return db.Update(func(tx *bbolt.Tx) error {
			w := newWtx(tx)
			if err := fn(w); err != nil {
				return err
			}
			return w.flush()
		})
	})
}

// Close releases a held file.
func (s *Store) Close() error {
	s.closed.Store(true)
	if s.held != nil {
		err := s.held.Close()
		s.held = nil
		return err
	}
	return nil
}

// Hold keeps the file open (and locked) until release is called, so a bulk
// run does not reopen it for every chunk. Callers call Yield between chunks
// to let waiting processes in.
func (s *Store) Hold() (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held != nil {
		return func() error { return nil }, nil // already held (Options.Hold)
	}
	db, err := s.open(false)
	if err != nil {
		return nil, err
	}
	s.held = db
	s.yieldable = true
	return func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.held != db {
			return nil
		}
		s.held, s.yieldable = nil, false
		return db.Close()
	}, nil
}

// Yield gives a file held by Hold to the processes waiting for it, if any,
// and takes it back when they have had their turn. With nobody waiting it
// costs one lock probe.
func (s *Store) Yield() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil || !s.yieldable || !someoneWaiting(s.path) {
		return nil
	}
	if err := s.held.Close(); err != nil {
		return err
	}
	s.held = nil
	// The waiters withdraw their flag once they hold the file; a waiter that
	// retries every retryEvery has it within a few milliseconds.
	for t0 := time.Now(); time.Since(t0) < 250*time.Millisecond && someoneWaiting(s.path); {
		time.Sleep(time.Millisecond)
	}
	db, err := s.open(false)
	if err != nil {
		s.yieldable = false
		return err
	}
	s.held = db
	return nil
}

// guard turns a panic raised inside bbolt (which asserts rather than
// returns an error when a page is damaged) into an error that names the
// file and says what to run; the transaction was rolled back by bbolt. A
// panic of any other code goes on as a panic.
func (s *Store) guard(fn func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if !panickedInBolt(debug.Stack()) {
			panic(r)
		}
		de := &DamagedError{Path: s.path, Msg: fmt.Sprint(r)}
		if ps := scanFile(s.path); len(ps) > 0 {
			de.Problems = ps // the pages, named
			de.Msg = ps[0].String()
		}
		err = de
	}()
	return fn()
}

// panickedInBolt reports whether the function that panicked is bbolt's:
// the first frame after the runtime's panic frames.
func panickedInBolt(stack []byte) bool {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") {
			for _, m := range lines[i+1:] {
				if strings.HasPrefix(m, "\t") || strings.HasPrefix(m, "runtime.") {
					continue
				}
				return strings.HasPrefix(m, "go.etcd.io/bbolt")
			}
		}
	}
	return false
}

// DamagedError is a practice file that bbolt could not read.
type DamagedError struct {
	Path     string
	Msg      string
	Problems []Problem // the damaged pages found, when the pages could be read
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("practice file %s is damaged (%s): run gpsoc check to find the damaged pages, and restore the last good backup", e.Path, e.Msg)
}
