package bolt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

var ctx = context.Background()

func addPatients(t testing.TB, s *Store, n int, from int) {
	t.Helper()
	err := s.Update(ctx, func(tx store.WTx) error {
		if _, err := tx.Practice(); err != nil {
			if err := tx.PutPractice(&record.Practice{Name: "Test", ODS: "B86001"}); err != nil {
				return err
			}
		}
		for i, added := from*3, 0; added < n; i++ {
			nhs, ok := record.CompleteNHS(fmt.Sprintf("%09d", 400000000+i*7))
			if !ok {
				continue
			}
			added++
			p := &record.Patient{NHSNumber: nhs, Family: "Test", Given: []string{"Pat"}, BirthDate: "1980-01-01", Sex: "female"}
			p.RecordedAt, p.RecordedBy = time.Now().UTC(), "admin"
			if err := p.Validate(); err != nil {
				return err
			}
			if err := tx.Put(p); err != nil {
				return err
			}
			if err := tx.SetSearchRow(p.ID, []byte("r")); err != nil {
				return err
			}
			if err := tx.Append(&record.AuditEvent{User: "admin", Action: "create", Kind: record.KindPatient, EntityID: p.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFileIsOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(filepath.Join(dir, FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	addPatients(t, s, 3, 0)
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, FileName): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}
	bk := filepath.Join(t.TempDir(), "b.db")
	if _, err := s.BackupFile(bk); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(bk); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := s.BackupFile(bk); err == nil {
		t.Error("a second backup to the same file overwrote it")
	}
}

func TestTamperedAuditEventIsNamed(t *testing.T) {
	s := openTemp(t)
	addPatients(t, s, 5, 0)
	if r, err := s.VerifyAudit(); err != nil || len(r.Problems) != 0 || r.Events != 5 {
		t.Fatalf("clean trail: %v %d %v", r.Problems, r.Events, err)
	}
	// Change one byte of event 3 directly through bbolt.
	db, err := bbolt.Open(s.Path(), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bAudit)
		v := append([]byte(nil), b.Get(u64(3))...)
		i := bytes.Index(v, []byte(`"user":"admin"`))
		v[i+9] = 'x' // admin -> xdmin
		return b.Put(u64(3), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	probs := r.Problems
	if len(probs) != 1 || probs[0].Where != "event 3" {
		t.Fatalf("problems = %v, want exactly event 3", probs)
	}
	if cp, _ := s.Check(); len(cp) == 0 {
		t.Error("check passed a tampered trail")
	}
}

func TestDeletedAuditEventIsFound(t *testing.T) {
	s := openTemp(t)
	addPatients(t, s, 4, 0)
	db, _ := bbolt.Open(s.Path(), 0o600, nil)
	_ = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bAudit).Delete(u64(2)) })
	db.Close()
	r, _ := s.VerifyAudit()
	probs := r.Problems
	if len(probs) == 0 || !strings.Contains(probs[0].String(), "event 3") {
		t.Fatalf("problems = %v, want event 3 named (gap / broken link)", probs)
	}
}

func TestCheckFindsBrokenIndex(t *testing.T) {
	s := openTemp(t)
	addPatients(t, s, 3, 0)
	if probs, _ := s.Check(); len(probs) != 0 {
		t.Fatalf("clean file: %v", probs)
	}
	db, _ := bbolt.Open(s.Path(), 0o600, nil)
	_ = db.Update(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bNHS).Cursor().First()
		return tx.Bucket(bNHS).Delete(k)
	})
	db.Close()
	probs, _ := s.Check()
	if len(probs) != 1 || !strings.Contains(probs[0].What, "NHS number index") {
		t.Fatalf("problems = %v", probs)
	}
}

func TestMigrationFromSchema1BacksUpFirst(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, _ := Open(path, Options{})
	addPatients(t, s, 3, 0)
	// Make it look like a schema-1 file: no change log.
	db, _ := bbolt.Open(path, 0o600, nil)
	_ = db.Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket(bChanges); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte("1"))
	})
	db.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	baks, _ := filepath.Glob(filepath.Join(dir, "*.schema1-*.bak"))
	if len(baks) != 1 {
		t.Fatalf("backups before migration: %v", baks)
	}
	if st, _ := os.Stat(baks[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("migration backup mode %v", st.Mode().Perm())
	}
	_ = s2.View(ctx, func(tx store.Tx) error {
		n := 0
		_, err := tx.Changes(0, func(uint64, string) error { n++; return nil })
		if err != nil || n != 3 {
			t.Errorf("change log after migration: %d, %v", n, err)
		}
		return nil
	})
	if probs, _ := s2.Check(); len(probs) != 0 {
		t.Errorf("check after migration: %v", probs)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, _ := Open(path, Options{})
	s.Close()
	db, _ := bbolt.Open(path, 0o600, nil)
	_ = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, []byte("99")) })
	db.Close()
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "upgrade gpsoc") {
		t.Fatalf("err = %v", err)
	}
}

func TestBusyWhileAnotherHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	holder, err := Open(path, Options{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	busy := 0
	waiter, err := func() (*Store, error) {
		// Open itself needs the lock; use a store value directly.
		return &Store{path: path, opt: Options{BusyTimeout: 600 * time.Millisecond, OnBusy: func() { busy++ }}}, nil
	}()
	if err != nil {
		t.Fatal(err)
	}
	err = waiter.Update(ctx, func(store.WTx) error { return nil })
	if _, ok := err.(*record.BusyError); !ok {
		t.Fatalf("err = %v, want BusyError", err)
	}
	if busy != 1 {
		t.Errorf("OnBusy called %d times", busy)
	}
	// Released: the waiter gets through.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); time.Sleep(100 * time.Millisecond); holder.Close() }()
	waiter.opt.BusyTimeout = 10 * time.Second
	if err := waiter.Update(ctx, func(store.WTx) error { return nil }); err != nil {
		t.Fatalf("after release: %v", err)
	}
	wg.Wait()
}

func TestRestore(t *testing.T) {
	src := openTemp(t)
	addPatients(t, src, 10, 0)
	bk := filepath.Join(t.TempDir(), "backup.db")
	if _, err := src.BackupFile(bk); err != nil {
		t.Fatal(err)
	}
	// Into an empty data dir.
	dir := t.TempDir()
	if _, err := Restore(bk, dir, false); err != nil {
		t.Fatal(err)
	}
	got, _ := Open(filepath.Join(dir, FileName), Options{})
	_ = got.View(ctx, func(tx store.Tx) error {
		if n := tx.Count(record.KindPatient); n != 10 {
			t.Errorf("restored %d patients", n)
		}
		return nil
	})
	// Over a practice: refused without force, backed up with it.
	addPatients(t, got, 1, 500)
	if _, err := Restore(bk, dir, false); err == nil {
		t.Fatal("restore over a practice without --force succeeded")
	}
	old, err := Restore(bk, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("no backup of the replaced practice: %v", err)
	}
	_ = got.View(ctx, func(tx store.Tx) error {
		if n := tx.Count(record.KindPatient); n != 10 {
			t.Errorf("after forced restore %d patients, want 10", n)
		}
		return nil
	})
	// A file that is not a practice is refused and nothing changes.
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	if _, err := Restore(junk, dir, true); err == nil {
		t.Fatal("restored a junk file")
	}
}

func TestBackupWhileWriting(t *testing.T) {
	s := openTemp(t)
	addPatients(t, s, 50, 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			addPatients(t, s, 50, 1000+i*50)
		}
	}()
	dir := t.TempDir()
	var baks []string
	for i := 0; i < 5; i++ {
		b := filepath.Join(dir, fmt.Sprintf("b%d.db", i))
		if _, err := s.BackupFile(b); err != nil {
			t.Fatal(err)
		}
		baks = append(baks, b)
	}
	<-done
	for _, b := range baks {
		if err := ValidateFile(b); err != nil {
			t.Errorf("backup taken during writes: %v", err)
		}
	}
}

func TestAppointmentTimeIndex(t *testing.T) {
	s := openTemp(t)
	addPatients(t, s, 1, 0)
	var pid string
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error { pid = e.Head().ID; return nil })
	})
	day := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var moved *record.Appointment
	err := s.Update(ctx, func(tx store.WTx) error {
		for i := 0; i < 3; i++ {
			a := &record.Appointment{Meta: record.Meta{PatientID: pid}, Clinician: "dr.x", Start: day.AddDate(0, 0, i), Minutes: 10}
			if err := a.Validate(); err != nil {
				return err
			}
			if err := tx.Put(a); err != nil {
				return err
			}
			moved = a
		}
		moved.Start = day.Add(2 * time.Hour) // the third moves to the first day
		return tx.Put(moved)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.(store.AppointmentIndex).AppointmentsBetween(day, day.AddDate(0, 0, 1), func(a *record.Appointment) error {
			got = append(got, a.Start)
			return nil
		})
	})
	if len(got) != 2 || !got[0].Equal(day) || !got[1].Equal(day.Add(2*time.Hour)) {
		t.Fatalf("first day holds %v", got)
	}
	if probs, _ := s.Check(); len(probs) != 0 {
		t.Fatalf("check: %v", probs)
	}
}

// A bulk run holding the file gives it to a process that waits for it at its
// next Yield, long before the run ends; with nobody waiting it keeps it.
func TestYieldHandsTheFileToAWaiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if _, err := Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	bulk := &Store{path: path, opt: Options{BusyTimeout: 10 * time.Second}}
	release, err := bulk.Hold()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	held := bulk.held
	if err := bulk.Yield(); err != nil || bulk.held != held {
		t.Fatalf("Yield with nobody waiting gave the file up (err %v)", err)
	}
	var running atomic.Bool
	running.Store(true)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// 600 chunks of about 5 ms: 3 s if never interrupted.
		for i := 0; i < 600; i++ {
			_ = bulk.Update(ctx, func(store.WTx) error { time.Sleep(5 * time.Millisecond); return nil })
			if err := bulk.Yield(); err != nil {
				t.Error(err)
				return
			}
		}
		running.Store(false)
	}()
	time.Sleep(50 * time.Millisecond)
	other := &Store{path: path, opt: Options{BusyTimeout: 10 * time.Second}}
	if err := other.Update(ctx, func(store.WTx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !running.Load() {
		t.Error("the waiting process got the file only after the bulk run had finished")
	}
	<-stopped
}
