package bolt

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Creates with an id skip the id lookup only when the id is above every
// stored one; an id given out of order is still checked, in the same
// transaction and in later ones, so a record is never silently replaced.
func TestCreateWithGivenIDInAnyOrder(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	mk := func(id, fam string) *record.Patient {
		p := &record.Patient{Family: fam, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female", NoNHSReason: "temporary-resident"}
		p.ID, p.RecordedAt, p.RecordedBy = id, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), "admin"
		return p
	}
	put := func(ps ...*record.Patient) error {
		return s.Update(ctx, func(tx store.WTx) error {
			for _, p := range ps {
				if err := tx.Put(p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := put(mk("id-3", "Three"), mk("id-1", "One")); err != nil {
		t.Fatal(err)
	}
	// Below the highest, in the same transaction as a higher one.
	if err := put(mk("id-9", "Nine"), mk("id-2", "Two")); err != nil {
		t.Fatal(err)
	}
	var ce *record.ConflictError
	for _, id := range []string{"id-1", "id-2", "id-3", "id-9"} {
		if err := put(mk(id, "Clash")); !errors.As(err, &ce) {
			t.Errorf("create with taken id %s: err = %v, want conflict", id, err)
		}
	}
	// A clash with a record created earlier in the same transaction.
	if err := put(mk("id-7", "Seven"), mk("id-7", "Clash")); !errors.As(err, &ce) {
		t.Errorf("same id twice in one transaction: err = %v, want conflict", err)
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		if n := tx.Count(record.KindPatient); n != 4 {
			t.Errorf("patients = %d, want 4", n)
		}
		for id, fam := range map[string]string{"id-1": "One", "id-2": "Two", "id-3": "Three", "id-9": "Nine"} {
			e, err := tx.Get(record.KindPatient, id)
			if err != nil || e.(*record.Patient).Family != fam || e.Head().Version != 1 {
				t.Errorf("%s = %+v, %v; want %s at version 1", id, e, err, fam)
			}
		}
		return nil
	})
}
