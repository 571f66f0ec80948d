package clinical

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// A unit of work runs several service actions in one store transaction, all
// or nothing: an API transaction Bundle (and later a lab report) composes
// the same actions a single request takes, each with its own roles,
// validation, safety checks and audit events, and commits them together.

// unitStore is a store whose every View and Update runs in one open
// read-write transaction (the unit's): an action's own Update becomes part
// of the unit, committed or rolled back with it.
type unitStore struct {
	tx    store.WTx
	after []func()             // run once the unit has committed (the find index)
	side  []*record.AuditEvent // refusals: written whatever becomes of the unit
}

func (u *unitStore) View(ctx context.Context, fn func(store.Tx) error) error {
	return fn(u.tx)
}

func (u *unitStore) Update(ctx context.Context, fn func(store.WTx) error) error {
	return fn(u.tx)
}

func (u *unitStore) Close() error { return nil }

// store is the store the services act on: the practice's, or the open
// transaction of the unit of work they run in.
func (s *Service) store() store.Store {
	if s.unit != nil {
		return s.unit
	}
	return s.p.st
}

// afterCommit runs fn once what the action wrote is committed: at once
// outside a unit, when the unit commits inside one (never if it is rolled
// back).
func (s *Service) afterCommit(fn func()) {
	if s.unit != nil {
		s.unit.after = append(s.unit.after, fn)
		return
	}
	fn()
}

// Unit runs fn with services acting as the same user inside one store
// transaction: every action fn takes through them commits together, or
// none does when fn (or any action) fails. Refusals and blocked attempts
// stay audited when the unit is rolled back (design.md §3: denied attempts
// are audited too).
func (s *Service) Unit(ctx context.Context, fn func(u *Service) error) error {
	if s.unit != nil { // already in a unit: part of it
		return fn(s)
	}
	var us *unitStore
	err := s.store().Update(ctx, func(tx store.WTx) error {
		us = &unitStore{tx: tx} // afresh: a group commit may run this again
		u := *s
		u.unit = us
		return fn(&u)
	})
	if us == nil {
		return err
	}
	if err == nil {
		for _, f := range us.after {
			f()
		}
	}
	if len(us.side) > 0 {
		werr := s.store().Update(context.WithoutCancel(ctx), func(tx store.WTx) error {
			for _, ev := range us.side {
				ev.Seq, ev.PrevHash, ev.Hash = 0, "", ""
				if err := tx.Append(ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			err = werr
		}
	}
	return err
}

// RecordExists reports whether a record of one of kinds has id: how the
// API's mappings resolve a reference (not a read of the record: nothing of
// it is returned, and it is not audited).
func (s *Service) RecordExists(ctx context.Context, kinds []record.Kind, id string) bool {
	found := false
	_ = s.store().View(ctx, func(tx store.Tx) error {
		for _, k := range kinds {
			if _, err := tx.Get(k, id); err == nil {
				found = true
			}
		}
		return nil
	})
	return found
}

// PatientIDByNHS is the id of the patient with an NHS number ("" when none),
// for the API's mappings' references by identifier.
func (s *Service) PatientIDByNHS(ctx context.Context, nhs string) string {
	var id string
	_ = s.store().View(ctx, func(tx store.Tx) error {
		if p, err := tx.PatientByNHS(nhs); err == nil {
			id = p.ID
		}
		return nil
	})
	return id
}

// AuditRequests writes events about requests the API answered without the
// services acting for a user (refused before any user is known, or failed
// before reaching an action), in one transaction: clinical is the one
// writer of the store, the trail included.
func (p *Practice) AuditRequests(ctx context.Context, evs []*record.AuditEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return p.st.Update(ctx, func(tx store.WTx) error {
		for _, ev := range evs {
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// Directory is the practice and its users (passphrase hashes cleared), as the
// API's mappings name them: for the server itself, not a user's read.
func (p *Practice) Directory(ctx context.Context) (record.Practice, []record.User, error) {
	var pr record.Practice
	var us []record.User
	err := p.st.View(ctx, func(tx store.Tx) error {
		x, err := tx.Practice()
		if err != nil {
			return err
		}
		pr = *x
		us, err = tx.Users()
		return err
	})
	for i := range us {
		us[i].PassHash = ""
	}
	return pr, us, err
}

// AuditHead is the sequence of the audit trail's last event.
func (p *Practice) AuditHead(ctx context.Context) (uint64, error) {
	var seq uint64
	err := p.st.View(ctx, func(tx store.Tx) error {
		var err error
		seq, _, err = tx.AuditHead()
		return err
	})
	return seq, err
}
