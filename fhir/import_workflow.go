package fhir

// Resources to records: appointments, tasks and recalls, provenance and the
// audit trail, sessions.

import (
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// ---- Appointment ----

// AppointmentFrom maps an Appointment with a patient participant.
func AppointmentFrom(r *Appointment, rs Resolver) (*record.Appointment, []Note, error) {
	var n []Note
	a := &record.Appointment{Mode: "in-person", Reason: r.Description}
	for _, p := range r.Participant {
		if p.Actor == nil {
			continue
		}
		if id := rs.ID(p.Actor, "Patient"); id != "" {
			a.PatientID = id
		} else if w := rs.Who(p.Actor); w != "" && a.Clinician == "" {
			a.Clinician = w
		}
	}
	if a.PatientID == "" {
		return nil, n, perr("Appointment.participant", "no participant resolves to a patient")
	}
	if a.Clinician == "" {
		a.Clinician = ClinicianNotRecorded
	}
	var err error
	if a.Start, err = Time(r.Start, "Appointment.start"); err != nil {
		return nil, n, err
	}
	if r.MinutesDuration != nil {
		a.Minutes = *r.MinutesDuration
	} else if r.End != "" {
		end, err := Time(r.End, "Appointment.end")
		if err != nil {
			return nil, n, err
		}
		a.Minutes = int(end.Sub(a.Start).Minutes())
	}
	if r.AppointmentType != nil {
		for _, c := range r.AppointmentType.Coding {
			if c.System == CSAppointmentMode {
				a.Mode = c.Code
			}
		}
	}
	for k, v := range apptStatus {
		if v == r.Status {
			a.Status = k
		}
	}
	switch r.Status {
	case "proposed", "pending", "waitlist":
		a.Status = "booked"
	case "checked-in":
		a.Status = "arrived"
	}
	var x struct {
		SessionID string `json:"sessionId"`
		Extra     bool   `json:"extra"`
	}
	if recordExtra(r.Extension, &x) {
		a.SessionID, a.Extra = x.SessionID, x.Extra
	}
	a.FHIRExtra = Unmapped(r, rs)
	return a, n, nil
}

// ---- Task ----

// IsRecall reports whether a Task is a recall.
func IsRecall(r *Task) bool { return hasCode(r.Code, CSTaskType, "recall") }

func taskStatusFrom(s string) string {
	switch s {
	case "completed":
		return "done"
	case "cancelled", "rejected", "failed":
		return "cancelled"
	case "entered-in-error":
		return record.StatusEnteredInError
	}
	return "open"
}

// TaskFrom maps a Task that is not a recall.
func TaskFrom(r *Task, rs Resolver) (*record.Task, []Note, error) {
	var n []Note
	t := &record.Task{Text: r.Description}
	t.Status = taskStatusFrom(r.Status)
	if t.Text == "" && r.Code != nil {
		t.Text = r.Code.Text
	}
	if r.For != nil {
		id, err := subjectID(rs, r.For, "Task.for")
		if err != nil {
			return nil, n, err
		}
		t.PatientID = id
	}
	if r.Owner != nil {
		if u, ok := rs.User(r.Owner); ok {
			t.To = u
		} else {
			t.To = rs.Who(r.Owner)
		}
	}
	if r.Restriction != nil && r.Restriction.Period != nil {
		t.Due = Date(r.Restriction.Period.End, "Task.restriction.period.end", &n)
	}
	var err error
	if r.ExecutionPeriod != nil {
		if t.DoneAt, err = Time(r.ExecutionPeriod.End, "Task.executionPeriod.end"); err != nil {
			return nil, n, err
		}
	}
	var x map[string]string
	if recordExtra(r.Extension, &x) {
		t.DoneBy, t.CancelReason = x["doneBy"], x["cancelReason"]
	}
	t.FHIRExtra = Unmapped(r, rs)
	return t, n, nil
}

// RecallFrom maps a Task with the recall code.
func RecallFrom(r *Task, rs Resolver) (*record.Recall, []Note, error) {
	var n []Note
	rc := &record.Recall{}
	rc.Status = taskStatusFrom(r.Status)
	var err error
	if rc.PatientID, err = subjectID(rs, r.For, "Task.for"); err != nil {
		return nil, n, err
	}
	if rc.Code, _, err = Code(r.ReasonCode, "Task.reasonCode", &n); err != nil {
		return nil, n, err
	}
	if r.Restriction != nil && r.Restriction.Period != nil {
		rc.Due = Date(r.Restriction.Period.End, "Task.restriction.period.end", &n)
	}
	if rc.Due == "" {
		return nil, n, perr("Task.restriction.period.end", "a recall needs its due date")
	}
	if r.ExecutionPeriod != nil {
		if rc.DoneAt, err = Time(r.ExecutionPeriod.End, "Task.executionPeriod.end"); err != nil {
			return nil, n, err
		}
	}
	var x map[string]string
	if recordExtra(r.Extension, &x) {
		rc.DoneBy = x["doneBy"]
	}
	rc.FHIRExtra = Unmapped(r, rs)
	return rc, n, nil
}

// ---- Provenance and AuditEvent ----

// RetractionFrom reads a Provenance that nullifies a record (entered in error).
func RetractionFrom(r *Provenance, rs Resolver) (*record.Retraction, bool) {
	if !hasCode(r.Activity, CSDataOperation, "NULLIFY") {
		return nil, false
	}
	rt := &record.Retraction{}
	if len(r.Reason) > 0 {
		rt.Reason = r.Reason[0].Text
	}
	if len(r.Agent) > 0 {
		rt.By = rs.Who(&r.Agent[0].Who)
	}
	rt.At, _ = Time(r.Recorded, "Provenance.recorded")
	return rt, true
}

// AuditEventFrom reads back an audit event this system exported; false for others.
func AuditEventFrom(r *AuditEvent) (*record.AuditEvent, bool) {
	ev := &record.AuditEvent{}
	if !recordExtra(r.Extension, ev) || ev.Action == "" {
		return nil, false
	}
	return ev, true
}

// ---- Schedule ----

// ScheduleFrom maps a Schedule to a session: its first actor that names
// someone is the clinician, its planningHorizon (one UK day) the times. A
// Schedule without our slot-minutes extension (another server's) gets
// 10-minute slots, flagged.
func ScheduleFrom(r *Schedule, rs Resolver) (*record.Session, []Note, error) {
	var n notes
	se := &record.Session{}
	for i := range r.Actor {
		if w := rs.Who(&r.Actor[i]); w != "" {
			se.Clinician = w
			break
		}
	}
	if se.Clinician == "" {
		return nil, n, perr("Schedule.actor", "no actor names a clinician")
	}
	if r.PlanningHorizon == nil || r.PlanningHorizon.Start == "" || r.PlanningHorizon.End == "" {
		return nil, n, perr("Schedule.planningHorizon", "a session needs its start and end")
	}
	st, err := Time(r.PlanningHorizon.Start, "Schedule.planningHorizon.start")
	if err != nil {
		return nil, n, err
	}
	en, err := Time(r.PlanningHorizon.End, "Schedule.planningHorizon.end")
	if err != nil {
		return nil, n, err
	}
	st, en = st.In(ukZone), en.In(ukZone)
	se.Date, se.Start, se.End = st.Format(record.DateLayout), st.Format("15:04"), en.Format("15:04")
	if en.Format(record.DateLayout) != se.Date && !(en.Format("15:04") == "00:00" && en.Sub(st) <= 24*time.Hour) {
		return nil, n, perr("Schedule.planningHorizon", "a session is within one day (%s to %s)", r.PlanningHorizon.Start, r.PlanningHorizon.End)
	}
	if x := findExt(r.Extension, ExtSlotMinutes); x != nil && x.ValueUnsignedInt != nil {
		se.SlotMinutes = *x.ValueUnsignedInt
	} else if x != nil && x.ValueInteger != nil {
		se.SlotMinutes = *x.ValueInteger
	} else {
		se.SlotMinutes = 10
		n.add("Schedule.extension", "no slot length (%s): 10-minute slots assumed", ExtSlotMinutes)
	}
	se.Status = "active"
	if r.Active != nil && !*r.Active {
		var x struct {
			Status string `json:"status"`
		}
		se.Status = "inactive"
		if recordExtra(r.Extension, &x) && x.Status != "" {
			se.Status = x.Status
		}
	}
	se.FHIRExtra = Unmapped(r, rs)
	return se, n, nil
}
