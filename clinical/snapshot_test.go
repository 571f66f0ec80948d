package clinical

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

func snapPractice(t *testing.T, dir, snap string, n int) *Practice {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := New(Options{Store: st, IndexSnapshot: snap})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Snap", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"noNhsReason":"temporary-resident","family":"Fam%d","given":["Given"],"birthDate":"1970-01-01","sex":"female"}`+"\n", i)
	}
	if _, err := admin.ImportPatients(ctx, strings.NewReader(b.String()), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return New(Options{Store: st, IndexSnapshot: snap})
}

// The find index is cached in a snapshot between processes, brought up to
// date with changes made since, and never used for another practice.
func TestIndexSnapshot(t *testing.T) {
	ctx := context.Background()
	dir, snap := snapshotDir(t)
	p := snapPractice(t, dir, snap, 30)
	if _, err := p.Index(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(snap)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot: %v %v", st, err)
	}
	// Another process adds a patient; a new process loads the snapshot and catches up.
	other := New(Options{Store: p.st})
	s, _ := other.As(ctx, "admin")
	if _, err := s.AddPatient(ctx, &record.Patient{NoNHSReason: "newborn", Family: "Zebedee", Given: []string{"Zoe"}, BirthDate: "2026-01-01", Sex: "female"}); err != nil {
		t.Fatal(err)
	}
	fresh := New(Options{Store: p.st, IndexSnapshot: snap})
	ix, err := fresh.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 31 || len(ix.Search(ctx, "zebedee", 5)) != 1 {
		t.Fatalf("after catch-up: %d patients, zebedee %v", ix.Len(), ix.Search(ctx, "zebedee", 5))
	}
	// A different practice given the same snapshot path does not use it.
	dir2 := t.TempDir()
	p2 := snapPractice(t, dir2, snap, 12)
	ix2, err := p2.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ix2.Len() != 12 || len(ix2.Search(ctx, "zebedee", 5)) != 0 {
		t.Fatalf("another practice's snapshot was used: %d patients", ix2.Len())
	}
}

// A damaged or old-format snapshot is never trusted: the index is built from the rows
// and the snapshot written again, then used by the next process.
func TestIndexSnapshotDamaged(t *testing.T) {
	ctx := context.Background()
	dir, snap := snapshotDir(t)
	p := snapPractice(t, dir, snap, 40)
	if _, err := p.Index(ctx); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated":  good[:len(good)/2],
		"old format": append([]byte("GPSOCFIND1\n"), good[len(snapMagic):]...),
		"flipped":    append(append(slices.Clone(good[:snapHeader+100]), good[snapHeader+100]^0xff), good[snapHeader+101:]...),
		"empty":      nil,
	} {
		if err := os.WriteFile(snap, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		fresh := New(Options{Store: p.st, IndexSnapshot: snap})
		ix, err := fresh.Index(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ix.Len() != 40 || len(ix.Search(ctx, "fam", 50)) != 40 {
			t.Fatalf("%s: %d patients, fam %d", name, ix.Len(), len(ix.Search(ctx, "fam", 50)))
		}
		if again, _ := os.ReadFile(snap); !bytes.Equal(again, good) {
			t.Fatalf("%s: the snapshot was not written again", name)
		}
	}
}

// snapshotDir is a data dir and its snapshot path, with snapshots made for
// practices of 10 patients or more, for the length of the test.
func snapshotDir(t *testing.T) (dir, snap string) {
	old := snapshotMin
	snapshotMin = 10
	t.Cleanup(func() { snapshotMin = old })
	dir = t.TempDir()
	return dir, filepath.Join(dir, "find-index.snap")
}
