package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

// A practice moves from a data dir into PostgreSQL and back, and from one
// database to another, losing nothing: every version, users and tokens,
// find rows, the feed's position and the audit chain byte for byte
// (storetest.Copy).
func TestCopyBoltAndPostgres(t *testing.T) {
	openBolt := func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	db, _ := openDB(t)
	n := 0
	openPG := func(t *testing.T) store.Store {
		// storetest.Fill's practice; a database of its own each time.
		n++
		if n > 1 {
			db, _ = openDB(t)
		}
		return practice(t, db, "B86002")
	}
	t.Run("bolt to postgres and back", func(t *testing.T) { storetest.Copy(t, openBolt, openPG) })
	t.Run("postgres to bolt and back", func(t *testing.T) { storetest.Copy(t, openPG, openBolt) })
}

// A practice that keeps an audit trail imported from another system moves
// into PostgreSQL and back with it: the trail's events byte for byte, in
// their order, and audit verify says the same of each (storetest.Copy's
// Fill keeps one; this names it on its own).
func TestCopyKeepsImportedTrailBothWays(t *testing.T) {
	src, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storetest.Fill(t, src)
	storetest.KeepTrail(t, src, "Leeds Road Surgery", storetest.OtherTrail(1, "", 5))
	want := storetest.Snap(t, src)
	if len(want.Imported) != 8 || len(want.DumpedImported) != 8 {
		t.Fatalf("the source keeps %d imported events (%d dumped), want 8", len(want.Imported), len(want.DumpedImported))
	}
	db, _ := openDB(t)
	pg := practice(t, db, "B86002")
	if err := pg.Load(context.Background(), src); err != nil {
		t.Fatalf("load into PostgreSQL: %v", err)
	}
	want.Diff(t, "the practice in PostgreSQL", storetest.Snap(t, pg))
	back, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := back.Load(context.Background(), pg); err != nil {
		t.Fatalf("load back into a file: %v", err)
	}
	want.Diff(t, "the practice back in a file", storetest.Snap(t, back))
	wr, _ := src.VerifyAudit()
	for name, v := range map[string]store.AuditVerifier{"in PostgreSQL": pg, "back in a file": back} {
		r, err := v.VerifyAudit()
		if err != nil || len(r.Problems) != 0 || fmt.Sprint(r) != fmt.Sprint(wr) || r.Imported.Events != 8 {
			t.Errorf("audit verify %s: %+v %v; of the source %+v", name, r, err, wr)
		}
	}
}
