package interop_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// fxExtraBundle is other-generator.json with unknown elements, primitive
// extensions and vendor extensions added at several depths, a decimal written
// with a trailing zero, and a coded (LOINC, foreign) smoking-status result.
// Without unknown, only what FHIR R4 allows is added (extensions, primitive
// extensions, decimals), and the vendor's own unknown member is removed.
func fxExtraBundle(t *testing.T, unknown bool) []byte {
	t.Helper()
	raw, err := os.ReadFile("../fhir/testdata/other-generator.json")
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	entries := b["entry"].([]any)
	var patURL string
	for _, e := range entries {
		en := e.(map[string]any)
		r := en["resource"].(map[string]any)
		switch r["resourceType"] {
		case "Patient":
			patURL = en["fullUrl"].(string)
			r["extension"] = []any{map[string]any{"url": "https://vendor.example/StructureDefinition/preferred-pharmacy",
				"valueString": "Boots, Headingley"}}
			r["maritalStatus"] = map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}}}
			addr := r["address"].([]any)[0].(map[string]any)
			if unknown {
				addr["vendorAddressKey"] = "UPRN-72635"
			} else {
				delete(r, "vendorFlag")
			}
			addr["_city"] = map[string]any{"extension": []any{map[string]any{"url": "https://vendor.example/checked", "valueBoolean": true}}}
		case "Observation":
			code := r["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]
			if code == "27113001" {
				r["valueQuantity"].(map[string]any)["value"] = json.Number("72.50")
				r["identifier"] = []any{map[string]any{"system": "https://old-vendor.example/Id/obs", "value": "W-1"}}
				if unknown {
					r["vendorDevice"] = map[string]any{"serial": "SC-9", "model": []any{"A", json.Number("2.50")}}
				}
				r["_status"] = map[string]any{"extension": []any{map[string]any{"url": "https://vendor.example/reviewed", "valueBoolean": true}}}
			}
		}
	}
	b["entry"] = append(entries, map[string]any{
		"fullUrl": "urn:uuid:6a1f3c0e-1111-4c1e-9c55-0000000000f1",
		"resource": map[string]any{
			"resourceType": "Observation", "status": "final",
			"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "72166-2", "display": "Tobacco smoking status"}}},
			"subject":           map[string]any{"reference": patURL},
			"effectiveDateTime": "2025-02-03T10:30:00+00:00",
			"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct",
				"code": "8517006", "display": "Ex-smoker"}}, "text": "Ex-smoker"},
		},
		"request": map[string]any{"method": "POST", "url": "Observation"},
	})
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fxPatientExport exports the one patient of a practice and returns its resources as generic JSON, by type.
func fxPatientExport(t *testing.T, s *clinical.Service, st store.Store) (map[string][]map[string]any, []byte) {
	t.Helper()
	var pid string
	_ = st.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error { pid = e.Head().ID; return nil })
	})
	b, err := interop.ExportFHIRPatientFor(context.Background(), s, pid, clinical.ReadOptions{Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := fhir.Marshal(b)
	out := map[string][]map[string]any{}
	for _, en := range b.Entry {
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(string(en.Resource)))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out[m["resourceType"].(string)] = append(out[m["resourceType"].(string)], m)
	}
	return out, raw
}

