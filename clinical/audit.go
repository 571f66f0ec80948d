package clinical

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// AuditFilter narrows an audit listing.
type AuditFilter struct {
	After     uint64
	PatientID string
	User      string
	Limit     int // the last N
}

// AuditEvents lists the audit trail (admins only; the listing is itself audited).
func (s *Service) AuditEvents(ctx context.Context, f AuditFilter) ([]*record.AuditEvent, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	var out []*record.AuditEvent
	err := s.p.st.View(ctx, func(tx store.Tx) error {
		return tx.Audit(f.After, func(ev *record.AuditEvent) error {
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
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", "audit", "", f.PatientID, 0)
	return out, s.audit(ctx, ev)
}
