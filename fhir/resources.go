package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Resource is any resource of this package.
type Resource interface {
	FHIRType() string
	Head() *Header
}

// Header is what every resource has (embedded by value would break the
// per-type (un)marshalling, so each resource repeats these fields and returns them here).
type Header struct {
	ID   *string
	Meta **Meta
	Ext  *[]Extension
}

type Patient struct {
	ResourceType         string           `json:"resourceType"`
	ID                   string           `json:"id,omitempty"`
	Meta                 *Meta            `json:"meta,omitempty"`
	Text                 *Narrative       `json:"text,omitempty"`
	Extension            []Extension      `json:"extension,omitempty"`
	Identifier           []Identifier     `json:"identifier,omitempty"`
	Active               *bool            `json:"active,omitempty"`
	Name                 []HumanName      `json:"name,omitempty"`
	Telecom              []ContactPoint   `json:"telecom,omitempty"`
	Gender               string           `json:"gender,omitempty"`
	BirthDate            string           `json:"birthDate,omitempty"`
	DeceasedBoolean      *bool            `json:"deceasedBoolean,omitempty"`
	DeceasedDateTime     string           `json:"deceasedDateTime,omitempty"`
	Address              []Address        `json:"address,omitempty"`
	GeneralPractitioner  []Reference      `json:"generalPractitioner,omitempty"`
	ManagingOrganization *Reference       `json:"managingOrganization,omitempty"`
	MaritalStatus        *CodeableConcept `json:"maritalStatus,omitempty"`
	Extra                Extra            `json:"-"`
}

type Practitioner struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Text         *Narrative     `json:"text,omitempty"`
	Extension    []Extension    `json:"extension,omitempty"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Active       *bool          `json:"active,omitempty"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	Gender       string         `json:"gender,omitempty"`
	Address      []Address      `json:"address,omitempty"`
	Extra        Extra          `json:"-"`
}

type Organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Text         *Narrative        `json:"text,omitempty"`
	Extension    []Extension       `json:"extension,omitempty"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
	Address      []Address         `json:"address,omitempty"`
	Extra        Extra             `json:"-"`
}

type EncounterParticipant struct {
	Type       []CodeableConcept `json:"type,omitempty"`
	Period     *Period           `json:"period,omitempty"`
	Individual *Reference        `json:"individual,omitempty"`
	Extra      Extra             `json:"-"`
}

type EncounterLocation struct {
	Location Reference `json:"location"`
	Extra    Extra     `json:"-"`
}

type Encounter struct {
	ResourceType    string                 `json:"resourceType"`
	ID              string                 `json:"id,omitempty"`
	Meta            *Meta                  `json:"meta,omitempty"`
	Text            *Narrative             `json:"text,omitempty"`
	Extension       []Extension            `json:"extension,omitempty"`
	Identifier      []Identifier           `json:"identifier,omitempty"`
	Status          string                 `json:"status"`
	Class           *Coding                `json:"class,omitempty"`
	Type            []CodeableConcept      `json:"type,omitempty"`
	Subject         *Reference             `json:"subject,omitempty"`
	Participant     []EncounterParticipant `json:"participant,omitempty"`
	Period          *Period                `json:"period,omitempty"`
	ReasonCode      []CodeableConcept      `json:"reasonCode,omitempty"`
	ReasonReference []Reference            `json:"reasonReference,omitempty"`
	Location        []EncounterLocation    `json:"location,omitempty"`
	ServiceProvider *Reference             `json:"serviceProvider,omitempty"`
	Extra           Extra                  `json:"-"`
}

type Condition struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	Meta               *Meta             `json:"meta,omitempty"`
	Text               *Narrative        `json:"text,omitempty"`
	Extension          []Extension       `json:"extension,omitempty"`
	Identifier         []Identifier      `json:"identifier,omitempty"`
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Severity           *CodeableConcept  `json:"severity,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Subject            *Reference        `json:"subject,omitempty"`
	Encounter          *Reference        `json:"encounter,omitempty"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	AbatementDateTime  string            `json:"abatementDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *Reference        `json:"recorder,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
	Extra              Extra             `json:"-"`
}

