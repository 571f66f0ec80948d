package fhir_test

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/fhir"
)

type noResolver struct{}

func (noResolver) ID(*fhir.Reference, string) string   { return "" }
func (noResolver) User(*fhir.Reference) (string, bool) { return "", false }
func (noResolver) Who(*fhir.Reference) string          { return "" }

// Unmapped keeps unknown members, primitive extensions, vendor extensions and
// decimal lexical forms, at any depth; MergeUnmapped puts them back without
// overriding what the record maps.
func TestUnmappedMergeRules(t *testing.T) {
	const in = `{"resourceType":"Condition","id":"c1","meta":{"versionId":"3","vendorMeta":1},
	 "extension":[{"url":"https://vendor.example/a","valueString":"x"},
	              {"url":"https://opengpsoc.org/fhir/StructureDefinition/record-extra","valueString":"{}"}],
	 "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","_display":{"extension":[{"url":"https://vendor.example/b","valueBoolean":true}]}}]},
	 "subject":{"reference":"Patient/p1"},
	 "onsetDateTime":"2020-01-01","onsetAge":{"value":40},
	 "note":[{"text":"a"},{"text":"b","vendorNote":"n"}],
	 "evidence":[{"detail":[{"reference":"urn:uuid:nowhere"}]}],
	 "vendorTop":{"k":[1,2.50]}}`
	r, err := fhir.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	extra := fhir.Unmapped(r, noResolver{})
	s := string(extra)
	for _, want := range []string{`"vendorTop"`, `2.50`, `"_display"`, `https://vendor.example/a`, `"vendorNote"`, `"onsetAge"`} {
		if !strings.Contains(s, want) {
			t.Errorf("unmapped lacks %s: %s", want, s)
		}
	}
	for _, not := range []string{"vendorMeta", "record-extra", "evidence"} {
		if strings.Contains(s, not) {
			t.Errorf("unmapped keeps %s: %s", not, s)
		}
	}

	// Built from the record: onsetDateTime written, two notes, the code.
	out := &fhir.Condition{ResourceType: "Condition", ID: "c1", OnsetDateTime: "2020-01-01",
		Code:      &fhir.CodeableConcept{Coding: []fhir.Coding{{System: "http://snomed.info/sct", Code: "38341003"}}},
		Subject:   &fhir.Reference{Reference: "Patient/p1"},
		Extension: []fhir.Extension{{URL: "https://vendor.example/a", ValueString: strPtr("x")}},
		Note:      []fhir.Annotation{{Text: "a"}, {Text: "b"}}}
	fhir.MergeUnmapped(out, extra)
	b, _ := fhir.Marshal(out)
	got := string(b)
	for _, want := range []string{`"vendorTop":{"k":[1,2.50]}`, `"vendorNote":"n"`, `"_display"`} {
		if !strings.Contains(got, want) {
			t.Errorf("merged lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, "onsetAge") {
		t.Errorf("onsetAge written beside onsetDateTime: %s", got)
	}
	if n := strings.Count(got, "https://vendor.example/a"); n != 1 {
		t.Errorf("vendor extension written %d times: %s", n, got)
	}

	// Identifiers written in another order: each kept member goes back to its own.
	const ids = `{"resourceType":"Patient","identifier":[{"system":"https://a.example","value":"1","vendorA":1},
	 {"system":"https://b.example","value":"2","_value":{"extension":[{"url":"https://vendor.example/c","valueString":"b"}]}}]}`
	pr, err := fhir.Parse([]byte(ids))
	if err != nil {
		t.Fatal(err)
	}
	px := fhir.Unmapped(pr, noResolver{})
	pout := &fhir.Patient{ResourceType: "Patient", Identifier: []fhir.Identifier{{System: "https://b.example", Value: "2"},
		{System: "https://c.example", Value: "3"}, {System: "https://a.example", Value: "1"}}}
	fhir.MergeUnmapped(pout, px)
	if pout.Identifier[2].Extra["vendorA"] == nil || pout.Identifier[0].Extra["_value"] == nil || pout.Identifier[1].Extra != nil {
		b, _ := fhir.Marshal(pout)
		t.Errorf("identifier members not back on their own elements: %s (kept %s)", b, px)
	}

	// An array of another length: nested members are not attached to the wrong element.
	out2 := &fhir.Condition{ResourceType: "Condition", Note: []fhir.Annotation{{Text: "only"}}}
	fhir.MergeUnmapped(out2, extra)
	if b, _ := fhir.Marshal(out2); strings.Contains(string(b), "vendorNote") {
		t.Errorf("nested member attached to another element: %s", b)
	}
}

func strPtr(s string) *string { return &s }
