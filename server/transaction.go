package server

// Transactions and batches (POST of a Bundle to the base). Each entry is
// applied by the service action a single request takes (POST /{type}, PUT
// /{type}/{id}): the same roles and prescriber rights, validation, safety
// checks and audit events, and the acting user as the author whatever the
// payload names. A transaction runs its actions in one unit of work, all or
// nothing: the first entry refused refuses the Bundle (400, 403, 409, 412 or
// 422), naming the entry, and nothing is written. A batch applies each
// entry on its own and answers each. No entry is ever answered 200 without
// having been applied.
//
// A consultation comes as its Encounter with the entries written in it (the
// Observations, Procedures and Condition whose encounter is that Encounter)
// and is written by the consultation action; a prescription as its
// MedicationRequest (with the issue a new acute makes, which the action
// makes itself) by prescribing, its safety alerts answered in the
// record-extra extension's alertAnswers or refusing it; a
// MedicationStatement is history recorded elsewhere.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// txEntry is one entry of a Bundle being applied.
type txEntry struct {
	i      int
	e      fhir.BundleEntry
	res    fhir.Resource
	method string // POST | PUT
	id     string // PUT: the id its URL names
	ver    int    // PUT: the version it is based on
	done   bool
	out    record.Entity // the record that carries it
	status string
}

// entryError is an entry that refused its Bundle.
type entryError struct {
	i   int
	err error
}

func (e *entryError) Error() string { return fmt.Sprintf("entry %d: %v", e.i, e.err) }
func (e *entryError) Unwrap() error { return e.err }

func refuseEntry(i int, status int, code, format string, args ...any) error {
	return &entryError{i: i, err: errorf(status, code, format, args...)}
}

// transaction applies a transaction or batch Bundle.
func (s *Server) transaction(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	_, res, err := readBody(r)
	if err != nil {
		return err
	}
	b, ok := res.(*fhir.Bundle)
	if !ok || (b.Type != "transaction" && b.Type != "batch") {
		return errorf(http.StatusBadRequest, "invalid", "POST to the base takes a transaction or batch Bundle")
	}
	entries, err := readEntries(b)
	if err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	out := &fhir.Bundle{ResourceType: "Bundle", Type: b.Type + "-response"}
	if b.Type == "batch" {
		for _, en := range entries {
			err := svc.Unit(ctx, func(u *clinical.Service) error {
				return s.applyEntries(ctx, u, c, r, []*txEntry{en})
			})
			if err != nil {
				s.auditFailed(ctx, r, svc, err)
				status, oo := entryOutcome(err)
				raw, _ := fhir.Marshal(oo)
				out.Entry = append(out.Entry, fhir.BundleEntry{Response: &fhir.BundleResponse{Status: strconv.Itoa(status) + " " + http.StatusText(status)},
					Resource: raw})
				continue
			}
			out.Entry = append(out.Entry, responseEntry(en))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	err = svc.Unit(ctx, func(u *clinical.Service) error {
		return s.applyEntries(ctx, u, c, r, entries)
	})
	if err != nil {
		s.auditFailed(ctx, r, svc, err)
		status, oo := entryOutcome(err)
		writeJSON(w, status, oo)
		return nil
	}
	for _, en := range entries {
		out.Entry = append(out.Entry, responseEntry(en))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// readEntries parses a Bundle's entries, refusing what no entry may be.
func readEntries(b *fhir.Bundle) ([]*txEntry, error) {
	var out []*txEntry
	for i, e := range b.Entry {
		method := "POST"
		if e.Request != nil && e.Request.Method != "" {
			method = e.Request.Method
		}
		if method != "POST" && method != "PUT" {
			return nil, errorf(http.StatusBadRequest, "not-supported", "entry %d: %s in a transaction is not supported (POST and PUT only)", i, method)
		}
		if err := transactionEntryType(i, e); err != nil {
			return nil, err
		}
		res, err := fhir.Parse(e.Resource)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "structure", "entry %d: %s", i, err.Error())
		}
		en := &txEntry{i: i, e: e, res: res, method: method}
		if method == "PUT" {
			url := ""
			if e.Request != nil {
				url = e.Request.URL
			}
			t, id, ok := strings.Cut(strings.Split(url, "?")[0], "/")
			if !ok || t != res.FHIRType() || id == "" || strings.Contains(id, "/") {
				return nil, errorf(http.StatusBadRequest, "invalid", "entry %d: PUT %q: want %s/{id}", i, url, res.FHIRType())
			}
			if rid := *res.Head().ID; rid != id {
				return nil, errorf(http.StatusBadRequest, "invalid", "entry %d: the resource's id %q is not the id in its URL %q", i, rid, id)
			}
			en.id = id
			im := ""
			if e.Request != nil {
				im = strings.TrimSpace(e.Request.IfMatch)
			}
			if im == "" {
				if m := *res.Head().Meta; m != nil {
					im = m.VersionID
				}
			}
			if im != "" {
				n, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(im, "W/"), `"`))
				if err != nil || n < 1 {
					return nil, errorf(http.StatusBadRequest, "value", "entry %d: ifMatch %q: not a version (want W/\"N\")", i, im)
				}
				en.ver = n
			}
		}
		out = append(out, en)
	}
	return out, nil
}

