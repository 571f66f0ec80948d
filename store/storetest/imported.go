package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// OtherTrail is another system's audit trail of n events, numbered from
// first and hash-chained after prev, as another gpsoc practice records
// them (so its own chain verifies).
func OtherTrail(first uint64, prev string, n int) []record.AuditEvent {
	at := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	out := make([]record.AuditEvent, n)
	for i := range out {
		ev := record.AuditEvent{Seq: first + uint64(i), At: at.Add(time.Duration(i) * time.Minute), User: "dr.jones",
			Action: "read", Kind: record.KindPatient, EntityID: fmt.Sprintf("other-%d", i), Outcome: "ok", PrevHash: prev}
		ev.Hash = store.AuditHash(prev, store.AppendAuditJSON(nil, &ev))
		prev = ev.Hash
		out[i] = ev
	}
	return out
}

// KeepTrail keeps evs in s as the imported trail of source, recorded by one
// event of s's own (its count and digest), in one transaction, as the
// services' import does; it returns the events as kept (Problem filled).
func KeepTrail(t *testing.T, s store.Store, source string, evs []record.AuditEvent) []*record.ImportedAuditEvent {
	t.Helper()
	var kept []*record.ImportedAuditEvent
	err := s.Update(context.Background(), func(tx store.WTx) error {
		w, ok := tx.(store.ImportedTrail)
		if !ok {
			return store.ErrNoImportedTrail
		}
		local := &record.AuditEvent{At: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), User: "admin", Action: "import", Kind: "audit", EntityID: source,
			Query: fmt.Sprintf("audit trail of %s: %d events kept as imported history (sha256 %s)", source, len(evs), record.TrailDigest(evs))}
		if err := tx.Append(local); err != nil {
			return err
		}
		if local.Seq == 0 { // numbered when the transaction reads its trail
			if _, _, err := tx.AuditHead(); err != nil {
				return err
			}
		}
		for _, ev := range evs {
			ie := &record.ImportedAuditEvent{Event: ev, Source: source, ImportedAt: local.At, ImportedBy: "admin", Batch: local.Seq}
			if err := w.AppendImportedAudit(ie); err != nil {
				return err
			}
			kept = append(kept, ie)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("keep the trail of %s: %v", source, err)
	}
	return kept
}

// importedOf is every kept imported event of s, in the order kept.
func importedOf(t *testing.T, s store.Store) []*record.ImportedAuditEvent {
	t.Helper()
	var out []*record.ImportedAuditEvent
	err := s.View(context.Background(), func(tx store.Tx) error {
		r, ok := tx.(store.ImportedTrailReader)
		if !ok {
			return nil
		}
		return r.ImportedAudit(func(ie *record.ImportedAuditEvent) error { out = append(out, ie); return nil })
	})
	if err != nil {
		t.Fatalf("read the imported trail: %v", err)
	}
	return out
}

// ImportedTrail is the suite of a backend that keeps audit trails imported
// from other systems (store.ImportedTrail, store.AuditVerifier): kept apart
// from the practice's own chain, verified event by event (the link to the
// last event kept from the same source holds across transactions), read
// back in order, and checked by audit verify. tamper, when not nil, alters
// ("alter") or removes ("remove") the nth kept event behind the store's
// back, as someone with the database's or the file's own access could;
// audit verify must then name it. open gives an empty store each time
// (Fill's tokens are in each).
func ImportedTrail(t *testing.T, open func(t *testing.T) store.Store, tamper func(t *testing.T, s store.Store, how string, n int)) {
	verify := func(t *testing.T, s store.Store) store.AuditReport {
		t.Helper()
		r, err := s.(store.AuditVerifier).VerifyAudit()
		if err != nil {
			t.Fatalf("audit verify: %v", err)
		}
		return r
	}
	keep := func(t *testing.T, s store.Store) {
		t.Helper()
		Fill(t, s) // a practice with a trail of its own, and Fill's imported trail
		own := Snap(t, s)
		first := OtherTrail(1, "", 4)
		for _, ie := range KeepTrail(t, s, "Leeds Road Surgery", first) {
			if ie.Problem != "" {
				t.Errorf("event %d of an intact trail: %s", ie.Event.Seq, ie.Problem)
			}
		}
		// The same system's trail goes on in a later import: it links to
		// the last event kept from it, in another transaction.
		more := OtherTrail(5, first[3].Hash, 2)
		for _, ie := range KeepTrail(t, s, "Leeds Road Surgery", more) {
			if ie.Problem != "" {
				t.Errorf("event %d continuing a kept trail: %s", ie.Event.Seq, ie.Problem)
			}
		}
		// A piece that does not follow on (event 7 missing) is kept,
		// labelled: it is history, as it came.
		gap := OtherTrail(8, "not event 7", 1)
		if kept := KeepTrail(t, s, "Leeds Road Surgery", gap); !strings.Contains(kept[0].Problem, "does not link") {
			t.Errorf("an event after a gap in its trail: problem %q, want the broken link named", kept[0].Problem)
		}
		after := Snap(t, s)
		if len(after.Audit) != len(own.Audit)+3 {
			t.Errorf("keeping 7 imported events in 3 imports added %d events to the practice's own trail, want 3", len(after.Audit)-len(own.Audit))
		}
	}

	t.Run("kept apart, in order, verified", func(t *testing.T) {
		s := open(t)
		keep(t, s)
		got := importedOf(t, s)
		var seqs []uint64
		for _, ie := range got {
			if ie.Source == "Leeds Road Surgery" {
				seqs = append(seqs, ie.Event.Seq)
			}
		}
		if !slices.Equal(seqs, []uint64{1, 2, 3, 4, 5, 6, 8}) {
			t.Errorf("the kept trail of Leeds Road Surgery reads back as events %v", seqs)
		}
		r := verify(t, s)
		if len(r.Problems) != 0 || r.Imported.Events != len(got) || r.Imported.Unverified != 1 ||
			!slices.Contains(r.Imported.Sources, "Leeds Road Surgery") || r.Events != len(Snap(t, s).Audit) {
			t.Errorf("audit verify of a kept trail: %+v (want no problems, %d imported events, 1 unverified)", r, len(got))
		}
	})

	if tamper == nil {
		return
	}
	for how, done := range map[string]string{"alter": "altered", "remove": "removed"} {
		t.Run("an imported event "+done+" is found", func(t *testing.T) {
			s := open(t)
			keep(t, s)
			n := len(importedOf(t, s)) - 3 // Leeds Road Surgery's event 5, the first of the second import
			batch := importedOf(t, s)[n-1].Batch
			tamper(t, s, how, n)
			r := verify(t, s)
			all := fmt.Sprint(r.Problems)
			if !strings.Contains(all, fmt.Sprintf("imported trail recorded at event %d", batch)) ||
				(how == "alter" && !strings.Contains(all, fmt.Sprintf("imported audit event %d", n))) {
				t.Errorf("%s imported event %d: problems %v, want it and its import (event %d) named", how, n, r.Problems, batch)
			}
		})
	}
}
