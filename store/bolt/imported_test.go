package bolt

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

// keepTrail keeps other's whole trail in s as imported history, recorded by
// one event of s's own, as the services' import does.
func keepTrail(t *testing.T, s, other *Store) int {
	t.Helper()
	return keepTrailFrom(t, s, other, "Other Surgery")
}

// keepTrailFrom is keepTrail with the source named.
func keepTrailFrom(t *testing.T, s, other *Store, source string) int {
	t.Helper()
	var evs []record.AuditEvent
	_ = other.View(context.Background(), func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error { evs = append(evs, *ev); return nil })
	})
	err := s.Update(context.Background(), func(tx store.WTx) error {
		local := &record.AuditEvent{User: "admin", Action: "import", Kind: "audit", EntityID: source,
			Query: fmt.Sprintf("audit trail of "+source+": %d events kept as imported history (sha256 %s)", len(evs), record.TrailDigest(evs))}
		if err := tx.Append(local); err != nil {
			return err
		}
		for _, ev := range evs {
			ie := &record.ImportedAuditEvent{Event: ev, Source: source, ImportedBy: "admin", Batch: local.Seq}
			if err := tx.(store.ImportedTrail).AppendImportedAudit(ie); err != nil {
				return err
			}
			if ie.Problem != "" {
				t.Errorf("event %d of an intact trail: %s", ev.Seq, ie.Problem)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// An imported trail is kept apart from the practice's chain (its events
// are not this practice's: the chain's length is unchanged but for the one
// event that records the import), it verifies, and an imported event
// altered or removed afterwards in the file is found by audit verify and check.
func TestImportedTrailKeptApartAndTamperFound(t *testing.T) {
	other := openTemp(t)
	addPatients(t, other, 4, 0)
	for _, tamper := range []string{"alter", "remove"} {
		s := openTemp(t)
		addPatients(t, s, 2, 0)
		n := keepTrail(t, s, other)
		r, err := s.VerifyAudit()
		if err != nil || len(r.Problems) != 0 || r.Events != 3 || r.Imported.Events != n || r.Imported.Unverified != 0 {
			t.Fatalf("kept trail: %+v %v (want 3 events of its own, %d imported)", r, err, n)
		}
		db, err := bbolt.Open(s.Path(), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bAuditImported)
			if tamper == "remove" {
				return b.Delete(u64(2))
			}
			v := append([]byte(nil), b.Get(u64(2))...)
			i := bytes.Index(v, []byte(`"user":"admin"`))
			v[i+9] = 'x'
			return b.Put(u64(2), v)
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		r, _ = s.VerifyAudit()
		all := fmt.Sprint(r.Problems)
		if !strings.Contains(all, "imported trail recorded at event 3") || (tamper == "alter" && !strings.Contains(all, "imported audit event 2")) {
			t.Errorf("%s: problems %v, want the imported event and its import named", tamper, r.Problems)
		}
		if cp, _ := s.Check(); len(cp) == 0 {
			t.Errorf("%s: check passed a tampered imported trail", tamper)
		}
	}
}

// A copy (gpsoc migrate) carries the imported trail whole: the copy's audit
// verify finds the same imported events, verified, as the original's.
func TestCopyKeepsImportedTrail(t *testing.T) {
	other := openTemp(t)
	addPatients(t, other, 3, 0)
	s := openTemp(t)
	addPatients(t, s, 2, 0)
	n := keepTrail(t, s, other)
	dst := openTemp(t)
	if err := dst.Load(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	want, err := s.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.VerifyAudit()
	if err != nil || len(got.Problems) != 0 || got.Imported.Events != n || got.Imported.Events != want.Imported.Events || got.Events != want.Events {
		t.Fatalf("copy: %+v %v; original %+v (want %d imported events, verified)", got, err, want, n)
	}
	// A trail imported into the copy afterwards is added to the copied one
	// (its events take new order numbers, never a copied event's).
	m := keepTrailFrom(t, dst, other, "Third Surgery")
	got, err = dst.VerifyAudit()
	if err != nil || len(got.Problems) != 0 || got.Imported.Events != n+m {
		t.Fatalf("a second import into the copy: %+v %v (want %d imported events, verified)", got, err, n+m)
	}
}

// The suite every backend that keeps imported trails passes, with the
// file edited behind the store's back.
func TestImportedTrailSuite(t *testing.T) {
	storetest.ImportedTrail(t, func(t *testing.T) store.Store { return openTemp(t) },
		func(t *testing.T, s store.Store, how string, n int) {
			db, err := bbolt.Open(s.(*Store).Path(), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bbolt.Tx) error {
				b := tx.Bucket(bAuditImported)
				if how == "remove" {
					return b.Delete(u64(uint64(n)))
				}
				v := bytes.Replace(b.Get(u64(uint64(n))), []byte(`"user":"dr.jones"`), []byte(`"user":"dr.jonex"`), 1)
				return b.Put(u64(uint64(n)), v)
			}); err != nil {
				t.Fatal(err)
			}
		})
}