// txResolver resolves references between the entries of one Bundle (a
// fullUrl, urn:uuid or Type/id, to the record the entry was written as)
// before the practice's own records.
type txResolver struct {
	*resolver
	created map[string]string // reference as an entry is named -> "Type/id" written
}

func (t *txResolver) ID(r *fhir.Reference, typ string) string {
	if r != nil && r.Reference != "" {
		if w, ok := t.created[r.Reference]; ok {
			if id, ok := strings.CutPrefix(w, typ+"/"); ok {
				return id
			}
			return ""
		}
	}
	return t.resolver.ID(r, typ)
}

// named is every way the Bundle's other entries may name en.
func named(en *txEntry) []string {
	var ns []string
	if en.e.FullURL != "" {
		ns = append(ns, en.e.FullURL)
	}
	if id := *en.res.Head().ID; id != "" {
		ns = append(ns, en.res.FHIRType()+"/"+id)
	}
	return ns
}

func (t *txResolver) wrote(en *txEntry, e record.Entity) {
	en.done, en.out = true, e
	for _, n := range named(en) {
		t.created[n] = fhir.KindType(e.Kind()) + "/" + e.Head().ID
	}
}

// refers reports whether reference r names entry en.
func refers(r *fhir.Reference, en *txEntry) bool {
	if r == nil || r.Reference == "" {
		return false
	}
	for _, n := range named(en) {
		if r.Reference == n {
			return true
		}
	}
	return false
}

// phase orders the entries as their references need: patients, sessions,
// then consultations (with what was written in them), problems, the rest,
// and last the updates.
func txPhase(en *txEntry) int {
	if en.method == "PUT" {
		return 9
	}
	switch en.res.(type) {
	case *fhir.Patient:
		return 0
	case *fhir.Schedule:
		return 1
	case *fhir.Encounter:
		return 2
	case *fhir.Condition:
		return 3
	}
	return 4
}

// applyEntries applies entries in u's unit of work.
func (s *Server) applyEntries(ctx context.Context, u *clinical.Service, c *fhir.Context, r *http.Request, entries []*txEntry) error {
	tr := &txResolver{resolver: s.resolver(ctx, c, u), created: map[string]string{}}
	for phase := 0; phase <= 9; phase++ {
		for _, en := range entries {
			if en.done || txPhase(en) != phase {
				continue
			}
			if err := s.applyEntry(ctx, u, tr, r, en, entries); err != nil {
				var ee *entryError
				if errors.As(err, &ee) {
					return err
				}
				return &entryError{i: en.i, err: err}
			}
		}
	}
	return nil
}

