package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T, _ record.Role) store.Store { return openTemp(t) })
}

func TestConformanceHeld(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T, _ record.Role) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), FileName), Options{Hold: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// What the embedded file promises beyond the conformance suite (which a
// server's client cannot, and callers do not rely on): changes numbered 1,
// 2, 3, and find rows kept byte for byte.
func TestChangesAndRowsExactly(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var ids []string
	for i, fam := range []string{"Smith", "Nowak"} {
		p := &record.Patient{Family: fam, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female", NoNHSReason: "temporary-resident"}
		p.RecordedAt, p.RecordedBy = time.Date(2026, 3, 1, 9, i, 0, 0, time.UTC), "admin"
		if err := s.Update(ctx, func(tx store.WTx) error {
			if err := tx.Put(p); err != nil {
				return err
			}
			return tx.SetSearchRow(p.ID, []byte("row "+fam))
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		var seqs []uint64
		last, err := tx.Changes(0, func(seq uint64, id string) error { seqs = append(seqs, seq); return nil })
		if err != nil || len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 2 || last != 2 {
			t.Errorf("changes = %v last %d, %v; want 1, 2 and 2", seqs, last, err)
		}
		rows := map[string]string{}
		_ = tx.SearchRows(func(id string, row []byte) error { rows[id] = string(row); return nil })
		if rows[ids[0]] != "row Smith" || rows[ids[1]] != "row Nowak" {
			t.Errorf("rows = %q", rows)
		}
		return nil
	})
}

// The embedded file's trail is exactly the events appended, numbered from 1,
// and a rolled-back transaction leaves it as it was (a server's trail also
// holds the server's own events, so the suite asserts less).
func TestAuditExactly(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	for i := 0; i < 3; i++ {
		if err := s.Update(ctx, func(tx store.WTx) error {
			return tx.Append(&record.AuditEvent{User: "admin", Action: "read"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Update(ctx, func(tx store.WTx) error {
		_ = tx.Append(&record.AuditEvent{User: "admin", Action: "create"})
		return errors.New("boom")
	})
	_ = s.View(ctx, func(tx store.Tx) error {
		var seqs []uint64
		_ = tx.Audit(0, func(ev *record.AuditEvent) error { seqs = append(seqs, ev.Seq); return nil })
		head, _, err := tx.AuditHead()
		if len(seqs) != 3 || seqs[0] != 1 || seqs[2] != 3 || head != 3 || err != nil {
			t.Errorf("trail %v head %d, %v; want 1, 2, 3 and head 3", seqs, head, err)
		}
		return nil
	})
}

// An empty file holds no practice (init makes it), and it finds a token by
// the hash of its secret: the server's authentication, which no client of a
// server can do (tokens never leave it), so it is asserted here rather than
// in the suite. A revoked token is gone.
func TestEmptyPracticeAndTokens(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Practice(); return err }); !record.IsNotFound(err) {
		t.Fatalf("empty file: practice err = %v, want not found", err)
	}
	exp := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	u := &record.User{Name: "dr.who", Role: record.RoleGP, Prescriber: true, PassHash: "$argon2id$x"}
	err := s.Update(ctx, func(tx store.WTx) error {
		if err := tx.PutUser(u); err != nil {
			return err
		}
		if err := tx.PutToken(&record.Token{Hash: "abc", User: "dr.who", Kind: record.TokenAPI, ExpiresAt: exp}); err != nil {
			return err
		}
		return tx.PutToken(&record.Token{Hash: "def", User: "dr.who", Kind: record.TokenSession, ExpiresAt: exp})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.WTx) error { return tx.DeleteToken("abc") }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		if got, err := tx.Token("def"); err != nil || got.User != "dr.who" || got.Kind != record.TokenSession || !got.ExpiresAt.Equal(exp) {
			t.Errorf("token = %+v, %v", got, err)
		}
		if _, err := tx.Token("abc"); !record.IsNotFound(err) {
			t.Errorf("a revoked token is still found: %v", err)
		}
		if ts, err := tx.Tokens("dr.who"); err != nil || len(ts) != 1 {
			t.Errorf("tokens of dr.who = %+v, %v", ts, err)
		}
		if got, err := tx.User("dr.who"); err != nil || got.PassHash != "$argon2id$x" {
			t.Errorf("the passphrase hash is not kept with the user: %+v, %v", got, err)
		}
		return nil
	})
}

func TestCopy(t *testing.T) {
	open := func(t *testing.T) store.Store { return openTemp(t) }
	storetest.Copy(t, open, open)
}

// A practice file deleted or moved under a running process is an error,
// never a new empty practice made in its place; a closed store refuses.
func TestGoneOrClosedFileIsNotRemade(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err = s.View(context.Background(), func(store.Tx) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("a read after the file was deleted: %v, want it gone", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file was made again: %v", err)
	}
	s2, err := Open(filepath.Join(dir, "other", FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if err := s2.View(context.Background(), func(store.Tx) error { return nil }); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("a read after Close: %v", err)
	}
}
