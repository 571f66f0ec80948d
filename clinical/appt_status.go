package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// apptWhen refuses a status the clock makes impossible: a patient cannot
// fail to attend a slot that has not started (marking it frees the slot and
// tells the patient's record they missed it), and arrives and is seen only on
// the day.
func apptWhen(a *record.Appointment, status string, now time.Time) error {
	day := func(t time.Time) string { return t.In(ukZone).Format(record.DateLayout) }
	start := a.Start.In(ukZone).Format("2006-01-02 15:04")
	switch status {
	case "did-not-attend":
		if now.Before(a.Start) {
			return record.Invalid("status", status, "the appointment starts at %s: a patient can be marked as not attending only once it has started", start)
		}
	case "arrived", "seen":
		if day(now) != day(a.Start) {
			return record.Invalid("status", status, "the appointment is on %s: a patient arrives and is seen only on the day (today is %s)", day(a.Start), day(now))
		}
	}
	return nil
}

// RevertAppointmentStatus undoes the last status change of an appointment
// (a DNA, arrival, seen or cancellation made by mistake), with a reason: a new
// version with the status it had before, the reason in its audit event. A
// slot given to someone else since is a conflict naming that appointment.
func (s *Service) RevertAppointmentStatus(ctx context.Context, id, reason string, ifVersion int) (*record.Appointment, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, record.Invalid("reason", reason, "say why the status is undone")
	}
	e, err := s.changeEntryWhy(ctx, []record.Kind{record.KindAppointment}, id, ifVersion, writeActionFor, "update", "status undone: "+reason,
		func(tx store.Tx, e record.Entity) error {
			a := e.(*record.Appointment)
			if a.Status == "booked" || a.Status == record.StatusEnteredInError {
				return record.Invalid("id", id, "is %s: there is no status change to undo", a.Status)
			}
			vs, err := tx.Versions(record.KindAppointment, a.ID)
			if err != nil {
				return err
			}
			prev := ""
			for i := len(vs) - 1; i >= 0; i-- {
				if st := vs[i].Head().Status; st != a.Status {
					prev = st
					break
				}
			}
			if prev == "" || prev == record.StatusEnteredInError {
				return record.Invalid("id", id, "has no earlier status to go back to")
			}
			if activeAppt(&record.Appointment{Meta: record.Meta{Status: prev}}) && !activeAppt(a) {
				// The slot was freed: it must still be free.
				appts, err := dayAppointments(tx, a.Start.In(ukZone).Format(record.DateLayout))
				if err != nil {
					return err
				}
				for _, x := range appts {
					if x.ID != a.ID && x.Clinician == a.Clinician && activeAppt(x) && x.Start.Before(a.End()) && a.Start.Before(x.End()) {
						return &record.ConflictError{What: "appointment " + a.ID,
							Msg: fmt.Sprintf("its slot has been given to appointment %s (%s): book again instead", x.ID, x.Status), By: x.RecordedBy, At: x.RecordedAt}
					}
				}
			}
			a.Status = prev
			return nil
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Appointment), nil
}
