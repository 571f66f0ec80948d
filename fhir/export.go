package fhir

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Context is what the record -> FHIR mappings need to know about the practice.
type Context struct {
	Practice record.Practice
	// Users are the practice users: a clinician string naming one becomes a
	// reference to its Practitioner; any other string stays a display.
	Users map[string]record.User
}

// PractitionerID is the resource id of a user's Practitioner: the user name
// when it is a valid FHIR id, else a hex form of it.
func PractitionerID(name string) string {
	ok := len(name) > 0 && len(name) <= 64
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
	if ok {
		return name
	}
	var b strings.Builder
	b.WriteString("u-")
	for i := 0; i < len(name) && b.Len() < 62; i++ {
		b.WriteString(strconv.FormatUint(uint64(name[i]), 16))
	}
	return b.String()
}

func ref(t, id string) *Reference { return &Reference{Reference: t + "/" + id} }

// who is a reference to a clinician: a Practitioner when the name is a user.
func (c *Context) who(name string) *Reference {
	if name == "" {
		return nil
	}
	if _, ok := c.Users[name]; ok {
		return &Reference{Reference: "Practitioner/" + PractitionerID(name), Display: name}
	}
	return &Reference{Display: name}
}

func (c *Context) meta(profile string, m *record.Meta) *Meta {
	out := &Meta{}
	if profile != "" {
		out.Profile = []string{ProfileBase + profile}
	}
	if m != nil {
		if m.Version > 0 {
			out.VersionID = strconv.Itoa(m.Version)
		}
		if !m.RecordedAt.IsZero() {
			out.LastUpdated = instant(m.RecordedAt)
		}
		if m.Sensitive {
			out.Security = []Coding{{System: CSConfidentiality, Code: "R", Display: "restricted"}}
		}
	}
	if c.Practice.Demo {
		out.Tag = []Coding{{System: CSActReason, Code: TagDemoCode, Display: TagDemoDisplay}}
	}
	if out.VersionID == "" && out.LastUpdated == "" && len(out.Profile) == 0 && len(out.Security) == 0 && len(out.Tag) == 0 {
		return nil // no empty objects in FHIR JSON
	}
	return out
}

func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func codeable(c record.Code) *CodeableConcept {
	if c.Code == "" {
		return nil
	}
	return &CodeableConcept{Coding: []Coding{coding(c)}}
}

// coding writes a recorded code; one outside the UK terminologies (kept as
// given from an import) is flagged with the foreign-code extension.
func coding(c record.Code) Coding {
	cd := Coding{System: c.System, Code: c.Code, Display: c.Display}
	if c.System == "" {
		cd.System = record.SystemSNOMED
	}
	if c.Foreign {
		cd.Extension = []Extension{{URL: ExtForeignCode, ValueBoolean: boolp(true)}}
	}
	return cd
}

func str(s string) *string { return &s }
func intp(i int) *int      { return &i }
func boolp(b bool) *bool   { return &b }

func num(f float64) json.Number { return json.Number(strconv.FormatFloat(f, 'f', -1, 64)) }

// extraExt is the record-extra extension carrying fields FHIR has no element for.
func extraExt(v any) []Extension {
	b, _ := json.Marshal(v)
	if len(b) <= 2 {
		return nil
	}
	return []Extension{{URL: ExtRecord, ValueString: str(string(b))}}
}

// ---- Patient ----

