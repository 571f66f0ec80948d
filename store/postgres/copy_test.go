package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

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

// A trail kept partly as rows (copied in by migrate) and partly as runs
// (placed here since, schema 6) reads as one: every page of it, from any
// point and of any length, holds the events that follow the point, in
// order, with no gap and none twice; and audit verify finds the chain
// whole across the join.
func TestAuditTrailRowsThenRuns(t *testing.T) {
	src, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	storetest.Fill(t, src)
	db, url := openDB(t)
	pg := practice(t, db, "B86002")
	ctx := context.Background()
	if err := pg.Load(ctx, src); err != nil {
		t.Fatal(err)
	}
	// More events, as runs: writes' own, and read-audit batches placed
	// together.
	for i := 0; i < 5; i++ {
		if err := pg.Update(ctx, func(tx store.WTx) error {
			for j := 0; j <= i; j++ {
				if err := tx.Append(&record.AuditEvent{User: "admin", Action: "export", Source: "cli", Query: fmt.Sprint(i, j)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		evs := []*record.AuditEvent{{User: "recep", Action: "find", Source: "api", Query: fmt.Sprint("a", i)}, {User: "recep", Action: "find", Source: "api", Query: fmt.Sprint("b", i)}}
		if err := pg.AppendDurable(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	if err := pg.PlacePending(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, runs, head int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit WHERE practice = 'B86002'), (SELECT count(*) FROM audit_runs WHERE practice = 'B86002'),
		(SELECT audit_seq FROM practices WHERE practice = 'B86002')`).Scan(&rows, &runs, &head); err != nil {
		t.Fatal(err)
	}
	if rows == 0 || runs < 6 || head != rows+15+10 {
		t.Fatalf("%d events as rows, %d runs, head %d: want both kinds, and every event counted", rows, runs, head)
	}
	if _, err := conn.Exec(ctx, "SET ROLE gpsoc_app; SELECT set_config('app.practice', 'B86002', false)"); err != nil {
		t.Fatal(err)
	}
	for after := int64(0); after <= head; after++ {
		for _, lim := range []int64{1, 2, 3, 7, 1000} {
			r, err := conn.Query(ctx, "SELECT seq FROM gpsoc_audit('B86002', $1, $2)", after, lim)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for r.Next() {
				var s int64
				_ = r.Scan(&s)
				got = append(got, s)
			}
			r.Close()
			want := []int64{}
			for s := after + 1; s <= head && int64(len(want)) < lim; s++ {
				want = append(want, s)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("events after %d, at most %d: %v, want %v", after, lim, got, want)
			}
		}
	}
	rep, err := pg.VerifyAudit()
	if err != nil || len(rep.Problems) != 0 || rep.Events != int(head) {
		t.Errorf("audit verify across rows and runs: %+v %v", rep, err)
	}
}
