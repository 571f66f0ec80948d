package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// damagedPractice is a practice file of n patients with one page of the
// patients' bucket overwritten by garbage; it returns the path and the page.
func damagedPractice(t *testing.T, n int, fill byte) (string, uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	addPatients(t, s, n, 0)
	s.Close()
	// Find a page the patients' bucket uses (the layout is bbolt's to choose).
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	sc := &scanner{f: f, size: st.Size(), seen: map[uint64]string{}}
	m, prob := sc.meta()
	if prob != nil {
		t.Fatal(prob)
	}
	sc.ps, sc.hwm = uint64(m.pageSize), m.hwm
	sc.visit(m.root, "(top level)", 0)
	if len(sc.probs) > 0 {
		t.Fatalf("the undamaged file has problems: %v", sc.probs)
	}
	var pg uint64
	for p, b := range sc.seen {
		if b == "k:patient" && (pg == 0 || p < pg) {
			pg = p
		}
	}
	if pg == 0 {
		t.Fatal("no page of the patients' bucket")
	}
	junk := make([]byte, sc.ps)
	for i := range junk {
		junk[i] = fill
	}
	if _, err := f.WriteAt(junk, int64(pg*sc.ps)); err != nil {
		t.Fatal(err)
	}
	return path, pg
}

// check, backup and restore name the damaged page and its bucket, and none
// panics (bbolt's own check died with a stack trace in its goroutine).
func TestDamagedPageIsNamedByCheckBackupAndRestore(t *testing.T) {
	for _, fill := range []byte{0xff, 0x00, 0x5a} {
		path, pg := damagedPractice(t, 3000, fill)
		page := "page " + strconv.FormatUint(pg, 10) + " (bucket k:patient)"

		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("fill %#x: open: %v", fill, err)
		}
		probs, err := s.Check()
		if err != nil || len(probs) == 0 || !strings.Contains(probs[0].String(), page) {
			t.Errorf("fill %#x: check = %v, %v; want %s named", fill, probs, err, page)
		}

		// Reading the damaged bucket is an error naming the file, not a panic.
		err = s.View(context.Background(), func(tx store.Tx) error {
			return tx.ForEach(record.KindPatient, func(record.Entity) error { return nil })
		})
		var de *DamagedError
		if err != nil && !errors.As(err, &de) {
			t.Errorf("fill %#x: reading the damaged bucket: %v", fill, err)
		}

		// A backup of it fails, names the page, and leaves no file behind.
		bak := filepath.Join(t.TempDir(), "b.db")
		if _, err := s.BackupFile(bak); err == nil || !strings.Contains(err.Error(), page) {
			t.Errorf("fill %#x: backup err = %v; want %s named", fill, err, page)
		}
		if _, err := os.Stat(bak); !os.IsNotExist(err) {
			t.Errorf("fill %#x: a backup that failed its check was left at %s", fill, bak)
		}
		s.Close()

		// Restoring it (as a backup) is refused before anything is touched.
		dir := filepath.Join(t.TempDir(), "restore")
		if _, err := Restore(path, dir, false); err == nil || !strings.Contains(err.Error(), page) {
			t.Errorf("fill %#x: restore err = %v; want %s named", fill, err, page)
		}
		if Exists(dir) {
			t.Errorf("fill %#x: a damaged backup was restored", fill)
		}
	}
}