// PatientResource maps a patient to a UK Core Patient.
func (c *Context) PatientResource(p *record.Patient) *Patient {
	r := &Patient{ResourceType: "Patient", ID: p.ID, Meta: c.meta("Patient", &p.Meta)}
	if p.NHSNumber != "" {
		id := Identifier{System: record.SystemNHS, Value: p.NHSNumber}
		if p.NHSNumberStatus != "" {
			id.Extension = []Extension{{URL: ExtNHSVerification, ValueCodeableConcept: &CodeableConcept{Coding: []Coding{{
				System: CSNHSVerification, Code: p.NHSNumberStatus, Display: record.NHSStatuses[p.NHSNumberStatus]}}}}}
		}
		r.Identifier = append(r.Identifier, id)
	} else if p.NoNHSReason != "" {
		r.Extension = append(r.Extension, Extension{URL: ExtNHSUnavailable, ValueCodeableConcept: &CodeableConcept{
			Coding: []Coding{{System: CSNoNHSReason, Code: p.NoNHSReason}}}})
	}
	for _, id := range p.Identifiers {
		r.Identifier = append(r.Identifier, Identifier{System: id.System, Value: id.Value})
	}
	r.Active = boolp(p.Status == record.PatientActive || p.Status == "")
	n := HumanName{Use: "official", Family: p.Family, Given: p.Given}
	if p.Prefix != "" {
		n.Prefix = []string{p.Prefix}
	}
	r.Name = []HumanName{n}
	if p.Phone != "" {
		r.Telecom = append(r.Telecom, ContactPoint{System: "phone", Value: p.Phone})
	}
	if p.Email != "" {
		r.Telecom = append(r.Telecom, ContactPoint{System: "email", Value: p.Email})
	}
	r.Gender = p.Sex
	r.BirthDate = p.BirthDate
	if p.Registration.DeceasedOn != "" {
		r.DeceasedDateTime = p.Registration.DeceasedOn
	}
	if p.Address != nil || p.Postcode != "" {
		a := Address{PostalCode: p.Postcode}
		if p.Address != nil {
			a.Line, a.City, a.District, a.Country = p.Address.Lines, p.Address.Town, p.Address.County, p.Address.Country
		}
		r.Address = []Address{a}
	}
	if p.UsualGP != "" {
		r.GeneralPractitioner = []Reference{*c.who(p.UsualGP)}
	} else if c.Practice.ODS != "" {
		r.GeneralPractitioner = []Reference{{Reference: "Organization/" + c.Practice.ODS, Display: c.Practice.Name}}
	}
	if c.Practice.ODS != "" {
		r.ManagingOrganization = &Reference{Reference: "Organization/" + c.Practice.ODS, Display: c.Practice.Name}
	}
	reg := Extension{URL: ExtRegistration}
	add := func(url, v string, date bool) {
		if v == "" {
			return
		}
		e := Extension{URL: url}
		if date {
			e.ValueDate = str(v)
		} else {
			e.ValueString = str(v)
		}
		reg.Extension = append(reg.Extension, e)
	}
	add("type", p.Registration.Type, false)
	add("registeredOn", p.Registration.RegisteredOn, true)
	add("leftOn", p.Registration.LeftOn, true)
	add("leftReason", p.Registration.LeftReason, false)
	if len(reg.Extension) > 0 {
		r.Extension = append(r.Extension, reg)
	}
	if len(p.Flags) > 0 {
		r.Extension = append(r.Extension, extraExt(map[string]any{"flags": p.Flags})...)
	}
	MergeUnmapped(r, p.FHIRExtra)
	return r
}

// ---- Practice and users ----

