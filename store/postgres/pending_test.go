package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
)

// Read-audit events committed before their place in the chain
// (AppendDurable) are placed before anything placed after them, in the
// order they were committed; a process places its own within a second
// with no write to do it; Close places what is left; and the store's role
// can neither delete them nor place another practice's.
func TestPendingAuditPlacedInCommitOrder(t *testing.T) {
	db, url := openDB(t)
	ctx := context.Background()
	s := practice(t, db, "A81001")
	seed(t, s, "A81001", "9434765919", "Adams")
	read := func(q string) *record.AuditEvent {
		return &record.AuditEvent{User: "recep", Role: record.RoleReceptionist, Action: "find", Query: q, Source: "api"}
	}
	if err := s.AppendDurable(ctx, []*record.AuditEvent{read("first"), read("second")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendDurable(ctx, []*record.AuditEvent{read("third")}); err != nil {
		t.Fatal(err)
	}
	w := &record.AuditEvent{User: "admin", Action: "export", Source: "cli"}
	if err := s.Update(ctx, func(tx store.WTx) error { return tx.Append(w) }); err != nil {
		t.Fatal(err)
	}
	if w.Seq != 5 {
		t.Errorf("an event placed after three pending ones has seq %d, want 5 (they go first)", w.Seq)
	}
	var got []string
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.Audit(1, func(ev *record.AuditEvent) error { got = append(got, ev.Action+" "+ev.Query); return nil })
	})
	if want := []string{"find first", "find second", "find third", "export "}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chain after the seed = %q, want %q", got, want)
	}
	if n := verifyChain(t, s); n != 5 {
		t.Errorf("chain holds %d events, want 5", n)
	}

	// No write follows: this process places its own within a second.
	if err := s.AppendDurable(ctx, []*record.AuditEvent{read("alone")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for head(t, s) != 6 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if h := head(t, s); h != 6 {
		t.Errorf("a pending event was not placed within a second (head %d, want 6)", h)
	}

	// audit verify covers every event committed before it: it places the
	// pending ones first.
	if err := s.AppendDurable(ctx, []*record.AuditEvent{read("before verify")}); err != nil {
		t.Fatal(err)
	}
	if rep, err := s.VerifyAudit(); err != nil || len(rep.Problems) != 0 || rep.Events != 7 {
		t.Errorf("verify right after a pending event: %+v, %v; want 7 events, no problems", rep, err)
	}

	// Close places what is left.
	db2, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := practice(t, db2, "A81001")
	if err := s2.AppendDurable(ctx, []*record.AuditEvent{read("at close")}); err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if h := head(t, s); h != 8 {
		t.Errorf("after Close the head is %d, want 8 (the pending event placed)", h)
	}
	verifyChain(t, s)

	// As the store's role: pending events are only added to, each practice
	// sees its own, and gpsoc_place acts only for the transaction's practice.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET ROLE "+postgres.AppRole); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('app.practice', 'A81001', false)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO audit_pending (practice, mid) VALUES ('A81001', ',"action":"x"')`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "DELETE FROM audit_pending"); err == nil {
		t.Error("the store's role deleted pending audit events")
	}
	if _, err := conn.Exec(ctx, "UPDATE audit_pending SET mid = 'x'"); err == nil {
		t.Error("the store's role changed pending audit events")
	}
	if _, err := conn.Exec(ctx, "INSERT INTO audit_pending (practice, mid) VALUES ('B82002', 'x')"); err == nil {
		t.Error("practice A's connection added a pending event to practice B")
	}
	if _, err := conn.Exec(ctx, "SELECT gpsoc_place('B82002', '{}'::text[], '{}'::text[])"); err == nil {
		t.Error("practice A's connection placed practice B's events")
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('app.practice', 'B82002', false)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM audit_pending").Scan(&n); err != nil || n != 0 {
		t.Errorf("practice B's connection sees %d of A's pending events (%v)", n, err)
	}
}

