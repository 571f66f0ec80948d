package interop_test

// Checks every fxExported FHIR resource against the FHIR R4 JSON schema and the
// base specification's rules a schema cannot express (required elements and
// cardinalities, invariants, value types, references that resolve).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const fxSchemaPath = "../fhir/testdata/fhir.schema.json"

var (
	fxSchemaOnce sync.Once
	fxSchemaC    *jsonschema.Compiler
	fxSchemas    = map[string]*jsonschema.Schema{}
	fxSchemaMu   sync.Mutex
)

func fxSchemaFor(t testing.TB, typ string) *jsonschema.Schema {
	t.Helper()
	fxSchemaOnce.Do(func() {
		f, err := os.Open(fxSchemaPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			t.Fatal(err)
		}
		fxSchemaC = jsonschema.NewCompiler()
		fxSchemaC.DefaultDraft(jsonschema.Draft6)
		if err := fxSchemaC.AddResource("http://hl7.org/fhir/json-schema/4.0", doc); err != nil {
			t.Fatal(err)
		}
	})
	fxSchemaMu.Lock()
	defer fxSchemaMu.Unlock()
	if s := fxSchemas[typ]; s != nil {
		return s
	}
	s, err := fxSchemaC.Compile("http://hl7.org/fhir/json-schema/4.0#/definitions/" + typ)
	if err != nil {
		t.Fatalf("compile schema for %s: %v", typ, err)
	}
	fxSchemas[typ] = s
	return s
}

// fxValidateSchema checks one resource against the R4 JSON schema.
func fxValidateSchema(t testing.TB, raw []byte) error {
	var probe struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return fxSchemaFor(t, probe.ResourceType).Validate(inst)
}

var (
	fxIdRe       = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)
	fxDateTimeRe = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$`)
	fxInstantRe  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`)
)

// required elements (min 1) of the base resources we write, beyond what the schema says.
var fxRequiredElems = map[string][]string{
	"Encounter":          {"status", "class"},
	"Condition":          {"subject"},
	"Observation":        {"status", "code"},
	"Procedure":          {"status", "subject"},
	"MedicationRequest":  {"status", "intent", "subject"},
	"AllergyIntolerance": {"patient"},
	"Immunization":       {"status", "vaccineCode", "patient"},
	"Appointment":        {"status", "participant"},
	"Task":               {"status", "intent"},
	"Schedule":           {"actor"},
	"AuditEvent":         {"type", "recorded", "agent", "source"},
	"Provenance":         {"target", "recorded", "agent"},
	"Bundle":             {"type"},
	"Patient":            {},
	"Practitioner":       {},
	"Organization":       {},
}

// choice elements: at most one variant; "!" means exactly one.
var fxChoices = map[string][]string{
	"Observation":       {"value", "effective"},
	"Condition":         {"onset", "abatement"},
	"Procedure":         {"performed"},
	"MedicationRequest": {"!medication"},
	"Immunization":      {"!occurrence"},
	"Patient":           {"deceased"},
}