// OrganizationResource maps the practice to a UK Core Organization (id = ODS code).
func (c *Context) OrganizationResource() *Organization {
	pr := c.Practice
	return &Organization{ResourceType: "Organization", ID: pr.ODS, Meta: c.meta("Organization", nil),
		Identifier: []Identifier{{System: record.SystemODS, Value: pr.ODS}}, Active: boolp(true), Name: pr.Name,
		Type: []CodeableConcept{{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/organization-type", Code: "prov", Display: "Healthcare Provider"}}}}}
}

// RegistrationSystem is the identifier system of a professional registration number for a role.
func RegistrationSystem(role record.Role) string {
	switch role {
	case record.RoleGP:
		return SystemGMC
	case record.RoleNurse:
		return SystemNMC
	}
	return SystemGPhC
}

type userExtra struct {
	Role       record.Role `json:"role"`
	Prescriber bool        `json:"prescriber,omitempty"`
}

// PractitionerResource maps a user to a UK Core Practitioner.
func (c *Context) PractitionerResource(u record.User) *Practitioner {
	r := &Practitioner{ResourceType: "Practitioner", ID: PractitionerID(u.Name), Meta: c.meta("Practitioner", nil),
		Identifier: []Identifier{{System: SystemUserName, Value: u.Name}}, Active: boolp(!u.Disabled),
		Name: []HumanName{{Text: u.Name}}}
	if u.Version > 0 && r.Meta != nil {
		r.Meta.VersionID = strconv.Itoa(u.Version)
	}
	if u.RegNumber != "" {
		r.Identifier = append(r.Identifier, Identifier{System: RegistrationSystem(u.Role), Value: u.RegNumber})
	}
	r.Extension = extraExt(userExtra{Role: u.Role, Prescriber: u.Prescriber})
	return r
}

// ---- Consultations ----

var consultClass = map[string]string{"surgery": "AMB", "telephone": "VR", "video": "VR", "home": "HH"}

// EncounterResources maps a consultation to an Encounter and one resource per
// coded entry: a Procedure for an entry that came in as one, else an
// Observation without a value (GP Connect's "uncategorised data").
func (c *Context) EncounterResources(cn *record.Consultation) []Resource {
	enc := &Encounter{ResourceType: "Encounter", ID: cn.ID, Meta: c.meta("Encounter", &cn.Meta),
		Status: "finished", Subject: ref("Patient", cn.PatientID)}
	if cn.Status == record.StatusEnteredInError {
		enc.Status = "entered-in-error"
	}
	enc.Class = &Coding{System: CSActCode, Code: consultClass[cn.Type]}
	switch enc.Class.Code {
	case "AMB":
		enc.Class.Display = "ambulatory"
	case "VR":
		enc.Class.Display = "virtual"
	case "HH":
		enc.Class.Display = "home health"
	}
	enc.Type = []CodeableConcept{{Coding: []Coding{{System: CSConsultationType, Code: cn.Type}}}}
	enc.Period = &Period{Start: instant(cn.Start)}
	if !cn.End.IsZero() {
		enc.Period.End = instant(cn.End)
	}
	if w := c.who(cn.Clinician); w != nil {
		enc.Participant = []EncounterParticipant{{Individual: w, Type: []CodeableConcept{{Coding: []Coding{{
			System: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", Code: "PPRF", Display: "primary performer"}}}}}}
	}
	if cn.ProblemID != "" {
		enc.ReasonReference = []Reference{*ref("Condition", cn.ProblemID)}
	}
	if c.Practice.ODS != "" {
		enc.ServiceProvider = &Reference{Reference: "Organization/" + c.Practice.ODS, Display: c.Practice.Name}
	}
	extra := map[string]string{}
	for k, v := range map[string]string{"location": cn.Location, "problemLink": cn.ProblemLink, "history": cn.History,
		"examination": cn.Examination, "plan": cn.Plan, "text": cn.Text} {
		if v != "" {
			extra[k] = v
		}
	}
	if len(extra) > 0 {
		enc.Extension = extraExt(extra)
	}
	if cn.Text != "" || cn.History != "" || cn.Examination != "" || cn.Plan != "" {
		enc.Text = &Narrative{Status: "generated", Div: narrative(cn)}
	}
	out := []Resource{enc}
	for i, e := range cn.Entries {
		id := cn.ID + "-e" + strconv.Itoa(i)
		cc := codeable(e.Code)
		if e.Mapped != nil {
			cc.Coding = append(cc.Coding, coding(*e.Mapped))
		}
		text := e.Text
		if when, rest, ok := parseProcedureText(text); ok {
			p := &Procedure{ResourceType: "Procedure", ID: id, Meta: c.meta("Procedure", &cn.Meta), Status: "completed",
				Code: cc, Subject: *ref("Patient", cn.PatientID), Encounter: ref("Encounter", cn.ID)}
			if enc.Status == "entered-in-error" {
				p.Status = "entered-in-error"
			}
			p.PerformedDateTime = when
			if p.PerformedDateTime == "" {
				p.PerformedDateTime = instant(cn.Start)
			}
			if rest != "" {
				p.Note = []Annotation{{Text: rest}}
			}
			out = append(out, p)
			continue
		}
		o := &Observation{ResourceType: "Observation", ID: id, Meta: c.meta("Observation", &cn.Meta), Status: "final",
			Code: *cc, Subject: ref("Patient", cn.PatientID), Encounter: ref("Encounter", cn.ID), EffectiveDateTime: instant(cn.Start)}
		if enc.Status == "entered-in-error" {
			o.Status = "entered-in-error"
		}
		if text != "" {
			o.Note = []Annotation{{Text: text}}
		}
		out = append(out, o)
	}
	MergeUnmapped(enc, cn.FHIRExtra)
	return out
}

func narrative(cn *record.Consultation) string {
	var b strings.Builder
	b.WriteString(`<div xmlns="http://www.w3.org/1999/xhtml">`)
	for _, p := range [][2]string{{"History", cn.History}, {"Examination", cn.Examination}, {"Plan", cn.Plan}, {"", cn.Text}} {
		if p[1] == "" {
			continue
		}
		b.WriteString("<p>")
		if p[0] != "" {
			b.WriteString("<b>" + p[0] + ":</b> ")
		}
		b.WriteString(xmlEscape(p[1]))
		b.WriteString("</p>")
	}
	b.WriteString("</div>")
	return b.String()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// ProcedureText is how a Procedure is kept as a coded consultation entry's text.
func ProcedureText(performed, note string) string {
	s := procedureMarker
	if performed != "" {
		s += " performed " + performed
	}
	s += "]"
	if note != "" {
		s += " " + note
	}
	return s
}

func parseProcedureText(s string) (when, rest string, ok bool) {
	if !strings.HasPrefix(s, procedureMarker) {
		return "", "", false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", "", false
	}
	head := s[len(procedureMarker):end]
	when = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(head), "performed"))
	return when, strings.TrimSpace(s[end+1:]), true
}

// ---- Problems ----

// ConditionResource maps a problem to a UK Core Condition (problem-list-item).
func (c *Context) ConditionResource(p *record.Problem) *Condition {
	r := &Condition{ResourceType: "Condition", ID: p.ID, Meta: c.meta("Condition", &p.Meta),
		Category: []CodeableConcept{{Coding: []Coding{{System: CSConditionCategory, Code: "problem-list-item", Display: "Problem List Item"}}}},
		Code:     codeable(p.Code), Subject: ref("Patient", p.PatientID), OnsetDateTime: p.Onset, AbatementDateTime: p.ResolvedOn}
	switch p.Status {
	case record.StatusEnteredInError:
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: CSConditionVer, Code: "entered-in-error"}}}
	case "past":
		st := "inactive"
		if p.ResolvedOn != "" {
			st = "resolved"
		}
		r.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: CSConditionClinical, Code: st}}}
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: CSConditionVer, Code: "confirmed"}}}
	default:
		r.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: CSConditionClinical, Code: "active"}}}
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: CSConditionVer, Code: "confirmed"}}}
	}
	if p.ConsultationID != "" {
		r.Encounter = ref("Encounter", p.ConsultationID)
	}
	r.Extension = extraExt(map[string]string{"significance": p.Significance})
	MergeUnmapped(r, p.FHIRExtra)
	return r
}

