package postgres_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
)

// benchPractice is a practice of n patients in a fresh database.
func benchPractice(b *testing.B, n int) (*postgres.Store, []string) {
	b.Helper()
	url := pgtest.Shared(b).NewDatabase(b)
	db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 16})
	if err != nil {
		b.Fatal(err)
	}

	b.Cleanup(db.Close)
	s, err := db.Practice("A81001")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ids := make([]string, 0, n)
	for i := 0; i < n; i += 500 {
		if err := s.Update(ctx, func(tx store.WTx) error {
			for j := i; j < i+500 && j < n; j++ {
				p := &record.Patient{Family: fmt.Sprintf("Family%d", j), Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female", NoNHSReason: "temporary-resident"}
				if err := tx.Put(p); err != nil {
					return err
				}
				if err := tx.SetSearchRow(p.ID, []byte(p.Family)); err != nil {
					return err
				}
				ids = append(ids, p.ID)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return s, ids
}

// A patient read as `gpsoc serve` makes it: one snapshot, the patient by id.
func BenchmarkPatientRead(b *testing.B) {
	s, ids := benchPractice(b, 10000)
	ctx := context.Background()
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[int(n.Add(1))%len(ids)]
			if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Get(record.KindPatient, id); return err }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A consultation with five entries, each record with its audit event, in
// one transaction (the design's "consultation write").
func BenchmarkConsultationWrite(b *testing.B) {
	s, ids := benchPractice(b, 1000)
	ctx := context.Background()
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pid := ids[int(n.Add(1))%len(ids)]
			err := s.Update(ctx, func(tx store.WTx) error {
				c := &record.Consultation{Meta: record.Meta{PatientID: pid, RecordedBy: "dr"}}
				if err := tx.Put(c); err != nil {
					return err
				}
				if err := tx.Append(&record.AuditEvent{User: "dr", Action: "create", Kind: c.Kind(), EntityID: c.ID, PatientID: pid, Version: 1}); err != nil {
					return err
				}
				for i := 0; i < 5; i++ {
					o := &record.Observation{Meta: record.Meta{PatientID: pid, RecordedBy: "dr"}, Code: record.Code{System: record.SystemSNOMED, Code: "75367002"}}
					if err := tx.Put(o); err != nil {
						return err
					}
					if err := tx.Append(&record.AuditEvent{User: "dr", Action: "create", Kind: o.Kind(), EntityID: o.ID, PatientID: pid, Version: 1}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Placing pending read-audit events in the chain (gpsoc_place), per event:
// batches of six as a busy replica commits them, about 300 at a placing.
func BenchmarkPlacePending(b *testing.B) {
	s, ids := benchPractice(b, 300)
	ctx := context.Background()
	const batches, per = 50, 6
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for k := 0; k < batches; k++ {
			evs := make([]*record.AuditEvent, per)
			for j := range evs {
				id := ids[(k*per+j)%len(ids)]
				evs[j] = &record.AuditEvent{User: "recep", Role: record.RoleReceptionist, Action: "read", Kind: record.KindPatient,
					EntityID: id, PatientID: id, Version: 1, Source: "api", Reason: "direct care"}
			}
			if err := s.AppendDurable(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := s.PlacePending(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batches*per), "µs/event")
}
