package clinical

import (
	"context"
	"strings"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// endRegistration writes a patient who has left or died, and in the same
// transaction cancels their future appointments and open recalls (each with
// its own audit event): nobody should be invited or booked after that.
func (s *Service) endRegistration(ctx context.Context, ref string, ifVersion int, reason string, mutate func(p *record.Patient) error) (*record.Patient, []record.Entity, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, nil, err
	}
	var p *record.Patient
	var also []record.Entity
	err := s.store().Update(ctx, func(tx store.WTx) error {
		also = nil
		var err error
		if p, err = resolvePatient(tx, ref); err != nil {
			return err
		}
		if ifVersion != 0 && ifVersion != p.Version {
			return staleConflict(p, ifVersion)
		}
		if err := mutate(p); err != nil {
			return err
		}
		s.stamp(&p.Meta)
		if err := p.Validate(); err != nil {
			return err
		}
		if err := tx.Put(p); err != nil {
			return err
		}
		if err := tx.SetSearchRow(p.ID, find.EncodePatientRow(findDoc(p))); err != nil {
			return err
		}
		if err := tx.Append(s.event("update", record.KindPatient, p.ID, p.ID, p.Version)); err != nil {
			return err
		}
		now := s.p.now()
		appts, err := tx.List(p.ID, record.KindAppointment)
		if err != nil {
			return err
		}
		for _, e := range appts {
			if a := e.(*record.Appointment); a.Status == "booked" && a.Start.After(now) {
				a.Status = "cancelled"
				also = append(also, a)
			}
		}
		recalls, err := tx.List(p.ID, record.KindRecall)
		if err != nil {
			return err
		}
		for _, e := range recalls {
			if r := e.(*record.Recall); r.Status == "open" {
				r.Status = "cancelled"
				also = append(also, r)
			}
		}
		for _, e := range also {
			m := e.Head()
			s.stamp(m)
			if err := tx.Put(e); err != nil {
				return err
			}
			ev := s.event("update", e.Kind(), m.ID, p.ID, m.Version)
			ev.Reason = reason
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.afterCommit(func() { s.p.indexPut(p) })
	return p, also, nil
}

// Leave records that a patient has left the practice on a date (default today), with a reason.
func (s *Service) Leave(ctx context.Context, ref, date, reason string, ifVersion int) (*record.Patient, []record.Entity, error) {
	d, err := s.pastDay("date", date)
	if err != nil {
		return nil, nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, nil, record.Invalid("reason", reason, "a reason is required when a patient leaves")
	}
	return s.endRegistration(ctx, ref, ifVersion, "patient left", func(p *record.Patient) error {
		switch p.Status {
		case record.PatientDeceased:
			return record.Invalid("patient", p.ID, "died on %s", p.Registration.DeceasedOn)
		case record.PatientLeft:
			return &record.ConflictError{What: "patient " + p.ID, Msg: "already left on " + p.Registration.LeftOn, By: p.RecordedBy, At: p.RecordedAt}
		}
		p.Registration.LeftOn, p.Registration.LeftReason = d, strings.TrimSpace(reason)
		return nil
	})
}

// Deceased records a patient's death on a date (default today).
func (s *Service) Deceased(ctx context.Context, ref, date string, ifVersion int) (*record.Patient, []record.Entity, error) {
	d, err := s.pastDay("date", date)
	if err != nil {
		return nil, nil, err
	}
	return s.endRegistration(ctx, ref, ifVersion, "patient deceased", func(p *record.Patient) error {
		if p.Status == record.PatientDeceased {
			return &record.ConflictError{What: "patient " + p.ID, Msg: "already recorded as deceased on " + p.Registration.DeceasedOn, By: p.RecordedBy, At: p.RecordedAt}
		}
		p.Registration.DeceasedOn = d
		return nil
	})
}

// SetFlag adds (on) or removes (off) a warning flag.
func (s *Service) SetFlag(ctx context.Context, ref, flag string, on bool, ifVersion int) (*record.Patient, error) {
	flag = strings.ToLower(strings.TrimSpace(flag))
	if flag == "" {
		return nil, record.Invalid("flag", flag, "a flag cannot be empty")
	}
	return s.UpdatePatient(ctx, ref, PatientUpdate{IfVersion: ifVersion, Mutate: func(p *record.Patient) error {
		has := p.HasFlag(flag)
		switch {
		case on && has:
			return &record.ConflictError{What: "patient " + p.ID, Msg: "already has the flag " + flag, By: p.RecordedBy, At: p.RecordedAt}
		case !on && !has:
			return record.Invalid("flag", flag, "patient %s does not have this flag (flags: %s)", p.ID, strings.Join(p.Flags, ", "))
		case on:
			p.Flags = append(p.Flags, flag)
		default:
			var keep []string
			for _, f := range p.Flags {
				if f != flag {
					keep = append(keep, f)
				}
			}
			p.Flags = keep
		}
		return nil
	}})
}

// ExportLine is one line of a whole-record export.
type ExportLine struct {
	Kind   record.Kind   `json:"kind"`
	Record record.Entity `json:"record"`
}

// ExportPatients calls fn with each patient (all when refs is empty), and, when
// records is set, every record of each patient (current versions). Admins and
// GPs only; one audit event per patient exported.
func (s *Service) ExportPatients(ctx context.Context, refs []string, records bool, fn func(ExportLine) error) (int, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return 0, err
	}
	var ids []string
	err := s.store().View(ctx, func(tx store.Tx) error {
		if len(refs) == 0 {
			return tx.ForEach(record.KindPatient, func(e record.Entity) error { ids = append(ids, e.Head().ID); return nil })
		}
		for _, r := range refs {
			p, err := resolvePatient(tx, r)
			if err != nil {
				return err
			}
			ids = append(ids, p.ID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Read a chunk at a time, so a whole-practice export does not hold one long read transaction.
	const chunk = 500
	n := 0
	for i := 0; i < len(ids); i += chunk {
		j := min(i+chunk, len(ids))
		var lines []ExportLine
		var evs []*record.AuditEvent
		err := s.store().View(ctx, func(tx store.Tx) error {
			for _, id := range ids[i:j] {
				e, err := tx.Get(record.KindPatient, id)
				if err != nil {
					return err
				}
				lines = append(lines, ExportLine{record.KindPatient, e})
				cnt := 0
				if records {
					for _, k := range EntryKinds {
						if k == record.KindSession {
							continue
						}
						es, err := tx.List(id, k)
						if err != nil {
							return err
						}
						for _, x := range es {
							lines = append(lines, ExportLine{k, x})
						}
						cnt += len(es)
					}
				}
				ev := s.event("export", record.KindPatient, id, id, e.Head().Version)
				if records {
					ev.Query = "patient and " + itoa(cnt) + " records"
				}
				evs = append(evs, ev)
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if err := s.store().Update(ctx, func(tx store.WTx) error {
			for _, ev := range evs {
				if err := tx.Append(ev); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return n, err
		}
		for _, l := range lines {
			if err := fn(l); err != nil {
				return n, err
			}
		}
		n += j - i
	}
	return n, nil
}