// ---- Observations ----

var codedValue = regexp.MustCompile(`^(.*) \{([^{}|]+)\|([^{}|]+)\}$`)

// CodedValueText is how a coded observation value is kept in ValueText.
func CodedValueText(display, system, code string) string {
	return display + " {" + system + "|" + code + "}"
}

// ObservationResource maps an observation; blood pressure has a component each for systolic and diastolic.
func (c *Context) ObservationResource(o *record.Observation) *Observation {
	r := &Observation{ResourceType: "Observation", ID: o.ID, Meta: c.meta("Observation", &o.Meta), Status: o.Status,
		Code: *codeable(o.Code), Subject: ref("Patient", o.PatientID), EffectiveDateTime: instant(o.Effective)}
	if r.Status == "" {
		r.Status = "final"
	}
	if o.ConsultationID != "" {
		r.Encounter = ref("Encounter", o.ConsultationID)
	}
	if o.IsBP() {
		r.Category = []CodeableConcept{{Coding: []Coding{{System: CSObservationCategory, Code: "vital-signs", Display: "Vital Signs"}}}}
		sys, dia := Coding{System: record.SystemSNOMED, Code: SCTSystolic, Display: "Systolic blood pressure"},
			Coding{System: record.SystemSNOMED, Code: SCTDiastolic, Display: "Diastolic blood pressure"}
		if o.Code.System == record.SystemLOINC {
			sys, dia = Coding{System: record.SystemLOINC, Code: LOINCSystolic, Display: "Systolic blood pressure"},
				Coding{System: record.SystemLOINC, Code: LOINCDiastolic, Display: "Diastolic blood pressure"}
		}
		q := func(v float64) *Quantity {
			return &Quantity{Value: num(v), Unit: "mmHg", System: record.SystemUCUM, Code: "mm[Hg]"}
		}
		if o.Systolic != nil {
			r.Component = append(r.Component, ObservationComponent{Code: CodeableConcept{Coding: []Coding{sys}}, ValueQuantity: q(*o.Systolic)})
		}
		if o.Diastolic != nil {
			r.Component = append(r.Component, ObservationComponent{Code: CodeableConcept{Coding: []Coding{dia}}, ValueQuantity: q(*o.Diastolic)})
		}
		MergeUnmapped(r, o.FHIRExtra)
		return r
	}
	switch {
	case o.Value != nil:
		r.ValueQuantity = &Quantity{Value: num(*o.Value), Unit: o.Unit}
	case o.ValueCode != nil:
		r.ValueCodeableConcept = &CodeableConcept{Coding: []Coding{coding(*o.ValueCode)}, Text: o.ValueCode.Display}
	case o.ValueText != "":
		if m := codedValue.FindStringSubmatch(o.ValueText); m != nil {
			r.ValueCodeableConcept = &CodeableConcept{Coding: []Coding{{System: m[2], Code: m[3], Display: m[1]}}, Text: m[1]}
		} else {
			r.ValueString = str(o.ValueText)
		}
	}
	if (o.Value != nil || o.ValueCode != nil) && o.ValueText != "" {
		r.Note = []Annotation{{Text: o.ValueText}}
	}
	MergeUnmapped(r, o.FHIRExtra)
	return r
}