func head(t *testing.T, s store.Store) uint64 {
	t.Helper()
	var h uint64
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		h, _, err = tx.AuditHead()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// A one-read View (no BEGIN, one round trip) still sees only its
// practice's rows, and refuses a second read rather than give it another
// snapshot (or none: outside the implicit transaction no practice is set).
func TestViewOne(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	pa := seed(t, a, "A81001", "9434765919", "Adams")
	pb := seed(t, b, "B82002", "9434765870", "Brown")
	var got record.Entity
	if err := store.ViewOne(ctx, a, func(tx store.Tx) error {
		var err error
		got, err = tx.Get(record.KindPatient, pa.ID)
		return err
	}); err != nil || got.(*record.Patient).Family != "Adams" {
		t.Fatalf("ViewOne of A's patient: %v, %v", got, err)
	}
	err := store.ViewOne(ctx, a, func(tx store.Tx) error {
		_, err := tx.Get(record.KindPatient, pb.ID)
		return err
	})
	if !record.IsNotFound(err) {
		t.Errorf("ViewOne on A of B's patient: %v, want not found", err)
	}
	err = store.ViewOne(ctx, a, func(tx store.Tx) error {
		if _, err := tx.Get(record.KindPatient, pa.ID); err != nil {
			return err
		}
		_, err := tx.Get(record.KindPatient, pa.ID)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "use View") {
		t.Errorf("a second read in a ViewOne: %v, want refused", err)
	}
	// The connection went back clean: a View after it works as usual.
	for range 30 { // more than the pool holds
		if err := a.View(ctx, func(tx store.Tx) error { _, err := tx.Get(record.KindPatient, pa.ID); return err }); err != nil {
			t.Fatal(err)
		}
	}
}

// A placing looks only at pending rows of transactions no older than the
// oldest one still running when the last placing began (schema 5): a row
// committed by a transaction that was running then — older than rows
// placed before it — is still placed by the next placing, old-form rows
// (one event a row, schema 3) are placed with the new, in commit order,
// and the store's role cannot date a row older than its transaction.
func TestPendingOfALateTransactionPlaced(t *testing.T) {
	db, url := openDB(t)
	ctx := context.Background()
	s := practice(t, db, "A81001")
	seed(t, s, "A81001", "9434765919", "Adams")
	read := func(q string) *record.AuditEvent {
		return &record.AuditEvent{User: "recep", Role: record.RoleReceptionist, Action: "find", Query: q, Source: "api"}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{"SET ROLE " + postgres.AppRole, "SELECT set_config('app.practice', 'A81001', false)"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO audit_pending (practice, mids, xact) VALUES ('A81001', '{",\"action\":\"x\""}', '1')`,
		`INSERT INTO audit_pending (practice, mids, id) OVERRIDING SYSTEM VALUE VALUES ('A81001', '{",\"action\":\"x\""}', 1)`,
		`INSERT INTO audit_pending (practice, mids) VALUES ('A81001', '{}')`,
		`UPDATE practices SET pending_xmin = '0'`,
		`INSERT INTO practices (practice, pending_xmin) VALUES ('A81001', '1') ON CONFLICT DO NOTHING`,
	} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("the store's role may %s", q)
		}
	}
	// A transaction that starts (and takes its id) before the others, and
	// commits its event after they are placed.
	late, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lateEv := read("late")
	lateEv.At, lateEv.Outcome = time.Now().UTC(), "ok"
	lateMid := postgres.AuditMids([]*record.AuditEvent{lateEv})[0]
	if _, err := late.Exec(ctx, `INSERT INTO audit_pending (practice, mid) VALUES ('A81001', $1)`, lateMid); err != nil {
		t.Fatal(err)
	}
	// A batch of read events committed, then placed.
	appendPlaced := func(qs ...string) {
		t.Helper()
		evs := make([]*record.AuditEvent, len(qs))
		for i, q := range qs {
			evs[i] = read(q)
		}
		if err := s.AppendDurable(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := s.PlacePending(ctx); err != nil {
			t.Fatal(err)
		}
	}
	appendPlaced("a", "b")
	appendPlaced("c")
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	appendPlaced("d")
	var got []string
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.Audit(1, func(ev *record.AuditEvent) error { got = append(got, ev.Query); return nil })
	})
	if want := []string{"a", "b", "c", "late", "d"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chain after the seed = %q, want %q", got, want)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM audit_pending").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d events left pending (%v), want none", n, err)
	}
	verifyChain(t, s)
}
