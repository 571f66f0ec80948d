package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Several requests' writes in one transaction, each from a savepoint (a
// server's group commit): a part refused by the store's own checks, by the
// database when its writes are sent (keep), or by the caller after some of
// its statements reached the database, is undone alone — its records,
// audit events, change entries and counts — and the rest commit.
func TestSavepointsUndoOnePart(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	a, b := practice(t, db, "A81001"), practice(t, db, "B82002")
	seed(t, a, "A81001", "9434765919", "Adams")
	seed(t, b, "B82002", "9434765870", "Brown")
	errCaller := errors.New("the caller gave up")
	var kept []string
	err := a.Update(ctx, func(tx store.WTx) error {
		sp, ok := tx.(store.Savepoints)
		if !ok {
			t.Fatal("a PostgreSQL write transaction offers no savepoints")
		}
		part := func(name string, fn func() error) {
			keep, undo := sp.Savepoint()
			err := fn()
			if err == nil {
				err = keep()
			}
			if err != nil {
				if uerr := undo(); uerr != nil {
					t.Fatalf("%s: undo: %v", name, uerr)
				}
				return
			}
			kept = append(kept, name)
		}
		create := func(family, nhs string) error {
			p := newPatient(t, nhs, family)
			if err := tx.Put(p); err != nil {
				return err
			}
			return tx.Append(&record.AuditEvent{User: "admin", Action: "create", Kind: record.KindPatient, EntityID: p.ID, PatientID: p.ID, Version: 1})
		}
		part("Carter", func() error { return create("Carter", "9434765927") })
		// Refused by the store's check before anything is sent.
		part("Dupe", func() error { return create("Dupe", "9434765927") })
		// Refused by the caller after its statements reached the database.
		part("Evans", func() error {
			if err := create("Evans", ""); err != nil {
				return err
			}
			if _, err := tx.Users(); err != nil { // a read: the queued writes go first
				return err
			}
			return errCaller
		})
		// Refused by the database when its writes are sent: the token's
		// hash is practice B's.
		part("Token", func() error {
			return tx.PutToken(&record.Token{Hash: tokenHash("B82002"), User: "admin", Kind: record.TokenAPI, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		part("Ford", func() error { return create("Ford", "") })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[0] != "Carter" || kept[1] != "Ford" {
		t.Errorf("parts kept: %v, want Carter and Ford", kept)
	}
	var families []string
	var count int
	var events []string
	_ = a.View(ctx, func(tx store.Tx) error {
		count = tx.Count(record.KindPatient)
		_ = tx.ForEach(record.KindPatient, func(e record.Entity) error {
			families = append(families, e.(*record.Patient).Family)
			return nil
		})
		return tx.Audit(1, func(ev *record.AuditEvent) error { events = append(events, ev.EntityID); return nil })
	})
	if count != 3 || len(families) != 3 {
		t.Errorf("practice A holds %d patients (count %d): %v, want Adams, Carter, Ford", len(families), count, families)
	}
	for _, f := range families {
		if f == "Dupe" || f == "Evans" {
			t.Errorf("an undone part's patient %s was committed", f)
		}
	}
	if len(events) != 2 {
		t.Errorf("%d audit events after the seed, want 2 (Carter's and Ford's)", len(events))
	}
	verifyChain(t, a)
	var tokens []record.Token
	_ = b.View(ctx, func(tx store.Tx) error { tokens, _ = tx.Tokens(""); return nil })
	if len(tokens) != 1 {
		t.Errorf("practice B's tokens: %d, want its own 1", len(tokens))
	}
}