// ---- Medication ----

type medExtra struct {
	StoppedOn  string               `json:"stoppedOn,omitempty"`
	ReviewDate string               `json:"reviewDate,omitempty"`
	Answers    []record.AlertAnswer `json:"alertAnswers,omitempty"`
	IssuedBy   []string             `json:"issuedBy,omitempty"`
}

// MedicationResources maps a medication to a MedicationRequest with intent
// "plan" (the authorisation; UK Core repeat information on a repeat) and one
// MedicationRequest with intent "order" per issue, basedOn the plan.
func (c *Context) MedicationResources(m *record.Medication) []Resource {
	med := codeable(m.Code)
	r := &MedicationRequest{ResourceType: "MedicationRequest", ID: m.ID, Meta: c.meta("MedicationRequest", &m.Meta),
		Status: m.Status, Intent: "plan", MedicationCodeableConcept: med, Subject: *ref("Patient", m.PatientID),
		AuthoredOn: m.AuthorisedOn, Requester: c.who(m.Prescriber)}
	if r.Status == "" {
		r.Status = "active"
	}
	course := "acute"
	if m.Type == "repeat" {
		course = "continuous"
	}
	if m.Type == record.MedElsewhere { // reported: a secondary record of a medicine prescribed elsewhere
		r.ReportedBoolean = boolp(true)
	} else {
		r.CourseOfTherapyType = &CodeableConcept{Coding: []Coding{{System: CSCourseOfTherapy, Code: course}}}
	}
	if m.Dose != "" {
		r.DosageInstruction = []Dosage{{Text: m.Dose}}
	}
	dr := &DispenseRequest{}
	if m.Unit != UnitNotStated && m.Quantity > 0 {
		dr.Quantity = &Quantity{Value: num(m.Quantity), Unit: m.Unit}
	}
	if m.DurationDays > 0 {
		dr.ExpectedSupplyDuration = &Duration{Value: json.Number(strconv.Itoa(m.DurationDays)), Unit: "day", System: record.SystemUCUM, Code: "d"}
	}
	x := medExtra{StoppedOn: m.StoppedOn, Answers: m.Answers}
	if m.Type == "repeat" {
		dr.NumberOfRepeatsAllowed = intp(max(m.IssuesAuthorised-1, 0))
		ri := Extension{URL: ExtRepeatInformation, Extension: []Extension{{URL: "numberOfPrescriptionsIssued", ValueUnsignedInt: intp(len(m.Issues))}}}
		if m.ReviewDate != "" {
			ri.Extension = append(ri.Extension, Extension{URL: "authorisationExpiryDate", ValueDateTime: str(m.ReviewDate)})
		}
		r.Extension = append(r.Extension, ri)
	} else {
		x.ReviewDate = m.ReviewDate
	}
	if dr.Quantity != nil || dr.ExpectedSupplyDuration != nil || dr.NumberOfRepeatsAllowed != nil {
		r.DispenseRequest = dr
	}
	if m.StopReason != "" {
		r.StatusReason = &CodeableConcept{Text: m.StopReason}
	}
	if m.Replaces != "" {
		r.PriorPrescription = ref("MedicationRequest", m.Replaces)
	}
	out := []Resource{r}
	for i, is := range m.Issues {
		o := &MedicationRequest{ResourceType: "MedicationRequest", ID: m.ID + "-i" + strconv.Itoa(i), Meta: c.meta("MedicationRequest", &m.Meta),
			Status: "completed", Intent: "order", MedicationCodeableConcept: med, Subject: *ref("Patient", m.PatientID),
			AuthoredOn: instant(is.At), Requester: c.who(is.By), BasedOn: []Reference{*ref("MedicationRequest", m.ID)}}
		if m.Status == record.StatusEnteredInError {
			o.Status = record.StatusEnteredInError
		}
		if is.Quantity > 0 {
			o.DispenseRequest = &DispenseRequest{Quantity: &Quantity{Value: num(is.Quantity), Unit: m.Unit}}
		}
		if is.By != "" && c.who(is.By).Reference == "" {
			x.IssuedBy = append(x.IssuedBy, is.By)
		}
		out = append(out, o)
	}
	x.IssuedBy = nil // the requester display carries it
	r.Extension = append(r.Extension, extraExt(x)...)
	MergeUnmapped(r, m.FHIRExtra)
	return out
}

