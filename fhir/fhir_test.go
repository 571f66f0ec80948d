package fhir_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opengpsoc/gpsoc/fhir"
)

// semEqual compares two JSON documents by meaning (key order and spacing
// aside; numbers by their lexical form).
func semEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	for _, p := range []struct {
		b []byte
		v *any
	}{{a, &x}, {b, &y}} {
		d := json.NewDecoder(bytes.NewReader(p.b))
		d.UseNumber()
		if err := d.Decode(p.v); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return reflect.DeepEqual(x, y)
}

const ukPatient = `{"resourceType":"Patient","id":"p1",
 "meta":{"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]},
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009",
   "extension":[{"url":"https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
     "valueCodeableConcept":{"coding":[{"system":"https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland","code":"01","display":"Number present and verified"}]}}]}],
 "name":[{"use":"official","family":"Smith","given":["Jane","Ann"],"_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"y"}]}]}],
 "gender":"female","birthDate":"1970-01-31",
 "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-31T14:35:45+00:00"}]},
 "multipleBirthInteger":2,
 "contact":[{"name":{"family":"Smith"}}],
 "vendorThing":{"nested":[1,2.50,"x"]},
 "generalPractitioner":[{"type":"Organization","identifier":{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":"Y12345"}}]}`

func TestUnknownElementsAndPrimitiveExtensionsSurvive(t *testing.T) {
	r, err := fhir.Parse([]byte(ukPatient))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.(*fhir.Patient)
	if !ok {
		t.Fatalf("parsed as %T", r)
	}
	if p.Identifier[0].Value != "9000000009" || p.BirthDate != "1970-01-31" {
		t.Fatalf("fields not read: %+v", p)
	}
	if _, ok := p.Extra["_birthDate"]; !ok {
		t.Fatalf("_birthDate not kept: %v", p.Extra)
	}
	out, err := fhir.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !semEqual(t, []byte(ukPatient), out) {
		t.Fatalf("round trip changed the resource:\n%s", out)
	}
}

func TestDecimalPrecisionKept(t *testing.T) {
	in := `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"valueQuantity":{"value":72.50,"unit":"kg"}}`
	r, err := fhir.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := fhir.Marshal(r)
	if !bytes.Contains(out, []byte(`"value":72.50`)) {
		t.Fatalf("72.50 lost its precision: %s", out)
	}
}

func TestUnmodelledTypeKeptVerbatim(t *testing.T) {
	in := `{"resourceType":"Claim","id":"c1","status":"active","whatever":[1]}`
	r, err := fhir.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if r.FHIRType() != "Claim" {
		t.Fatalf("type %q", r.FHIRType())
	}
	out, _ := fhir.Marshal(r)
	if !semEqual(t, []byte(in), out) {
		t.Fatalf("raw resource changed: %s", out)
	}
}

func TestParseRejectsNonResources(t *testing.T) {
	for _, in := range []string{`{"id":"x"}`, `[1]`, `{"resourceType":"Patient","birthDate":12}`} {
		if _, err := fhir.Parse([]byte(in)); err == nil {
			t.Errorf("%s: parsed without error", in)
		}
	}
}

// Every resource of every Synthea bundle reads and writes back unchanged.
func TestSyntheaResourcesRoundTripLosslessly(t *testing.T) {
	files, _ := filepath.Glob("testdata/synthea/*.json.gz")
	if len(files) != 100 {
		t.Fatalf("%d Synthea bundles in testdata, want 100", len(files))
	}
	n := 0
	for _, f := range files {
		raw := gunzip(t, f)
		r, err := fhir.Parse(raw)
		if err != nil {
			t.Fatal(f, err)
		}
		b := r.(*fhir.Bundle)
		for i, e := range b.Entry {
			res, err := fhir.Parse(e.Resource)
			if err != nil {
				t.Fatalf("%s entry %d: %v", f, i, err)
			}
			out, err := fhir.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if !semEqual(t, e.Resource, out) {
				t.Fatalf("%s entry %d (%s) changed:\n in: %s\nout: %s", f, i, res.FHIRType(), e.Resource, out)
			}
			n++
		}
		out, _ := fhir.Marshal(b)
		if !semEqual(t, raw, out) {
			t.Fatalf("%s: bundle changed", f)
		}
	}
	t.Logf("%d resources read and written back unchanged", n)
}

func gunzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
