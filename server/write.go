package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// creatable are the types POST /{type} takes, each through its service
// (an Appointment is booked as the appointment book books it: into the
// clinician's session, no clash; a Schedule is a session set up).
// Encounters and prescriptions have workflows of their own (a
// consultation's entries, prescribing checks): they come in through a
// transaction Bundle, which the import rules govern.
var creatable = map[string]bool{"Patient": true, "Observation": true, "Condition": true,
	"AllergyIntolerance": true, "Immunization": true, "Task": true, "Appointment": true, "Schedule": true}

func (s *Server) resolver(ctx context.Context, c *fhir.Context) *resolver {
	return &resolver{ctx: ctx, p: s.p, users: c.Users}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	t, _, err := kindsOf(r)
	if err != nil {
		return err
	}
	if !creatable[t] {
		return errorf(http.StatusMethodNotAllowed, "not-supported", "create %s: post it in a transaction Bundle to the base URL", t)
	}
	_, res, err := readBody(r)
	if err != nil {
		return err
	}
	if res.FHIRType() != t {
		return errorf(http.StatusBadRequest, "invalid", "resourceType %q posted to /%s", res.FHIRType(), t)
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	rs := s.resolver(ctx, c)
	var e record.Entity
	switch x := res.(type) {
	case *fhir.Patient:
		p, _, err := fhir.PatientFrom(x, rs)
		if err != nil {
			return err
		}
		if _, err := svc.AddPatient(ctx, p); err != nil {
			return err
		}
		e = p
	case *fhir.Observation:
		o, _, err := fhir.ObservationFrom(x, rs)
		if err != nil {
			return err
		}
		in := clinical.ObservationInput{PatientRef: o.PatientID, System: o.Code.System, Code: o.Code.Code,
			Value: o.Value, ValueText: o.ValueText, Unit: o.Unit, Effective: o.Effective, Sensitive: o.Sensitive,
			// A client cannot be asked to confirm: an implausible value is
			// stored and flagged, as an import would; an impossible one is 422.
			Values: clinical.ValuesImported}
		if o.ValueCode != nil {
			in.ValueSystem, in.ValueCode = o.ValueCode.System, o.ValueCode.Code
		}
		if o.Systolic != nil && o.Diastolic != nil {
			in.BP = strconv.FormatFloat(*o.Systolic, 'f', -1, 64) + "/" + strconv.FormatFloat(*o.Diastolic, 'f', -1, 64)
			in.Value = nil
		}
		if e, err = svc.AddObservation(ctx, in); err != nil {
			return err
		}
	case *fhir.Condition:
		p, _, err := fhir.ProblemFrom(x, rs)
		if err != nil {
			return err
		}
		if e, err = svc.AddProblem(ctx, clinical.ProblemInput{PatientRef: p.PatientID, System: p.Code.System, Code: p.Code.Code,
			Onset: p.Onset, Significance: p.Significance, Sensitive: p.Sensitive}); err != nil {
			return err
		}
	case *fhir.AllergyIntolerance:
		a, _, err := fhir.AllergyFrom(x, rs)
		if err != nil {
			return err
		}
		in := clinical.AllergyInput{PatientRef: a.PatientID, System: a.Agent.System, Code: a.Agent.Code, Reaction: a.Reaction,
			Severity: a.Severity, Type: a.Type, Onset: a.Onset, NKDA: a.NKDA, Sensitive: a.Sensitive}
		if a.Finding != nil {
			in.System, in.Code = a.Finding.System, a.Finding.Code
		}
		if e, err = svc.AddAllergy(ctx, in); err != nil {
			return err
		}
	case *fhir.Immunization:
		im, _, err := fhir.ImmunisationFrom(x, rs)
		if err != nil {
			return err
		}
		if e, err = svc.AddImmunisation(ctx, clinical.ImmunisationInput{PatientRef: im.PatientID, System: im.Code.System,
			Code: im.Code.Code, Date: im.Date, Batch: im.Batch, Site: im.Site}); err != nil {
			return err
		}
	case *fhir.Task:
		if fhir.IsRecall(x) {
			return errorf(http.StatusMethodNotAllowed, "not-supported", "create a recall through a transaction Bundle")
		}
		tk, _, err := fhir.TaskFrom(x, rs)
		if err != nil {
			return err
		}
		if e, err = svc.AddTask(ctx, clinical.TaskInput{PatientRef: tk.PatientID, Text: tk.Text, Due: tk.Due, To: tk.To}); err != nil {
			return err
		}
	case *fhir.Appointment:
		a, _, err := fhir.AppointmentFrom(x, rs)
		if err != nil {
			return err
		}
		if a.Status != "booked" {
			return errorf(http.StatusUnprocessableEntity, "business-rule", "an appointment is booked with status booked, not %s", x.Status)
		}
		if e, err = svc.Book(ctx, clinical.BookInput{PatientRef: a.PatientID, Clinician: a.Clinician, At: a.Start,
			Minutes: a.Minutes, Mode: a.Mode, Reason: a.Reason}); err != nil {
			return err
		}
	case *fhir.Schedule:
		se, _, err := fhir.ScheduleFrom(x, rs)
		if err != nil {
			return err
		}
		if se.Status != "active" {
			return errorf(http.StatusUnprocessableEntity, "business-rule", "a session is set up active")
		}
		if e, err = svc.AddSession(ctx, clinical.SessionInput{Clinician: se.Clinician, Date: se.Date, Start: se.Start,
			End: se.End, SlotMinutes: se.SlotMinutes}); err != nil {
			return err
		}
	}
	out := resourceOf(c, t, e)
	writeResource(w, r, http.StatusCreated, out)
	return nil
}

// update writes a new version. The version it is based on must be named
// (If-Match, or meta.versionId in the body): concurrent updates never
// silently win (design.md §3); a stale one is 412.
func (s *Server) update(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	t, _, err := kindsOf(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	_, res, err := readBody(r)
	if err != nil {
		return err
	}
	if res.FHIRType() != t {
		return errorf(http.StatusBadRequest, "invalid", "resourceType %q put to /%s", res.FHIRType(), t)
	}
	if rid := *res.Head().ID; rid != id {
		return errorf(http.StatusBadRequest, "invalid", "the resource's id %q is not the id in the URL %q", rid, id)
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	if ver == 0 {
		if m := *res.Head().Meta; m != nil && m.VersionID != "" {
			if ver, err = strconv.Atoi(m.VersionID); err != nil {
				return errorf(http.StatusBadRequest, "value", "meta.versionId %q: not a version", m.VersionID)
			}
		}
	}
	if ver == 0 {
		return errorf(http.StatusPreconditionRequired, "required",
			"update %s/%s: name the version it is based on (If-Match: W/\"N\")", t, id)
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	rs := s.resolver(ctx, c)
	var e record.Entity
	switch x := res.(type) {
	case *fhir.Patient:
		if isNHS(id) {
			return &record.NotFoundError{Kind: "Patient", ID: id}
		}
		np, _, err := fhir.PatientFrom(x, rs)
		if err != nil {
			return err
		}
		p, err := svc.UpdatePatient(ctx, id, clinical.PatientUpdate{IfVersion: ver, Mutate: func(p *record.Patient) error {
			// Demographics come from the body; the registration, status,
			// flags and record metadata are the practice's own.
			meta, reg, flags := p.Meta, p.Registration, p.Flags
			*p = *np
			p.Meta, p.Registration, p.Flags = meta, reg, flags
			return nil
		}})
		if err != nil {
			return staleOrConflict(err)
		}
		e = p
	case *fhir.Appointment:
		if x.Status == "entered-in-error" {
			if e, err = s.retract(ctx, r, svc, t, id, res, ver); err != nil {
				return err
			}
			break
		}
		// The appointment book's moves (arrived, seen, did not attend,
		// cancelled), checked by the service as on the workstation.
		a, _, err := fhir.AppointmentFrom(x, rs)
		if err != nil {
			return err
		}
		if e, err = svc.SetAppointmentStatus(ctx, id, a.Status, ver); err != nil {
			return staleOrConflict(err)
		}
	case *fhir.MedicationRequest:
		if x.Status == "entered-in-error" {
			if e, err = s.retract(ctx, r, svc, t, id, res, ver); err != nil {
				return err
			}
			break
		}
		if e, err = s.medicationChange(ctx, r, svc, id, x, ver); err != nil {
			return err
		}
	default:
		// A clinical record is never overwritten: the one change the API takes
		// is marking it entered in error, with the reason in a note.
		if e, err = s.retract(ctx, r, svc, t, id, res, ver); err != nil {
			return err
		}
	}
	writeResource(w, r, http.StatusOK, resourceOf(c, t, e))
	return nil
}

// medicationChange is a PUT of a prescription read as the prescribing
// action it is (each checked by the service as on the workstation): one more
// issue of a repeat (repeat information's numberOfPrescriptionsIssued),
// re-authorised (more issues allowed), or stopped (status stopped, the
// reason in statusReason). Anything else is refused: a prescription is not
// overwritten.
func (s *Server) medicationChange(ctx context.Context, r *http.Request, svc *clinical.Service, id string, x *fhir.MedicationRequest, ver int) (record.Entity, error) {
	_, cur, err := s.get(ctx, r, svc)
	if err != nil {
		return nil, err
	}
	m := cur.(*record.Medication)
	if m.Version != ver {
		return nil, errorf(http.StatusPreconditionFailed, "conflict", "MedicationRequest/%s: stale version %d: the record is now at version %d (changed by %s at %s)",
			id, ver, m.Version, m.RecordedBy, m.RecordedAt.Format("2006-01-02T15:04:05Z07:00"))
	}
	issued, allowed, review := len(m.Issues), m.IssuesAuthorised, m.ReviewDate
	if ri := fhir.RepeatInformation(x); ri != nil {
		issued, review = ri.Issued, ri.Review
	}
	if x.DispenseRequest != nil && x.DispenseRequest.NumberOfRepeatsAllowed != nil {
		allowed = *x.DispenseRequest.NumberOfRepeatsAllowed + 1
	}
	switch {
	case (x.Status == "stopped" || x.Status == "cancelled") && m.Status != "stopped":
		why := ""
		if x.StatusReason != nil {
			why = x.StatusReason.Text
		}
		out, err := svc.Stop(ctx, m.PatientID, id, why, ver)
		return out, staleOrConflict(err)
	case allowed != m.IssuesAuthorised || review != m.ReviewDate && review != "":
		out, err := svc.Reauthorise(ctx, m.PatientID, id, allowed-len(m.Issues), review, ver)
		return out, staleOrConflict(err)
	case issued == len(m.Issues)+1:
		res, err := svc.Issue(ctx, m.PatientID, []string{id}, false)
		if err != nil {
			return nil, err
		}
		return res.Issued[0], nil
	}
	return nil, errorf(http.StatusMethodNotAllowed, "not-supported",
		"update MedicationRequest/%s: a prescription is not overwritten; PUT it to issue it (numberOfPrescriptionsIssued one more), re-authorise it (numberOfRepeatsAllowed), stop it (status stopped, statusReason) or mark it entered-in-error", id)
}

// retract marks a record entered in error, the reason in its note (comment
// for types without one), based on version ver.
func (s *Server) retract(ctx context.Context, r *http.Request, svc *clinical.Service, t, id string, res fhir.Resource, ver int) (record.Entity, error) {
	if statusOf(res) != "entered-in-error" {
		return nil, errorf(http.StatusMethodNotAllowed, "not-supported",
			"update %s/%s: clinical records are not overwritten; record a new one, or PUT it with status entered-in-error and the reason in note", t, id)
	}
	why := noteOf(res)
	if why == "" {
		return nil, errorf(http.StatusUnprocessableEntity, "required", "entered-in-error needs the reason in note[0].text (comment for %s)", t)
	}
	if _, cur, err := s.get(ctx, r, svc); err != nil {
		return nil, err
	} else if cur.Head().Version != ver {
		return nil, errorf(http.StatusPreconditionFailed, "conflict", "%s/%s: stale version %d: the record is now at version %d (changed by %s at %s)",
			t, id, ver, cur.Head().Version, cur.Head().RecordedBy, cur.Head().RecordedAt.Format("2006-01-02T15:04:05Z07:00"))
	}
	rr, err := svc.Retract(ctx, id, why, ver)
	if err != nil {
		return nil, staleOrConflict(err)
	}
	return rr.Entry, nil
}

func statusOf(res fhir.Resource) string {
	switch x := res.(type) {
	case *fhir.Observation:
		return x.Status
	case *fhir.Condition:
		if x.VerificationStatus != nil && len(x.VerificationStatus.Coding) > 0 {
			return x.VerificationStatus.Coding[0].Code
		}
	case *fhir.AllergyIntolerance:
		if x.VerificationStatus != nil && len(x.VerificationStatus.Coding) > 0 {
			return x.VerificationStatus.Coding[0].Code
		}
	case *fhir.Immunization:
		return x.Status
	case *fhir.Encounter:
		return x.Status
	case *fhir.MedicationRequest:
		return x.Status
	case *fhir.Appointment:
		return x.Status
	case *fhir.Task:
		return x.Status
	case *fhir.Schedule:
		if x.Active != nil && !*x.Active { // a session is only ever removed as entered in error
			return "entered-in-error"
		}
		return "active"
	}
	return ""
}

func noteOf(res fhir.Resource) string {
	var ns []fhir.Annotation
	switch x := res.(type) {
	case *fhir.Observation:
		ns = x.Note
	case *fhir.Condition:
		ns = x.Note
	case *fhir.AllergyIntolerance:
		ns = x.Note
	case *fhir.Immunization:
		ns = x.Note
	case *fhir.MedicationRequest:
		ns = x.Note
	case *fhir.Task:
		ns = x.Note
	case *fhir.Schedule: // Schedule and Appointment have no note: their comment carries the reason
		return strings.TrimSpace(x.Comment)
	case *fhir.Appointment:
		return strings.TrimSpace(x.Comment)
	}
	if len(ns) > 0 {
		return strings.TrimSpace(ns[len(ns)-1].Text)
	}
	return strings.TrimSpace(fhir.APIRetractionReason(res)) // a type with neither (Encounter)
}

// transaction imports a transaction (or batch) Bundle, all or nothing, under
// the import rules (matching on identifiers, so a re-run changes nothing).
func (s *Server) transaction(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	body, res, err := readBody(r)
	if err != nil {
		return err
	}
	b, ok := res.(*fhir.Bundle)
	if !ok || (b.Type != "transaction" && b.Type != "batch") {
		return errorf(http.StatusBadRequest, "invalid", "POST to the base takes a transaction or batch Bundle")
	}
	for i, e := range b.Entry {
		if e.Request != nil && e.Request.Method != "POST" && e.Request.Method != "PUT" {
			return errorf(http.StatusBadRequest, "not-supported", "entry %d: %s in a transaction is not supported (POST and PUT only)", i, e.Request.Method)
		}
		if err := transactionEntryType(i, e); err != nil {
			return err
		}
	}
	sum, err := svc.ImportFHIR(ctx, []clinical.FHIRInput{{Name: "request", Data: body}}, clinical.FHIRImportOptions{Transaction: true})
	if err != nil {
		return err
	}
	if sum.Rejected > 0 || sum.RejectedBundles > 0 {
		oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome"}
		status := http.StatusBadRequest
		for _, rj := range sum.Rejections {
			if len(rj.Alerts) > 0 {
				// A prescription the safety checks stopped (H30): one issue per
				// alert, its id in details, until each is answered (override with
				// a reason, or ack) in the record-extra extension's alertAnswers.
				status = http.StatusUnprocessableEntity
				for _, a := range rj.Alerts {
					oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "error", Code: "business-rule",
						Details: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: fhir.CSSafetyAlert, Code: a.ID},
							{System: fhir.CSSafetyAlertSeverity, Code: a.Severity}}, Text: a.Message},
						Diagnostics: fmt.Sprintf("entry %d: safety alert %s (%s): %s", rj.Entry, a.ID, a.Severity, a.Message),
						Expression:  []string{fmt.Sprintf("Bundle.entry[%d].resource", rj.Entry)}})
				}
				continue
			}
			oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "error", Code: "invalid",
				Diagnostics: fmt.Sprintf("entry %d: %s", rj.Entry, rj.Reason), Expression: []string{fmt.Sprintf("Bundle.entry[%d].resource.%s", rj.Entry, rj.Path)}})
		}
		if len(oo.Issue) == 0 {
			oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "error", Code: "invalid", Diagnostics: "the bundle was rejected; nothing was written"})
		}
		writeJSON(w, status, oo)
		return nil
	}
	out := &fhir.Bundle{ResourceType: "Bundle", Type: b.Type + "-response"}
	for range b.Entry {
		out.Entry = append(out.Entry, fhir.BundleEntry{Response: &fhir.BundleResponse{Status: "200 OK"}})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// transactionTypes are the resource types a transaction or batch may carry:
// each is applied as the record it maps to, or the whole Bundle is refused.
var transactionTypes = map[string]bool{"Patient": true, "Observation": true, "Condition": true, "Encounter": true,
	"AllergyIntolerance": true, "MedicationRequest": true, "MedicationStatement": true, "Immunization": true,
	"Appointment": true, "Task": true, "Schedule": true, "Procedure": true, "Provenance": true,
	// reference data that the records refer to (their names are kept on them)
	"Organization": true, "Practitioner": true, "Medication": true, "Location": true, "PractitionerRole": true}

// transactionEntryType refuses, naming the entry, a resource a transaction
// cannot apply: an AuditEvent (the trail is the server's own, written by
// the server for each request; a client never writes it), or a type that is
// not part of this record (a DiagnosticReport). Never 200 for an entry that
// was not applied.
func transactionEntryType(i int, e fhir.BundleEntry) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(e.Resource, &head); err != nil || head.ResourceType == "" {
		return errorf(http.StatusBadRequest, "structure", "entry %d: no resource (resourceType)", i)
	}
	switch t := head.ResourceType; {
	case t == "AuditEvent":
		return errorf(http.StatusBadRequest, "not-supported",
			"entry %d: AuditEvent: the audit trail is the server's own (it records each request it answers); a client does not write it. Nothing was written", i)
	case !transactionTypes[t]:
		return errorf(http.StatusBadRequest, "not-supported",
			"entry %d: %s is not a record this server holds; send the Bundle without it. Nothing was written", i, t)
	}
	return nil
}