// ---- Allergies ----

// AllergyResource maps an allergy (or NKDA) to a UK Core AllergyIntolerance.
func (c *Context) AllergyResource(a *record.Allergy) *AllergyIntolerance {
	r := &AllergyIntolerance{ResourceType: "AllergyIntolerance", ID: a.ID, Meta: c.meta("AllergyIntolerance", &a.Meta),
		Type: a.Type, Patient: *ref("Patient", a.PatientID), OnsetDateTime: a.Onset}
	switch {
	case a.Finding != nil:
		r.Code = codeable(*a.Finding)
	case a.Agent.Code != "":
		r.Code = codeable(a.Agent)
	case a.NKDA:
		r.Code = codeable(record.Code{System: record.SystemSNOMED, Code: record.NKDACode, Display: "No known drug allergy"})
	}
	if a.Status == record.StatusEnteredInError {
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: CSAllergyVer, Code: "entered-in-error"}}}
	} else {
		st := a.Status
		if st == "" {
			st = "active"
		}
		r.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: CSAllergyClinical, Code: st}}}
		r.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: CSAllergyVer, Code: "confirmed"}}}
	}
	if a.Category != "" {
		r.Category = []string{a.Category}
	}
	if a.ConsultationID != "" {
		r.Encounter = ref("Encounter", a.ConsultationID)
	}
	if a.Reaction != "" || a.Severity != "" || (a.Finding != nil && a.Agent.Code != "") {
		rx := AllergyReaction{Severity: a.Severity, Manifestation: []CodeableConcept{{Text: a.Reaction}}}
		if a.Reaction == "" {
			rx.Manifestation = []CodeableConcept{{Text: "not recorded"}}
		}
		if a.Finding != nil && a.Agent.Code != "" {
			rx.Substance = codeable(a.Agent)
		}
		r.Reaction = []AllergyReaction{rx}
	}
	if a.NKDA {
		r.Extension = extraExt(map[string]bool{"nkda": true, "noAgent": a.Agent.Code == ""})
	}
	if a.Reaction == "" && len(r.Reaction) > 0 {
		r.Extension = append(r.Extension, extraExt(map[string]bool{"noReaction": true})...)
	}
	MergeUnmapped(r, a.FHIRExtra)
	return r
}

