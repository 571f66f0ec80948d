package clinical

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// SessionInput is a clinician's block of bookable slots on one day.
type SessionInput struct {
	Clinician   string
	Date        string // YYYY-MM-DD
	Start, End  string // HH:MM UK local time
	SlotMinutes int
}

// checkClinician checks that a user exists and sees patients (gp or nurse).
func checkClinician(tx store.Tx, field, name string) error {
	u, err := tx.User(name)
	if err != nil {
		return record.Invalid(field, name, "no such user")
	}
	if u.Role != record.RoleGP && u.Role != record.RoleNurse {
		return record.Invalid(field, name, "is a %s, not a clinician (gp or nurse)", u.Role)
	}
	return nil
}

// sessionTimes is a session's start and end as times.
func sessionTimes(se *record.Session) (time.Time, time.Time) {
	st, _ := time.ParseInLocation("2006-01-02 15:04", se.Date+" "+se.Start, ukZone)
	en, _ := time.ParseInLocation("2006-01-02 15:04", se.Date+" "+se.End, ukZone)
	return st, en
}

// AddSession sets up a session. Sessions of one clinician may not overlap.
func (s *Service) AddSession(ctx context.Context, in SessionInput) (*record.Session, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	se := &record.Session{Clinician: in.Clinician, Date: in.Date, Start: in.Start, End: in.End, SlotMinutes: in.SlotMinutes}
	s.stamp(&se.Meta)
	if err := se.Validate(); err != nil {
		return nil, err
	}
	st, en := sessionTimes(se)
	if span := en.Sub(st); span%(time.Duration(se.SlotMinutes)*time.Minute) != 0 {
		return nil, record.Invalid("slot", fmt.Sprintf("%dm", se.SlotMinutes), "does not divide the session %s–%s evenly", se.Start, se.End)
	}
	err := s.store().Update(ctx, func(tx store.WTx) error {
		se.ID, se.Version = "", 0
		if err := checkClinician(tx, "clinician", se.Clinician); err != nil {
			return err
		}
		if err := tx.ForEach(record.KindSession, func(e record.Entity) error {
			x := e.(*record.Session)
			if x.Clinician != se.Clinician || x.Date != se.Date || x.Status != "active" {
				return nil
			}
			xs, xe := sessionTimes(x)
			if xs.Before(en) && st.Before(xe) {
				return &record.ConflictError{What: "session " + x.ID, Msg: fmt.Sprintf("%s already has a session %s–%s on %s", x.Clinician, x.Start, x.End, x.Date)}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Put(se); err != nil {
			return err
		}
		return tx.Append(s.event("create", record.KindSession, se.ID, "", se.Version))
	})
	if err != nil {
		return nil, err
	}
	return se, nil
}

// Slot is one bookable slot of a session.
type Slot struct {
	Clinician     string    `json:"clinician"`
	SessionID     string    `json:"sessionId"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Minutes       int       `json:"minutes"`
	Free          bool      `json:"free"`
	AppointmentID string    `json:"appointmentId,omitempty"`
}

// activeAppt reports whether an appointment holds its time.
func activeAppt(a *record.Appointment) bool {
	return a.Status == "booked" || a.Status == "arrived" || a.Status == "seen"
}

// dayAppointments is every appointment starting on a UK date.
func dayAppointments(tx store.Tx, date string) ([]*record.Appointment, error) {
	var out []*record.Appointment
	keep := func(a *record.Appointment) error {
		if a.Start.In(ukZone).Format(record.DateLayout) == date {
			out = append(out, a)
		}
		return nil
	}
	var err error
	if ix, ok := tx.(store.AppointmentIndex); ok {
		from, _ := time.ParseInLocation(record.DateLayout, date, ukZone)
		err = ix.AppointmentsBetween(from, from.AddDate(0, 0, 1), keep)
	} else {
		err = tx.ForEach(record.KindAppointment, func(e record.Entity) error { return keep(e.(*record.Appointment)) })
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, err
}

func daySessions(tx store.Tx, date, clinician string) ([]*record.Session, error) {
	var out []*record.Session
	err := tx.ForEach(record.KindSession, func(e record.Entity) error {
		x := e.(*record.Session)
		if x.Date == date && x.Status == "active" && (clinician == "" || x.Clinician == clinician) {
			out = append(out, x)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Clinician < out[j].Clinician
	})
	return out, err
}

// Slots lists the slots of a day's sessions, with whether each is free (audited).
func (s *Service) Slots(ctx context.Context, date, clinician string, freeOnly bool) ([]Slot, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	d, err := record.ParseDate("date", date)
	if err != nil {
		return nil, err
	}
	out := []Slot{}
	err = s.store().View(ctx, func(tx store.Tx) error {
		if clinician != "" {
			if _, err := tx.User(clinician); err != nil {
				return record.Invalid("clinician", clinician, "no such user")
			}
		}
		ses, err := daySessions(tx, d, clinician)
		if err != nil {
			return err
		}
		appts, err := dayAppointments(tx, d)
		if err != nil {
			return err
		}
		for _, se := range ses {
			st, en := sessionTimes(se)
			step := time.Duration(se.SlotMinutes) * time.Minute
			for t := st; t.Before(en); t = t.Add(step) {
				sl := Slot{Clinician: se.Clinician, SessionID: se.ID, Start: t.UTC(), End: t.Add(step).UTC(), Minutes: se.SlotMinutes, Free: true}
				for _, a := range appts {
					if a.Clinician == se.Clinician && activeAppt(a) && a.Start.Before(t.Add(step)) && t.Before(a.End()) {
						sl.Free, sl.AppointmentID = false, a.ID
						break
					}
				}
				if freeOnly && !sl.Free {
					continue
				}
				out = append(out, sl)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ev := s.event("list", "slot", "", "", 0)
	ev.Query = strings.TrimSpace(fmt.Sprintf("slots date=%s clinician=%s free=%v", d, clinician, freeOnly))
	return out, s.audit(ctx, ev)
}

// BookInput is an appointment to book.
type BookInput struct {
	PatientRef string
	Clinician  string
	At         time.Time
	Minutes    int // 0: the session's slot length, or 10 outside sessions
	Mode       string
	Reason     string
}

// Book books an appointment: into the clinician's session when At is the start
// of a slot in one, else as an extra outside sessions. A clash with the
// clinician's other bookings is a conflict naming the appointment in the way.
func (s *Service) Book(ctx context.Context, in BookInput) (*record.Appointment, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	p, err := s.lookupPatient(ctx, in.PatientRef)
	if err != nil {
		return nil, err
	}
	if err := entryAllowed(p, record.KindAppointment, in.At, s.p.now()); err != nil {
		return nil, err
	}
	if in.At.IsZero() {
		return nil, record.Invalid("at", "", "a time is required")
	}
	if in.At.Before(s.p.now().Add(-time.Minute)) {
		return nil, record.Invalid("at", in.At.In(ukZone).Format("2006-01-02 15:04"), "is in the past")
	}
	if in.Minutes < 0 {
		return nil, record.Invalid("length", fmt.Sprintf("%dm", in.Minutes), "must be more than 0")
	}
	a := &record.Appointment{Meta: record.Meta{PatientID: p.ID}, Clinician: in.Clinician, Start: in.At.UTC(),
		Minutes: in.Minutes, Mode: in.Mode, Reason: in.Reason}
	err = s.store().Update(ctx, func(tx store.WTx) error {
		a.ID, a.Version, a.SessionID, a.Extra = "", 0, "", false
		if err := checkClinician(tx, "clinician", a.Clinician); err != nil {
			return err
		}
		date := in.At.In(ukZone).Format(record.DateLayout)
		ses, err := daySessions(tx, date, a.Clinician)
		if err != nil {
			return err
		}
		for _, se := range ses {
			st, en := sessionTimes(se)
			if in.At.Before(st) || !in.At.Before(en) {
				continue
			}
			step := time.Duration(se.SlotMinutes) * time.Minute
			if in.At.Sub(st)%step != 0 {
				return record.Invalid("at", in.At.In(ukZone).Format("15:04"), "is not the start of a slot in %s's session %s–%s (%dm slots from %s)",
					se.Clinician, se.Start, se.End, se.SlotMinutes, se.Start)
			}
			a.SessionID = se.ID
			if a.Minutes == 0 {
				a.Minutes = se.SlotMinutes
			}
		}
		if a.SessionID == "" {
			a.Extra = true
			if a.Minutes == 0 {
				a.Minutes = 10
			}
		}
		s.stamp(&a.Meta)
		if err := a.Validate(); err != nil {
			return err
		}
		appts, err := dayAppointments(tx, date)
		if err != nil {
			return err
		}
		for _, x := range appts {
			if x.Clinician == a.Clinician && activeAppt(x) && x.Start.Before(a.End()) && a.Start.Before(x.End()) {
				return &record.ConflictError{What: "appointment with " + a.Clinician + " at " + a.Start.In(ukZone).Format("2006-01-02 15:04"),
					Msg: fmt.Sprintf("clashes with appointment %s (%s–%s, %s)", x.ID, x.Start.In(ukZone).Format("15:04"), x.End().In(ukZone).Format("15:04"), x.Status)}
			}
		}
		if err := tx.Put(a); err != nil {
			return err
		}
		return tx.Append(s.event("create", record.KindAppointment, a.ID, p.ID, a.Version))
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// apptMoves says which statuses an appointment may move to from which.
var apptMoves = map[string][]string{
	"arrived":        {"booked"},
	"seen":           {"booked", "arrived"},
	"did-not-attend": {"booked"},
	"cancelled":      {"booked", "arrived"},
}

// SetAppointmentStatus moves an appointment on: arrived, seen, did-not-attend or cancelled.
func (s *Service) SetAppointmentStatus(ctx context.Context, id, status string, ifVersion int) (*record.Appointment, error) {
	from, ok := apptMoves[status]
	if !ok {
		return nil, record.Invalid("status", status, "must be arrived, seen, did-not-attend or cancelled")
	}
	e, err := s.changeEntry(ctx, []record.Kind{record.KindAppointment}, id, ifVersion, writeActionFor, "update",
		func(_ store.Tx, e record.Entity) error {
			a := e.(*record.Appointment)
			if err := apptWhen(a, status, s.p.now()); err != nil {
				return err
			}
			for _, f := range from {
				if a.Status == f {
					a.Status = status
					return nil
				}
			}
			return &record.ConflictError{What: "appointment " + a.ID, Msg: fmt.Sprintf("is %s, so it cannot become %s", a.Status, status),
				By: a.RecordedBy, At: a.RecordedAt}
		})
	if err != nil {
		return nil, err
	}
	return e.(*record.Appointment), nil
}

// ApptFilter narrows an appointment list.
type ApptFilter struct {
	Date       string // YYYY-MM-DD
	Clinician  string
	PatientRef string
	From       time.Time // only appointments starting at or after this (with PatientRef)
	All        bool      // include cancelled and entered-in-error
}

// Appointments lists appointments in time order (audited).
func (s *Service) Appointments(ctx context.Context, f ApptFilter) ([]*record.Appointment, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	if f.Date != "" {
		d, err := record.ParseDate("date", f.Date)
		if err != nil {
			return nil, err
		}
		f.Date = d
	}
	var pid string
	if f.PatientRef != "" {
		p, err := s.lookupPatient(ctx, f.PatientRef)
		if err != nil {
			return nil, err
		}
		pid = p.ID
	}
	out := []*record.Appointment{}
	err := s.store().View(ctx, func(tx store.Tx) error {
		if f.Clinician != "" {
			if _, err := tx.User(f.Clinician); err != nil {
				return record.Invalid("clinician", f.Clinician, "no such user")
			}
		}
		keep := func(a *record.Appointment) {
			if f.Date != "" && a.Start.In(ukZone).Format(record.DateLayout) != f.Date {
				return
			}
			if f.Clinician != "" && a.Clinician != f.Clinician {
				return
			}
			if !f.From.IsZero() && a.Start.Before(f.From) {
				return
			}
			if !f.All && (a.Status == "cancelled" || a.Status == record.StatusEnteredInError) {
				return
			}
			out = append(out, a)
		}
		if pid != "" {
			es, err := tx.List(pid, record.KindAppointment)
			for _, e := range es {
				keep(e.(*record.Appointment))
			}
			return err
		}
		if ix, ok := tx.(store.AppointmentIndex); ok && f.Date != "" {
			from, _ := time.ParseInLocation(record.DateLayout, f.Date, ukZone)
			return ix.AppointmentsBetween(from, from.AddDate(0, 0, 1), func(a *record.Appointment) error { keep(a); return nil })
		}
		return tx.ForEach(record.KindAppointment, func(e record.Entity) error { keep(e.(*record.Appointment)); return nil })
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Clinician < out[j].Clinician
	})
	ev := s.event("list", record.KindAppointment, "", pid, 0)
	ev.Query = strings.TrimSpace(fmt.Sprintf("appointments date=%s clinician=%s", f.Date, f.Clinician))
	return out, s.audit(ctx, ev)
}

// Sessions lists sessions, on a date (all dates when empty), by date and start (audited).
func (s *Service) Sessions(ctx context.Context, date, clinician string) ([]*record.Session, error) {
	return s.sessions(ctx, date, clinician, false)
}

// AllSessions lists every session, entered in error too, by date and start
// (audited): the API's Schedule search, which a remote store reads as the
// practice file's sessions.
func (s *Service) AllSessions(ctx context.Context) ([]*record.Session, error) {
	return s.sessions(ctx, "", "", true)
}

func (s *Service) sessions(ctx context.Context, date, clinician string, all bool) ([]*record.Session, error) {
	if err := s.require(ctx, ActRegister, ""); err != nil {
		return nil, err
	}
	if date != "" {
		d, err := record.ParseDate("date", date)
		if err != nil {
			return nil, err
		}
		date = d
	}
	out := []*record.Session{}
	err := s.store().View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindSession, func(e record.Entity) error {
			x := e.(*record.Session)
			if (date == "" || x.Date == date) && (clinician == "" || x.Clinician == clinician) && (all || x.Status == "active") {
				out = append(out, x)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date < out[j].Date
		}
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Clinician < out[j].Clinician
	})
	ev := s.event("list", record.KindSession, "", "", 0)
	ev.Query = strings.TrimSpace(fmt.Sprintf("sessions date=%s clinician=%s", date, clinician))
	if all {
		ev.Query = "sessions (all statuses)"
	}
	return out, s.audit(ctx, ev)
}
