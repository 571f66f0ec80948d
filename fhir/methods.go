// Marshalling for every struct of this package: the members kept in Extra (unknown on read) are written back.

package fhir

func (x Meta) MarshalJSON() ([]byte, error) {
	type alias Meta
	return encode(alias(x), x.Extra)
}

func (x Coding) MarshalJSON() ([]byte, error) {
	type alias Coding
	return encode(alias(x), x.Extra)
}

func (x CodeableConcept) MarshalJSON() ([]byte, error) {
	type alias CodeableConcept
	return encode(alias(x), x.Extra)
}

func (x Identifier) MarshalJSON() ([]byte, error) {
	type alias Identifier
	return encode(alias(x), x.Extra)
}

func (x Reference) MarshalJSON() ([]byte, error) {
	type alias Reference
	return encode(alias(x), x.Extra)
}

func (x Period) MarshalJSON() ([]byte, error) {
	type alias Period
	return encode(alias(x), x.Extra)
}

func (x Quantity) MarshalJSON() ([]byte, error) {
	type alias Quantity
	return encode(alias(x), x.Extra)
}

func (x HumanName) MarshalJSON() ([]byte, error) {
	type alias HumanName
	return encode(alias(x), x.Extra)
}

func (x Address) MarshalJSON() ([]byte, error) {
	type alias Address
	return encode(alias(x), x.Extra)
}

func (x ContactPoint) MarshalJSON() ([]byte, error) {
	type alias ContactPoint
	return encode(alias(x), x.Extra)
}

func (x Annotation) MarshalJSON() ([]byte, error) {
	type alias Annotation
	return encode(alias(x), x.Extra)
}

func (x Narrative) MarshalJSON() ([]byte, error) {
	type alias Narrative
	return encode(alias(x), x.Extra)
}

func (x Extension) MarshalJSON() ([]byte, error) {
	type alias Extension
	return encode(alias(x), x.Extra)
}

func (x Dosage) MarshalJSON() ([]byte, error) {
	type alias Dosage
	return encode(alias(x), x.Extra)
}

func (x Timing) MarshalJSON() ([]byte, error) {
	type alias Timing
	return encode(alias(x), x.Extra)
}

func (x TimingRepeat) MarshalJSON() ([]byte, error) {
	type alias TimingRepeat
	return encode(alias(x), x.Extra)
}

func (x DispenseRequest) MarshalJSON() ([]byte, error) {
	type alias DispenseRequest
	return encode(alias(x), x.Extra)
}

func (x Duration) MarshalJSON() ([]byte, error) {
	type alias Duration
	return encode(alias(x), x.Extra)
}

func (x BundleEntry) MarshalJSON() ([]byte, error) {
	type alias BundleEntry
	return encode(alias(x), x.Extra)
}

func (x BundleRequest) MarshalJSON() ([]byte, error) {
	type alias BundleRequest
	return encode(alias(x), x.Extra)
}

func (x BundleResponse) MarshalJSON() ([]byte, error) {
	type alias BundleResponse
	return encode(alias(x), x.Extra)
}

func (x BundleSearch) MarshalJSON() ([]byte, error) {
	type alias BundleSearch
	return encode(alias(x), x.Extra)
}

func (x BundleLink) MarshalJSON() ([]byte, error) {
	type alias BundleLink
	return encode(alias(x), x.Extra)
}

func (x Patient) MarshalJSON() ([]byte, error) {
	type alias Patient
	return encode(alias(x), x.Extra)
}

func (x Practitioner) MarshalJSON() ([]byte, error) {
	type alias Practitioner
	return encode(alias(x), x.Extra)
}

func (x Organization) MarshalJSON() ([]byte, error) {
	type alias Organization
	return encode(alias(x), x.Extra)
}

func (x Encounter) MarshalJSON() ([]byte, error) {
	type alias Encounter
	return encode(alias(x), x.Extra)
}

func (x EncounterParticipant) MarshalJSON() ([]byte, error) {
	type alias EncounterParticipant
	return encode(alias(x), x.Extra)
}

func (x EncounterLocation) MarshalJSON() ([]byte, error) {
	type alias EncounterLocation
	return encode(alias(x), x.Extra)
}

func (x Condition) MarshalJSON() ([]byte, error) {
	type alias Condition
	return encode(alias(x), x.Extra)
}

func (x Observation) MarshalJSON() ([]byte, error) {
	type alias Observation
	return encode(alias(x), x.Extra)
}

func (x ObservationComponent) MarshalJSON() ([]byte, error) {
	type alias ObservationComponent
	return encode(alias(x), x.Extra)
}

func (x Procedure) MarshalJSON() ([]byte, error) {
	type alias Procedure
	return encode(alias(x), x.Extra)
}

func (x MedicationRequest) MarshalJSON() ([]byte, error) {
	type alias MedicationRequest
	return encode(alias(x), x.Extra)
}

func (x MedicationStatement) MarshalJSON() ([]byte, error) {
	type alias MedicationStatement
	return encode(alias(x), x.Extra)
}

func (x AllergyIntolerance) MarshalJSON() ([]byte, error) {
	type alias AllergyIntolerance
	return encode(alias(x), x.Extra)
}

func (x AllergyReaction) MarshalJSON() ([]byte, error) {
	type alias AllergyReaction
	return encode(alias(x), x.Extra)
}

func (x Immunization) MarshalJSON() ([]byte, error) {
	type alias Immunization
	return encode(alias(x), x.Extra)
}

func (x Appointment) MarshalJSON() ([]byte, error) {
	type alias Appointment
	return encode(alias(x), x.Extra)
}

func (x AppointmentParticipant) MarshalJSON() ([]byte, error) {
	type alias AppointmentParticipant
	return encode(alias(x), x.Extra)
}

func (x Task) MarshalJSON() ([]byte, error) {
	type alias Task
	return encode(alias(x), x.Extra)
}

func (x TaskRestriction) MarshalJSON() ([]byte, error) {
	type alias TaskRestriction
	return encode(alias(x), x.Extra)
}

func (x AuditEvent) MarshalJSON() ([]byte, error) {
	type alias AuditEvent
	return encode(alias(x), x.Extra)
}

func (x AuditAgent) MarshalJSON() ([]byte, error) {
	type alias AuditAgent
	return encode(alias(x), x.Extra)
}

func (x AuditSource) MarshalJSON() ([]byte, error) {
	type alias AuditSource
	return encode(alias(x), x.Extra)
}

func (x AuditEntity) MarshalJSON() ([]byte, error) {
	type alias AuditEntity
	return encode(alias(x), x.Extra)
}

func (x AuditDetail) MarshalJSON() ([]byte, error) {
	type alias AuditDetail
	return encode(alias(x), x.Extra)
}

func (x Provenance) MarshalJSON() ([]byte, error) {
	type alias Provenance
	return encode(alias(x), x.Extra)
}

func (x ProvenanceAgent) MarshalJSON() ([]byte, error) {
	type alias ProvenanceAgent
	return encode(alias(x), x.Extra)
}

func (x Bundle) MarshalJSON() ([]byte, error) {
	type alias Bundle
	return encode(alias(x), x.Extra)
}

func (x OperationOutcome) MarshalJSON() ([]byte, error) {
	type alias OperationOutcome
	return encode(alias(x), x.Extra)
}

func (x OutcomeIssue) MarshalJSON() ([]byte, error) {
	type alias OutcomeIssue
	return encode(alias(x), x.Extra)
}
