package bolt

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

// A schema-3 file (one patient index for every kind) is migrated to one
// index per kind: after the backup, each patient's records of each kind are
// listed as before, the old index is gone and check is clean.
func TestMigrationFromSchema3SplitsThePatientIndex(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	addPatients(t, s, 3, 0)
	var pids []string
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error { pids = append(pids, e.Head().ID); return nil })
	})
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	want := map[string]int{}
	if err := s.Update(ctx, func(tx store.WTx) error {
		for i, pid := range pids {
			for j := 0; j <= i; j++ {
				v := float64(70 + j)
				o := &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "27113001"}, Value: &v, Unit: "kg", Effective: at}
				o.PatientID, o.RecordedAt, o.RecordedBy = pid, at, "admin"
				if err := tx.Put(o); err != nil {
					return err
				}
				want[pid+"/obs"]++
			}
			c := &record.Consultation{Start: at, End: at.Add(10 * time.Minute), Clinician: "dr.who", Type: "surgery"}
			c.PatientID, c.RecordedAt, c.RecordedBy = pid, at, "admin"
			if err := tx.Put(c); err != nil {
				return err
			}
			want[pid+"/cons"]++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Rewrite the index in the schema-3 layout.
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		old, err := tx.CreateBucket(bPidxOld)
		if err != nil {
			return err
		}
		for _, kind := range record.Kinds {
			b := tx.Bucket(pidxBucket(kind))
			if b == nil {
				continue
			}
			if err := b.ForEach(func(k, _ []byte) error {
				ok := append(append(append(append([]byte{}, k[:8]...), kind...), 0), k[8:]...)
				return old.Put(ok, nil)
			}); err != nil {
				return err
			}
			if err := tx.DeleteBucket(pidxBucket(kind)); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte("3"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if baks, _ := filepath.Glob(filepath.Join(dir, "*.schema3-*.bak")); len(baks) != 1 {
		t.Fatalf("backups before migration: %v", baks)
	}
	_ = s2.View(ctx, func(tx store.Tx) error {
		for _, pid := range pids {
			obs, err := tx.List(pid, record.KindObservation)
			cons, err2 := tx.List(pid, record.KindConsultation)
			if err != nil || err2 != nil || len(obs) != want[pid+"/obs"] || len(cons) != want[pid+"/cons"] {
				t.Errorf("patient %s after migration: %d observations, %d consultations (%v, %v); want %d, %d",
					pid, len(obs), len(cons), err, err2, want[pid+"/obs"], want[pid+"/cons"])
			}
		}
		return nil
	})
	if probs, _ := s2.Check(); len(probs) != 0 {
		t.Errorf("check after migration: %v", probs)
	}
	_ = s2.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			if tx.Bucket(bPidxOld) != nil {
				t.Error("the schema-3 index is still there")
			}
			if got := schemaOf(tx); got != SchemaVersion {
				t.Errorf("schema after migration = %d", got)
			}
			return nil
		})
	})
}

// check names a patient-index entry whose record is gone.
func TestCheckFindsBrokenPatientIndex(t *testing.T) {
	s := openTemp(t)
	addPatients(t, s, 1, 0)
	var pid string
	_ = s.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error { pid = e.Head().ID; return nil })
	})
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	o := &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "27113001"}, Unit: "kg", Effective: at}
	v := 70.0
	o.Value, o.PatientID, o.RecordedAt, o.RecordedBy = &v, pid, at, "admin"
	if err := s.Update(ctx, func(tx store.WTx) error { return tx.Put(o) }); err != nil {
		t.Fatal(err)
	}
	db, _ := bbolt.Open(s.Path(), 0o600, nil)
	_ = db.Update(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(pidxBucket(record.KindObservation)).Cursor().First()
		return tx.Bucket(pidxBucket(record.KindObservation)).Put(append(append([]byte{}, k[:8]...), u64(999)...), nil)
	})
	db.Close()
	probs, _ := s.Check()
	if len(probs) != 1 || probs[0].Where != "observation patient index" {
		t.Fatalf("problems = %v", probs)
	}
}
