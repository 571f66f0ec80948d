package postgres_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
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

// A practice that keeps an audit trail imported from another system is not
// copied into PostgreSQL, which keeps none yet: the load is refused, saying
// why, and nothing is written (never a copy that silently drops the trail).
func TestCopyRefusesAnImportedTrail(t *testing.T) {
	src, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storetest.Fill(t, src)
	err = src.Update(context.Background(), func(tx store.WTx) error {
		ev := record.AuditEvent{Seq: 1, User: "someone", Action: "read", Kind: "patient"}
		return tx.(store.ImportedTrail).AppendImportedAudit(&record.ImportedAuditEvent{Event: ev, Source: "Other Surgery", ImportedBy: "admin", Batch: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := openDB(t)
	dst := practice(t, db, "B86002")
	err = dst.Load(context.Background(), src)
	if err == nil || !strings.Contains(err.Error(), "imported from another system") {
		t.Fatalf("load of a practice with an imported trail: %v, want a refusal naming it", err)
	}
	var n int
	_ = dst.View(context.Background(), func(tx store.Tx) error { n = tx.Count(record.KindPatient); return nil })
	if n != 0 {
		t.Fatalf("%d patients written by a refused load", n)
	}
}
