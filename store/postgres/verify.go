package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

var _ store.AuditVerifier = (*Store)(nil)

// VerifyAudit recomputes the practice's hash chain, checks each record
// version an event wrote against the record hash it carries, and checks
// any imported trail against the events that recorded its imports (one
// snapshot), after placing the events a server left pending, so that it
// covers every event committed before it began.
func (s *Store) VerifyAudit() (store.AuditReport, error) {
	ctx := context.Background()
	var r store.AuditReport
	if err := s.PlacePending(ctx); err != nil {
		return r, err
	}
	err := s.View(ctx, func(tx store.Tx) error {
		t := tx.(*rtx)
		cc := &store.ChainCheck{Records: &store.RecordCheck{Version: t.storedVersion}}
		q := auditPage
		type ev struct {
			seq  int64
			hash string
			body []byte
		}
		err := pages(t, q, []any{t.ods}, int64(0), func(rows pgx.Rows) (int64, func() error, error) {
			var e ev
			if err := rows.Scan(&e.seq, &e.hash, &e.body); err != nil {
				return 0, nil, err
			}
			return e.seq, func() error { cc.Event(uint64(e.seq), e.hash, e.body); return nil }, nil
		})
		if err != nil {
			return err
		}
		_, head, err := t.AuditHead()
		if err != nil {
			return err
		}
		r = cc.End(head)
		ps, rep, err := t.verifyImported()
		r.Problems, r.Imported = append(r.Problems, ps...), rep
		return err
	})
	return r, err
}

// storedVersion finds the stored bytes of the record version an event names.
func (t *rtx) storedVersion(ev *record.AuditEvent) ([]byte, func([]byte) ([]byte, error), string) {
	canon := store.Canonicaliser(ev.Kind)
	var doc []byte
	var err error
	switch ev.Kind {
	case "user":
		err = t.queryRow("SELECT doc FROM users WHERE practice = $1 AND name = $2", t.ods, ev.EntityID).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, "missing: no such user"
		}
	case "practice":
		err = t.queryRow("SELECT doc FROM practices WHERE practice = $1", t.ods).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && doc == nil) {
			return nil, nil, "missing: no practice record"
		}
	default:
		err = t.queryRow(`SELECT doc FROM records WHERE practice = $1 AND kind = $2 AND id = $3 AND version = $4
			UNION ALL SELECT doc FROM record_versions WHERE practice = $1 AND kind = $2 AND id = $3 AND version = $4`,
			t.ods, string(ev.Kind), ev.EntityID, ev.Version).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			var n int
			if t.queryRow("SELECT count(*) FROM records WHERE practice = $1 AND kind = $2 AND id = $3", t.ods, string(ev.Kind), ev.EntityID).Scan(&n); n == 0 {
				return nil, nil, "missing: no such record"
			}
			return nil, nil, "missing: this version is not in the database"
		}
		if err != nil {
			return nil, nil, "unreadable: " + err.Error()
		}
		return doc, canon, ""
	}
	if err != nil {
		return nil, nil, "unreadable: " + err.Error()
	}
	if store.VersionOf(doc) != ev.Version {
		return nil, nil, "" // superseded: only the current version is kept
	}
	return doc, canon, ""
}

// ErrOtherRelease is returned by PinTerminology for a practice pinned to
// another terminology release.
var ErrOtherRelease = errors.New("practice pinned to another terminology release")

// PinTerminology records the terminology release a replica serves the
// practice with, the first time, and refuses (ErrOtherRelease, naming
// both) when the practice is pinned to another: every replica of a
// practice must code and check against the same release.
func (s *Store) PinTerminology(ctx context.Context, release string) error {
	if release == "" {
		return record.Invalid("terminology", release, "a terminology release is required")
	}
	var pinned string
	err := s.Update(ctx, func(tx store.WTx) error {
		t := tx.(*wtx)
		err := t.queryRow(`UPDATE practices SET terminology = CASE WHEN terminology = '' THEN $2 ELSE terminology END
			WHERE practice = $1 RETURNING terminology`, t.ods, release).Scan(&pinned)
		if errors.Is(err, pgx.ErrNoRows) {
			return &record.NotFoundError{Kind: "practice", ID: t.ods}
		}
		return err
	})
	if err != nil {
		return err
	}
	if pinned != release {
		return fmt.Errorf("%w: practice %s is served with terminology %q, this replica has %q: give every replica the same release (gpsoc codes import), or re-pin after upgrading them all", ErrOtherRelease, s.ods, pinned, release)
	}
	return nil
}

// Terminology is the release the practice is pinned to ("" when none yet).
func (s *Store) Terminology(ctx context.Context) (string, error) {
	var rel string
	err := s.View(ctx, func(tx store.Tx) error {
		t := tx.(*rtx)
		err := t.queryRow("SELECT terminology FROM practices WHERE practice = $1", t.ods).Scan(&rel)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return rel, err
}

// RepinTerminology moves the practice to another release (after every
// replica has it): an admin's act, done by the command that imports it.
func (s *Store) RepinTerminology(ctx context.Context, release string) error {
	if release == "" {
		return record.Invalid("terminology", release, "a terminology release is required")
	}
	return s.Update(ctx, func(tx store.WTx) error {
		t := tx.(*wtx)
		_, err := t.exec("UPDATE practices SET terminology = $2 WHERE practice = $1", t.ods, release)
		return err
	})
}
