package fhir

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Resolver answers the FHIR -> record mappings' questions about references.
type Resolver interface {
	// ID is the record id a reference maps to ("" when it does not resolve).
	ID(r *Reference, fhirType string) string
	// User is the gpsoc user a reference names, if it names one.
	User(r *Reference) (string, bool)
	// Who names whoever a reference points at: a user name, else a display name ("" when unknown).
	Who(r *Reference) string
}

// Note is something an import kept but flagged (a foreign code, a partial date…).
type Note struct {
	Path string
	Msg  string
}

// PathError is a resource an import cannot take, naming the element.
type PathError struct {
	Path string
	Msg  string
}

func (e *PathError) Error() string { return e.Path + ": " + e.Msg }

func perr(path, format string, args ...any) error {
	return &PathError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

type notes []Note

func (n *notes) add(path, format string, args ...any) {
	*n = append(*n, Note{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// recordExtra decodes our record-extra extension into v; false when absent.
func recordExtra(exts []Extension, v any) bool {
	found := false
	for _, e := range exts {
		if e.URL == ExtRecord && e.ValueString != nil {
			if json.Unmarshal([]byte(*e.ValueString), v) == nil {
				found = true
			}
		}
	}
	return found
}

func findExt(exts []Extension, url string) *Extension {
	for i := range exts {
		if exts[i].URL == url {
			return &exts[i]
		}
	}
	return nil
}

// Code picks the recorded code from a CodeableConcept: the first coding; a
// following SNOMED coding is kept as the mapping of a legacy Read/CTV3 code.
// A code outside the UK terminologies is kept as given and flagged; a code
// that claims SNOMED CT but is not a valid SCTID, or a concept with text
// only, becomes the transfer-degraded entry code with the original in its display.
func Code(cc *CodeableConcept, path string, n *[]Note) (record.Code, *record.Code, error) {
	ns := (*notes)(n)
	if cc == nil || (len(cc.Coding) == 0 && cc.Text == "") {
		return record.Code{}, nil, perr(path, "a code is required")
	}
	if len(cc.Coding) == 0 {
		ns.add(path, "text only, no code: kept as a transfer-degraded entry")
		return degraded("text " + strconv.Quote(cc.Text)), nil, nil
	}
	first := cc.Coding[0]
	display := first.Display
	if display == "" {
		display = cc.Text
	}
	c := record.Code{System: first.System, Code: strings.TrimSpace(first.Code), Display: display}
	switch {
	case c.Code == "" || c.System == "":
		ns.add(path+".coding[0]", "code %q in system %q is incomplete: kept as a transfer-degraded entry", c.Code, c.System)
		return degraded(c.System + "|" + c.Code + " " + strconv.Quote(display)), nil, nil
	case c.System == record.SystemSNOMED && !record.ValidSCTID(c.Code):
		ns.add(path+".coding[0]", "%q is not a valid SNOMED CT identifier: kept as a transfer-degraded entry", c.Code)
		return degraded(c.System + "|" + c.Code + " " + strconv.Quote(display)), nil, nil
	case c.System == "http://snomed.info/sct/" || strings.HasPrefix(c.System, "http://snomed.info/sct/"):
		c.System = record.SystemSNOMED // a module/version URI
	case !UKSystem(c.System):
		ns.add(path+".coding[0]", "code system %s is outside the UK terminologies: kept as given", c.System)
		c.Foreign = true
	}
	if e := findExt(first.Extension, ExtForeignCode); e != nil && e.ValueBoolean != nil && *e.ValueBoolean {
		c.Foreign = true
	}
	var mapped *record.Code
	if c.System == record.SystemRead2 || c.System == record.SystemCTV3 {
		for _, o := range cc.Coding[1:] {
			if o.System == record.SystemSNOMED && record.ValidSCTID(o.Code) {
				mapped = &record.Code{System: o.System, Code: o.Code, Display: o.Display}
				break
			}
		}
	}
	return c, mapped, nil
}

func degraded(orig string) record.Code {
	return record.Code{System: record.SystemSNOMED, Code: SCTDegradedEntry, Display: "Transfer-degraded record entry: " + orig}
}

// Date turns a FHIR date or dateTime into the record's YYYY-MM-DD (the date
// as written, in its own zone). A partial date comes back "" with a note.
func Date(s, path string, n *[]Note) string {
	if s == "" {
		return ""
	}
	if len(s) >= 10 {
		return s[:10]
	}
	(*notes)(n).add(path, "partial date %q: the record keeps full dates only", s)
	return ""
}

// Time parses a FHIR dateTime or instant. A date without a time is midnight UTC.
func Time(s, path string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, perr(path, "%q is not a FHIR dateTime", s)
}

func subjectID(rs Resolver, r *Reference, path string) (string, error) {
	if r == nil {
		return "", perr(path, "a patient reference is required")
	}
	id := rs.ID(r, "Patient")
	if id == "" {
		return "", perr(path, "reference %q does not resolve to a patient in this import or the practice", refString(r))
	}
	return id, nil
}

func refString(r *Reference) string {
	if r == nil {
		return ""
	}
	if r.Reference != "" {
		return r.Reference
	}
	if r.Identifier != nil {
		return r.Identifier.System + "|" + r.Identifier.Value
	}
	return r.Display
}

func who(rs Resolver, r *Reference) string {
	if r == nil {
		return ""
	}
	return rs.Who(r)
}

func hasCode(cc *CodeableConcept, system string, codes ...string) bool {
	if cc == nil {
		return false
	}
	for _, c := range cc.Coding {
		if system != "" && c.System != system {
			continue
		}
		for _, x := range codes {
			if c.Code == x {
				return true
			}
		}
	}
	return false
}

func firstCode(cc *CodeableConcept) string {
	if cc == nil || len(cc.Coding) == 0 {
		return ""
	}
	return cc.Coding[0].Code
}

// Sensitive reports whether a resource is marked restricted (meta.security R or V).
func Sensitive(r Resource) bool { return sensitive(*r.Head().Meta) }

func sensitive(m *Meta) bool {
	if m == nil {
		return false
	}
	for _, s := range m.Security {
		if s.System == CSConfidentiality && (s.Code == "R" || s.Code == "V") {
			return true
		}
	}
	return false
}

// ---- Patient ----

// PatientFrom maps a Patient. No NHS number: noNhsReason from the UK Core
// extension, else "imported-record". Foreign addresses are kept as given.
func PatientFrom(r *Patient, rs Resolver) (*record.Patient, []Note, error) {
	var n []Note
	p := &record.Patient{}
	p.Sensitive = sensitive(r.Meta)
	for i, id := range r.Identifier {
		if id.System == record.SystemNHS {
			if p.NHSNumber != "" {
				return nil, n, perr(fmt.Sprintf("Patient.identifier[%d]", i), "a second NHS number")
			}
			nhs, err := record.NormaliseNHS(id.Value)
			if err != nil {
				return nil, n, perr(fmt.Sprintf("Patient.identifier[%d].value", i), "%v", err)
			}
			p.NHSNumber = nhs
			if e := findExt(id.Extension, ExtNHSVerification); e != nil && e.ValueCodeableConcept != nil {
				if c := firstCode(e.ValueCodeableConcept); record.NHSStatuses[c] != "" {
					p.NHSNumberStatus = c
				}
			}
			continue
		}
		if id.System == "" || id.Value == "" {
			(*notes)(&n).add(fmt.Sprintf("Patient.identifier[%d]", i), "identifier without a system or value: left out")
			continue
		}
		p.Identifiers = append(p.Identifiers, record.Identifier{System: id.System, Value: id.Value})
	}
	if p.NHSNumber == "" {
		p.NoNHSReason = "imported-record"
		if e := findExt(r.Extension, ExtNHSUnavailable); e != nil && e.ValueCodeableConcept != nil {
			for _, c := range e.ValueCodeableConcept.Coding {
				for _, ok := range record.NoNHSReasons {
					if c.Code == ok {
						p.NoNHSReason = ok
					}
				}
			}
		}
	}
	if len(r.Name) > 0 {
		nm := r.Name[0]
		for _, x := range r.Name {
			if x.Use == "official" {
				nm = x
				break
			}
		}
		p.Family, p.Given = nm.Family, append([]string(nil), nm.Given...)
		if len(nm.Prefix) > 0 {
			p.Prefix = nm.Prefix[0]
		}
		if p.Family == "" && nm.Text != "" {
			f := strings.Fields(nm.Text)
			if len(f) > 1 {
				p.Family, p.Given = f[len(f)-1], f[:len(f)-1]
			}
		}
	}
	if p.Family == "" {
		return nil, n, perr("Patient.name", "a family name is required")
	}
	p.Sex = r.Gender
	if p.Sex == "" {
		p.Sex = "unknown"
	}
	if len(r.BirthDate) != 10 {
		return nil, n, perr("Patient.birthDate", "%q: a full date of birth is required", r.BirthDate)
	}
	p.BirthDate = r.BirthDate
	for _, t := range r.Telecom {
		switch {
		case t.System == "phone" && p.Phone == "":
			p.Phone = t.Value
		case t.System == "email" && p.Email == "":
			p.Email = t.Value
		}
	}
	if len(r.Address) > 0 {
		a := r.Address[0]
		for _, x := range r.Address {
			if x.Use == "home" {
				a = x
				break
			}
		}
		p.Postcode = a.PostalCode
		county := a.District
		if county == "" {
			county = a.State
		}
		if len(a.Line) > 0 || a.City != "" || county != "" || a.Country != "" {
			p.Address = &record.Address{Lines: a.Line, Town: a.City, County: county, Country: a.Country}
		}
	}
	if r.DeceasedDateTime != "" {
		p.Registration.DeceasedOn = Date(r.DeceasedDateTime, "Patient.deceasedDateTime", &n)
	} else if r.DeceasedBoolean != nil && *r.DeceasedBoolean {
		(*notes)(&n).add("Patient.deceasedBoolean", "deceased without a date: the record needs the date of death, so the patient is kept as not deceased")
	}
	for _, gp := range r.GeneralPractitioner {
		if u, ok := rs.User(&gp); ok {
			p.UsualGP = u
			break
		}
	}
	if e := findExt(r.Extension, ExtRegistration); e != nil {
		for _, s := range e.Extension {
			v := ""
			if s.ValueString != nil {
				v = *s.ValueString
			} else if s.ValueDate != nil {
				v = *s.ValueDate
			}
			switch s.URL {
			case "type":
				p.Registration.Type = v
			case "registeredOn":
				p.Registration.RegisteredOn = v
			case "leftOn":
				p.Registration.LeftOn = v
			case "leftReason":
				p.Registration.LeftReason = v
			}
		}
	}
	var x struct {
		Flags []string `json:"flags"`
	}
	if recordExtra(r.Extension, &x) {
		p.Flags = x.Flags
	}
	p.FHIRExtra = Unmapped(r, rs)
	return p, n, nil
}

// UserFrom maps a Practitioner that carries a gpsoc user name back to a user; false for other practitioners.
func UserFrom(r *Practitioner) (record.User, bool) {
	u := record.User{}
	for _, id := range r.Identifier {
		if id.System == SystemUserName {
			u.Name = id.Value
		}
	}
	if u.Name == "" {
		return u, false
	}
	var x userExtra
	recordExtra(r.Extension, &x)
	u.Role, u.Prescriber = x.Role, x.Prescriber
	u.Disabled = r.Active != nil && !*r.Active // a leaver: PUT with active=false disables
	if u.Role == "" {
		u.Role = record.RoleReceptionist // least privilege when not said
	}
	for _, id := range r.Identifier {
		switch id.System {
		case SystemGMC, SystemNMC, SystemGPhC, SystemGMP:
			u.RegNumber = id.Value
		}
	}
	return u, true
}

// PractitionerName is how a practitioner from another system is named in the record.
func PractitionerName(r *Practitioner) string {
	for _, n := range r.Name {
		if n.Text != "" {
			return n.Text
		}
		parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
		if s := strings.TrimSpace(strings.Join(parts, " ")); s != "" {
			return s
		}
	}
	for _, id := range r.Identifier {
		return id.System + "|" + id.Value
	}
	return ""
}

// ---- Encounter ----

// ConsultationFrom maps an Encounter (the consultation's coded entries come from
// Procedures and Observations without a value that refer to it).
func ConsultationFrom(r *Encounter, rs Resolver) (*record.Consultation, []Note, error) {
	var n []Note
	c := &record.Consultation{Type: "surgery"}
	var err error
	if c.PatientID, err = subjectID(rs, r.Subject, "Encounter.subject"); err != nil {
		return nil, n, err
	}
	if r.Status == "entered-in-error" {
		c.Status = record.StatusEnteredInError
	}
	fromOurs := false
	for _, t := range r.Type {
		for _, cd := range t.Coding {
			if cd.System == CSConsultationType {
				c.Type, fromOurs = cd.Code, true
			}
		}
	}
	if !fromOurs && r.Class != nil {
		switch r.Class.Code {
		case "HH":
			c.Type = "home"
		case "VR":
			c.Type = "video"
		case "AMB":
		default:
			c.Text = "Encounter class " + r.Class.Code
			if r.Class.Display != "" {
				c.Text += " (" + r.Class.Display + ")"
			}
		}
	}
	if r.Period == nil || r.Period.Start == "" {
		return nil, n, perr("Encounter.period.start", "a start time is required")
	}
	if c.Start, err = Time(r.Period.Start, "Encounter.period.start"); err != nil {
		return nil, n, err
	}
	if c.End, err = Time(r.Period.End, "Encounter.period.end"); err != nil {
		return nil, n, err
	}
	for _, p := range r.Participant {
		if w := who(rs, p.Individual); w != "" {
			c.Clinician = w
			break
		}
	}
	if c.Clinician == "" {
		c.Clinician = ClinicianNotRecorded
	}
	for _, rr := range r.ReasonReference {
		if id := rs.ID(&rr, "Condition"); id != "" {
			c.ProblemID = id
			break
		}
	}
	var x map[string]string
	if recordExtra(r.Extension, &x) {
		c.Location, c.ProblemLink, c.History, c.Examination, c.Plan, c.Text = x["location"], x["problemLink"], x["history"], x["examination"], x["plan"], x["text"]
	} else {
		if len(r.Location) > 0 {
			c.Location = rs.Who(&r.Location[0].Location)
		}
		if c.Location == "" && r.ServiceProvider != nil {
			c.Location = rs.Who(r.ServiceProvider)
		}
		if !fromOurs {
			for i, t := range r.Type {
				if len(t.Coding) == 0 {
					continue
				}
				code, mapped, err := Code(&r.Type[i], fmt.Sprintf("Encounter.type[%d]", i), &n)
				if err == nil {
					c.Entries = append(c.Entries, record.CodedEntry{Code: code, Mapped: mapped, Text: "[encounter type]"})
				}
			}
			for i, rc := range r.ReasonCode {
				code, mapped, err := Code(&r.ReasonCode[i], fmt.Sprintf("Encounter.reasonCode[%d]", i), &n)
				if err == nil {
					_ = rc
					c.Entries = append(c.Entries, record.CodedEntry{Code: code, Mapped: mapped, Text: "[reason]"})
				}
			}
		}
	}
	c.FHIRExtra = Unmapped(r, rs)
	return c, n, nil
}

// EntryFromProcedure maps a Procedure to a coded consultation entry.
func EntryFromProcedure(r *Procedure) (record.CodedEntry, []Note, error) {
	var n []Note
	code, mapped, err := Code(r.Code, "Procedure.code", &n)
	if err != nil {
		return record.CodedEntry{}, n, err
	}
	when := r.PerformedDateTime
	if when == "" && r.PerformedPeriod != nil {
		when = r.PerformedPeriod.Start
	}
	var note []string
	for _, a := range r.Note {
		note = append(note, a.Text)
	}
	return record.CodedEntry{Code: code, Mapped: mapped, Text: ProcedureText(when, strings.Join(note, "; "))}, n, nil
}

// ProcedureTime is when a Procedure was performed.
func ProcedureTime(r *Procedure) (time.Time, error) {
	if r.PerformedDateTime != "" {
		return Time(r.PerformedDateTime, "Procedure.performedDateTime")
	}
	if r.PerformedPeriod != nil {
		return Time(r.PerformedPeriod.Start, "Procedure.performedPeriod.start")
	}
	return time.Time{}, perr("Procedure.performed[x]", "a time is needed for a procedure outside a consultation")
}

// ---- Condition ----

// ProblemFrom maps a Condition to a problem.
func ProblemFrom(r *Condition, rs Resolver) (*record.Problem, []Note, error) {
	var n []Note
	p := &record.Problem{}
	var err error
	if p.PatientID, err = subjectID(rs, r.Subject, "Condition.subject"); err != nil {
		return nil, n, err
	}
	if p.Code, _, err = Code(r.Code, "Condition.code", &n); err != nil {
		return nil, n, err
	}
	p.Onset = Date(r.OnsetDateTime, "Condition.onsetDateTime", &n)
	p.ResolvedOn = Date(r.AbatementDateTime, "Condition.abatementDateTime", &n)
	switch {
	case hasCode(r.VerificationStatus, "", "entered-in-error"):
		p.Status = record.StatusEnteredInError
	case hasCode(r.ClinicalStatus, "", "inactive", "remission", "resolved"):
		p.Status = "past"
	default:
		p.Status = "active"
	}
	if p.ResolvedOn != "" && p.Status == "active" {
		p.Status = "past"
	}
	if r.Encounter != nil {
		p.ConsultationID = rs.ID(r.Encounter, "Encounter")
	}
	var x map[string]string
	if recordExtra(r.Extension, &x) {
		p.Significance = x["significance"]
	}
	p.FHIRExtra = Unmapped(r, rs)
	return p, n, nil
}

// ---- Observation ----

// IsCodedEntry reports whether an Observation has no value and no components:
// it is kept as a coded entry of its consultation.
func IsCodedEntry(r *Observation) bool {
	return r.ValueQuantity == nil && r.ValueCodeableConcept == nil && r.ValueString == nil && r.ValueBoolean == nil &&
		r.ValueInteger == nil && len(r.Component) == 0
}

// EntryFromObservation maps a value-less Observation to a coded entry.
func EntryFromObservation(r *Observation) (record.CodedEntry, []Note, error) {
	var n []Note
	code, mapped, err := Code(&r.Code, "Observation.code", &n)
	if err != nil {
		return record.CodedEntry{}, n, err
	}
	var note []string
	for _, a := range r.Note {
		note = append(note, a.Text)
	}
	return record.CodedEntry{Code: code, Mapped: mapped, Text: strings.Join(note, "; ")}, n, nil
}

func quantity(q *Quantity, path string) (float64, string, error) {
	f, err := strconv.ParseFloat(string(q.Value), 64)
	if err != nil {
		return 0, "", perr(path+".value", "%q is not a number", q.Value)
	}
	u := q.Unit
	if u == "" {
		u = q.Code
	}
	return f, u, nil
}

// ObservationFrom maps an Observation with a value (or blood pressure components).
func ObservationFrom(r *Observation, rs Resolver) (*record.Observation, []Note, error) {
	var n []Note
	o := &record.Observation{}
	o.Status = r.Status
	var err error
	if o.PatientID, err = subjectID(rs, r.Subject, "Observation.subject"); err != nil {
		return nil, n, err
	}
	if o.Code, _, err = Code(&r.Code, "Observation.code", &n); err != nil {
		return nil, n, err
	}
	eff := r.EffectiveDateTime
	if eff == "" && r.EffectivePeriod != nil {
		eff = r.EffectivePeriod.Start
	}
	if eff == "" {
		eff = r.Issued
	}
	if o.Effective, err = Time(eff, "Observation.effectiveDateTime"); err != nil {
		return nil, n, err
	}
	if r.Encounter != nil {
		o.ConsultationID = rs.ID(r.Encounter, "Encounter")
	}
	switch {
	case r.ValueQuantity != nil:
		v, u, err := quantity(r.ValueQuantity, "Observation.valueQuantity")
		if err != nil {
			return nil, n, err
		}
		o.Value, o.Unit = &v, u
		if len(r.Note) > 0 {
			o.ValueText = r.Note[0].Text
		}
	case r.ValueCodeableConcept != nil:
		cc := r.ValueCodeableConcept
		if len(cc.Coding) > 0 && cc.Coding[0].Code != "" && cc.Coding[0].System != "" {
			vc, _, err := Code(cc, "Observation.valueCodeableConcept", &n)
			if err != nil {
				return nil, n, err
			}
			o.ValueCode = &vc
			if len(r.Note) > 0 {
				o.ValueText = r.Note[0].Text
			}
		} else if len(cc.Coding) > 0 && cc.Coding[0].Code != "" {
			d := cc.Coding[0].Display
			if d == "" {
				d = cc.Text
			}
			o.ValueText = CodedValueText(d, cc.Coding[0].System, cc.Coding[0].Code)
		} else {
			o.ValueText = cc.Text
		}
	case r.ValueString != nil:
		o.ValueText = *r.ValueString
	case r.ValueBoolean != nil:
		o.ValueText = strconv.FormatBool(*r.ValueBoolean)
	case r.ValueInteger != nil:
		v := float64(*r.ValueInteger)
		o.Value = &v
	case len(r.Component) > 0:
		for i, c := range r.Component {
			path := fmt.Sprintf("Observation.component[%d]", i)
			var slot **float64
			switch {
			case hasCode(&c.Code, "", SCTSystolic, LOINCSystolic):
				slot = &o.Systolic
			case hasCode(&c.Code, "", SCTDiastolic, LOINCDiastolic):
				slot = &o.Diastolic
			default:
				return nil, n, perr(path+".code", "only blood pressure components (systolic, diastolic) are supported")
			}
			if c.ValueQuantity == nil {
				return nil, n, perr(path+".valueQuantity", "a blood pressure value is required")
			}
			v, _, err := quantity(c.ValueQuantity, path+".valueQuantity")
			if err != nil {
				return nil, n, err
			}
			*slot = &v
		}
		o.Unit = "mm[Hg]"
	}
	o.FHIRExtra = Unmapped(r, rs)
	return o, n, nil
}

// ---- Medication ----

// MedicationFrom maps a MedicationRequest (the authorisation) to a medication.
// medCode is the code of a referenced Medication resource, when medicationReference is used.
func MedicationFrom(r *MedicationRequest, medCode *CodeableConcept, rs Resolver) (*record.Medication, []Note, error) {
	var n []Note
	m := &record.Medication{Type: "acute"}
	var err error
	if m.PatientID, err = subjectID(rs, &r.Subject, "MedicationRequest.subject"); err != nil {
		return nil, n, err
	}
	cc := r.MedicationCodeableConcept
	path := "MedicationRequest.medicationCodeableConcept"
	if cc == nil {
		cc, path = medCode, "MedicationRequest.medicationReference"
	}
	if m.Code, _, err = Code(cc, path, &n); err != nil {
		return nil, n, err
	}
	switch r.Status {
	case "active", "on-hold", "draft":
		m.Status = "active"
	case "stopped", "cancelled":
		m.Status = "stopped"
	case "entered-in-error":
		m.Status = record.StatusEnteredInError
	default:
		m.Status = "completed"
	}
	ri := findExt(r.Extension, ExtRepeatInformation)
	if hasCode(r.CourseOfTherapyType, "", "continuous", "continuous-repeating-dispensing") || ri != nil {
		m.Type = "repeat"
		m.IssuesAuthorised = 1
		if r.DispenseRequest != nil && r.DispenseRequest.NumberOfRepeatsAllowed != nil {
			m.IssuesAuthorised = *r.DispenseRequest.NumberOfRepeatsAllowed + 1
		}
		if ri != nil {
			for _, s := range ri.Extension {
				if s.URL == "authorisationExpiryDate" && s.ValueDateTime != nil {
					m.ReviewDate = Date(*s.ValueDateTime, "MedicationRequest.extension(repeatInformation).authorisationExpiryDate", &n)
				}
			}
		}
	}
	m.Dose = dose(r.DosageInstruction)
	if r.DispenseRequest != nil {
		if q := r.DispenseRequest.Quantity; q != nil {
			if m.Quantity, m.Unit, err = quantity(q, "MedicationRequest.dispenseRequest.quantity"); err != nil {
				return nil, n, err
			}
		}
		if d := r.DispenseRequest.ExpectedSupplyDuration; d != nil {
			if f, err := strconv.ParseFloat(string(d.Value), 64); err == nil {
				switch d.Code {
				case "wk":
					f *= 7
				case "mo":
					f *= 30
				}
				m.DurationDays = int(f)
			}
		}
	}
	if m.Quantity <= 0 {
		m.Quantity, m.Unit = 1, UnitNotStated
	}
	m.AuthorisedOn = Date(r.AuthoredOn, "MedicationRequest.authoredOn", &n)
	m.Prescriber = who(rs, r.Requester)
	if m.Prescriber == "" {
		m.Prescriber = ClinicianNotRecorded
	}
	if r.StatusReason != nil {
		m.StopReason = r.StatusReason.Text
		if m.StopReason == "" && len(r.StatusReason.Coding) > 0 {
			m.StopReason = r.StatusReason.Coding[0].Display
		}
	}
	if r.PriorPrescription != nil {
		m.Replaces = rs.ID(r.PriorPrescription, "MedicationRequest")
	}
	var x medExtra
	if recordExtra(r.Extension, &x) {
		m.StoppedOn, m.Answers = x.StoppedOn, x.Answers
		if x.ReviewDate != "" {
			m.ReviewDate = x.ReviewDate
		}
	}
	if r.ReportedBoolean != nil && *r.ReportedBoolean {
		// A secondary, reported record (a medicine prescribed elsewhere):
		// history, never a prescription of this practice.
		m.Type, m.IssuesAuthorised, m.ReviewDate = record.MedElsewhere, 0, ""
	}
	m.FHIRExtra = Unmapped(r, rs)
	return m, n, nil
}

// IssueFrom maps a MedicationRequest with intent "order" basedOn an authorisation to an issue.
func IssueFrom(r *MedicationRequest, rs Resolver) (record.Issue, error) {
	is := record.Issue{By: who(rs, r.Requester)}
	var err error
	if is.At, err = Time(r.AuthoredOn, "MedicationRequest.authoredOn"); err != nil {
		return is, err
	}
	if is.At.IsZero() {
		return is, perr("MedicationRequest.authoredOn", "an issue needs the date it was issued")
	}
	if r.DispenseRequest != nil && r.DispenseRequest.Quantity != nil {
		if is.Quantity, _, err = quantity(r.DispenseRequest.Quantity, "MedicationRequest.dispenseRequest.quantity"); err != nil {
			return is, err
		}
	}
	return is, nil
}

func dose(ds []Dosage) string {
	if len(ds) == 0 {
		return DoseNotStated
	}
	var parts []string
	for _, d := range ds {
		if d.Text != "" {
			parts = append(parts, d.Text)
			continue
		}
		var s []string
		if d.Timing != nil && d.Timing.Repeat != nil && d.Timing.Repeat.Frequency != nil {
			rp := d.Timing.Repeat
			s = append(s, fmt.Sprintf("%d time(s) every %s %s", *rp.Frequency, rp.Period, rp.PeriodUnit))
		}
		if d.AsNeededBoolean != nil && *d.AsNeededBoolean {
			s = append(s, "as needed")
		}
		if d.PatientInstruction != "" {
			s = append(s, d.PatientInstruction)
		}
		if len(s) > 0 {
			parts = append(parts, strings.Join(s, ", "))
		}
	}
	if len(parts) == 0 {
		return DoseNotStated
	}
	return strings.Join(parts, "; ")
}

// MedicationFromStatement maps a MedicationStatement (medication taken, e.g. from another system).
//
// A MedicationStatement is history: what the patient takes or took,
// recorded elsewhere. It is kept as such (type elsewhere), shown and checked
// against by the prescribing checks, never an active prescription of this
// practice: that exists only through prescribing.
func MedicationFromStatement(r *MedicationStatement, medCode *CodeableConcept, rs Resolver) (*record.Medication, []Note, error) {
	var n []Note
	m := &record.Medication{Type: record.MedElsewhere, Quantity: 1, Unit: UnitNotStated}
	var err error
	if m.PatientID, err = subjectID(rs, &r.Subject, "MedicationStatement.subject"); err != nil {
		return nil, n, err
	}
	cc := r.MedicationCodeableConcept
	if cc == nil {
		cc = medCode
	}
	if m.Code, _, err = Code(cc, "MedicationStatement.medication[x]", &n); err != nil {
		return nil, n, err
	}
	switch r.Status {
	case "active", "intended", "on-hold":
		m.Status = "active"
	case "stopped", "not-taken":
		m.Status = "stopped"
	case "entered-in-error":
		m.Status = record.StatusEnteredInError
	default:
		m.Status = "completed"
	}
	m.Dose = dose(r.Dosage)
	eff := r.EffectiveDateTime
	if eff == "" && r.EffectivePeriod != nil {
		eff = r.EffectivePeriod.Start
	}
	m.AuthorisedOn = Date(eff, "MedicationStatement.effective[x]", &n)
	m.Prescriber = who(rs, r.InformationSource)
	if m.Prescriber == "" {
		m.Prescriber = ClinicianNotRecorded
	}
	return m, n, nil
}

// ---- Allergy ----

// AllergyFrom maps an AllergyIntolerance. With a reaction substance, the code is
// the finding and the substance the agent; otherwise the code is the agent.
func AllergyFrom(r *AllergyIntolerance, rs Resolver) (*record.Allergy, []Note, error) {
	var n []Note
	a := &record.Allergy{Type: r.Type}
	var err error
	if a.PatientID, err = subjectID(rs, &r.Patient, "AllergyIntolerance.patient"); err != nil {
		return nil, n, err
	}
	var x struct {
		NKDA       bool `json:"nkda"`
		NoAgent    bool `json:"noAgent"`
		NoReaction bool `json:"noReaction"`
	}
	recordExtra(r.Extension, &x)
	code, _, err := Code(r.Code, "AllergyIntolerance.code", &n)
	if err != nil {
		return nil, n, err
	}
	a.Agent = code
	if x.NKDA || code.Is(record.SystemSNOMED, record.NKDACode) || code.Is(record.SystemSNOMED, SCTNoKnownAllergy) {
		a.NKDA = true
		if x.NoAgent {
			a.Agent = record.Code{}
		}
	}
	if len(r.Reaction) > 0 {
		rx := r.Reaction[0]
		if rx.Substance != nil {
			sub, _, err := Code(rx.Substance, "AllergyIntolerance.reaction[0].substance", &n)
			if err != nil {
				return nil, n, err
			}
			f := code
			a.Finding, a.Agent = &f, sub
		}
		if !x.NoReaction {
			var ms []string
			for _, m := range rx.Manifestation {
				t := m.Text
				if t == "" && len(m.Coding) > 0 {
					t = m.Coding[0].Display
				}
				if t != "" {
					ms = append(ms, t)
				}
			}
			a.Reaction = strings.Join(ms, "; ")
		}
		a.Severity = rx.Severity
	}
	if len(r.Category) > 0 {
		a.Category = r.Category[0]
	}
	switch {
	case hasCode(r.VerificationStatus, "", "entered-in-error"):
		a.Status = record.StatusEnteredInError
	case hasCode(r.ClinicalStatus, "", "inactive"):
		a.Status = "inactive"
	case hasCode(r.ClinicalStatus, "", "resolved"):
		a.Status = "resolved"
	default:
		a.Status = "active"
	}
	a.Onset = Date(r.OnsetDateTime, "AllergyIntolerance.onsetDateTime", &n)
	if r.Encounter != nil {
		a.ConsultationID = rs.ID(r.Encounter, "Encounter")
	}
	a.FHIRExtra = Unmapped(r, rs)
	return a, n, nil
}

// ---- Immunization ----

// ImmunisationFrom maps an Immunization.
func ImmunisationFrom(r *Immunization, rs Resolver) (*record.Immunisation, []Note, error) {
	var n []Note
	im := &record.Immunisation{Batch: r.LotNumber}
	im.Status = r.Status
	var err error
	if im.PatientID, err = subjectID(rs, &r.Patient, "Immunization.patient"); err != nil {
		return nil, n, err
	}
	if im.Code, _, err = Code(&r.VaccineCode, "Immunization.vaccineCode", &n); err != nil {
		return nil, n, err
	}
	if r.OccurrenceDateTime == "" {
		return nil, n, perr("Immunization.occurrenceDateTime", "the date given is required")
	}
	if im.Date = Date(r.OccurrenceDateTime, "Immunization.occurrenceDateTime", &n); im.Date == "" {
		return nil, n, perr("Immunization.occurrenceDateTime", "%q: a full date is required", r.OccurrenceDateTime)
	}
	if r.Site != nil {
		im.Site = r.Site.Text
		if im.Site == "" && len(r.Site.Coding) > 0 {
			im.Site = r.Site.Coding[0].Display
		}
	}
	for _, p := range r.Performer {
		var pf struct {
			Actor Reference `json:"actor"`
		}
		if json.Unmarshal(p, &pf) == nil {
			if w := rs.Who(&pf.Actor); w != "" {
				im.By = w
				break
			}
		}
	}
	im.FHIRExtra = Unmapped(r, rs)
	return im, n, nil
}

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