func fxJSON(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Unknown elements, primitive extensions and vendor extensions survive import
// into the store, export, a new version, and a second import and export.
func TestFHIRExtraSurvivesStoreRoundTrip(t *testing.T) {
	_, s, st := fhirPractice(t, "Keep Surgery", "B86010", false)
	in := []interop.FHIRInput{{Name: "extra.json", Data: fxExtraBundle(t, true)}}
	sum := importFHIR(t, s, in, false)
	if sum.RejectedBundles != 0 {
		t.Fatalf("rejected: %+v", sum.Rejections)
	}
	// In the store: the patient's FHIRExtra, the coded result, the foreign flag.
	_ = st.View(context.Background(), func(tx store.Tx) error {
		p, err := tx.PatientByNHS("9990000115")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(p.FHIRExtra), `"_birthDate"`) || !strings.Contains(string(p.FHIRExtra), "UPRN-72635") {
			t.Errorf("patient fhirExtra: %s", p.FHIRExtra)
		}
		es, _ := tx.List(p.ID, record.KindObservation)
		found := false
		for _, e := range es {
			o := e.(*record.Observation)
			if o.Code.Code == "72166-2" {
				found = true
				if !o.Code.Foreign || o.ValueCode == nil || o.ValueCode.Code != "8517006" || o.ValueCode.Foreign || o.ValueText != "" {
					t.Errorf("smoking status: %+v %+v", o, o.ValueCode)
				}
			}
		}
		if !found {
			t.Error("no smoking status observation")
		}
		return nil
	})

	check := func(when string, got map[string][]map[string]any) {
		t.Helper()
		pats := got["Patient"]
		if len(pats) != 1 {
			t.Fatalf("%s: %d patients", when, len(pats))
		}
		p := pats[0]
		eq := func(what string, have any, want string) {
			t.Helper()
			if !reflect.DeepEqual(have, fxJSON(t, want)) {
				hb, _ := json.Marshal(have)
				t.Errorf("%s: %s: %s, want %s", when, what, hb, want)
			}
		}
		eq("Patient._birthDate", p["_birthDate"], `{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1984-03-12T04:10:00+00:00"}]}`)
		eq("Patient.vendorFlag", p["vendorFlag"], `{"keep": true}`)
		eq("Patient.maritalStatus", p["maritalStatus"], `{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]}`)
		vendorExt := false
		for _, e := range p["extension"].([]any) {
			if reflect.DeepEqual(e, fxJSON(t, `{"url": "https://vendor.example/StructureDefinition/preferred-pharmacy", "valueString": "Boots, Headingley"}`)) {
				vendorExt = true
			}
		}
		if !vendorExt {
			t.Errorf("%s: vendor extension lost: %v", when, p["extension"])
		}
		addr := p["address"].([]any)[0].(map[string]any)
		eq("Patient.address[0].vendorAddressKey", addr["vendorAddressKey"], `"UPRN-72635"`)
		eq("Patient.address[0]._city", addr["_city"], `{"extension": [{"url": "https://vendor.example/checked", "valueBoolean": true}]}`)
		var weight, smoking map[string]any
		for _, o := range got["Observation"] {
			switch o["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] {
			case "27113001":
				weight = o
			case "72166-2":
				smoking = o
			}
		}
		if weight == nil || smoking == nil {
			t.Fatalf("%s: weight %v, smoking %v", when, weight, smoking)
		}
		eq("weight value (lexical)", weight["valueQuantity"].(map[string]any)["value"], `72.50`)
		eq("weight vendorDevice", weight["vendorDevice"], `{"serial": "SC-9", "model": ["A", 2.50]}`)
		eq("weight identifier", weight["identifier"], `[{"system": "https://old-vendor.example/Id/obs", "value": "W-1"}]`)
		eq("weight _status", weight["_status"], `{"extension": [{"url": "https://vendor.example/reviewed", "valueBoolean": true}]}`)
		eq("smoking value", smoking["valueCodeableConcept"], `{"coding": [{"system": "http://snomed.info/sct", "code": "8517006", "display": "Ex-smoker"}], "text": "Ex-smoker"}`)
		eq("smoking code", smoking["code"], `{"coding": [{"system": "http://loinc.org", "code": "72166-2", "display": "Tobacco smoking status",
			"extension": [{"url": "`+fhir.ExtForeignCode+`", "valueBoolean": true}]}]}`)
	}
	first, raw := fxPatientExport(t, s, st)
	check("export", first)

	// A new version (demographics changed) keeps what the import kept.
	phone := "0113 496 0999"
	if _, err := s.UpdatePatient(context.Background(), "9990000115", clinical.PatientUpdate{Phone: &phone}); err != nil {
		t.Fatal(err)
	}
	second, _ := fxPatientExport(t, s, st)
	check("export after an update", second)

	// Into an empty practice and out again: the same.
	_, s2, st2 := fhirPractice(t, "Elsewhere", "C81010", false)
	in2 := []interop.FHIRInput{{Name: "again.json", Data: raw}}
	if sum := importFHIR(t, s2, in2, false); sum.RejectedBundles != 0 {
		t.Fatalf("re-import rejected: %+v", sum.Rejections)
	}
	third, _ := fxPatientExport(t, s2, st2)
	check("second round trip", third)
	if again := importFHIR(t, s2, in2, false); again.Imported != 0 {
		t.Errorf("re-run imported %d", again.Imported)
	}
}

// What FHIR R4 allows (vendor and primitive extensions, decimal precision)
// comes back in an export that still validates; unknown elements cannot (the
// R4 schema forbids them: they survive, as given, in a non-conformant export).
func TestFHIRExtraExportValidates(t *testing.T) {
	_, s, st := fhirPractice(t, "Valid Surgery", "B86011", false)
	sum := importFHIR(t, s, []interop.FHIRInput{{Name: "valid.json", Data: fxExtraBundle(t, false)}}, false)
	if sum.RejectedBundles != 0 {
		t.Fatalf("rejected: %+v", sum.Rejections)
	}
	got, raw := fxPatientExport(t, s, st)
	if err := fxValidateSchema(t, raw); err != nil {
		t.Fatalf("export fails the schema: %v", err)
	}
	p := got["Patient"][0]
	if p["_birthDate"] == nil || p["address"].([]any)[0].(map[string]any)["_city"] == nil {
		t.Errorf("primitive extensions lost: %v", p)
	}
	if !strings.Contains(string(raw), `"value":72.50`) {
		t.Errorf("decimal precision lost")
	}
}

// A coded result is a value; its code is checked like any recorded code; a
// code outside our terminologies keeps its flag out of the JSON when false.
func TestRecordObservationValueCode(t *testing.T) {
	base := func() *record.Observation {
		o := &record.Observation{Code: record.Code{System: record.SystemLOINC, Code: "72166-2", Foreign: true},
			Effective: fhirToday}
		o.PatientID = "p1"
		return o
	}
	o := base()
	if err := o.Validate(); err == nil {
		t.Error("an observation without a value validates")
	}
	o.ValueCode = &record.Code{System: record.SystemSNOMED, Code: "8517006", Display: "Ex-smoker"}
	if err := o.Validate(); err != nil {
		t.Errorf("coded result: %v", err)
	}
	o.ValueCode.Code = "8517007"
	if err := o.Validate(); err == nil {
		t.Error("an invalid SNOMED CT value code validates")
	}
	o = base()
	o.ValueText = "x"
	o.FHIRExtra = []byte(`[1]`)
	if err := o.Validate(); err == nil {
		t.Error("a fhirExtra that is not an object validates")
	}
	b, _ := json.Marshal(record.Code{System: record.SystemSNOMED, Code: "8517006"})
	if strings.Contains(string(b), "foreign") {
		t.Errorf("foreign written when false: %s", b)
	}
}
