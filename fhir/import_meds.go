package fhir

// Resources to records: medication, allergies and immunisations.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
)

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