func (s *Server) applyEntry(ctx context.Context, u *clinical.Service, tr *txResolver, r *http.Request, en *txEntry, all []*txEntry) error {
	if en.method == "PUT" {
		e, err := s.updateOne(ctx, u, tr, en.res.FHIRType(), en.id, en.res, en.ver, reason(r))
		if err != nil {
			return err
		}
		en.status = "200 OK"
		tr.wrote(en, e)
		return nil
	}
	en.status = "201 Created"
	switch x := en.res.(type) {
	case *fhir.Encounter:
		return s.applyConsultation(ctx, u, tr, en, x, all)
	case *fhir.MedicationRequest:
		return applyPrescription(ctx, u, tr, en, x, all)
	case *fhir.MedicationStatement:
		m, _, err := fhir.MedicationFromStatement(x, medicationCode(x.MedicationReference, all), tr)
		if err != nil {
			return err
		}
		src := m.Prescriber
		if src == fhir.ClinicianNotRecorded {
			src = ""
		}
		out, err := u.RecordMedicationElsewhere(ctx, clinical.MedicationHistoryInput{PatientRef: m.PatientID, System: m.Code.System,
			Code: m.Code.Code, Dose: m.Dose, Status: m.Status, Started: m.AuthorisedOn, Source: src, Sensitive: fhir.Sensitive(x)})
		if err != nil {
			return err
		}
		tr.wrote(en, out)
		return nil
	case *fhir.Procedure:
		return refuseEntry(en.i, http.StatusUnprocessableEntity, "business-rule",
			"Procedure: a procedure is recorded in a consultation: send it with its Encounter (Procedure.encounter)")
	case *fhir.Provenance:
		return refuseEntry(en.i, http.StatusUnprocessableEntity, "business-rule",
			"Provenance: a record is entered in error by a PUT of it with status entered-in-error and the reason in note")
	case *fhir.Raw:
		if x.ResourceType == "Medication" {
			for _, o := range all {
				if o != en && usesMedication(o, en) {
					return nil // applied with the prescription that names it
				}
			}
		}
		return refuseEntry(en.i, http.StatusUnprocessableEntity, "business-rule",
			"%s: reference data is not written by a transaction: send the records that refer to it", x.ResourceType)
	case *fhir.Organization, *fhir.Practitioner:
		return refuseEntry(en.i, http.StatusUnprocessableEntity, "business-rule",
			"%s: not written by a transaction (the practice and its users are changed with PUT Organization and POST/PUT Practitioner)", en.res.FHIRType())
	}
	if !creatable[en.res.FHIRType()] {
		return refuseEntry(en.i, http.StatusBadRequest, "not-supported", "%s is not a record this server holds", en.res.FHIRType())
	}
	e, err := createOne(ctx, u, tr, en.res)
	if err != nil {
		return err
	}
	tr.wrote(en, e)
	return nil
}

// applyConsultation writes an Encounter and the entries written in it (the
// Bundle's Observations, Procedures and Condition whose encounter it is) by
// the consultation action: the clinician is the acting user.
func (s *Server) applyConsultation(ctx context.Context, u *clinical.Service, tr *txResolver, en *txEntry, x *fhir.Encounter, all []*txEntry) error {
	cn, _, err := fhir.ConsultationFrom(x, tr)
	if err != nil {
		return err
	}
	if err := authorIsActing(u, cn.Clinician, "Encounter.participant", "a consultation is recorded by its clinician"); err != nil {
		return err
	}
	if cn.Status == record.StatusEnteredInError {
		return errorf(http.StatusUnprocessableEntity, "business-rule", "Encounter: a consultation is recorded, not created entered in error")
	}
	in := clinical.ConsultInput{PatientRef: cn.PatientID, Type: cn.Type, Start: cn.Start, End: cn.End, Location: cn.Location,
		History: cn.History, Examination: cn.Examination, Plan: cn.Plan, Text: cn.Text, Codes: cn.Entries}
	if cn.ProblemID != "" {
		in.Problem = cn.ProblemID
	}
	var obs []*txEntry
	var problem *txEntry
	var coded []*txEntry
	for _, o := range all {
		if o.done || o.method != "POST" {
			continue
		}
		switch y := o.res.(type) {
		case *fhir.Observation:
			if !refers(y.Encounter, en) {
				continue
			}
			if fhir.IsCodedEntry(y) {
				ce, _, err := fhir.EntryFromObservation(y)
				if err != nil {
					return &entryError{i: o.i, err: err}
				}
				in.Codes = append(in.Codes, ce)
				coded = append(coded, o)
				continue
			}
			ob, _, err := fhir.ObservationFrom(y, tr)
			if err != nil {
				return &entryError{i: o.i, err: err}
			}
			oi, err := u.ObsFromInput(observationInput(ob))
			if err != nil {
				return &entryError{i: o.i, err: err}
			}
			oi.Effective = ob.Effective
			in.Obs = append(in.Obs, oi)
			obs = append(obs, o)
		case *fhir.Procedure:
			if !refers(y.Encounter, en) {
				continue
			}
			ce, _, err := fhir.EntryFromProcedure(y)
			if err != nil {
				return &entryError{i: o.i, err: err}
			}
			in.Codes = append(in.Codes, ce)
			coded = append(coded, o)
		case *fhir.Condition:
			if !refers(y.Encounter, en) {
				continue
			}
			if problem != nil {
				return refuseEntry(o.i, http.StatusUnprocessableEntity, "business-rule", "Condition: a consultation starts one new problem (entry %d is another)", problem.i)
			}
			pr, _, err := fhir.ProblemFrom(y, tr)
			if err != nil {
				return &entryError{i: o.i, err: err}
			}
			if pr.Code.System != "" && pr.Code.System != record.SystemSNOMED {
				return refuseEntry(o.i, http.StatusUnprocessableEntity, "invalid", "Condition.code: a problem started in a consultation is a SNOMED CT concept, not %s", pr.Code.System)
			}
			in.Problem, in.ProblemNew = pr.Code.Code, true
			problem = o
		}
	}
	res, err := u.AddConsultation(ctx, in)
	if err != nil {
		return err
	}
	tr.wrote(en, res.Consultation)
	for i, o := range obs {
		o.status = "201 Created"
		tr.wrote(o, res.Observations[i])
	}
	if problem != nil && res.Problem != nil {
		problem.status = "201 Created"
		tr.wrote(problem, res.Problem)
	}
	for _, o := range coded { // written into the consultation itself
		o.status = "201 Created"
		o.done, o.out = true, res.Consultation
	}
	return nil
}

