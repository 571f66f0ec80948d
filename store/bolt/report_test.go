package bolt

import (
	"path/filepath"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

// A schema-5 file (before the results inbox) is backed up and gains the
// report buckets; reports are then stored, versioned and checked as any kind.
func TestMigrationFromSchema5AddsTheInbox(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, _ := Open(path, Options{})
	addPatients(t, s, 2, 0)
	s.Close()
	db, _ := bbolt.Open(path, 0o600, nil)
	_ = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{kindBucket(record.KindReport), versionBucket(record.KindReport), idBucket(record.KindReport), pidxBucket(record.KindReport)} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte("5"))
	})
	db.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if baks, _ := filepath.Glob(filepath.Join(dir, "*.schema5-*.bak")); len(baks) != 1 {
		t.Fatalf("backups before migration: %v", baks)
	}
	v := 4.2
	r := &record.Report{Meta: record.Meta{ID: "r1", RecordedBy: "lab"}, Format: "fhir", LabReportID: "L1", Sender: record.Party{Name: "Lab"},
		Tests: []record.ReportTest{{Name: "K", Value: &v}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := s2.Update(ctx, func(tx store.WTx) error { return tx.Put(r) }); err != nil {
		t.Fatal(err)
	}
	r.Status = record.ReportSuperseded
	if err := s2.Update(ctx, func(tx store.WTx) error { return tx.Put(r) }); err != nil {
		t.Fatal(err)
	}
	_ = s2.View(ctx, func(tx store.Tx) error {
		vs, err := tx.Versions(record.KindReport, "r1")
		if err != nil || len(vs) != 2 || vs[0].(*record.Report).Status != record.ReportUnmatched || vs[1].Head().Version != 2 {
			t.Errorf("versions %v, %v", vs, err)
		}
		return nil
	})
	if probs, _ := s2.Check(); len(probs) != 0 {
		t.Errorf("check after migration: %v", probs)
	}
}
