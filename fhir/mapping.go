package fhir

import (
	"fmt"

	"github.com/opengpsoc/gpsoc/record"
)

// The one mapping between record kinds and FHIR resources (design.md §1).
// The server, the remote store and interop all map through this table:
// adding a record kind is one row here (with its record<->resource
// functions), and TestEveryKindIsMapped fails until it is added.

// A Mapping is how one record kind is carried in FHIR.
type Mapping struct {
	Kind record.Kind
	// Type is the resource type the kind is served, exported and imported as.
	Type string
	// Resources maps a record to its resources, the record's own first (a
	// consultation's coded entries, a prescription's issues follow).
	Resources func(c *Context, e record.Entity) []Resource
	// Record maps a resource of Type to a record of Kind.
	Record func(r Resource, rs Resolver) (record.Entity, []Note, error)
	// Holds reports whether a resource of Type is of this kind, where
	// several kinds share a type (a Task is a task or a recall); nil: all are.
	Holds func(r Resource) bool
}

// Mappings are every record kind's mapping, in the order exports carry them
// (sessions last: they belong to no patient).
var Mappings = []Mapping{
	{Kind: record.KindPatient, Type: "Patient",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.PatientResource(e.(*record.Patient))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) { return PatientFrom(r.(*Patient), rs) }},
	{Kind: record.KindConsultation, Type: "Encounter",
		Resources: func(c *Context, e record.Entity) []Resource { return c.EncounterResources(e.(*record.Consultation)) },
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) {
			return ConsultationFrom(r.(*Encounter), rs)
		}},
	{Kind: record.KindProblem, Type: "Condition",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.ConditionResource(e.(*record.Problem))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) { return ProblemFrom(r.(*Condition), rs) }},
	{Kind: record.KindObservation, Type: "Observation",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.ObservationResource(e.(*record.Observation))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) {
			return ObservationFrom(r.(*Observation), rs)
		}},
	{Kind: record.KindMedication, Type: "MedicationRequest",
		Resources: func(c *Context, e record.Entity) []Resource { return c.MedicationResources(e.(*record.Medication)) },
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) {
			x := r.(*MedicationRequest)
			return MedicationFrom(x, x.MedicationCodeableConcept, rs)
		}},
	{Kind: record.KindAllergy, Type: "AllergyIntolerance",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.AllergyResource(e.(*record.Allergy))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) {
			return AllergyFrom(r.(*AllergyIntolerance), rs)
		}},
	{Kind: record.KindImmunisation, Type: "Immunization",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.ImmunizationResource(e.(*record.Immunisation))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) {
			return ImmunisationFrom(r.(*Immunization), rs)
		}},
	{Kind: record.KindAppointment, Type: "Appointment",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.AppointmentResource(e.(*record.Appointment))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) {
			return AppointmentFrom(r.(*Appointment), rs)
		}},
	{Kind: record.KindTask, Type: "Task",
		Resources: func(c *Context, e record.Entity) []Resource { return []Resource{c.TaskResource(e.(*record.Task))} },
		Record:    func(r Resource, rs Resolver) (record.Entity, []Note, error) { return TaskFrom(r.(*Task), rs) },
		Holds:     func(r Resource) bool { return !IsRecall(r.(*Task)) }},
	{Kind: record.KindRecall, Type: "Task",
		Resources: func(c *Context, e record.Entity) []Resource { return []Resource{c.RecallResource(e.(*record.Recall))} },
		Record:    func(r Resource, rs Resolver) (record.Entity, []Note, error) { return RecallFrom(r.(*Task), rs) },
		Holds:     func(r Resource) bool { return IsRecall(r.(*Task)) }},
	{Kind: record.KindSession, Type: "Schedule",
		Resources: func(c *Context, e record.Entity) []Resource {
			return []Resource{c.ScheduleResource(e.(*record.Session))}
		},
		Record: func(r Resource, rs Resolver) (record.Entity, []Note, error) { return ScheduleFrom(r.(*Schedule), rs) }},
}

var (
	byKind = map[record.Kind]*Mapping{}
	byType = map[string][]*Mapping{}
	types  []string // in table order, each once
)

func init() {
	for i := range Mappings {
		m := &Mappings[i]
		byKind[m.Kind] = m
		if byType[m.Type] == nil {
			types = append(types, m.Type)
		}
		byType[m.Type] = append(byType[m.Type], m)
	}
}

// MappingOf is a record kind's mapping (nil when the kind is not carried in FHIR).
func MappingOf(k record.Kind) *Mapping { return byKind[k] }

// MappedKinds are the record kinds carried in FHIR, in the table's order.
func MappedKinds() []record.Kind {
	out := make([]record.Kind, len(Mappings))
	for i, m := range Mappings {
		out[i] = m.Kind
	}
	return out
}

// Types are the resource types records are carried as, in the table's order.
func Types() []string { return append([]string(nil), types...) }

// KindsOfType are the record kinds carried as a resource type (nil: none).
func KindsOfType(t string) []record.Kind {
	var out []record.Kind
	for _, m := range byType[t] {
		out = append(out, m.Kind)
	}
	return out
}

// KindType is the FHIR resource type a record kind is carried as ("" when none).
func KindType(k record.Kind) string {
	if m := byKind[k]; m != nil {
		return m.Type
	}
	return ""
}

// Resources maps a record to its resources, its own first (nil when its
// kind is not carried in FHIR).
func (c *Context) Resources(e record.Entity) []Resource {
	m := byKind[e.Kind()]
	if m == nil {
		return nil
	}
	return m.Resources(c, e)
}

// ExportResources are a record's resources and, when it was entered in
// error, the Provenance that says so: what an export carries.
func (c *Context) ExportResources(e record.Entity) []Resource {
	out := c.Resources(e)
	if out == nil {
		return nil
	}
	if m := e.Head(); m.Retraction != nil {
		out = append(out, c.ProvenanceResource(KindType(e.Kind()), m.ID, m.Retraction))
	}
	return out
}

// Resource is the resource of type t that represents a record: the one with
// the record's id, else the first of that type (nil when none).
func (c *Context) Resource(e record.Entity, t string) Resource {
	rs := c.Resources(e)
	id := e.Head().ID
	for _, r := range rs {
		if r.FHIRType() == t && *r.Head().ID == id {
			return r
		}
	}
	for _, r := range rs {
		if r.FHIRType() == t {
			return r
		}
	}
	return nil
}

// RecordFrom maps a resource to the record it holds, by the table (an
// error names a resource type that holds no record).
func RecordFrom(r Resource, rs Resolver) (record.Entity, []Note, error) {
	for _, m := range byType[r.FHIRType()] {
		if m.Holds == nil || m.Holds(r) {
			e, n, err := m.Record(r, rs)
			if err != nil {
				return nil, n, err
			}
			return e, n, nil
		}
	}
	return nil, nil, fmt.Errorf("%s is not a record type", r.FHIRType())
}
