package fhir

// Records to resources: tasks and recalls, retractions and the audit trail,
// sessions.

import (
	"sort"
	"strconv"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// ---- Tasks and recalls ----

var taskStatus = map[string]string{"open": "requested", "done": "completed", "cancelled": "cancelled", record.StatusEnteredInError: "entered-in-error"}

// TaskResource maps a task.
func (c *Context) TaskResource(t *record.Task) *Task {
	r := &Task{ResourceType: "Task", ID: t.ID, Meta: c.meta("", &t.Meta), Status: taskStatus[t.Status], Intent: "order",
		Code: &CodeableConcept{Coding: []Coding{{System: CSTaskType, Code: "task", Display: "Task"}}}, Description: t.Text, Owner: c.who(t.To)}
	if r.Status == "" {
		r.Status = "requested"
	}
	if t.PatientID != "" {
		r.For = ref("Patient", t.PatientID)
	}
	if t.Due != "" {
		r.Restriction = &TaskRestriction{Period: &Period{End: t.Due}}
	}
	if !t.DoneAt.IsZero() {
		r.ExecutionPeriod = &Period{End: instant(t.DoneAt)}
	}
	if t.DoneBy != "" || t.CancelReason != "" {
		x := map[string]string{}
		if t.DoneBy != "" {
			x["doneBy"] = t.DoneBy
		}
		if t.CancelReason != "" {
			x["cancelReason"] = t.CancelReason
		}
		r.Extension = extraExt(x)
	}
	MergeUnmapped(r, t.FHIRExtra)
	return r
}

// RecallResource maps a recall to a Task with the recall code.
func (c *Context) RecallResource(rc *record.Recall) *Task {
	r := &Task{ResourceType: "Task", ID: rc.ID, Meta: c.meta("", &rc.Meta), Status: taskStatus[rc.Status], Intent: "plan",
		Code:        &CodeableConcept{Coding: []Coding{{System: CSTaskType, Code: "recall", Display: "Recall"}}},
		Description: rc.Code.Display, For: ref("Patient", rc.PatientID), ReasonCode: codeable(rc.Code),
		Restriction: &TaskRestriction{Period: &Period{End: rc.Due}}}
	if r.Status == "" {
		r.Status = "requested"
	}
	if !rc.DoneAt.IsZero() {
		r.ExecutionPeriod = &Period{End: instant(rc.DoneAt)}
	}
	if rc.DoneBy != "" {
		r.Extension = extraExt(map[string]string{"doneBy": rc.DoneBy})
	}
	MergeUnmapped(r, rc.FHIRExtra)
	return r
}

// ---- Retractions and the audit trail ----

// ProvenanceResource says who marked a record entered in error, when and why.
func (c *Context) ProvenanceResource(fhirType, id string, rt *record.Retraction) *Provenance {
	return &Provenance{ResourceType: "Provenance", ID: id + "-eie", Meta: c.meta("", nil),
		Target: []Reference{*ref(fhirType, id)}, Recorded: instant(rt.At),
		Activity: &CodeableConcept{Coding: []Coding{{System: CSDataOperation, Code: "NULLIFY", Display: "nullify"}}},
		Reason:   []CodeableConcept{{Text: rt.Reason}},
		Agent:    []ProvenanceAgent{{Who: *c.whoAlways(rt.By)}}}
}

func (c *Context) whoAlways(name string) *Reference {
	if w := c.who(name); w != nil {
		return w
	}
	return &Reference{Display: ClinicianNotRecorded}
}

var auditAction = map[string]string{"create": "C", "read": "R", "list": "R", "find": "R", "update": "U", "retract": "D", "import": "C"}

// AuditEventResource maps an audit event. The whole event (with its place in
// the hash chain) rides in the record-extra extension, so a re-import keeps it exactly.
// exported says which record kinds the export holds, so the entity is a
// reference only when it resolves.
func (c *Context) AuditEventResource(ev *record.AuditEvent, exported func(record.Kind) bool) *AuditEvent {
	r := &AuditEvent{ResourceType: "AuditEvent", ID: "audit-" + strconv.FormatUint(ev.Seq, 10), Meta: c.meta("", nil),
		Type:     Coding{System: CSAuditEventType, Code: "rest", Display: "RESTful Operation"},
		Subtype:  []Coding{{System: CSAuditAction, Code: ev.Action}},
		Action:   auditAction[ev.Action],
		Recorded: instant(ev.At),
		Source:   AuditSource{Observer: Reference{Display: "gpsoc " + ev.Source}, Type: []Coding{{System: CSSecuritySourceType, Code: "4", Display: "Application Server"}}}}
	if r.Action == "" {
		r.Action = "E"
	}
	switch ev.Outcome {
	case "", "ok":
		r.Outcome = "0"
	case "denied":
		r.Outcome = "4"
	default:
		r.Outcome = "8"
	}
	r.OutcomeDesc = ev.Reason
	ag := AuditAgent{Who: &Reference{Identifier: &Identifier{System: SystemUserName, Value: ev.User}, Display: ev.User}, Requestor: true}
	if ev.Role != "" {
		ag.Role = []CodeableConcept{{Text: string(ev.Role)}}
	}
	r.Agent = []AuditAgent{ag}
	if ev.EntityID != "" {
		e := AuditEntity{}
		t := KindType(ev.Kind)
		if t != "" && exported(ev.Kind) {
			e.What = ref(t, ev.EntityID)
		} else if ev.Kind == "practice" && ev.EntityID == c.Practice.ODS {
			e.What = ref("Organization", ev.EntityID)
		} else {
			e.What = &Reference{Identifier: &Identifier{System: SystemRecordID, Value: string(ev.Kind) + "/" + ev.EntityID}}
		}
		r.Entity = append(r.Entity, e)
	}
	if ev.PatientID != "" && ev.PatientID != ev.EntityID {
		e := AuditEntity{Role: &Coding{System: "http://terminology.hl7.org/CodeSystem/object-role", Code: "1", Display: "Patient"}}
		if exported(record.KindPatient) {
			e.What = ref("Patient", ev.PatientID)
		} else {
			e.What = &Reference{Identifier: &Identifier{System: SystemRecordID, Value: "patient/" + ev.PatientID}}
		}
		r.Entity = append(r.Entity, e)
	}
	if ev.Query != "" {
		r.Entity = append(r.Entity, AuditEntity{Description: "query", Detail: []AuditDetail{{Type: "query", ValueString: ev.Query}}})
	}
	r.Extension = extraExt(ev)
	return r
}

// ImportedAuditEventResource is an event of a trail imported from another
// system, as it was recorded there, labelled imported with its source
// (ExtImportedAudit and the observer's display) so a later import keeps it
// as imported history again, never as this practice's own event.
func (c *Context) ImportedAuditEventResource(n int, ie *record.ImportedAuditEvent, exported func(record.Kind) bool) *AuditEvent {
	r := c.AuditEventResource(&ie.Event, exported)
	r.ID = "audit-imported-" + strconv.Itoa(n)
	r.Source.Observer.Display = "imported from " + ie.Source
	r.Extension = append(r.Extension, Extension{URL: ExtImportedAudit, ValueString: str(ie.Source)})
	return r
}

// ImportedFrom is the source an AuditEvent is labelled imported from ("" when it is not).
func ImportedFrom(r *AuditEvent) string {
	if e := findExt(r.Extension, ExtImportedAudit); e != nil && e.ValueString != nil {
		return *e.ValueString
	}
	return ""
}

// SortResources orders resources by type then id (stable exports).
func SortResources(rs []Resource) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].FHIRType(), rs[j].FHIRType()
		if a != b {
			return a < b
		}
		return *rs[i].Head().ID < *rs[j].Head().ID
	})
}

