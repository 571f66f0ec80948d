package fhir

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"

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

// recorder is who recorded a record, and when: for history imported from
// another system its original author and time (kept as data), else whoever
// wrote this version here. A later move keeps the first author.
func (c *Context) recorder(m *record.Meta) (*Reference, string) {
	by, at := m.RecordedBy, m.RecordedAt
	if im := m.Imported; im != nil { // its author there, even when it named none
		by, at = im.Author, im.At
	}
	if at.IsZero() {
		return c.who(by), ""
	}
	return c.who(by), instant(at)
}

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
	b, _ := gojson.Marshal(v) // the same bytes as encoding/json, at a fraction of the cost on export's hot path
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
	r.Recorder, r.RecordedDate = c.recorder(&p.Meta)
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
	if who, at := c.recorder(&o.Meta); who != nil {
		// who recorded it (for a laboratory's result, the feed that
		// delivered it), so a move to another system keeps its author
		r.Performer, r.Issued = []Reference{*who}, at
	}
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
	labToResource(r, o)
	return r
}
