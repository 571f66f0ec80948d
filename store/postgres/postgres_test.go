package postgres_test

import (
	"errors"
	"fmt"
	"time"

	"context"
	"github.com/jackc/pgx/v5"
	"testing"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openDB makes a fresh database on the shared cluster and opens it.
func openDB(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	url := pgtest.Shared(t).NewDatabase(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, url
}

func practice(t *testing.T, db *postgres.DB, ods string) *postgres.Store {
	t.Helper()
	s, err := db.Practice(ods)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The conformance suite every backend passes, each subtest on a practice
// of its own in one database (so the suite also runs beside other
// practices' rows).
func TestConformance(t *testing.T) {
	db, _ := openDB(t)
	n := 0
	storetest.Conformance(t, func(t *testing.T, role record.Role) store.Store {
		n++
		return practice(t, db, "P"+string(rune('A'+n%26))+string(rune('A'+n/26))+"001")
	})
}

var now = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newPatient(t *testing.T, nhs, family string) *record.Patient {
	t.Helper()
	p := &record.Patient{NHSNumber: nhs, Family: family, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female"}
	if nhs == "" {
		p.NoNHSReason = "temporary-resident"
	}
	p.RecordedAt, p.RecordedBy = now, "admin"
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// seed writes a practice, a user, a token, a patient with a problem, a
// search row and an audit event, all in one transaction.
func seed(t *testing.T, s *postgres.Store, ods, nhs, family string) *record.Patient {
	t.Helper()
	p := newPatient(t, nhs, family)
	err := s.Update(context.Background(), func(tx store.WTx) error {
		if err := tx.PutPractice(&record.Practice{Name: family + " Surgery", ODS: ods, RecordedAt: now, RecordedBy: "admin"}); err != nil {
			return err
		}
		if err := tx.PutUser(&record.User{Name: "admin", Role: record.RoleAdmin, RecordedAt: now, RecordedBy: "admin"}); err != nil {
			return err
		}
		if err := tx.PutToken(&record.Token{Hash: tokenHash(ods), User: "admin", Kind: record.TokenAPI, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.Put(p); err != nil {
			return err
		}
		pr := &record.Problem{Meta: record.Meta{PatientID: p.ID, RecordedAt: now, RecordedBy: "admin"}, Code: record.Code{System: record.SystemSNOMED, Code: "38341003"}}
		if err := tx.Put(pr); err != nil {
			return err
		}
		if err := tx.SetSearchRow(p.ID, []byte("row "+family)); err != nil {
			return err
		}
		return tx.Append(&record.AuditEvent{User: "admin", Action: "create", Kind: record.KindPatient, EntityID: p.ID, Version: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tokenHash(ods string) string {
	return fmt.Sprintf("%064x", []byte(ods))[:64]
}

// Practice A's connection cannot read or write practice B's rows, whatever
// SQL it runs: the database refuses, not the application (H51).
func TestPracticeIsolationAtDatabaseLevel(t *testing.T) {
	db, url := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	pa := seed(t, a, "A81001", "9434765919", "Adams")
	pb := seed(t, b, "B82002", "9434765919", "Brown") // the same NHS number in another practice is another patient

	// Through the store: B's patient is not found from A.
	_ = a.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(record.KindPatient, pb.ID); !record.IsNotFound(err) {
			t.Errorf("practice A read practice B's patient: %v", err)
		}
		if got, err := tx.PatientByNHS("9434765919"); err != nil || got.ID != pa.ID {
			t.Errorf("A's NHS lookup = %+v, %v; want A's own patient", got, err)
		}
		return nil
	})

	// Through SQL, as the role the store's connections act as, with
	// practice A set: queries that forget or ask for B see only A.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET ROLE "+postgres.AppRole); err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for _, tbl := range []string{"practices", "users", "tokens", "records", "search_rows", "changes", "audit_runs", "record_counts"} {
		if n := count("SELECT count(*) FROM " + tbl); n != 0 {
			t.Errorf("with no practice set, %s shows %d rows", tbl, n)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('app.practice', 'A81001', false)"); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"practices", "users", "tokens", "records", "search_rows", "changes", "audit_runs", "record_counts"} {
		if n := count("SELECT count(*) FROM " + tbl + " WHERE practice <> 'A81001'"); n != 0 {
			t.Errorf("practice A's connection sees %d of another practice's rows in %s", n, tbl)
		}
		if n := count("SELECT count(*) FROM " + tbl); n == 0 {
			t.Errorf("practice A's connection sees none of its own rows in %s", tbl)
		}
	}
	if n := count("SELECT count(*) FROM records WHERE id = $1", pb.ID); n != 0 {
		t.Errorf("practice A's connection found practice B's patient by id")
	}
	// Writes into B are refused or touch nothing.
	if _, err := conn.Exec(ctx, "INSERT INTO audit (practice, seq, hash, body) VALUES ('B82002', 99, 'x', 'x')"); err == nil {
		t.Error("practice A's connection inserted into practice B's audit trail")
	}
	tag, err := conn.Exec(ctx, "UPDATE records SET doc = 'x' WHERE practice = 'B82002'")
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("practice A's connection updated practice B's records: %v rows, %v", tag.RowsAffected(), err)
	}
	// The trail is append-only for the store's role, even its own.
	if _, err := conn.Exec(ctx, "DELETE FROM audit"); err == nil {
		t.Error("the store's role deleted audit events")
	}
	if _, err := conn.Exec(ctx, "UPDATE audit SET body = 'x'"); err == nil {
		t.Error("the store's role altered audit events")
	}
	// Runs of events (schema 6) are written by gpsoc_place alone.
	for _, q := range []string{"DELETE FROM audit_runs", "UPDATE audit_runs SET mids = mids",
		"INSERT INTO audit_runs (practice, seq, last_seq, prev_hash, hashes, mids) VALUES ('A81001', 999, 999, '', '{x}', '{x}')"} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("the store's role ran %q", q)
		}
	}
	if n := count("SELECT count(*) FROM gpsoc_audit('B82002', 0, 1000)"); n != 0 {
		t.Errorf("practice A's connection read %d of practice B's audit events through gpsoc_audit", n)
	}
	// And it cannot lift the policies.
	if _, err := conn.Exec(ctx, "SET row_security = off; SELECT count(*) FROM records"); err == nil {
		t.Error("the store's role turned row security off")
	}
}

// User names are unique within a practice, and the same name in two
// practices is two users.
func TestUserNamesPerPractice(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	for _, s := range []*postgres.Store{a, b} {
		role := record.RoleGP
		if s == b {
			role = record.RoleNurse
		}
		if err := s.Update(ctx, func(tx store.WTx) error {
			return tx.PutUser(&record.User{Name: "sam", Role: role, RecordedAt: now, RecordedBy: "admin"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// A second "sam" in A (a new user, version 0) conflicts.
	err := a.Update(ctx, func(tx store.WTx) error {
		return tx.PutUser(&record.User{Name: "sam", Role: record.RoleAdmin, RecordedAt: now, RecordedBy: "admin"})
	})
	var ce *record.ConflictError
	if !errors.As(err, &ce) {
		t.Errorf("a second user sam in one practice: err = %v, want a conflict", err)
	}
	for s, want := range map[*postgres.Store]record.Role{a: record.RoleGP, b: record.RoleNurse} {
		_ = s.View(ctx, func(tx store.Tx) error {
			u, err := tx.User("sam")
			us, _ := tx.Users()
			if err != nil || u.Role != want || len(us) != 1 {
				t.Errorf("practice %s: sam = %+v, %v; %d users", s.ODS(), u, err, len(us))
			}
			return nil
		})
	}
}

// A token names its practice: a server finds the practice from the token
// before it acts for any, and a practice sees only its own tokens.
func TestTokenDecidesThePractice(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	seed(t, a, "A81001", "9434765919", "Adams")
	seed(t, b, "B82002", "4010232137", "Brown")
	for _, ods := range []string{"A81001", "B82002"} {
		if got, err := db.TokenPractice(ctx, tokenHash(ods)); err != nil || got != ods {
			t.Errorf("token of %s: practice %q, %v", ods, got, err)
		}
	}
	if _, err := db.TokenPractice(ctx, tokenHash("ZZZ999")); !record.IsNotFound(err) {
		t.Errorf("an unknown token: err = %v, want not found", err)
	}
	_ = a.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Token(tokenHash("B82002")); !record.IsNotFound(err) {
			t.Errorf("practice A read practice B's token: %v", err)
		}
		tks, err := tx.Tokens("")
		if err != nil || len(tks) != 1 || tks[0].Hash != tokenHash("A81001") {
			t.Errorf("practice A's tokens = %+v, %v", tks, err)
		}
		return nil
	})
	if err := a.Update(ctx, func(tx store.WTx) error { return tx.DeleteToken(tokenHash("B82002")) }); !record.IsNotFound(err) {
		t.Errorf("practice A revoked practice B's token: err = %v", err)
	}
	if _, err := db.TokenPractice(ctx, tokenHash("B82002")); err != nil {
		t.Errorf("B's token after A tried to revoke it: %v", err)
	}
}