// observationInput is what the observation action takes for o.
func observationInput(o *record.Observation) clinical.ObservationInput {
	in := clinical.ObservationInput{PatientRef: o.PatientID, System: o.Code.System, Code: o.Code.Code,
		Value: o.Value, ValueText: o.ValueText, Unit: o.Unit, Effective: o.Effective, Sensitive: o.Sensitive}
	if o.ValueCode != nil {
		in.ValueSystem, in.ValueCode = o.ValueCode.System, o.ValueCode.Code
	}
	if o.Systolic != nil && o.Diastolic != nil {
		in.BP = strconv.FormatFloat(*o.Systolic, 'f', -1, 64) + "/" + strconv.FormatFloat(*o.Diastolic, 'f', -1, 64)
		in.Value = nil
	}
	return in
}

// applyPrescription writes a new MedicationRequest by prescribing (the
// prescriber is the acting user, who needs the prescriber's right; the
// safety alerts are answered in alertAnswers or refuse it), or, when it is
// reported (a medicine prescribed elsewhere), as history. The issue a new
// acute makes comes with it as an order based on it: prescribing makes it.
func applyPrescription(ctx context.Context, u *clinical.Service, tr *txResolver, en *txEntry, x *fhir.MedicationRequest, all []*txEntry) error {
	if x.Intent == "order" && len(x.BasedOn) > 0 {
		for _, o := range all {
			if o != en && refers(&x.BasedOn[0], o) {
				if _, ok := o.res.(*fhir.MedicationRequest); ok {
					return nil // the issue its prescription's action makes: answered with it, below
				}
			}
		}
		return errorf(http.StatusUnprocessableEntity, "business-rule",
			"MedicationRequest: an issue of a prescription is a PUT of the prescription (numberOfPrescriptionsIssued one more)")
	}
	m, _, err := fhir.MedicationFrom(x, medicationCode(x.MedicationReference, all), tr)
	if err != nil {
		return err
	}
	if m.Status == "stopped" {
		// Not prescribing: the record of a medicine stopped before it
		// reached this practice is history, kept as recorded elsewhere.
		m.Type = record.MedElsewhere
	}
	if m.Type == record.MedElsewhere {
		src := m.Prescriber
		if src == fhir.ClinicianNotRecorded {
			src = ""
		}
		out, err := u.RecordMedicationElsewhere(ctx, clinical.MedicationHistoryInput{PatientRef: m.PatientID, System: m.Code.System,
			Code: m.Code.Code, Dose: m.Dose, Status: m.Status, Started: m.AuthorisedOn, Source: src, Sensitive: fhir.Sensitive(x)})
		if err != nil {
			return err
		}
		tr.wrote(en, out)
		return nil
	}
	if err := authorIsActing(u, m.Prescriber, "MedicationRequest.requester", "a prescription is its prescriber's own"); err != nil {
		return err
	}
	switch m.Status {
	case "active", "completed":
	default:
		return errorf(http.StatusUnprocessableEntity, "business-rule", "MedicationRequest.status %q: a prescription is written active (stop it afterwards with PUT)", x.Status)
	}
	if m.Code.System != record.SystemDMD {
		return errorf(http.StatusUnprocessableEntity, "invalid", "MedicationRequest.medication: a prescription is a dm+d product, not %s %s", m.Code.System, m.Code.Code)
	}
	ans, err := clinical.AnswersOf(m.Answers)
	if err != nil {
		return err
	}
	in := clinical.PrescribeInput{PatientRef: m.PatientID, Code: m.Code.Code, Dose: m.Dose, Quantity: m.Quantity,
		Repeat: m.Type == "repeat", Review: m.ReviewDate, DurationDays: m.DurationDays, Answers: ans}
	if in.Repeat {
		in.Issues = m.IssuesAuthorised
	}
	if m.Unit == fhir.UnitNotStated {
		in.Quantity = 0
	}
	res, err := u.Prescribe(ctx, in)
	if err != nil {
		return err
	}
	tr.wrote(en, res.Medication)
	for _, o := range all { // its issue
		if y, ok := o.res.(*fhir.MedicationRequest); ok && o != en && y.Intent == "order" && len(y.BasedOn) > 0 && refers(&y.BasedOn[0], en) {
			o.done, o.out, o.status = true, res.Medication, "201 Created"
		}
	}
	return nil
}

