// Package badmapping is a planted second FHIR mapping: a face mapping a
// record kind itself instead of through fhir's table. The house test must find it.
package badmapping

import (
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// Own maps records kind by kind.
func Own(c *fhir.Context, e record.Entity) fhir.Resource {
	switch x := e.(type) {
	case *record.Patient:
		return c.PatientResource(x)
	}
	return c.Resource(e, fhir.KindType(e.Kind()))
}
