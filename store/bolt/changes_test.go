package bolt

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// A transaction that changes several patients (a bulk import's chunk)
// writes one change entry, but readers still see one change per patient,
// numbered in order, from any cursor, before and after single changes.
func TestChangesOfABulkTransaction(t *testing.T) {
	s := openTemp(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mk := func(fam string) *record.Patient {
		p := &record.Patient{Family: fam, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female", NoNHSReason: "temporary-resident"}
		p.RecordedAt, p.RecordedBy = at, "admin"
		return p
	}
	var ids []string
	put := func(n int) {
		t.Helper()
		if err := s.Update(ctx, func(tx store.WTx) error {
			for i := 0; i < n; i++ {
				p := mk(fmt.Sprintf("F%d", len(ids)))
				if err := tx.Put(p); err != nil {
					return err
				}
				ids = append(ids, p.ID)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(1) // seq 1
	put(4) // seqs 2-5, one entry
	put(1) // seq 6
	put(3) // seqs 7-9
	_ = s.View(ctx, func(tx store.Tx) error {
		for after := uint64(0); after <= 9; after++ {
			var seqs []uint64
			var got []string
			last, err := tx.Changes(after, func(seq uint64, id string) error {
				seqs, got = append(seqs, seq), append(got, id)
				return nil
			})
			if err != nil || last != 9 {
				t.Fatalf("after %d: last %d, %v", after, last, err)
			}
			if len(got) != int(9-after) {
				t.Fatalf("after %d: %d changes %v, want %d", after, len(got), seqs, 9-after)
			}
			for i := range got {
				if want := after + 1 + uint64(i); seqs[i] != want || got[i] != ids[want-1] {
					t.Errorf("after %d: change %d = seq %d %s, want seq %d %s", after, i, seqs[i], got[i], want, ids[want-1])
				}
			}
		}
		if last, _ := tx.Changes(store.ChangesHead, func(uint64, string) error { t.Error("head reported a change"); return nil }); last != 9 {
			t.Errorf("head = %d", last)
		}
		return nil
	})
	// A write transaction sees its own changes.
	_ = s.Update(ctx, func(tx store.WTx) error {
		p := mk("Own")
		if err := tx.Put(p); err != nil {
			return err
		}
		var got []string
		last, _ := tx.Changes(9, func(_ uint64, id string) error { got = append(got, id); return nil })
		if last != 10 || len(got) != 1 || got[0] != p.ID {
			t.Errorf("own change: last %d, %v", last, got)
		}
		return nil
	})
	// An id with a NUL would break the entry: refused.
	bad := mk("Nul")
	bad.ID = "a\x00b"
	var ve *record.ValidationError
	if err := s.Update(ctx, func(tx store.WTx) error { return tx.Put(bad) }); !errors.As(err, &ve) || ve.Field != "id" {
		t.Errorf("id with NUL: err = %v, want a validation error", err)
	}
}

// NHS numbers given, moved and taken again inside one transaction (whose
// index writes wait for its end) behave as if written at once.
func TestNHSNumbersWithinOneTransaction(t *testing.T) {
	s := openTemp(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mk := func(fam, nhs string) *record.Patient {
		p := &record.Patient{Family: fam, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female", NHSNumber: nhs}
		p.RecordedAt, p.RecordedBy = at, "admin"
		return p
	}
	const x, y = "9434765919", "4010232137"
	a, c := mk("A", x), mk("C", x)
	err := s.Update(ctx, func(tx store.WTx) error {
		if err := tx.Put(a); err != nil {
			return err
		}
		var ce *record.ConflictError
		if err := tx.Put(mk("B", x)); !errors.As(err, &ce) {
			t.Errorf("second holder of %s: err = %v, want conflict", x, err)
		}
		if p, err := tx.PatientByNHS(x); err != nil || p.ID != a.ID {
			t.Errorf("holder of %s = %v, %v; want A", x, p, err)
		}
		a2 := *a
		a2.NHSNumber = y
		if err := tx.Put(&a2); err != nil {
			return err
		}
		if _, err := tx.PatientByNHS(x); !record.IsNotFound(err) {
			t.Errorf("%s after A moved to %s: err = %v, want not found", x, y, err)
		}
		if err := tx.Put(c); err != nil {
			return err
		}
		if err := tx.SetSearchRow(a.ID, []byte("a")); err != nil {
			return err
		}
		return tx.SetSearchRow(c.ID, []byte("c"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		for nhs, want := range map[string]string{x: c.ID, y: a.ID} {
			if p, err := tx.PatientByNHS(nhs); err != nil || p.ID != want {
				t.Errorf("after commit, holder of %s = %v, %v; want %s", nhs, p, err, want)
			}
		}
		return nil
	})
	if probs, _ := s.Check(); len(probs) != 0 {
		t.Errorf("check: %v", probs)
	}
}
