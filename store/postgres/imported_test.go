package postgres_test

import (
	"context"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

// An imported event kept in a part of a shared transaction that is then
// undone (a server's request refused) is not kept, and the next part's
// events from the same system number and link as if it had never been.
func TestImportedTrailUndoneWithItsPart(t *testing.T) {
	db, _ := openDB(t)
	s := practice(t, db, "A81001")
	seed(t, s, "A81001", "9434765919", "Adams")
	trail := storetest.OtherTrail(1, "", 2)
	var kept []*record.ImportedAuditEvent
	err := s.Update(context.Background(), func(tx store.WTx) error {
		w := tx.(store.ImportedTrail)
		_, undo := tx.(store.Savepoints).Savepoint()
		if err := w.AppendImportedAudit(&record.ImportedAuditEvent{Event: trail[0], Source: "Other Surgery", Batch: 1}); err != nil {
			return err
		}
		if _, _, err := tx.AuditHead(); err != nil { // the part's inserts reach the database
			return err
		}
		if err := undo(); err != nil {
			return err
		}
		keep, _ := tx.(store.Savepoints).Savepoint()
		for _, ev := range trail {
			ie := &record.ImportedAuditEvent{Event: ev, Source: "Other Surgery", Batch: 1}
			if err := w.AppendImportedAudit(ie); err != nil {
				return err
			}
			kept = append(kept, ie)
		}
		return keep()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ie := range kept {
		if ie.Problem != "" {
			t.Errorf("event %d after an undone part: %s", ie.Event.Seq, ie.Problem)
		}
	}
	var n int
	_ = s.View(context.Background(), func(tx store.Tx) error {
		return tx.(store.ImportedTrailReader).ImportedAudit(func(*record.ImportedAuditEvent) error { n++; return nil })
	})
	if n != 2 {
		t.Errorf("%d imported events kept, want the 2 of the part that was kept", n)
	}
}