type ObservationComponent struct {
	Code                 CodeableConcept  `json:"code"`
	ValueQuantity        *Quantity        `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueString          *string          `json:"valueString,omitempty"`
	Extra                Extra            `json:"-"`
}

type Observation struct {
	ResourceType         string                 `json:"resourceType"`
	ID                   string                 `json:"id,omitempty"`
	Meta                 *Meta                  `json:"meta,omitempty"`
	Text                 *Narrative             `json:"text,omitempty"`
	Extension            []Extension            `json:"extension,omitempty"`
	Identifier           []Identifier           `json:"identifier,omitempty"`
	Status               string                 `json:"status"`
	Category             []CodeableConcept      `json:"category,omitempty"`
	Code                 CodeableConcept        `json:"code"`
	Subject              *Reference             `json:"subject,omitempty"`
	Encounter            *Reference             `json:"encounter,omitempty"`
	EffectiveDateTime    string                 `json:"effectiveDateTime,omitempty"`
	EffectivePeriod      *Period                `json:"effectivePeriod,omitempty"`
	Issued               string                 `json:"issued,omitempty"`
	Performer            []Reference            `json:"performer,omitempty"`
	ValueQuantity        *Quantity              `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *CodeableConcept       `json:"valueCodeableConcept,omitempty"`
	ValueString          *string                `json:"valueString,omitempty"`
	ValueBoolean         *bool                  `json:"valueBoolean,omitempty"`
	ValueInteger         *int                   `json:"valueInteger,omitempty"`
	Note                 []Annotation           `json:"note,omitempty"`
	Component            []ObservationComponent `json:"component,omitempty"`
	Extra                Extra                  `json:"-"`
}

type Procedure struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id,omitempty"`
	Meta              *Meta             `json:"meta,omitempty"`
	Text              *Narrative        `json:"text,omitempty"`
	Extension         []Extension       `json:"extension,omitempty"`
	Identifier        []Identifier      `json:"identifier,omitempty"`
	Status            string            `json:"status"`
	Code              *CodeableConcept  `json:"code,omitempty"`
	Subject           Reference         `json:"subject"`
	Encounter         *Reference        `json:"encounter,omitempty"`
	PerformedDateTime string            `json:"performedDateTime,omitempty"`
	PerformedPeriod   *Period           `json:"performedPeriod,omitempty"`
	Performer         []json.RawMessage `json:"performer,omitempty"`
	Note              []Annotation      `json:"note,omitempty"`
	Extra             Extra             `json:"-"`
}

type MedicationRequest struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id,omitempty"`
	Meta                      *Meta             `json:"meta,omitempty"`
	Text                      *Narrative        `json:"text,omitempty"`
	Extension                 []Extension       `json:"extension,omitempty"`
	Identifier                []Identifier      `json:"identifier,omitempty"`
	Status                    string            `json:"status"`
	StatusReason              *CodeableConcept  `json:"statusReason,omitempty"`
	Intent                    string            `json:"intent"`
	Category                  []CodeableConcept `json:"category,omitempty"`
	ReportedBoolean           *bool             `json:"reportedBoolean,omitempty"`
	MedicationCodeableConcept *CodeableConcept  `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *Reference        `json:"medicationReference,omitempty"`
	Subject                   Reference         `json:"subject"`
	Encounter                 *Reference        `json:"encounter,omitempty"`
	AuthoredOn                string            `json:"authoredOn,omitempty"`
	Requester                 *Reference        `json:"requester,omitempty"`
	BasedOn                   []Reference       `json:"basedOn,omitempty"`
	CourseOfTherapyType       *CodeableConcept  `json:"courseOfTherapyType,omitempty"`
	Note                      []Annotation      `json:"note,omitempty"`
	DosageInstruction         []Dosage          `json:"dosageInstruction,omitempty"`
	DispenseRequest           *DispenseRequest  `json:"dispenseRequest,omitempty"`
	Substitution              json.RawMessage   `json:"substitution,omitempty"`
	PriorPrescription         *Reference        `json:"priorPrescription,omitempty"`
	Extra                     Extra             `json:"-"`
}

type MedicationStatement struct {
	ResourceType              string           `json:"resourceType"`
	ID                        string           `json:"id,omitempty"`
	Meta                      *Meta            `json:"meta,omitempty"`
	Text                      *Narrative       `json:"text,omitempty"`
	Extension                 []Extension      `json:"extension,omitempty"`
	Identifier                []Identifier     `json:"identifier,omitempty"`
	BasedOn                   []Reference      `json:"basedOn,omitempty"`
	Status                    string           `json:"status"`
	MedicationCodeableConcept *CodeableConcept `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *Reference       `json:"medicationReference,omitempty"`
	Subject                   Reference        `json:"subject"`
	Context                   *Reference       `json:"context,omitempty"`
	EffectiveDateTime         string           `json:"effectiveDateTime,omitempty"`
	EffectivePeriod           *Period          `json:"effectivePeriod,omitempty"`
	DateAsserted              string           `json:"dateAsserted,omitempty"`
	InformationSource         *Reference       `json:"informationSource,omitempty"`
	Note                      []Annotation     `json:"note,omitempty"`
	Dosage                    []Dosage         `json:"dosage,omitempty"`
	Extra                     Extra            `json:"-"`
}

