// Marshalling for every struct of this package: the members kept in Extra (unknown on read) are written back.

package fhir

import "reflect"

func (x Meta) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Coding) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x CodeableConcept) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Identifier) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Reference) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Period) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Quantity) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x HumanName) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Address) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x ContactPoint) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Annotation) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Narrative) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Extension) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Dosage) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Timing) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x TimingRepeat) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x DispenseRequest) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Duration) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x BundleEntry) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x BundleRequest) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x BundleResponse) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x BundleSearch) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x BundleLink) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Patient) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Practitioner) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Organization) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Encounter) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x EncounterParticipant) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x EncounterLocation) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Condition) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Observation) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x ObservationComponent) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Procedure) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x MedicationRequest) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x MedicationStatement) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x AllergyIntolerance) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x AllergyReaction) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Immunization) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Appointment) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x AppointmentParticipant) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Schedule) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Task) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x TaskRestriction) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x AuditEvent) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x AuditAgent) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x AuditSource) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x AuditEntity) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x AuditDetail) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x Provenance) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x ProvenanceAgent) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x Bundle) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }

func (x OperationOutcome) MarshalJSON() ([]byte, error) {
	return appendValue(nil, reflect.ValueOf(x)), nil
}

func (x OutcomeIssue) MarshalJSON() ([]byte, error) { return appendValue(nil, reflect.ValueOf(x)), nil }
