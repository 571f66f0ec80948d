package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Conformance runs the suite every backend must pass. open returns a new,
// empty store for each subtest.
func Conformance(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	newPatient := func(nhs, family string) *record.Patient {
		p := &record.Patient{NHSNumber: nhs, Family: family, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female"}
		if nhs == "" {
			p.NoNHSReason = "temporary-resident"
		}
		p.RecordedAt, p.RecordedBy = now, "admin"
		if err := p.Validate(); err != nil {
			t.Fatalf("fixture patient: %v", err)
		}
		return p
	}
	put := func(t *testing.T, s Store, e record.Entity) error {
		return s.Update(ctx, func(tx WTx) error { return tx.Put(e) })
	}

	t.Run("practice and users", func(t *testing.T) {
		s := open(t)
		err := s.View(ctx, func(tx Tx) error { _, err := tx.Practice(); return err })
		if !record.IsNotFound(err) {
			t.Fatalf("empty store: practice err = %v, want not found", err)
		}
		pr := &record.Practice{Name: "Test", ODS: "B86001", RecordedAt: now, RecordedBy: "admin"}
		u := &record.User{Name: "dr.who", Role: record.RoleGP, Prescriber: true, TokenHash: "abc"}
		if err := s.Update(ctx, func(tx WTx) error {
			if err := tx.PutPractice(pr); err != nil {
				return err
			}
			return tx.PutUser(u)
		}); err != nil {
			t.Fatal(err)
		}
		err = s.View(ctx, func(tx Tx) error {
			got, err := tx.Practice()
			if err != nil || got.ODS != "B86001" || got.Version != 1 {
				t.Errorf("practice = %+v, %v", got, err)
			}
			gu, err := tx.UserByTokenHash("abc")
			if err != nil || gu.Name != "dr.who" || !gu.Prescriber {
				t.Errorf("user by token = %+v, %v", gu, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		stale := &record.Practice{Name: "Other", ODS: "B86001", Version: 0}
		if err := s.Update(ctx, func(tx WTx) error { return tx.PutPractice(stale) }); !isConflict(err) {
			t.Errorf("stale practice write: err = %v, want conflict", err)
		}
	})

	t.Run("versions are kept and stale writes conflict", func(t *testing.T) {
		s := open(t)
		p := newPatient("9434765919", "Smith")
		if err := put(t, s, p); err != nil {
			t.Fatal(err)
		}
		if p.ID == "" || p.Version != 1 {
			t.Fatalf("after create: id %q version %d", p.ID, p.Version)
		}
		p2 := *p
		p2.Family = "Smyth"
		p2.RecordedBy = "dr.who"
		if err := put(t, s, &p2); err != nil {
			t.Fatal(err)
		}
		if p2.Version != 2 {
			t.Fatalf("version after update = %d, want 2", p2.Version)
		}
		stale := *p // still version 1
		stale.Family = "Jones"
		err := put(t, s, &stale)
		var ce *record.ConflictError
		if !errors.As(err, &ce) || ce.By != "dr.who" {
			t.Fatalf("stale update: err = %v, want a conflict naming dr.who", err)
		}
		_ = s.View(ctx, func(tx Tx) error {
			vs, err := tx.Versions(record.KindPatient, p.ID)
			if err != nil || len(vs) != 2 {
				t.Fatalf("versions = %d, %v", len(vs), err)
			}
			if vs[0].(*record.Patient).Family != "Smith" || vs[1].(*record.Patient).Family != "Smyth" {
				t.Errorf("history lost: %s then %s", vs[0].(*record.Patient).Family, vs[1].(*record.Patient).Family)
			}
			cur, _ := tx.Get(record.KindPatient, p.ID)
			if cur.(*record.Patient).Family != "Smyth" {
				t.Errorf("current = %s", cur.(*record.Patient).Family)
			}
			return nil
		})
	})

	t.Run("a prepared record is stored as itself", func(t *testing.T) {
		s := open(t)
		p := newPatient("9434765919", "Smith")
		p.ID = "019a0000-0000-7000-8000-000000000001"
		enc := *p
		enc.Version = 1
		b, err := json.Marshal(&enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := put(t, s, &Prepared{Entity: p, JSON: b}); err != nil {
			t.Fatal(err)
		}
		if p.Version != 1 {
			t.Fatalf("version after a prepared create = %d", p.Version)
		}
		// An update never uses a prepared encoding: the bytes here are stale.
		p2 := *p
		p2.Family = "Smyth"
		if err := put(t, s, &Prepared{Entity: &p2, JSON: b}); err != nil {
			t.Fatal(err)
		}
		_ = s.View(ctx, func(tx Tx) error {
			got, err := tx.PatientByNHS("9434765919")
			if err != nil || got.Family != "Smyth" || got.Version != 2 || got.ID != p.ID {
				t.Errorf("after a prepared create and an update: %+v, %v", got, err)
			}
			return nil
		})
	})

	t.Run("one NHS number one patient", func(t *testing.T) {
		s := open(t)
		a := newPatient("9434765919", "Smith")
		if err := put(t, s, a); err != nil {
			t.Fatal(err)
		}
		b := newPatient("9434765919", "Jones")
		if err := put(t, s, b); !isConflict(err) {
			t.Fatalf("duplicate NHS number: err = %v, want conflict", err)
		}
		_ = s.View(ctx, func(tx Tx) error {
			if n := tx.Count(record.KindPatient); n != 1 {
				t.Errorf("count = %d after a refused duplicate", n)
			}
			got, err := tx.PatientByNHS("9434765919")
			if err != nil || got.ID != a.ID {
				t.Errorf("by NHS = %v, %v", got, err)
			}
			return nil
		})
		// Changing the NHS number frees the old one.
		a.NHSNumber = "4010232137"
		if err := put(t, s, a); err != nil {
			t.Fatal(err)
		}
		c := newPatient("9434765919", "Brown")
		if err := put(t, s, c); err != nil {
			t.Fatalf("old NHS number not freed: %v", err)
		}
	})

	t.Run("records belong to patients", func(t *testing.T) {
		s := open(t)
		p := newPatient("", "Nowak")
		if err := put(t, s, p); err != nil {
			t.Fatal(err)
		}
		orphan := &record.Problem{Meta: record.Meta{PatientID: "no-such-patient"}, Code: record.Code{System: record.SystemSNOMED, Code: "38341003"}}
		_ = orphan.Validate()
		if err := put(t, s, orphan); !record.IsNotFound(err) {
			t.Errorf("problem for a missing patient: err = %v, want not found", err)
		}
		for _, code := range []string{"38341003", "44054006"} {
			pr := &record.Problem{Meta: record.Meta{PatientID: p.ID}, Code: record.Code{System: record.SystemSNOMED, Code: code}}
			if err := pr.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := put(t, s, pr); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.View(ctx, func(tx Tx) error {
			ps, err := tx.List(p.ID, record.KindProblem)
			if err != nil || len(ps) != 2 {
				t.Errorf("list = %d, %v", len(ps), err)
			}
			obs, _ := tx.List(p.ID, record.KindObservation)
			if len(obs) != 0 {
				t.Errorf("observations = %d, want 0", len(obs))
			}
			return nil
		})
	})

	t.Run("a failed transaction writes nothing", func(t *testing.T) {
		s := open(t)
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx WTx) error {
			if err := tx.Put(newPatient("9434765919", "Smith")); err != nil {
				return err
			}
			if err := tx.Append(&record.AuditEvent{User: "admin", Action: "create"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		_ = s.View(ctx, func(tx Tx) error {
			if n := tx.Count(record.KindPatient); n != 0 {
				t.Errorf("patients after rollback = %d", n)
			}
			if seq, _, _ := tx.AuditHead(); seq != 0 {
				t.Errorf("audit events after rollback = %d", seq)
			}
			return nil
		})
	})

	t.Run("audit chain", func(t *testing.T) {
		s := open(t)
		for i := 0; i < 3; i++ {
			if err := s.Update(ctx, func(tx WTx) error {
				return tx.Append(&record.AuditEvent{At: now, User: "admin", Action: "read", Kind: record.KindPatient, EntityID: "x"})
			}); err != nil {
				t.Fatal(err)
			}
		}
		var evs []*record.AuditEvent
		_ = s.View(ctx, func(tx Tx) error {
			return tx.Audit(0, func(ev *record.AuditEvent) error { evs = append(evs, ev); return nil })
		})
		if len(evs) != 3 {
			t.Fatalf("events = %d", len(evs))
		}
		for i, ev := range evs {
			if ev.Seq != uint64(i+1) || ev.Hash == "" {
				t.Errorf("event %d: seq %d hash %q", i, ev.Seq, ev.Hash)
			}
			if i > 0 && ev.PrevHash != evs[i-1].Hash {
				t.Errorf("event %d does not link to %d", ev.Seq, evs[i-1].Seq)
			}
		}
	})

	t.Run("changes and search rows", func(t *testing.T) {
		s := open(t)
		p := newPatient("9434765919", "Smith")
		if err := s.Update(ctx, func(tx WTx) error {
			if err := tx.Put(p); err != nil {
				return err
			}
			return tx.SetSearchRow(p.ID, []byte("row"))
		}); err != nil {
			t.Fatal(err)
		}
		_ = s.View(ctx, func(tx Tx) error {
			var ids []string
			last, err := tx.Changes(0, func(_ uint64, id string) error { ids = append(ids, id); return nil })
			if err != nil || len(ids) != 1 || ids[0] != p.ID || last != 1 {
				t.Errorf("changes = %v last %d, %v", ids, last, err)
			}
			n := 0
			_ = tx.SearchRows(func(id string, row []byte) error { n++; return nil })
			if n != 1 {
				t.Errorf("search rows = %d", n)
			}
			return nil
		})
	})
}

func isConflict(err error) bool {
	var ce *record.ConflictError
	return errors.As(err, &ce)
}