type AllergyReaction struct {
	Substance     *CodeableConcept  `json:"substance,omitempty"`
	Manifestation []CodeableConcept `json:"manifestation"`
	Description   string            `json:"description,omitempty"`
	Severity      string            `json:"severity,omitempty"`
	Extra         Extra             `json:"-"`
}

type AllergyIntolerance struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	Meta               *Meta             `json:"meta,omitempty"`
	Text               *Narrative        `json:"text,omitempty"`
	Extension          []Extension       `json:"extension,omitempty"`
	Identifier         []Identifier      `json:"identifier,omitempty"`
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Type               string            `json:"type,omitempty"`
	Category           []string          `json:"category,omitempty"`
	Criticality        string            `json:"criticality,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Patient            Reference         `json:"patient"`
	Encounter          *Reference        `json:"encounter,omitempty"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *Reference        `json:"recorder,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
	Reaction           []AllergyReaction `json:"reaction,omitempty"`
	Extra              Extra             `json:"-"`
}

type Immunization struct {
	ResourceType       string            `json:"resourceType"`
	ID                 string            `json:"id,omitempty"`
	Meta               *Meta             `json:"meta,omitempty"`
	Text               *Narrative        `json:"text,omitempty"`
	Extension          []Extension       `json:"extension,omitempty"`
	Identifier         []Identifier      `json:"identifier,omitempty"`
	Status             string            `json:"status"`
	VaccineCode        CodeableConcept   `json:"vaccineCode"`
	Patient            Reference         `json:"patient"`
	Encounter          *Reference        `json:"encounter,omitempty"`
	OccurrenceDateTime string            `json:"occurrenceDateTime,omitempty"`
	OccurrenceString   string            `json:"occurrenceString,omitempty"`
	PrimarySource      *bool             `json:"primarySource,omitempty"`
	LotNumber          string            `json:"lotNumber,omitempty"`
	Site               *CodeableConcept  `json:"site,omitempty"`
	Performer          []json.RawMessage `json:"performer,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
	Extra              Extra             `json:"-"`
}

type AppointmentParticipant struct {
	Type     []CodeableConcept `json:"type,omitempty"`
	Actor    *Reference        `json:"actor,omitempty"`
	Required string            `json:"required,omitempty"`
	Status   string            `json:"status"`
	Extra    Extra             `json:"-"`
}

type Appointment struct {
	ResourceType    string                   `json:"resourceType"`
	ID              string                   `json:"id,omitempty"`
	Meta            *Meta                    `json:"meta,omitempty"`
	Text            *Narrative               `json:"text,omitempty"`
	Extension       []Extension              `json:"extension,omitempty"`
	Identifier      []Identifier             `json:"identifier,omitempty"`
	Status          string                   `json:"status"`
	ServiceType     []CodeableConcept        `json:"serviceType,omitempty"`
	AppointmentType *CodeableConcept         `json:"appointmentType,omitempty"`
	Description     string                   `json:"description,omitempty"`
	Start           string                   `json:"start,omitempty"`
	End             string                   `json:"end,omitempty"`
	MinutesDuration *int                     `json:"minutesDuration,omitempty"`
	Created         string                   `json:"created,omitempty"`
	Comment         string                   `json:"comment,omitempty"`
	Participant     []AppointmentParticipant `json:"participant"`
	Extra           Extra                    `json:"-"`
}

