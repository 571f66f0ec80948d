package clinical

import (
	"context"
	"errors"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// AuditFilter narrows an audit listing.
type AuditFilter struct {
	After     uint64
	PatientID string
	User      string
	Limit     int // the last N
	First     int // the first N (paging through the trail); 0: all
}

// AuditEvents lists the audit trail (admins only; the listing is itself audited).
func (s *Service) AuditEvents(ctx context.Context, f AuditFilter) ([]*record.AuditEvent, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	var out []*record.AuditEvent
	err := s.store().View(ctx, func(tx store.Tx) error {
		if f.PatientID != "" {
			// The patient is named as everywhere else: an NHS number (with or
			// without spaces) or an id; one that names nobody is an error, not
			// an empty trail.
			p, err := resolvePatient(tx, f.PatientID)
			if err != nil {
				return err
			}
			f.PatientID = p.ID
		}
		after := f.After
		if f.Limit > 0 && f.PatientID == "" && f.User == "" {
			// The last N of the whole trail: start N before its head, not at its beginning.
			head, _, err := tx.AuditHead()
			if err != nil {
				return err
			}
			if head > uint64(f.Limit) {
				after = max(after, head-uint64(f.Limit))
			}
		}
		err := tx.Audit(after, func(ev *record.AuditEvent) error {
			if f.PatientID != "" && ev.PatientID != f.PatientID {
				return nil
			}
			if f.User != "" && ev.User != f.User {
				return nil
			}
			out = append(out, ev)
			if f.Limit > 0 && len(out) > f.Limit {
				out = out[1:]
			}
			if f.First > 0 && len(out) == f.First {
				return errStop
			}
			return nil
		})
		if errors.Is(err, errStop) {
			err = nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", "audit", "", f.PatientID, 0)
	return out, s.audit(ctx, ev)
}
