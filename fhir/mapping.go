package fhir

import (
	"encoding/json"
	"fmt"

	gojson "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
)

// The one mapping between record kinds and FHIR resources (design.md §1).
// The server, the remote store and interop all map through this table:
// adding a record kind is one row here (with its record<->resource
// functions), or one entry in NotCarried saying why it has no resource, and
// TestEveryKindIsMapped fails until it is one or the other.

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

// NotCarried are the record kinds FHIR does not carry as resources of their
// own, each with the reason: a new record kind goes in Mappings or here, and
// TestEveryKindIsMapped fails until it is in one of them.
var NotCarried = map[record.Kind]string{
	record.KindReport: "a laboratory report arrives as a message (interop/pathology) and is filed as Observations, " +
		"which carry its values and name it; the inbox's own record of it is not served or exported",
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
	out := m.Resources(c, e)
	if imp := e.Head().Imported; imp != nil && len(out) > 0 {
		markImported(out[0], imp)
	}
	return out
}

// markImported labels a resource whose record came in with a bulk import of
// history: a meta tag a reader sees, and the original author and time as
// data (ExtImported), read back by ImportedOf.
func markImported(r Resource, imp *record.ImportedFrom) {
	h := r.Head()
	b, _ := gojson.Marshal(imp)
	*h.Ext = append(*h.Ext, Extension{URL: ExtImported, ValueString: str(string(b))})
	if *h.Meta == nil {
		*h.Meta = &Meta{}
	}
	// The tag says where from; who and when are in the extension (not twice
	// in every resource of an export).
	(*h.Meta).Tag = append((*h.Meta).Tag, Coding{System: CSRecordOrigin, Code: "imported", Display: "imported from " + imp.Source})
}

// ImportedOf is the import mark a resource carries (nil when none): a
// record imported before keeps where it first came from and its author.
func ImportedOf(r Resource) *record.ImportedFrom {
	for _, x := range *r.Head().Ext {
		if x.URL == ExtImported && x.ValueString != nil {
			var f record.ImportedFrom
			if json.Unmarshal([]byte(*x.ValueString), &f) == nil && f.Source != "" {
				return &f
			}
		}
	}
	return nil
}

// AuthorOf is who recorded a resource where it came from, and when, as it
// says (its recorder, performer, asserter or participant; "" when it names none).
func AuthorOf(r Resource, rs Resolver) (string, string) {
	switch x := r.(type) {
	case *Condition:
		return who(rs, x.Recorder), x.RecordedDate
	case *AllergyIntolerance:
		return who(rs, x.Recorder), x.RecordedDate
	case *Observation:
		if len(x.Performer) > 0 {
			return who(rs, &x.Performer[0]), x.Issued
		}
		return "", x.Issued
	case *MedicationStatement:
		return who(rs, x.InformationSource), x.DateAsserted
	case *Encounter:
		for _, p := range x.Participant {
			if p.Individual != nil {
				return who(rs, p.Individual), ""
			}
		}
	case *MedicationRequest:
		return who(rs, x.Requester), x.AuthoredOn
	case *Immunization:
		for _, raw := range x.Performer {
			var p struct {
				Actor *Reference `json:"actor"`
			}
			if json.Unmarshal(raw, &p) == nil && p.Actor != nil {
				return who(rs, p.Actor), ""
			}
		}
	}
	return "", ""
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