// Schedule is a clinician's session: a block of bookable slots on one day.
type Schedule struct {
	ResourceType    string            `json:"resourceType"`
	ID              string            `json:"id,omitempty"`
	Meta            *Meta             `json:"meta,omitempty"`
	Text            *Narrative        `json:"text,omitempty"`
	Extension       []Extension       `json:"extension,omitempty"`
	Identifier      []Identifier      `json:"identifier,omitempty"`
	Active          *bool             `json:"active,omitempty"`
	ServiceCategory []CodeableConcept `json:"serviceCategory,omitempty"`
	ServiceType     []CodeableConcept `json:"serviceType,omitempty"`
	Specialty       []CodeableConcept `json:"specialty,omitempty"`
	Actor           []Reference       `json:"actor"`
	PlanningHorizon *Period           `json:"planningHorizon,omitempty"`
	Comment         string            `json:"comment,omitempty"`
	Extra           Extra             `json:"-"`
}

type TaskRestriction struct {
	Period *Period `json:"period,omitempty"`
	Extra  Extra   `json:"-"`
}

type Task struct {
	ResourceType    string           `json:"resourceType"`
	ID              string           `json:"id,omitempty"`
	Meta            *Meta            `json:"meta,omitempty"`
	Text            *Narrative       `json:"text,omitempty"`
	Extension       []Extension      `json:"extension,omitempty"`
	Identifier      []Identifier     `json:"identifier,omitempty"`
	Status          string           `json:"status"`
	Intent          string           `json:"intent"`
	Code            *CodeableConcept `json:"code,omitempty"`
	Description     string           `json:"description,omitempty"`
	For             *Reference       `json:"for,omitempty"`
	ExecutionPeriod *Period          `json:"executionPeriod,omitempty"`
	AuthoredOn      string           `json:"authoredOn,omitempty"`
	Requester       *Reference       `json:"requester,omitempty"`
	Owner           *Reference       `json:"owner,omitempty"`
	ReasonCode      *CodeableConcept `json:"reasonCode,omitempty"`
	Note            []Annotation     `json:"note,omitempty"`
	Restriction     *TaskRestriction `json:"restriction,omitempty"`
	Extra           Extra            `json:"-"`
}

type AuditDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString,omitempty"`
	Extra       Extra  `json:"-"`
}

type AuditEntity struct {
	What        *Reference    `json:"what,omitempty"`
	Type        *Coding       `json:"type,omitempty"`
	Role        *Coding       `json:"role,omitempty"`
	Name        string        `json:"name,omitempty"`
	Description string        `json:"description,omitempty"`
	Detail      []AuditDetail `json:"detail,omitempty"`
	Extra       Extra         `json:"-"`
}

type AuditAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       *Reference        `json:"who,omitempty"`
	Name      string            `json:"name,omitempty"`
	Requestor bool              `json:"requestor"`
	Extra     Extra             `json:"-"`
}

type AuditSource struct {
	Site     string    `json:"site,omitempty"`
	Observer Reference `json:"observer"`
	Type     []Coding  `json:"type,omitempty"`
	Extra    Extra     `json:"-"`
}

type AuditEvent struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id,omitempty"`
	Meta           *Meta             `json:"meta,omitempty"`
	Text           *Narrative        `json:"text,omitempty"`
	Extension      []Extension       `json:"extension,omitempty"`
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome,omitempty"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []AuditAgent      `json:"agent"`
	Source         AuditSource       `json:"source"`
	Entity         []AuditEntity     `json:"entity,omitempty"`
	Extra          Extra             `json:"-"`
}

type ProvenanceAgent struct {
	Type  *CodeableConcept `json:"type,omitempty"`
	Who   Reference        `json:"who"`
	Extra Extra            `json:"-"`
}

type Provenance struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Text         *Narrative        `json:"text,omitempty"`
	Extension    []Extension       `json:"extension,omitempty"`
	Target       []Reference       `json:"target"`
	Recorded     string            `json:"recorded"`
	Reason       []CodeableConcept `json:"reason,omitempty"`
	Activity     *CodeableConcept  `json:"activity,omitempty"`
	Agent        []ProvenanceAgent `json:"agent"`
	Extra        Extra             `json:"-"`
}

type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
	Extra    Extra  `json:"-"`
}

type BundleSearch struct {
	Mode  string `json:"mode,omitempty"`
	Extra Extra  `json:"-"`
}

type BundleRequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
	IfMatch     string `json:"ifMatch,omitempty"`
	Extra       Extra  `json:"-"`
}

type BundleResponse struct {
	Status   string `json:"status"`
	Location string `json:"location,omitempty"`
	Extra    Extra  `json:"-"`
}