// medicationCode is the code of the Medication entry a reference names.
func medicationCode(r *fhir.Reference, all []*txEntry) *fhir.CodeableConcept {
	for _, o := range all {
		raw, ok := o.res.(*fhir.Raw)
		if !ok || raw.ResourceType != "Medication" || !refers(r, o) {
			continue
		}
		var v struct {
			Code *fhir.CodeableConcept `json:"code"`
		}
		_ = json.Unmarshal(raw.JSON, &v)
		o.done, o.status = true, "200 OK"
		return v.Code
	}
	return nil
}

// usesMedication reports whether entry o names the Medication entry med.
func usesMedication(o, med *txEntry) bool {
	switch y := o.res.(type) {
	case *fhir.MedicationRequest:
		return refers(y.MedicationReference, med)
	case *fhir.MedicationStatement:
		return refers(y.MedicationReference, med)
	}
	return false
}

// responseEntry answers one applied entry with the record that carries it.
func responseEntry(en *txEntry) fhir.BundleEntry {
	resp := &fhir.BundleResponse{Status: en.status}
	if en.out != nil {
		m := en.out.Head()
		resp.Location = fhir.KindType(en.out.Kind()) + "/" + m.ID + "/_history/" + strconv.Itoa(m.Version)
		if en.status == "" {
			resp.Status = "200 OK"
		}
	}
	return fhir.BundleEntry{Response: resp}
}

// entryOutcome is the status and OperationOutcome of a refused entry (or
// Bundle): the entry named in each issue, a prescription's unanswered
// safety alerts one issue each, with their ids, until each is answered
// (override with a reason, or ack) in the record-extra extension's
// alertAnswers (H30).
func entryOutcome(err error) (int, *fhir.OperationOutcome) {
	i := -1
	var ee *entryError
	if errors.As(err, &ee) {
		i, err = ee.i, ee.err
	}
	where := "Bundle"
	prefix := ""
	if i >= 0 {
		where = fmt.Sprintf("Bundle.entry[%d].resource", i)
		prefix = fmt.Sprintf("entry %d: ", i)
	}
	oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome"}
	var ae *clinical.AlertsError
	if errors.As(err, &ae) {
		oo.Issue = alertIssues(ae.Alerts, prefix, []string{where})
		return http.StatusUnprocessableEntity, oo
	}
	status, code, msg := classify(err)
	var pe *fhir.PathError
	var ve *record.ValidationError
	switch {
	case errors.As(err, &pe):
		where += "." + pe.Path
	case errors.As(err, &ve):
		where += "(" + ve.Field + ")"
	}
	oo.Issue = append(oo.Issue, fhir.OutcomeIssue{Severity: "error", Code: code,
		Diagnostics: prefix + msg + "; nothing was written", Expression: []string{where}})
	return status, oo
}

// recallInputOf is what the recall action takes for a recall.
func recallInputOf(rc *record.Recall) clinical.RecallInput {
	return clinical.RecallInput{PatientRef: rc.PatientID, System: rc.Code.System, Code: rc.Code.Code, Due: rc.Due}
}

// authorIsActing refuses a payload that names someone other than the acting
// user as its author: authorship is the authenticated user's, never a
// field of the payload (naming oneself, or no one, is fine).
func authorIsActing(u *clinical.Service, named, path, why string) error {
	if named == "" || named == fhir.ClinicianNotRecorded || named == u.User().Name {
		return nil
	}
	return &fhir.PathError{Path: path, Msg: fmt.Sprintf("names %s, but the request is %s's: %s (leave it out, or name yourself)", named, u.User().Name, why)}
}
