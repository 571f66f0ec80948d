package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
)

// replicas opens the database at url twice: two pools, as two serve
// processes would.
func replicas(t *testing.T, url string) (*postgres.DB, *postgres.DB) {
	t.Helper()
	var out [2]*postgres.DB
	for i := range out {
		db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		out[i] = db
	}
	return out[0], out[1]
}

// Eight writers on two replicas update one patient from the versions they
// read: every write that succeeded is a version in the history, and every
// one that lost the race was told so (H52: no lost update).
func TestNoLostUpdateAcrossReplicas(t *testing.T) {
	_, url := openDB(t)
	r1, r2 := replicas(t, url)
	ctx := context.Background()
	s1, s2 := practice(t, r1, "A81001"), practice(t, r2, "A81001")
	p := newPatient(t, "9434765919", "Base")
	if err := s1.Update(ctx, func(tx store.WTx) error { return tx.Put(p) }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	won := map[string]bool{}
	conflicts := 0
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		s := s1
		if w%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				var cur *record.Patient
				if err := s.View(ctx, func(tx store.Tx) error {
					e, err := tx.Get(record.KindPatient, p.ID)
					if err == nil {
						cur = e.(*record.Patient)
					}
					return err
				}); err != nil {
					t.Error(err)
					return
				}
				next := *cur
				next.Family = fmt.Sprintf("W%dI%d", w, i)
				err := s.Update(ctx, func(tx store.WTx) error {
					if err := tx.Put(&next); err != nil {
						return err
					}
					return tx.Append(&record.AuditEvent{User: "dr", Action: "update", Kind: record.KindPatient, EntityID: p.ID, Version: next.Version})
				})
				var ce *record.ConflictError
				mu.Lock()
				switch {
				case err == nil:
					won[next.Family] = true
				case errors.As(err, &ce):
					conflicts++
				default:
					t.Errorf("writer %d: %v", w, err)
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	var vs []record.Entity
	if err := s2.View(ctx, func(tx store.Tx) error {
		var err error
		vs, err = tx.Versions(record.KindPatient, p.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1+len(won) {
		t.Fatalf("%d versions for %d successful writes (and %d conflicts): a write was lost", len(vs), len(won), conflicts)
	}
	for i, v := range vs {
		pv := v.(*record.Patient)
		if pv.Version != i+1 {
			t.Errorf("version %d is numbered %d", i+1, pv.Version)
		}
		if i > 0 && !won[pv.Family] {
			t.Errorf("version %d (%s) was not reported written", pv.Version, pv.Family)
		}
		delete(won, pv.Family)
	}
	if len(won) > 0 {
		t.Errorf("writes reported successful but missing from the history: %v", won)
	}
	if conflicts == 0 {
		t.Log("no write raced another (the check held trivially this run)")
	}
	verifyChain(t, s1)
}

// verifyChain reads the whole trail and checks it is numbered 1, 2, 3…
// and linked, ending at the head.
func verifyChain(t *testing.T, s store.Store) int {
	t.Helper()
	n := 0
	err := s.View(context.Background(), func(tx store.Tx) error {
		prev := ""
		err := tx.Audit(0, func(ev *record.AuditEvent) error {
			n++
			if ev.Seq != uint64(n) || ev.PrevHash != prev {
				t.Errorf("event %d: seq %d, prev %.8s, want %d after %.8s", n, ev.Seq, ev.PrevHash, n, prev)
			}
			body := store.AppendAuditJSON(nil, &record.AuditEvent{Seq: ev.Seq, At: ev.At, User: ev.User, Login: ev.Login, Role: ev.Role,
				Action: ev.Action, Kind: ev.Kind, EntityID: ev.EntityID, PatientID: ev.PatientID, Version: ev.Version, Query: ev.Query,
				Reason: ev.Reason, Outcome: ev.Outcome, Source: ev.Source, RecordHash: ev.RecordHash, PrevHash: ev.PrevHash})
			if store.AuditHash(prev, body) != ev.Hash {
				t.Errorf("event %d: hash does not match its content", ev.Seq)
			}
			prev = ev.Hash
			return nil
		})
		if err != nil {
			return err
		}
		head, hash, err := tx.AuditHead()
		if err == nil && (head != uint64(n) || hash != prev) {
			t.Errorf("audit head %d %.8s, trail ends at %d %.8s", head, hash, n, prev)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Writers on two replicas and a reader following the change feed: the
// reader's cursor reports every patient written, none twice, and the
// trail is one chain in commit order.
func TestChangeFeedLosesNothingAcrossReplicas(t *testing.T) {
	_, url := openDB(t)
	r1, r2 := replicas(t, url)
	ctx := context.Background()
	s1, s2 := practice(t, r1, "A81001"), practice(t, r2, "A81001")
	const writers, each = 8, 15
	var wg sync.WaitGroup
	ids := make(chan string, writers*each)
	for w := 0; w < writers; w++ {
		s := s1
		if w%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := newPatient(t, "", fmt.Sprintf("W%dI%d", w, i))
				err := s.Update(ctx, func(tx store.WTx) error {
					if err := tx.Put(p); err != nil {
						return err
					}
					if err := tx.SetSearchRow(p.ID, []byte(p.Family)); err != nil {
						return err
					}
					return tx.Append(&record.AuditEvent{User: "dr", Action: "create", Kind: record.KindPatient, EntityID: p.ID, Version: 1})
				})
				if err != nil {
					t.Error(err)
					return
				}
				ids <- p.ID
			}
		}(w)
	}
	done, writing := make(chan struct{}), make(chan struct{})
	seen := map[string]int{}
	var last uint64
	follow := func(s store.Store) {
		_ = s.View(ctx, func(tx store.Tx) error {
			var err error
			last, err = tx.Changes(last, func(seq uint64, id string) error { seen[id]++; return nil })
			if err != nil {
				t.Error(err)
			}
			return nil
		})
	}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-writing:
				return
			default:
			}
			if i%2 == 0 {
				follow(s1)
			} else {
				follow(s2)
			}
		}
	}()
	wg.Wait()
	close(writing)
	<-done
	follow(s2)
	close(ids)
	n := 0
	for id := range ids {
		n++
		if seen[id] != 1 {
			t.Errorf("patient %s reported %d times by the change feed", id, seen[id])
		}
	}
	if len(seen) != n || n != writers*each {
		t.Errorf("the feed reported %d patients; %d were written", len(seen), n)
	}
	if got := verifyChain(t, s1); got != writers*each {
		t.Errorf("the trail holds %d events for %d writes", got, writers*each)
	}
}
