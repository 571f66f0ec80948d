package clinical

import (
	"context"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
)

// ours refuses a prescriber's change (issue, dose change) of a medicine
// recorded elsewhere: it is history, not a prescription of this practice.
func ours(m *record.Medication) error {
	if m.Type == record.MedElsewhere {
		return record.Invalid("medication", m.ID, "%s was recorded elsewhere: it is not a prescription of this practice (prescribe it here to take it over)", m.Code.Display)
	}
	return nil
}

// MedicationHistoryInput is a medicine the patient takes, or took, that was
// prescribed elsewhere (a hospital, another practice, bought over the
// counter), as a MedicationStatement says.
type MedicationHistoryInput struct {
	PatientRef string
	System     string // default dm+d
	Code       string
	Dose       string
	Status     string // active (taking it: the default), stopped or completed
	Started    string // YYYY-MM-DD, or partial
	Source     string // who prescribed or reported it (kept as text)
	Sensitive  bool
}

// RecordMedicationElsewhere records a medicine prescribed elsewhere as
// history (type elsewhere): a clinician's write (the clinical-write right,
// not the prescriber's), its code checked against the terminology. It is
// shown with the medication and checked against by the prescribing checks
// while active, but it is never an active prescription of this practice:
// it is not issued, re-authorised or changed here. Authorship is the acting
// user; who prescribed it is kept as text.
func (s *Service) RecordMedicationElsewhere(ctx context.Context, in MedicationHistoryInput) (*record.Medication, error) {
	p, err := s.patientForWrite(ctx, in.PatientRef, ActWriteClinical)
	if err != nil {
		return nil, err
	}
	system := in.System
	if system == "" {
		system = record.SystemDMD
	}
	code, err := s.Code("medication", system, in.Code)
	if err != nil {
		return nil, err
	}
	status := in.Status
	if status == "" {
		status = "active"
	}
	src := strings.TrimSpace(in.Source)
	if src == "" {
		src = "recorded elsewhere"
	}
	dose := strings.TrimSpace(in.Dose)
	if dose == "" {
		dose = "as directed elsewhere (not stated)"
	}
	m := &record.Medication{Meta: record.Meta{PatientID: p.ID, Status: status, Sensitive: in.Sensitive}, Code: code,
		Type: record.MedElsewhere, Dose: dose, Quantity: 1, Unit: record.UnitNotStated, AuthorisedOn: in.Started, Prescriber: src}
	if in.Started != "" {
		if err := s.notFuture("started", in.Started); err != nil {
			return nil, err
		}
	}
	if err := s.newEntry(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}
