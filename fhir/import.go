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
	labFromResource(r, o)
	return o, n, nil
}
