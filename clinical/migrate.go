package clinical

import (
	"context"
	"errors"
	"fmt"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// MigrateReport is what Migrate did.
type MigrateReport struct {
	// UpToDate: the destination already held this practice exactly as the
	// source does (the same audit head), so nothing was copied.
	UpToDate bool
	// Replaced: the destination held an earlier copy of this practice (its
	// trail a beginning of the source's), which the copy replaced.
	Replaced bool
	Events   uint64 // the audit trail's length in the copy
	Head     string // its last event's hash
	Counts   map[record.Kind]int
	Users    int
}

// Migrate copies the whole practice into dst (another data dir, or a
// PostgreSQL database), as it is stored: every version of every record,
// users with their passphrases, tokens and sessions, find rows, the change
// feed's position and the audit trail byte for byte, so `gpsoc audit
// verify` gives the same in the copy. It is the one write that is not a
// service action per record (design.md §1): admin only, and audited in the
// source before the copy, so the copy holds its own migration. to names
// the destination for the audit event (without a password).
//
// It refuses (a ConflictError, nothing written) a destination that holds
// another practice, or this practice with a history of its own since the
// copy was made. Run again, it copies nothing when the destination is
// already the same, and replaces an earlier copy.
func (s *Service) Migrate(ctx context.Context, dst store.Store, to string) (*MigrateReport, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	src, ok := s.p.st.(store.Dumper)
	if !ok {
		return nil, record.Invalid("from", "", "this practice's store cannot be copied from here (remote mode: migrate on the server)")
	}
	loader, ok := dst.(store.Loader)
	if !ok {
		return nil, record.Invalid("to", to, "this store cannot take a copy")
	}
	srcState, err := migrateState(ctx, s.p.st)
	if err != nil {
		return nil, fmt.Errorf("read the source: %w", err)
	}
	dstState, err := migrateState(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("read the destination %s: %w", to, err)
	}
	rep := &MigrateReport{}
	switch {
	case dstState.practice == nil && dstState.events == 0:
		// empty: copy
	case dstState.practice == nil || dstState.practice.ODS != srcState.practice.ODS:
		what := "records but no practice"
		if dstState.practice != nil {
			what = fmt.Sprintf("practice %s (%s)", dstState.practice.ODS, dstState.practice.Name)
		}
		return nil, &record.ConflictError{What: "destination " + to,
			Msg: fmt.Sprintf("it holds %s, not %s: a migration never overwrites another practice", what, srcState.practice.ODS)}
	case dstState.events == srcState.events && dstState.head == srcState.head:
		rep.UpToDate = true
		rep.Events, rep.Head = dstState.events, dstState.head
		return rep, nil
	default:
		h, err := hashAt(ctx, s.p.st, dstState.events)
		if err != nil {
			return nil, err
		}
		if dstState.events > srcState.events || h != dstState.head {
			return nil, &record.ConflictError{What: "destination " + to,
				Msg: fmt.Sprintf("it holds practice %s with an audit trail of its own (%d events, not a beginning of this one's %d): it has been written to since it was copied, and a migration never overwrites that; move one practice's data aside and decide which is current",
					srcState.practice.ODS, dstState.events, srcState.events)}
		}
		rep.Replaced = true // an earlier copy: everything in it is in the source too
	}
	ev := s.event("migrate", "practice", s.practice.ODS, "", 0)
	ev.Reason = "to " + to
	if err := s.audit(ctx, ev); err != nil {
		return nil, err
	}
	if err := loader.Load(ctx, src); err != nil {
		s.auditFailure(ctx, "migrate", "to "+to, err)
		return nil, fmt.Errorf("copy to %s: %w", to, err)
	}
	got, err := migrateState(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("read the copy in %s: %w", to, err)
	}
	// The copy ends where the source's trail did when it was dumped: at the
	// migrate event, or later if someone wrote meanwhile (the copy is a
	// snapshot; a re-run brings it up to date).
	if got.events < ev.Seq || got.practice == nil || got.practice.ODS != s.practice.ODS {
		return nil, fmt.Errorf("the copy in %s ends at audit event %d, before the migration's own event %d", to, got.events, ev.Seq)
	}
	rep.Events, rep.Head, rep.Counts, rep.Users = got.events, got.head, got.counts, got.users
	return rep, nil
}

type migrateSide struct {
	practice *record.Practice
	events   uint64
	head     string
	counts   map[record.Kind]int
	users    int
}

func migrateState(ctx context.Context, st store.Store) (*migrateSide, error) {
	m := &migrateSide{counts: map[record.Kind]int{}}
	err := st.View(ctx, func(tx store.Tx) error {
		p, err := tx.Practice()
		if err != nil && !record.IsNotFound(err) {
			return err
		}
		m.practice = p
		if m.events, m.head, err = tx.AuditHead(); err != nil {
			return err
		}
		us, err := tx.Users()
		m.users = len(us)
		for _, k := range record.Kinds {
			m.counts[k] = tx.Count(k)
		}
		return err
	})
	return m, err
}

var errFound = errors.New("found")

// hashAt is the hash of the source's audit event seq ("" for 0).
func hashAt(ctx context.Context, st store.Store, seq uint64) (string, error) {
	if seq == 0 {
		return "", nil
	}
	var h string
	err := st.View(ctx, func(tx store.Tx) error {
		return tx.Audit(seq-1, func(ev *record.AuditEvent) error { h = ev.Hash; return errFound })
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	return h, err
}