type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
	Extra    Extra           `json:"-"`
}

type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Identifier   *Identifier   `json:"identifier,omitempty"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp,omitempty"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
	Extra        Extra         `json:"-"`
}

type OutcomeIssue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
	Extra       Extra            `json:"-"`
}

type OperationOutcome struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id,omitempty"`
	Meta         *Meta          `json:"meta,omitempty"`
	Issue        []OutcomeIssue `json:"issue"`
	Extra        Extra          `json:"-"`
}

// Raw is a resource of a type this package does not model, kept verbatim.
type Raw struct {
	ResourceType string
	ID           string
	JSON         json.RawMessage
}

func (r *Raw) MarshalJSON() ([]byte, error) { return r.JSON, nil }

// Type names.
func (*Patient) FHIRType() string             { return "Patient" }
func (*Practitioner) FHIRType() string        { return "Practitioner" }
func (*Organization) FHIRType() string        { return "Organization" }
func (*Encounter) FHIRType() string           { return "Encounter" }
func (*Condition) FHIRType() string           { return "Condition" }
func (*Observation) FHIRType() string         { return "Observation" }
func (*Procedure) FHIRType() string           { return "Procedure" }
func (*MedicationRequest) FHIRType() string   { return "MedicationRequest" }
func (*MedicationStatement) FHIRType() string { return "MedicationStatement" }
func (*AllergyIntolerance) FHIRType() string  { return "AllergyIntolerance" }
func (*Immunization) FHIRType() string        { return "Immunization" }
func (*Appointment) FHIRType() string         { return "Appointment" }
func (*Task) FHIRType() string                { return "Task" }
func (*Schedule) FHIRType() string            { return "Schedule" }
func (*AuditEvent) FHIRType() string          { return "AuditEvent" }
func (*Provenance) FHIRType() string          { return "Provenance" }
func (*Bundle) FHIRType() string              { return "Bundle" }
func (*OperationOutcome) FHIRType() string    { return "OperationOutcome" }
func (r *Raw) FHIRType() string               { return r.ResourceType }

func (r *Patient) Head() *Header             { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Practitioner) Head() *Header        { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Organization) Head() *Header        { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Encounter) Head() *Header           { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Condition) Head() *Header           { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Observation) Head() *Header         { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Procedure) Head() *Header           { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *MedicationRequest) Head() *Header   { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *MedicationStatement) Head() *Header { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *AllergyIntolerance) Head() *Header  { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Immunization) Head() *Header        { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Appointment) Head() *Header         { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Task) Head() *Header                { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Schedule) Head() *Header            { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *AuditEvent) Head() *Header          { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Provenance) Head() *Header          { return &Header{&r.ID, &r.Meta, &r.Extension} }
func (r *Bundle) Head() *Header              { return &Header{ID: &r.ID, Meta: &r.Meta, Ext: new([]Extension)} }
func (r *OperationOutcome) Head() *Header {
	return &Header{ID: &r.ID, Meta: &r.Meta, Ext: new([]Extension)}
}
func (r *Raw) Head() *Header { return &Header{ID: &r.ID, Meta: new(*Meta), Ext: new([]Extension)} }

// newResource is an empty resource of a modelled type.
func newResource(t string) Resource {
	switch t {
	case "Patient":
		return &Patient{}
	case "Practitioner":
		return &Practitioner{}
	case "Organization":
		return &Organization{}
	case "Encounter":
		return &Encounter{}
	case "Condition":
		return &Condition{}
	case "Observation":
		return &Observation{}
	case "Procedure":
		return &Procedure{}
	case "MedicationRequest":
		return &MedicationRequest{}
	case "MedicationStatement":
		return &MedicationStatement{}
	case "AllergyIntolerance":
		return &AllergyIntolerance{}
	case "Immunization":
		return &Immunization{}
	case "Appointment":
		return &Appointment{}
	case "Task":
		return &Task{}
	case "Schedule":
		return &Schedule{}
	case "AuditEvent":
		return &AuditEvent{}
	case "Provenance":
		return &Provenance{}
	case "Bundle":
		return &Bundle{}
	case "OperationOutcome":
		return &OperationOutcome{}
	}
	return nil
}

// Modelled reports whether this package has a struct for a resource type.
func Modelled(t string) bool { return newResource(t) != nil }