// fxCheckBase applies the base rules to one resource. refs collects its references.
func fxCheckBase(raw []byte, refs *[]string) []string {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return []string{err.Error()}
	}
	typ, _ := m["resourceType"].(string)
	var probs []string
	bad := func(f string, a ...any) { probs = append(probs, typ+": "+fmt.Sprintf(f, a...)) }
	req, known := fxRequiredElems[typ]
	if !known {
		bad("unexpected resource type")
	}
	for _, k := range req {
		if _, ok := m[k]; !ok {
			bad("required element %s is missing", k)
		}
	}
	if id, ok := m["id"].(string); !ok || !fxIdRe.MatchString(id) {
		bad("id %v is not a FHIR id", m["id"])
	}
	for _, c := range fxChoices[typ] {
		exactly := strings.HasPrefix(c, "!")
		c = strings.TrimPrefix(c, "!")
		n := 0
		for k := range m {
			if strings.HasPrefix(k, c) && len(k) > len(c) && k[len(c)] >= 'A' && k[len(c)] <= 'Z' {
				n++
			}
		}
		if n > 1 || (exactly && n != 1) {
			bad("%s[x] has %d variants", c, n)
		}
	}
	// Invariants.
	switch typ {
	case "Condition":
		ver := fxCodeOf(m["verificationStatus"])
		if ver == "entered-in-error" && m["clinicalStatus"] != nil {
			bad("con-5: entered-in-error with a clinicalStatus")
		}
		if ver != "entered-in-error" && m["clinicalStatus"] == nil {
			bad("con-4/5: clinicalStatus missing")
		}
		if m["abatementDateTime"] != nil {
			if cs := fxCodeOf(m["clinicalStatus"]); cs != "inactive" && cs != "resolved" && cs != "remission" {
				bad("con-4: abatement with clinicalStatus %q", cs)
			}
		}
	case "AllergyIntolerance":
		ver := fxCodeOf(m["verificationStatus"])
		if (ver == "entered-in-error") == (m["clinicalStatus"] != nil) {
			bad("ait-1/2: clinicalStatus and verificationStatus %q", ver)
		}
		if m["code"] == nil {
			bad("UK Core: code is required")
		}
	case "Appointment":
		_, s := m["start"]
		_, e := m["end"]
		if s != e {
			bad("app-2: start and end go together")
		}
		for _, p := range m["participant"].([]any) {
			pm := p.(map[string]any)
			if pm["status"] == nil || (pm["actor"] == nil && pm["type"] == nil) {
				bad("participant needs status and actor or type (app-1)")
			}
		}
	case "AuditEvent":
		for _, a := range m["agent"].([]any) {
			if _, ok := a.(map[string]any)["requestor"]; !ok {
				bad("agent.requestor is required")
			}
		}
		if m["source"].(map[string]any)["observer"] == nil {
			bad("source.observer is required")
		}
	case "Observation":
		if m["dataAbsentReason"] != nil && fxHasValue(m) {
			bad("obs-6")
		}
		for _, c := range fxAnySlice(m["component"]) {
			if c.(map[string]any)["code"] == nil {
				bad("component.code is required")
			}
		}
	case "Encounter":
		if p, ok := m["period"].(map[string]any); ok {
			if s, e := p["start"], p["end"]; s != nil && e != nil && s.(string) > e.(string) {
				bad("per-1: period end before start")
			}
		}
	}
	fxWalk(m, typ, func(path string, v any) {
		switch x := v.(type) {
		case string:
			if x == "" {
				bad("%s: empty string", path)
			}
			if strings.HasSuffix(path, ".reference") {
				*refs = append(*refs, x)
			}
			last := path[strings.LastIndex(path, ".")+1:]
			switch {
			case last == "recorded" || last == "lastUpdated" || last == "issued" || last == "instant":
				if !fxInstantRe.MatchString(x) {
					bad("%s: %q is not an instant", path, x)
				}
			case strings.HasSuffix(last, "DateTime") || last == "start" || last == "end" || last == "authoredOn" || last == "birthDate" ||
				strings.HasSuffix(last, "Date") && last != "valueDate":
				if !fxDateTimeRe.MatchString(x) {
					bad("%s: %q is not a date or dateTime with a timezone", path, x)
				}
			}
		case []any:
			if len(x) == 0 {
				bad("%s: empty array", path)
			}
		case map[string]any:
			if len(x) == 0 {
				bad("%s: empty object", path)
			}
		}
	})
	return probs
}

func fxHasValue(m map[string]any) bool {
	for k := range m {
		if strings.HasPrefix(k, "value") {
			return true
		}
	}
	return false
}

func fxAnySlice(v any) []any { s, _ := v.([]any); return s }

func fxCodeOf(v any) string {
	cc, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	for _, c := range fxAnySlice(cc["coding"]) {
		if s, ok := c.(map[string]any)["code"].(string); ok {
			return s
		}
	}
	return ""
}

func fxWalk(v any, path string, fn func(string, any)) {
	fn(path, v)
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if path != "" && k == "div" {
				continue
			}
			fxWalk(c, path+"."+k, fn)
		}
	case []any:
		for _, c := range x {
			fxWalk(c, path, fn)
		}
	}
}
