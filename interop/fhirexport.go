package interop

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// FHIR R4 (UK Core) export (issue 9, design.md §5): a patient's record or
// the whole practice, read through the services' export methods and mapped
// by fhir/.

// ---- export ----

// exportKinds are the record kinds a FHIR export carries: every kind the
// mapping carries (sessions as Schedules: they belong to no patient, so a
// patient's own bundle has none).
var exportKinds = fhir.MappedKinds()

func exportedKind(k record.Kind) bool { return fhir.MappingOf(k) != nil }

// fhirContext is what the mapping needs to name the practice and its users.
func fhirContext(pr record.Practice, users []record.User) *fhir.Context {
	c := &fhir.Context{Practice: pr, Users: make(map[string]record.User, len(users))}
	for _, u := range users {
		c.Users[u.Name] = u
	}
	return c
}

// FHIRBase is the base of the fullUrls in an exported Bundle (".invalid": a
// RESTful form so relative references resolve, naming no real server).
func FHIRBase(ods string) string { return "https://gpsoc.invalid/fhir/" + ods + "/" }

// ExportFHIRPatientFor is a patient's whole record as a collection Bundle
// (with the practice's Organization and its users as Practitioners), for a
// bulk export (the bulk-export right): a sensitive record needs a reason
// (else a PermissionError, audited); the export is audited as the record
// opened for export.
func ExportFHIRPatientFor(ctx context.Context, s *clinical.Service, ref string, ro clinical.ReadOptions) (*fhir.Bundle, error) {
	pr, err := s.ExportPatient(ctx, ref, ro, exportKinds)
	if err != nil {
		return nil, err
	}
	return patientBundle(pr, s.Now())
}

// EverythingFHIR is the API's Patient/$everything: the whole record read
// through the Patient read's rules (clinical.Service.Everything).
func EverythingFHIR(ctx context.Context, s *clinical.Service, ref string, ro clinical.ReadOptions) (*fhir.Bundle, error) {
	pr, err := s.Everything(ctx, ref, ro, exportKinds)
	if err != nil {
		return nil, err
	}
	return patientBundle(pr, s.Now())
}

func patientBundle(pr *clinical.PatientRecord, now time.Time) (*fhir.Bundle, error) {
	c := fhirContext(pr.Practice, pr.Users)
	res := make([]fhir.Resource, 0, 2+len(pr.Users)+len(pr.Records))
	res = append(res, c.OrganizationResource())
	for _, u := range pr.Users {
		res = append(res, c.PractitionerResource(u))
	}
	res = append(res, c.ExportResources(pr.Patient)...)
	for _, e := range pr.Records {
		res = append(res, c.ExportResources(e)...)
	}
	return BundleOf(c, "collection", res, now)
}

// BundleOf wraps resources in a Bundle of a type, with RESTful fullUrls.
func BundleOf(c *fhir.Context, typ string, res []fhir.Resource, now time.Time) (*fhir.Bundle, error) {
	b := &fhir.Bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: typ, Timestamp: now.UTC().Format(time.RFC3339)}
	if c.Practice.Demo {
		b.Meta = &fhir.Meta{Tag: []fhir.Coding{{System: fhir.CSActReason, Code: fhir.TagDemoCode, Display: fhir.TagDemoDisplay}}}
	}
	base := FHIRBase(c.Practice.ODS)
	for _, r := range res {
		raw, err := fhir.Marshal(r)
		if err != nil {
			return nil, err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + r.FHIRType() + "/" + *r.Head().ID, Resource: raw})
	}
	return b, nil
}

// ExportCounts is how many resources of each type an export wrote.
type ExportCounts map[string]int

// ExportFHIRAll streams the whole practice as FHIR resources, type by type
// (Organization, Practitioner, Patient, the clinical records, Task for tasks
// and recalls, Provenance for entered-in-error, and AuditEvent for the whole
// audit trail): FHIR Bulk Data's content, a complete exit. Audited.
func ExportFHIRAll(ctx context.Context, s *clinical.Service, emit func(fhir.Resource) error) (ExportCounts, error) {
	counts := ExportCounts{}
	put := func(r fhir.Resource) error {
		counts[r.FHIRType()]++
		return emit(r)
	}
	var c *fhir.Context
	imported := 0
	err := s.ExportAll(ctx, clinical.ExportAllOptions{
		Kinds: exportKinds,
		Query: "fhir bulk",
		Start: func(pr record.Practice, users []record.User) error {
			c = fhirContext(pr, users)
			if err := put(c.OrganizationResource()); err != nil {
				return err
			}
			for _, u := range users {
				if err := put(c.PractitionerResource(u)); err != nil {
					return err
				}
			}
			return nil
		},
		Record: func(e record.Entity) error {
			for _, r := range c.ExportResources(e) {
				if err := put(r); err != nil {
					return err
				}
			}
			return nil
		},
		Audit: func(ev *record.AuditEvent) error {
			return put(c.AuditEventResource(ev, exportedKind))
		},
		Imported: func(ie *record.ImportedAuditEvent) error {
			imported++
			return put(c.ImportedAuditEventResource(imported, ie, exportedKind))
		},
	})
	return counts, err
}
