// Lossless (un)marshalling for every struct of this package: unknown members go to Extra and come back on marshal.

package fhir

func (x *Meta) UnmarshalJSON(b []byte) error {
	type alias Meta
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Meta(a)
	return nil
}

func (x Meta) MarshalJSON() ([]byte, error) {
	type alias Meta
	return encode(alias(x), x.Extra)
}

func (x *Coding) UnmarshalJSON(b []byte) error {
	type alias Coding
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Coding(a)
	return nil
}

func (x Coding) MarshalJSON() ([]byte, error) {
	type alias Coding
	return encode(alias(x), x.Extra)
}

func (x *CodeableConcept) UnmarshalJSON(b []byte) error {
	type alias CodeableConcept
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = CodeableConcept(a)
	return nil
}

func (x CodeableConcept) MarshalJSON() ([]byte, error) {
	type alias CodeableConcept
	return encode(alias(x), x.Extra)
}

func (x *Identifier) UnmarshalJSON(b []byte) error {
	type alias Identifier
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Identifier(a)
	return nil
}

func (x Identifier) MarshalJSON() ([]byte, error) {
	type alias Identifier
	return encode(alias(x), x.Extra)
}

func (x *Reference) UnmarshalJSON(b []byte) error {
	type alias Reference
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Reference(a)
	return nil
}

func (x Reference) MarshalJSON() ([]byte, error) {
	type alias Reference
	return encode(alias(x), x.Extra)
}

func (x *Period) UnmarshalJSON(b []byte) error {
	type alias Period
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Period(a)
	return nil
}

func (x Period) MarshalJSON() ([]byte, error) {
	type alias Period
	return encode(alias(x), x.Extra)
}

func (x *Quantity) UnmarshalJSON(b []byte) error {
	type alias Quantity
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Quantity(a)
	return nil
}

func (x Quantity) MarshalJSON() ([]byte, error) {
	type alias Quantity
	return encode(alias(x), x.Extra)
}

func (x *HumanName) UnmarshalJSON(b []byte) error {
	type alias HumanName
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = HumanName(a)
	return nil
}

func (x HumanName) MarshalJSON() ([]byte, error) {
	type alias HumanName
	return encode(alias(x), x.Extra)
}

func (x *Address) UnmarshalJSON(b []byte) error {
	type alias Address
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Address(a)
	return nil
}

func (x Address) MarshalJSON() ([]byte, error) {
	type alias Address
	return encode(alias(x), x.Extra)
}

func (x *ContactPoint) UnmarshalJSON(b []byte) error {
	type alias ContactPoint
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = ContactPoint(a)
	return nil
}

func (x ContactPoint) MarshalJSON() ([]byte, error) {
	type alias ContactPoint
	return encode(alias(x), x.Extra)
}

func (x *Annotation) UnmarshalJSON(b []byte) error {
	type alias Annotation
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Annotation(a)
	return nil
}

func (x Annotation) MarshalJSON() ([]byte, error) {
	type alias Annotation
	return encode(alias(x), x.Extra)
}

func (x *Narrative) UnmarshalJSON(b []byte) error {
	type alias Narrative
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Narrative(a)
	return nil
}

func (x Narrative) MarshalJSON() ([]byte, error) {
	type alias Narrative
	return encode(alias(x), x.Extra)
}

func (x *Extension) UnmarshalJSON(b []byte) error {
	type alias Extension
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Extension(a)
	return nil
}

func (x Extension) MarshalJSON() ([]byte, error) {
	type alias Extension
	return encode(alias(x), x.Extra)
}

func (x *Dosage) UnmarshalJSON(b []byte) error {
	type alias Dosage
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Dosage(a)
	return nil
}

func (x Dosage) MarshalJSON() ([]byte, error) {
	type alias Dosage
	return encode(alias(x), x.Extra)
}

func (x *Timing) UnmarshalJSON(b []byte) error {
	type alias Timing
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Timing(a)
	return nil
}

func (x Timing) MarshalJSON() ([]byte, error) {
	type alias Timing
	return encode(alias(x), x.Extra)
}

func (x *TimingRepeat) UnmarshalJSON(b []byte) error {
	type alias TimingRepeat
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = TimingRepeat(a)
	return nil
}

func (x TimingRepeat) MarshalJSON() ([]byte, error) {
	type alias TimingRepeat
	return encode(alias(x), x.Extra)
}

func (x *DispenseRequest) UnmarshalJSON(b []byte) error {
	type alias DispenseRequest
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = DispenseRequest(a)
	return nil
}

func (x DispenseRequest) MarshalJSON() ([]byte, error) {
	type alias DispenseRequest
	return encode(alias(x), x.Extra)
}

func (x *Duration) UnmarshalJSON(b []byte) error {
	type alias Duration
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Duration(a)
	return nil
}

func (x Duration) MarshalJSON() ([]byte, error) {
	type alias Duration
	return encode(alias(x), x.Extra)
}