// ---- Immunisations ----

// ImmunizationResource maps an immunisation.
func (c *Context) ImmunizationResource(im *record.Immunisation) *Immunization {
	r := &Immunization{ResourceType: "Immunization", ID: im.ID, Meta: c.meta("Immunization", &im.Meta), Status: im.Status,
		VaccineCode: *codeable(im.Code), Patient: *ref("Patient", im.PatientID), OccurrenceDateTime: im.Date,
		PrimarySource: boolp(true), LotNumber: im.Batch}
	if r.Status == "" {
		r.Status = "completed"
	}
	if im.Site != "" {
		r.Site = &CodeableConcept{Text: im.Site}
	}
	if w := c.who(im.By); w != nil {
		b, _ := Marshal(struct {
			Actor *Reference `json:"actor"`
		}{w})
		r.Performer = []json.RawMessage{b}
	}
	MergeUnmapped(r, im.FHIRExtra)
	return r
}

// ---- Appointments ----

var apptStatus = map[string]string{"booked": "booked", "arrived": "arrived", "seen": "fulfilled",
	"did-not-attend": "noshow", "cancelled": "cancelled", record.StatusEnteredInError: "entered-in-error"}

// AppointmentResource maps an appointment.
func (c *Context) AppointmentResource(a *record.Appointment) *Appointment {
	r := &Appointment{ResourceType: "Appointment", ID: a.ID, Meta: c.meta("Appointment", &a.Meta), Status: apptStatus[a.Status],
		Start: instant(a.Start), End: instant(a.End()), MinutesDuration: intp(a.Minutes), Description: a.Reason,
		AppointmentType: &CodeableConcept{Coding: []Coding{{System: CSAppointmentMode, Code: a.Mode}}}}
	if r.Status == "" {
		r.Status = "booked"
	}
	r.Participant = []AppointmentParticipant{{Actor: ref("Patient", a.PatientID), Status: "accepted"}}
	if w := c.who(a.Clinician); w != nil {
		r.Participant = append(r.Participant, AppointmentParticipant{Actor: w, Status: "accepted"})
	}
	x := map[string]any{}
	if a.SessionID != "" {
		x["sessionId"] = a.SessionID
	}
	if a.Extra {
		x["extra"] = true
	}
	if len(x) > 0 {
		r.Extension = extraExt(x)
	}
	MergeUnmapped(r, a.FHIRExtra)
	return r
}

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
