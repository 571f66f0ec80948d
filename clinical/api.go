package clinical

// Services `gpsoc serve` offers remote workstations beyond the records
// themselves: the patient change feed their find index follows. Each is
// role-checked and audited like every other service.

import (
	"context"
	"errors"
	"strconv"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// PatientChange is one entry of the patient change feed.
type PatientChange struct {
	Seq       uint64
	PatientID string
}

// PatientChanges lists up to max patients changed after change sequence
// after, in order, and the sequence to ask from next time; more says the
// list stopped at max. max 0 asks for the latest sequence only. Every role
// may follow the feed (it names patient ids only, as a patient list does);
// each call is audited as a list.
func (s *Service) PatientChanges(ctx context.Context, after uint64, max int) ([]PatientChange, uint64, bool, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, 0, false, err
	}
	var out []PatientChange
	var last uint64
	more := false
	err := s.p.st.View(ctx, func(tx store.Tx) error {
		if max <= 0 {
			var err error
			last, err = tx.Changes(store.ChangesHead, func(uint64, string) error { return nil })
			return err
		}
		var err error
		last, err = tx.Changes(after, func(seq uint64, id string) error {
			if len(out) == max {
				more = true
				return errStop
			}
			out = append(out, PatientChange{Seq: seq, PatientID: id})
			return nil
		})
		if errors.Is(err, errStop) {
			err = nil
		}
		if more {
			last = out[len(out)-1].Seq
		}
		return err
	})
	if err != nil {
		return nil, 0, false, err
	}
	ev := s.event("list", record.KindPatient, "", "", 0)
	ev.Query = "changes after " + strconv.FormatUint(after, 10)
	return out, last, more, s.audit(ctx, ev)
}

// RecordClientEvents writes audit events a workstation reports through the
// API: what only it knows, such as the reason a sensitive record was opened,
// a find typed into its own index, or a refusal it made. Who and when are
// the service's own (the acting user, its role, the practice clock),
// whatever the events say, so a client cannot write the trail in another
// user's name or at another time; the source names the face the user used
// (cli or tui, else "client"). Every role may report its own events; they
// are written together, in one transaction, and returned with their places
// in the chain.
func (s *Service) RecordClientEvents(ctx context.Context, evs []*record.AuditEvent) error {
	now := s.p.now().UTC()
	for i, ev := range evs {
		if ev.Action == "" {
			return record.Invalid("audit event "+strconv.Itoa(i)+" action", "", "an audit event names its action")
		}
		switch ev.Outcome {
		case "", "ok", "denied", "failed":
		default:
			return record.Invalid("audit event "+strconv.Itoa(i)+" outcome", ev.Outcome, "ok, denied or failed")
		}
		ev.Seq, ev.PrevHash, ev.Hash = 0, "", ""
		ev.At, ev.User, ev.Role = now, s.user.Name, s.user.Role
		if ev.Source != "cli" && ev.Source != "tui" {
			ev.Source = "client"
		}
	}
	return s.p.st.Update(ctx, func(tx store.WTx) error {
		for _, ev := range evs {
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	})
}