func (x *BundleEntry) UnmarshalJSON(b []byte) error {
	type alias BundleEntry
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = BundleEntry(a)
	return nil
}

func (x BundleEntry) MarshalJSON() ([]byte, error) {
	type alias BundleEntry
	return encode(alias(x), x.Extra)
}

func (x *BundleRequest) UnmarshalJSON(b []byte) error {
	type alias BundleRequest
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = BundleRequest(a)
	return nil
}

func (x BundleRequest) MarshalJSON() ([]byte, error) {
	type alias BundleRequest
	return encode(alias(x), x.Extra)
}

func (x *BundleResponse) UnmarshalJSON(b []byte) error {
	type alias BundleResponse
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = BundleResponse(a)
	return nil
}

func (x BundleResponse) MarshalJSON() ([]byte, error) {
	type alias BundleResponse
	return encode(alias(x), x.Extra)
}

func (x *BundleSearch) UnmarshalJSON(b []byte) error {
	type alias BundleSearch
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = BundleSearch(a)
	return nil
}

func (x BundleSearch) MarshalJSON() ([]byte, error) {
	type alias BundleSearch
	return encode(alias(x), x.Extra)
}

func (x *BundleLink) UnmarshalJSON(b []byte) error {
	type alias BundleLink
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = BundleLink(a)
	return nil
}

func (x BundleLink) MarshalJSON() ([]byte, error) {
	type alias BundleLink
	return encode(alias(x), x.Extra)
}

func (x *Patient) UnmarshalJSON(b []byte) error {
	type alias Patient
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Patient(a)
	return nil
}

func (x Patient) MarshalJSON() ([]byte, error) {
	type alias Patient
	return encode(alias(x), x.Extra)
}

func (x *Practitioner) UnmarshalJSON(b []byte) error {
	type alias Practitioner
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Practitioner(a)
	return nil
}

func (x Practitioner) MarshalJSON() ([]byte, error) {
	type alias Practitioner
	return encode(alias(x), x.Extra)
}

func (x *Organization) UnmarshalJSON(b []byte) error {
	type alias Organization
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Organization(a)
	return nil
}

func (x Organization) MarshalJSON() ([]byte, error) {
	type alias Organization
	return encode(alias(x), x.Extra)
}

func (x *Encounter) UnmarshalJSON(b []byte) error {
	type alias Encounter
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Encounter(a)
	return nil
}

func (x Encounter) MarshalJSON() ([]byte, error) {
	type alias Encounter
	return encode(alias(x), x.Extra)
}

func (x *EncounterParticipant) UnmarshalJSON(b []byte) error {
	type alias EncounterParticipant
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = EncounterParticipant(a)
	return nil
}

func (x EncounterParticipant) MarshalJSON() ([]byte, error) {
	type alias EncounterParticipant
	return encode(alias(x), x.Extra)
}

func (x *EncounterLocation) UnmarshalJSON(b []byte) error {
	type alias EncounterLocation
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = EncounterLocation(a)
	return nil
}

func (x EncounterLocation) MarshalJSON() ([]byte, error) {
	type alias EncounterLocation
	return encode(alias(x), x.Extra)
}

func (x *Condition) UnmarshalJSON(b []byte) error {
	type alias Condition
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Condition(a)
	return nil
}

func (x Condition) MarshalJSON() ([]byte, error) {
	type alias Condition
	return encode(alias(x), x.Extra)
}

func (x *Observation) UnmarshalJSON(b []byte) error {
	type alias Observation
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Observation(a)
	return nil
}

func (x Observation) MarshalJSON() ([]byte, error) {
	type alias Observation
	return encode(alias(x), x.Extra)
}

func (x *ObservationComponent) UnmarshalJSON(b []byte) error {
	type alias ObservationComponent
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = ObservationComponent(a)
	return nil
}

func (x ObservationComponent) MarshalJSON() ([]byte, error) {
	type alias ObservationComponent
	return encode(alias(x), x.Extra)
}

func (x *Procedure) UnmarshalJSON(b []byte) error {
	type alias Procedure
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Procedure(a)
	return nil
}

func (x Procedure) MarshalJSON() ([]byte, error) {
	type alias Procedure
	return encode(alias(x), x.Extra)
}

func (x *MedicationRequest) UnmarshalJSON(b []byte) error {
	type alias MedicationRequest
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = MedicationRequest(a)
	return nil
}

func (x MedicationRequest) MarshalJSON() ([]byte, error) {
	type alias MedicationRequest
	return encode(alias(x), x.Extra)
}

func (x *MedicationStatement) UnmarshalJSON(b []byte) error {
	type alias MedicationStatement
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = MedicationStatement(a)
	return nil
}

func (x MedicationStatement) MarshalJSON() ([]byte, error) {
	type alias MedicationStatement
	return encode(alias(x), x.Extra)
}

func (x *AllergyIntolerance) UnmarshalJSON(b []byte) error {
	type alias AllergyIntolerance
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AllergyIntolerance(a)
	return nil
}