// ---- Sessions ----

// ukZone is the zone a session's HH:MM times are in.
var ukZone = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

// ScheduleResource maps a session to a Schedule: actor the clinician,
// planningHorizon the session's start and end (UK local times with their
// offset), the slot length in the slot-minutes extension. A session entered
// in error is inactive, with the reason in comment (so a PUT of it carries
// the reason, as a note does for other types).
func (c *Context) ScheduleResource(se *record.Session) *Schedule {
	r := &Schedule{ResourceType: "Schedule", ID: se.ID, Meta: c.meta("", &se.Meta), Active: boolp(se.Status == "" || se.Status == "active")}
	if w := c.who(se.Clinician); w != nil {
		r.Actor = []Reference{*w}
	}
	at := func(hm string) string {
		t, err := time.ParseInLocation("2006-01-02 15:04", se.Date+" "+hm, ukZone)
		if err != nil {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	r.PlanningHorizon = &Period{Start: at(se.Start), End: at(se.End)}
	if se.SlotMinutes > 0 {
		r.Extension = []Extension{{URL: ExtSlotMinutes, ValueUnsignedInt: intp(se.SlotMinutes)}}
	}
	if !*r.Active {
		r.Extension = append(r.Extension, extraExt(map[string]string{"status": se.Status})...)
	}
	if se.Retraction != nil {
		r.Comment = se.Retraction.Reason
	}
	MergeUnmapped(r, se.FHIRExtra)
	return r
}
