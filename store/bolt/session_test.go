package bolt

import (
	"context"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// A session's "start" is an HH:MM string, not an appointment's time: a new
// version of one (entered in error) is written, not refused as undecodable.
func TestSessionUpdate(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	se := &record.Session{Meta: record.Meta{RecordedAt: time.Now().UTC(), RecordedBy: "reception"},
		Clinician: "dr.patel", Date: "2026-11-24", Start: "09:00", End: "10:00", SlotMinutes: 15}
	if err := se.Validate(); err != nil {
		t.Fatal(err)
	}
	put := func() error { return s.Update(ctx, func(tx store.WTx) error { return tx.Put(se) }) }
	if err := put(); err != nil {
		t.Fatal(err)
	}
	se.Status = record.StatusEnteredInError
	if err := put(); err != nil {
		t.Fatalf("second version of a session: %v", err)
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		vs, err := tx.Versions(record.KindSession, se.ID)
		if err != nil || len(vs) != 2 {
			t.Errorf("versions: %d, %v", len(vs), err)
		}
		return nil
	})
}
