package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

// A new database is migrated to this build's schema, each step recorded;
// replicas opening together migrate it once; opening again changes
// nothing; a database from a newer gpsoc is refused, naming both schemas.
func TestMigrations(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			db, err := postgres.Open(ctx, url, postgres.Options{})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("replicas opening a new database together: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != postgres.SchemaVersion() || got[len(got)-1] != int32(postgres.SchemaVersion()) {
		t.Errorf("schema_migrations = %v, want 1..%d once each", got, postgres.SchemaVersion())
	}
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')", postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.Open(ctx, url, postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "upgrade gpsoc") {
		t.Errorf("a database from a newer gpsoc: err = %v, want a refusal asking to upgrade", err)
	}
}

// The migrations are well formed: numbered 1, 2, 3… with a name each.
func TestMigrationFiles(t *testing.T) {
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || m.SQL == "" {
			t.Errorf("migration %d = %d %q (%d bytes of SQL)", i, m.Version, m.Name, len(m.SQL))
		}
	}
}

// audit verify on PostgreSQL: an intact trail verifies; a record altered
// in the database behind the store's back, and an event removed, are named.
func TestVerifyAuditFindsTampering(t *testing.T) {
	db, url := openDB(t)
	ctx := context.Background()
	s := practice(t, db, "A81001")
	p := seed(t, s, "A81001", "9434765919", "Adams")
	p2 := *p
	p2.Family = "Adamson"
	if err := s.Update(ctx, func(tx store.WTx) error {
		if err := tx.Put(&p2); err != nil {
			return err
		}
		return tx.Append(&record.AuditEvent{User: "admin", Action: "update", Kind: record.KindPatient, EntityID: p.ID, Version: 2})
	}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.VerifyAudit()
	if err != nil || len(rep.Problems) != 0 || rep.Events != 2 {
		t.Fatalf("an intact trail: %+v, %v", rep, err)
	}
	// A superuser (not the store: it cannot) rewrites version 1's name.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE record_versions SET doc = replace(convert_from(doc, 'UTF8'), 'Adams', 'Evans')::bytea
		WHERE practice = 'A81001' AND id = $1 AND version = 1`, p.ID); err != nil {
		t.Fatal(err)
	}
	rep, err = s.VerifyAudit()
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].String(), "version 1") || !strings.Contains(rep.Problems[0].String(), "altered") {
		t.Errorf("an altered version: %+v, %v; want it named", rep.Problems, err)
	}
	// Event 2 goes, wherever it is kept: the run that ends with it is
	// cut short (or goes, when it holds nothing else).
	if _, err := conn.Exec(ctx, `DELETE FROM audit WHERE practice = 'A81001' AND seq = 2;
		DELETE FROM audit_runs WHERE practice = 'A81001' AND seq = 2 AND last_seq = 2;
		UPDATE audit_runs SET last_seq = 1, hashes = hashes[1:1], mids = mids[1:1] WHERE practice = 'A81001' AND seq = 1 AND last_seq = 2`); err != nil {
		t.Fatal(err)
	}
	rep, _ = s.VerifyAudit()
	found := false
	for _, pr := range rep.Problems {
		found = found || strings.Contains(pr.String(), "audit head")
	}
	if !found {
		t.Errorf("the last event removed: %v; want the head named", rep.Problems)
	}
}

// Each replica records its terminology release; one with another release
// is refused for that practice, naming both, until the practice is re-pinned.
func TestTerminologyPinnedPerPractice(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	seed(t, a, "A81001", "9434765919", "Adams")
	seed(t, b, "B82002", "9434765919", "Brown")
	if err := a.PinTerminology(ctx, "uk-2026-03"); err != nil {
		t.Fatal(err)
	}
	if err := a.PinTerminology(ctx, "uk-2026-03"); err != nil {
		t.Errorf("a second replica with the same release: %v", err)
	}
	err := a.PinTerminology(ctx, "uk-2025-09")
	if !errors.Is(err, postgres.ErrOtherRelease) || !strings.Contains(err.Error(), "uk-2026-03") || !strings.Contains(err.Error(), "uk-2025-09") {
		t.Errorf("a replica with another release: err = %v", err)
	}
	if err := b.PinTerminology(ctx, "uk-2025-09"); err != nil {
		t.Errorf("another practice pinned to its own release: %v", err)
	}
	if err := a.RepinTerminology(ctx, "uk-2025-09"); err != nil {
		t.Fatal(err)
	}
	if rel, err := a.Terminology(ctx); err != nil || rel != "uk-2025-09" {
		t.Errorf("after re-pinning: %q, %v", rel, err)
	}
}

// Backup and restore of a file do not apply: each says what to use instead.
func TestBackupFileRefusedWithDirections(t *testing.T) {
	db, _ := openDB(t)
	s := practice(t, db, "A81001")
	if _, err := s.BackupFile(t.TempDir() + "/x.db"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup: %v", err)
	}
	if _, err := s.RestoreFrom("x.db"); err == nil || !strings.Contains(err.Error(), "gpsoc migrate") {
		t.Errorf("restore: %v", err)
	}
}

// The database writes each event's sequence, link and hash (gpsoc_place):
// text that JSON escapes, and text it does not (accents, symbols), hash
// as the store computes them, and the events are filled in on commit.
func TestPlacedEventsVerify(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	s := practice(t, db, "A81001")
	seed(t, s, "A81001", "9434765919", "Adams")
	evs := []*record.AuditEvent{
		{User: "dr.woźniak", Action: "find", Query: "Woźniak \u2028 <b>\"x\"</b> & \\ \t 日本"},
		{User: "admin", Action: "read", Reason: "line1\nline2"},
	}
	if err := s.Update(ctx, func(tx store.WTx) error {
		for _, ev := range evs {
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if evs[0].Seq != 2 || evs[1].Seq != 3 || evs[1].PrevHash != evs[0].Hash || evs[0].Hash == "" {
		t.Errorf("events after commit: %+v %+v", evs[0], evs[1])
	}
	rep, err := s.VerifyAudit()
	if err != nil || len(rep.Problems) != 0 || rep.Events != 3 {
		t.Errorf("verify: %+v, %v", rep, err)
	}
	verifyChain(t, s)
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.Audit(1, func(ev *record.AuditEvent) error {
			if ev.Seq == 2 && ev.Query != evs[0].Query {
				t.Errorf("the query came back as %q", ev.Query)
			}
			return nil
		})
	})
}

// The imported-trail suite on PostgreSQL, with the table edited by a
// superuser behind the store's back (the store's own role cannot: it may
// only add to the trail): audit verify names the event and its import.
func TestImportedTrailSuite(t *testing.T) {
	urls := map[store.Store]string{}
	storetest.ImportedTrail(t, func(t *testing.T) store.Store {
		db, url := openDB(t) // a database each: Fill's token hashes are unique in one
		s := practice(t, db, "B86002")
		urls[s] = url
		return s
	}, func(t *testing.T, s store.Store, how string, seq int) {
		ods := s.(*postgres.Store).ODS()
		conn, err := pgx.Connect(context.Background(), urls[s])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		q := `UPDATE audit_imported SET doc = replace(convert_from(doc, 'UTF8'), '"user":"dr.jones"', '"user":"dr.jonex"')::bytea
			WHERE practice = $1 AND seq = $2`
		if how == "remove" {
			q = "DELETE FROM audit_imported WHERE practice = $1 AND seq = $2"
		}
		if tag, err := conn.Exec(context.Background(), q, ods, seq); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s imported event %d of %s: %v (%d rows)", how, seq, ods, err, tag.RowsAffected())
		}
	})
}

// The imported trail is only ever added to, and only the practice's own:
// the store's role may not alter or delete it, nor read or add to another
// practice's.
func TestImportedTrailAppendOnlyAndIsolated(t *testing.T) {
	db, url := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	for _, s := range []*postgres.Store{a, b} {
		seed(t, s, s.ODS(), "9434765919", "Adams")
		storetest.KeepTrail(t, s, "Other Surgery", storetest.OtherTrail(1, "", 2))
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET ROLE "+postgres.AppRole+"; SELECT set_config('app.practice', 'A81001', false)"); err != nil {
		t.Fatal(err)
	}
	var mine, others int
	if err := conn.QueryRow(ctx, "SELECT count(*) FILTER (WHERE practice = 'A81001'), count(*) FILTER (WHERE practice <> 'A81001') FROM audit_imported").Scan(&mine, &others); err != nil {
		t.Fatal(err)
	}
	if mine != 2 || others != 0 {
		t.Errorf("practice A's connection sees %d of its own imported events and %d of others', want 2 and 0", mine, others)
	}
	for _, q := range []string{
		"UPDATE audit_imported SET doc = 'x'",
		"DELETE FROM audit_imported",
		"INSERT INTO audit_imported (practice, seq, source, doc) VALUES ('B82002', 99, 'x', 'x')",
	} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("the store's role, as practice A: %s succeeded", q)
		}
	}
}

// A database written at schema 5 — events placed a row each, read events
// still pending — is upgraded by the next replica to open it: the pending
// events are placed as a run after the rows, and the trail reads in order
// and verifies whole across the two.
func TestUpgradeFromSchema5KeepsTheTrail(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%.60s: %v", sql, err)
		}
	}
	ms, err := postgres.Migrations()
	if err != nil || len(ms) < 6 {
		t.Fatalf("migrations: %d, %v", len(ms), err)
	}
	exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	for _, m := range ms[:5] {
		exec(m.SQL)
		exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
	}
	// The store's role at schema 5: three events placed by a write, then
	// two batches of read events committed and not yet placed.
	mid := func(q string) string {
		ev := &record.AuditEvent{At: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC), User: "recep", Role: record.RoleReceptionist,
			Action: "find", Query: q, Source: "api", Outcome: "ok"}
		return postgres.AuditMids([]*record.AuditEvent{ev})[0]
	}
	exec("SET ROLE " + postgres.AppRole)
	tx := func(sql string, args ...any) {
		t.Helper()
		exec("BEGIN")
		exec("SELECT set_config('app.practice', 'A81001', true)")
		exec(sql, args...)
		exec("COMMIT")
	}
	tx("INSERT INTO practices (practice) VALUES ('A81001')")
	tx("SELECT * FROM gpsoc_place('A81001', $1::text[], '{}'::text[])", []string{mid("q1"), mid("q2"), mid("q3")})
	tx("INSERT INTO audit_pending (practice, mids) VALUES ('A81001', $1::text[])", []string{mid("q4"), mid("q5")})
	tx("INSERT INTO audit_pending (practice, mids) VALUES ('A81001', $1::text[])", []string{mid("q6")})
	exec("RESET ROLE")

	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatalf("open (and upgrade) a schema-5 database: %v", err)
	}
	defer db.Close()
	s, err := db.Practice("A81001")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PlacePending(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error { got = append(got, fmt.Sprint(ev.Seq, " ", ev.Query)); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if want := "[1 q1 2 q2 3 q3 4 q4 5 q5 6 q6]"; fmt.Sprint(got) != want {
		t.Errorf("the trail after the upgrade: %v, want %s", got, want)
	}
	var rows, runs int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM audit_runs WHERE seq = 4 AND last_seq = 6)").Scan(&rows, &runs); err != nil {
		t.Fatal(err)
	}
	if rows != 3 || runs != 1 {
		t.Errorf("%d events as rows and %d runs of events 4–6; want the 3 placed at schema 5 as rows, the pending 3 as one run", rows, runs)
	}
	rep, err := s.VerifyAudit()
	if err != nil || len(rep.Problems) != 0 || rep.Events != 6 {
		t.Errorf("audit verify after the upgrade: %+v %v", rep, err)
	}
}