func (x AllergyIntolerance) MarshalJSON() ([]byte, error) {
	type alias AllergyIntolerance
	return encode(alias(x), x.Extra)
}

func (x *AllergyReaction) UnmarshalJSON(b []byte) error {
	type alias AllergyReaction
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AllergyReaction(a)
	return nil
}

func (x AllergyReaction) MarshalJSON() ([]byte, error) {
	type alias AllergyReaction
	return encode(alias(x), x.Extra)
}

func (x *Immunization) UnmarshalJSON(b []byte) error {
	type alias Immunization
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Immunization(a)
	return nil
}

func (x Immunization) MarshalJSON() ([]byte, error) {
	type alias Immunization
	return encode(alias(x), x.Extra)
}

func (x *Appointment) UnmarshalJSON(b []byte) error {
	type alias Appointment
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Appointment(a)
	return nil
}

func (x Appointment) MarshalJSON() ([]byte, error) {
	type alias Appointment
	return encode(alias(x), x.Extra)
}

func (x *AppointmentParticipant) UnmarshalJSON(b []byte) error {
	type alias AppointmentParticipant
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AppointmentParticipant(a)
	return nil
}

func (x AppointmentParticipant) MarshalJSON() ([]byte, error) {
	type alias AppointmentParticipant
	return encode(alias(x), x.Extra)
}

func (x *Task) UnmarshalJSON(b []byte) error {
	type alias Task
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Task(a)
	return nil
}

func (x Task) MarshalJSON() ([]byte, error) {
	type alias Task
	return encode(alias(x), x.Extra)
}

func (x *TaskRestriction) UnmarshalJSON(b []byte) error {
	type alias TaskRestriction
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = TaskRestriction(a)
	return nil
}

func (x TaskRestriction) MarshalJSON() ([]byte, error) {
	type alias TaskRestriction
	return encode(alias(x), x.Extra)
}

func (x *AuditEvent) UnmarshalJSON(b []byte) error {
	type alias AuditEvent
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AuditEvent(a)
	return nil
}

func (x AuditEvent) MarshalJSON() ([]byte, error) {
	type alias AuditEvent
	return encode(alias(x), x.Extra)
}

func (x *AuditAgent) UnmarshalJSON(b []byte) error {
	type alias AuditAgent
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AuditAgent(a)
	return nil
}

func (x AuditAgent) MarshalJSON() ([]byte, error) {
	type alias AuditAgent
	return encode(alias(x), x.Extra)
}

func (x *AuditSource) UnmarshalJSON(b []byte) error {
	type alias AuditSource
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AuditSource(a)
	return nil
}

func (x AuditSource) MarshalJSON() ([]byte, error) {
	type alias AuditSource
	return encode(alias(x), x.Extra)
}

func (x *AuditEntity) UnmarshalJSON(b []byte) error {
	type alias AuditEntity
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AuditEntity(a)
	return nil
}

func (x AuditEntity) MarshalJSON() ([]byte, error) {
	type alias AuditEntity
	return encode(alias(x), x.Extra)
}

func (x *AuditDetail) UnmarshalJSON(b []byte) error {
	type alias AuditDetail
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = AuditDetail(a)
	return nil
}

func (x AuditDetail) MarshalJSON() ([]byte, error) {
	type alias AuditDetail
	return encode(alias(x), x.Extra)
}

func (x *Provenance) UnmarshalJSON(b []byte) error {
	type alias Provenance
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Provenance(a)
	return nil
}

func (x Provenance) MarshalJSON() ([]byte, error) {
	type alias Provenance
	return encode(alias(x), x.Extra)
}

func (x *ProvenanceAgent) UnmarshalJSON(b []byte) error {
	type alias ProvenanceAgent
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = ProvenanceAgent(a)
	return nil
}

func (x ProvenanceAgent) MarshalJSON() ([]byte, error) {
	type alias ProvenanceAgent
	return encode(alias(x), x.Extra)
}

func (x *Bundle) UnmarshalJSON(b []byte) error {
	type alias Bundle
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = Bundle(a)
	return nil
}

func (x Bundle) MarshalJSON() ([]byte, error) {
	type alias Bundle
	return encode(alias(x), x.Extra)
}

func (x *OperationOutcome) UnmarshalJSON(b []byte) error {
	type alias OperationOutcome
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = OperationOutcome(a)
	return nil
}

func (x OperationOutcome) MarshalJSON() ([]byte, error) {
	type alias OperationOutcome
	return encode(alias(x), x.Extra)
}

func (x *OutcomeIssue) UnmarshalJSON(b []byte) error {
	type alias OutcomeIssue
	var a alias
	if err := decode(b, &a, &a.Extra); err != nil {
		return err
	}
	*x = OutcomeIssue(a)
	return nil
}

func (x OutcomeIssue) MarshalJSON() ([]byte, error) {
	type alias OutcomeIssue
	return encode(alias(x), x.Extra)
}
