package fhir

// Records to resources: medication, allergies, immunisations and appointments.

import (
	"encoding/json"
	"strconv"

	"github.com/opengpsoc/gpsoc/record"
)

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
	r.Recorder, r.RecordedDate = c.recorder(&a.Meta)
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