// Parse reads one resource. A type this package does not model comes back
// as *Raw, whose JSON is b itself (not copied, not validated).
func Parse(b []byte) (Resource, error) {
	var probe struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	probeMembers(b, func(key, val []byte) bool {
		switch string(key) {
		case "resourceType":
			_ = json.Unmarshal(val, &probe.ResourceType)
		case "id":
			_ = json.Unmarshal(val, &probe.ID)
		}
		return probe.ResourceType == "" || probe.ID == ""
	})
	if probe.ResourceType == "" {
		var x any
		if err := json.Unmarshal(b, &x); err != nil {
			return nil, fmt.Errorf("not a FHIR resource: %w", err)
		}
		if _, ok := x.(map[string]any); !ok {
			return nil, fmt.Errorf("not a FHIR resource: not a JSON object")
		}
		return nil, fmt.Errorf("not a FHIR resource: no resourceType")
	}
	r := newResource(probe.ResourceType)
	if r == nil {
		// Kept as given, not validated (nothing reads it but Marshal; an import
		// skips it); JSON aliases b. Inside a Bundle, SplitBundle has checked
		// its brackets and strings. A full check here cost a sixth of a
		// Synthea import, whose bytes are half Claims and EOBs.
		return &Raw{ResourceType: probe.ResourceType, ID: probe.ID, JSON: b}, nil
	}
	if err := Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %w", probe.ResourceType, err)
	}
	return r, nil
}

// SplitBundle reads a Bundle without decoding its resources: each
// Entry.Resource is a slice of b (so b must not change while they are used).
// Much faster than Unmarshal for the large bundles of an import; the
// resources are validated when each is parsed.
func SplitBundle(b []byte) (*Bundle, error) {
	bd := &Bundle{}
	end, err := strictMembers(b, 0, func(key, val []byte) error {
		var err error
		switch string(key) {
		case "resourceType":
			err = json.Unmarshal(val, &bd.ResourceType)
		case "id":
			err = json.Unmarshal(val, &bd.ID)
		case "type":
			err = json.Unmarshal(val, &bd.Type)
		case "entry":
		default:
			// Not imported, but part of the Bundle: malformed, it spoils the whole.
			if !json.Valid(val) {
				err = errors.New("not valid JSON")
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if string(key) == "entry" {
			if len(val) == 0 || val[0] != '[' {
				return fmt.Errorf("Bundle.entry is not an array")
			}
			err = strictElems(val, func(el []byte) error {
				e := BundleEntry{}
				if _, err := strictMembers(el, 0, func(k, v []byte) error {
					var e2 error
					switch string(k) {
					case "fullUrl":
						e2 = json.Unmarshal(v, &e.FullURL)
					case "resource":
						e.Resource = v
					case "request":
						e.Request = &BundleRequest{}
						e2 = json.Unmarshal(v, e.Request)
					case "search":
						e.Search = &BundleSearch{}
						e2 = json.Unmarshal(v, e.Search)
					default:
						if !json.Valid(v) {
							e2 = errors.New("not valid JSON")
						}
					}
					if e2 != nil {
						return fmt.Errorf("%s: %w", k, e2)
					}
					return nil
				}); err != nil {
					return err
				}
				bd.Entry = append(bd.Entry, e)
				return nil
			})
			if err != nil {
				return fmt.Errorf("entry%w", err)
			}
		}
		return nil
	})
	if err == nil && skipWS(b, end) != len(b) {
		err = fmt.Errorf("unexpected data after the end at byte %d", end)
	}
	if err != nil {
		return nil, fmt.Errorf("Bundle is malformed and was refused whole: %w", err)
	}
	if bd.ResourceType != "Bundle" {
		return nil, fmt.Errorf("not a Bundle")
	}
	return bd, nil
}

// ResourceTypeOf is the resourceType of a JSON object ("" when it has none).
func ResourceTypeOf(b []byte) string {
	t := ""
	probeMembers(b, func(key, val []byte) bool {
		if string(key) == "resourceType" {
			_ = json.Unmarshal(val, &t)
			return false
		}
		return true
	})
	return t
}

// Probe reads a resource's type and id without decoding the rest.
func Probe(b []byte) (resourceType, id string) {
	probeMembers(b, func(key, val []byte) bool {
		switch string(key) {
		case "resourceType":
			_ = json.Unmarshal(val, &resourceType)
		case "id":
			_ = json.Unmarshal(val, &id)
		}
		return resourceType == "" || id == ""
	})
	return
}
