package server

import (
	"context"
	"encoding/json"
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

func (s *Server) resolver(ctx context.Context, c *fhir.Context, svc *clinical.Service) *resolver {
	return &resolver{ctx: ctx, svc: svc, users: c.Users}
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
	e, err := createOne(ctx, svc, s.resolver(ctx, c, svc), res)
	if err != nil {
		return err
	}
	out := resourceOf(c, t, e)
	writeResource(w, r, http.StatusCreated, out)
	return nil
}

// createOne applies one new resource through the service action that
// creates its record, as POST /{type} and a transaction's entries do: the
// action's roles, validation, safety checks and audit; authorship is the
// acting user's.
func createOne(ctx context.Context, svc *clinical.Service, rs fhir.Resolver, res fhir.Resource) (record.Entity, error) {
	if !creatable[res.FHIRType()] {
		return nil, errorf(http.StatusMethodNotAllowed, "not-supported", "create %s: not taken here", res.FHIRType())
	}
	rec, _, err := fhir.RecordFrom(res, rs) // the one mapping
	if err != nil {
		return nil, err
	}
	var e record.Entity
	switch x := rec.(type) {
	case *record.Patient:
		if _, err := svc.AddPatient(ctx, x); err != nil {
			return nil, err
		}
		e = x
	case *record.Observation:
		in := clinical.ObservationInput{PatientRef: x.PatientID, System: x.Code.System, Code: x.Code.Code,
			Value: x.Value, ValueText: x.ValueText, Unit: x.Unit, Effective: x.Effective, Sensitive: x.Sensitive,
			// A client cannot be asked to confirm: an implausible value is
			// stored and flagged, as an import would; an impossible one is 422.
			Values: clinical.ValuesImported}
		if x.ValueCode != nil {
			in.ValueSystem, in.ValueCode = x.ValueCode.System, x.ValueCode.Code
		}
		if x.Systolic != nil && x.Diastolic != nil {
			in.BP = strconv.FormatFloat(*x.Systolic, 'f', -1, 64) + "/" + strconv.FormatFloat(*x.Diastolic, 'f', -1, 64)
			in.Value = nil
		}
		if e, err = svc.AddObservation(ctx, in); err != nil {
			return nil, err
		}
	case *record.Problem:
		if e, err = svc.AddProblem(ctx, clinical.ProblemInput{PatientRef: x.PatientID, System: x.Code.System, Code: x.Code.Code,
			Onset: x.Onset, Significance: x.Significance, Sensitive: x.Sensitive}); err != nil {
			return nil, err
		}
	case *record.Allergy:
		in := clinical.AllergyInput{PatientRef: x.PatientID, System: x.Agent.System, Code: x.Agent.Code, Reaction: x.Reaction,
			Severity: x.Severity, Type: x.Type, Category: x.Category, Onset: x.Onset, NKDA: x.NKDA, Sensitive: x.Sensitive}
		if x.Finding != nil {
			in.System, in.Code = x.Finding.System, x.Finding.Code
		}
		if e, err = svc.AddAllergy(ctx, in); err != nil {
			return nil, err
		}
	case *record.Immunisation:
		if e, err = svc.AddImmunisation(ctx, clinical.ImmunisationInput{PatientRef: x.PatientID, System: x.Code.System,
			Code: x.Code.Code, Date: x.Date, Batch: x.Batch, Site: x.Site}); err != nil {
			return nil, err
		}
	case *record.Recall:
		if e, err = svc.AddRecall(ctx, recallInputOf(x)); err != nil {
			return nil, err
		}
	case *record.Task:
		if e, err = svc.AddTask(ctx, clinical.TaskInput{PatientRef: x.PatientID, Text: x.Text, Due: x.Due, To: x.To}); err != nil {
			return nil, err
		}
	case *record.Appointment:
		if x.Status != "booked" {
			return nil, errorf(http.StatusUnprocessableEntity, "business-rule", "an appointment is booked with status booked, not %s",
				res.(*fhir.Appointment).Status)
		}
		if e, err = svc.Book(ctx, clinical.BookInput{PatientRef: x.PatientID, Clinician: x.Clinician, At: x.Start,
			Minutes: x.Minutes, Mode: x.Mode, Reason: x.Reason}); err != nil {
			return nil, err
		}
	case *record.Session:
		if x.Status != "active" {
			return nil, errorf(http.StatusUnprocessableEntity, "business-rule", "a session is set up active")
		}
		if e, err = svc.AddSession(ctx, clinical.SessionInput{Clinician: x.Clinician, Date: x.Date, Start: x.Start,
			End: x.End, SlotMinutes: x.SlotMinutes}); err != nil {
			return nil, err
		}
	default:
		return nil, errorf(http.StatusMethodNotAllowed, "not-supported", "create %s: not taken here", res.FHIRType())
	}
	return e, nil
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
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	e, err := s.updateOne(ctx, svc, s.resolver(ctx, c, svc), t, id, res, ver, reason(r))
	if err != nil {
		return err
	}
	writeResource(w, r, http.StatusOK, resourceOf(c, t, e))
	return nil
}

// updateOne applies a PUT of resource type t, id, based on version ver,
// through the service action it stands for, as PUT /{type}/{id} and a
// transaction's PUT entries do.
func (s *Server) updateOne(ctx context.Context, svc *clinical.Service, rs fhir.Resolver, t, id string, res fhir.Resource,
	ver int, ro clinical.ReadOptions) (record.Entity, error) {
	if ver == 0 {
		return nil, errorf(http.StatusPreconditionRequired, "required",
			"update %s/%s: name the version it is based on (If-Match: W/\"N\")", t, id)
	}
	var e record.Entity
	var err error
	switch x := res.(type) {
	case *fhir.Patient:
		if isNHS(id) {
			return nil, &record.NotFoundError{Kind: "Patient", ID: id}
		}
		np, _, err := fhir.PatientFrom(x, rs)
		if err != nil {
			return nil, err
		}
		p, err := svc.UpdatePatient(ctx, id, clinical.PatientUpdate{IfVersion: ver, Mutate: func(p *record.Patient) error {
			// Demographics come from the body, and whether the record is
			// sensitive (meta.security R, as the workstation's patient
			// update --sensitive sets it); the registration, status, flags
			// and the rest of the record metadata are the practice's own.
			meta, reg, flags := p.Meta, p.Registration, p.Flags
			*p = *np
			p.Meta, p.Registration, p.Flags = meta, reg, flags
			p.Sensitive = np.Sensitive
			return nil
		}})
		if err != nil {
			return nil, staleOrConflict(err)
		}
		e = p
	case *fhir.Appointment:
		if x.Status == "entered-in-error" {
			if e, err = s.retract(ctx, svc, t, id, res, ver, ro); err != nil {
				return nil, err
			}
			break
		}
		// The appointment book's moves (arrived, seen, did not attend,
		// cancelled), checked by the service as on the workstation.
		a, _, err := fhir.AppointmentFrom(x, rs)
		if err != nil {
			return nil, err
		}
		if e, err = svc.SetAppointmentStatus(ctx, id, a.Status, ver); err != nil {
			return nil, staleOrConflict(err)
		}
	case *fhir.MedicationRequest:
		if x.Status == "entered-in-error" {
			if e, err = s.retract(ctx, svc, t, id, res, ver, ro); err != nil {
				return nil, err
			}
			break
		}
		if e, err = s.medicationChange(ctx, svc, id, x, ver, ro); err != nil {
			return nil, err
		}
	default:
		// A clinical record is never overwritten: the one change the API takes
		// is marking it entered in error, with the reason in a note.
		if e, err = s.retract(ctx, svc, t, id, res, ver, ro); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// medicationChange is a PUT of a prescription read as the prescribing
// action it is (each checked by the service as on the workstation): one more
// issue of a repeat (repeat information's numberOfPrescriptionsIssued),
// re-authorised (more issues allowed), or stopped (status stopped, the
// reason in statusReason). Anything else is refused: a prescription is not
// overwritten.
func (s *Server) medicationChange(ctx context.Context, svc *clinical.Service, id string, x *fhir.MedicationRequest, ver int, ro clinical.ReadOptions) (record.Entity, error) {
	cur, err := getAs(ctx, svc, "MedicationRequest", id, ro)
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
		ans, err := clinical.NewAnswers(m.Answers, fhir.AlertAnswersOf(x))
		if err != nil {
			return nil, err
		}
		out, err := svc.ReauthoriseWith(ctx, clinical.ReauthInput{PatientRef: m.PatientID, ID: id, Issues: allowed - len(m.Issues),
			Review: review, IfVersion: ver, Answers: ans})
		if err != nil {
			return nil, staleOrConflict(err)
		}
		return out.Medication, nil
	case issued == len(m.Issues)+1:
		// the checks run again; alerts are answered in alertAnswers (an early issue: an override with its reason)
		ans, err := clinical.NewAnswers(m.Answers, fhir.AlertAnswersOf(x))
		if err != nil {
			return nil, err
		}
		res, err := svc.IssueWith(ctx, clinical.IssueInput{PatientRef: m.PatientID, IDs: []string{id}, Answers: ans})
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
func (s *Server) retract(ctx context.Context, svc *clinical.Service, t, id string, res fhir.Resource, ver int, ro clinical.ReadOptions) (record.Entity, error) {
	if statusOf(res) != "entered-in-error" {
		return nil, errorf(http.StatusMethodNotAllowed, "not-supported",
			"update %s/%s: clinical records are not overwritten; record a new one, or PUT it with status entered-in-error and the reason in note", t, id)
	}
	why := noteOf(res)
	if why == "" {
		return nil, errorf(http.StatusUnprocessableEntity, "required", "entered-in-error needs the reason in note[0].text (comment for %s)", t)
	}
	if cur, err := getAs(ctx, svc, t, id, ro); err != nil {
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
