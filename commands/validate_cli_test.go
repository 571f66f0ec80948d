package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

// The values, dates, codes and numbers issue 15 lists as what a clinician
// never writes, refused on the CLI, by the NDJSON imports and by import fhir,
// on the embedded default terminology (the server's POST: server/validate_test.go).
// Nothing of any refused case is stored.

const (
	sctSys   = "http://snomed.info/sct"
	nhsSys   = "https://fhir.nhs.uk/Id/nhs-number"
	smithDOB = "1961-03-12"
)

// validEnv is a practice on the real embedded terminology with Smith registered.
func validEnv(t *testing.T) *practiceEnv {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", smithNHS, "--family", "Smith", "--given", "John", "--dob", smithDOB, "--sex", "male")
	return e
}

// validCase is one regression case on the three local paths.
type validCase struct {
	name string
	cli  []string // after --as dr.patel
	says []string // what the CLI's error names
	// noun and line are an NDJSON import of the same thing ("" to skip);
	// field is what the rejection names.
	noun, line, field string
	// fhir is the resource of the same thing, in a Bundle with Smith as urn:uuid:smith.
	fhir map[string]any
}

func obsLine(code, value, unit, extra string) string {
	return `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"` + code + `"},` + value + `,"unit":"` + unit + `","effective":"2026-11-20T09:00:00Z"` + extra + `}`
}

func fhirObs(code string, value any, unit, when string) map[string]any {
	o := map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "urn:uuid:smith"},
		"code": map[string]any{"coding": []any{map[string]any{"system": sctSys, "code": code}}}, "effectiveDateTime": when}
	if v, ok := value.([2]float64); ok {
		comp := func(c string, x float64) map[string]any {
			return map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": sctSys, "code": c}}},
				"valueQuantity": map[string]any{"value": x, "unit": "mm[Hg]"}}
		}
		o["component"] = []any{comp("271649006", v[0]), comp("271650006", v[1])}
	} else {
		o["valueQuantity"] = map[string]any{"value": value, "unit": unit}
	}
	return o
}

func validCases() []validCase {
	return []validCase{
		{name: "BP 300/20", cli: []string{"obs", "add", smithNHS, "--bp", "300/20"}, says: []string{"300/20", "impossible", "pulse pressure"},
			noun: "obs", line: `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"75367002"},"systolic":300,"diastolic":20,"unit":"mm[Hg]","effective":"2026-11-20T09:00:00Z"}`, field: "bp",
			fhir: fhirObs("75367002", [2]float64{300, 20}, "", "2026-11-20T09:00:00Z")},
		{name: "weight -5 kg", cli: []string{"obs", "add", smithNHS, "--code", "27113001", "--value", "-5", "--unit", "kg"}, says: []string{"-5 kg", "impossible", "0.2–650"},
			noun: "obs", line: obsLine("27113001", `"value":-5`, "kg", ""), field: "value",
			fhir: fhirObs("27113001", -5, "kg", "2026-11-20T09:00:00Z")},
		{name: `eGFR "-5 kg"`, cli: []string{"obs", "add", smithNHS, "--code", "1011481000000105", "--value", "-5", "--unit", "kg"}, says: []string{`"kg"`, "mL/min/{1.73_m2}"},
			noun: "obs", line: obsLine("1011481000000105", `"value":-5`, "kg", ""), field: "unit",
			fhir: fhirObs("1011481000000105", -5, "kg", "2026-11-20T09:00:00Z")},
		{name: "HbA1c 7.5 % under the mmol/mol code", cli: []string{"obs", "add", smithNHS, "--code", "999791000000106", "--value", "7.5", "--unit", "%"}, says: []string{`"%"`, "mmol/mol"},
			noun: "obs", line: obsLine("999791000000106", `"value":7.5`, "%", ""), field: "unit",
			fhir: fhirObs("999791000000106", 7.5, "%", "2026-11-20T09:00:00Z")},
		{name: "a BP under Body weight", cli: []string{"obs", "add", smithNHS, "--code", "27113001", "--bp", "140/90"}, says: []string{"Body weight", "does not take a blood pressure"},
			noun: "obs", line: `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"27113001"},"systolic":140,"diastolic":90,"unit":"mm[Hg]","effective":"2026-11-20T09:00:00Z"}`, field: "bp",
			fhir: fhirObs("27113001", [2]float64{140, 90}, "", "2026-11-20T09:00:00Z")},
		{name: "--obs 82,5kg", cli: []string{"consult", "add", smithNHS, "--text", "weighed", "--obs", "27113001=82,5kg"}, says: []string{"82,5kg", "decimal point", "82.5"}},
		{name: "--value 82,5", cli: []string{"obs", "add", smithNHS, "--code", "27113001", "--value", "82,5", "--unit", "kg"}, says: []string{"82,5", "decimal point"},
			noun: "obs", line: `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"27113001"},"valueText":"82,5","unit":"kg","effective":"2026-11-20T09:00:00Z"}`, field: "value"},
		{name: "1e308kg", cli: []string{"consult", "add", smithNHS, "--text", "weighed", "--obs", "27113001=1e308kg"}, says: []string{"1e+308 kg", "not a measurement"},
			noun: "obs", line: obsLine("27113001", `"value":1e308`, "kg", ""), field: "value",
			fhir: fhirObs("27113001", 1e308, "kg", "2026-11-20T09:00:00Z")},
		{name: "an entry dated before birth", cli: []string{"obs", "add", smithNHS, "--code", "27113001", "--value", "80", "--unit", "kg", "--date", "1955-06-01"},
			says: []string{"1955-06-01", "before the patient's date of birth " + smithDOB},
			noun: "obs", line: `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"27113001"},"value":80,"unit":"kg","effective":"1955-06-01T09:00:00Z"}`, field: "effective",
			fhir: fhirObs("27113001", 80, "kg", "1955-06-01T09:00:00Z")},
		{name: "a result dated 2099", cli: []string{"obs", "add", smithNHS, "--code", "27113001", "--value", "80", "--unit", "kg", "--date", "2099-01-01"},
			says: []string{"2099", "future"},
			noun: "obs", line: `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"27113001"},"value":80,"unit":"kg","effective":"2099-01-01T09:00:00Z"}`, field: "effective",
			fhir: fhirObs("27113001", 80, "kg", "2099-01-01T09:00:00Z")},
		{name: "Aspirin as a problem", cli: []string{"problem", "add", smithNHS, "--code", "387458008"}, says: []string{"387458008", "Aspirin", "substance", "a problem"},
			noun: "problem", line: `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"387458008"},"significance":"minor"}`, field: "code",
			fhir: map[string]any{"resourceType": "Condition", "subject": map[string]any{"reference": "urn:uuid:smith"},
				"clinicalStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
				"code":           map[string]any{"coding": []any{map[string]any{"system": sctSys, "code": "387458008"}}}}},
		{name: "Hypertension as an allergy agent", cli: []string{"allergy", "add", smithNHS, "--code", "38341003"}, says: []string{"38341003", "an allergy agent"},
			noun: "allergy", line: `{"patientId":"9434765919","agent":{"system":"` + sctSys + `","code":"38341003"},"type":"allergy"}`, field: "agent",
			fhir: map[string]any{"resourceType": "AllergyIntolerance", "patient": map[string]any{"reference": "urn:uuid:smith"}, "type": "allergy",
				"code": map[string]any{"coding": []any{map[string]any{"system": sctSys, "code": "38341003"}}}}},
	}
}

func TestValidationRefusesOnTheCLI(t *testing.T) {
	e := validEnv(t)
	for _, c := range validCases() {
		stderr := e.want(2, append([]string{"--as", "dr.patel"}, c.cli...)...)
		for _, s := range c.says {
			if !strings.Contains(stderr, s) {
				t.Errorf("%s: stderr does not say %q:\n%s", c.name, s, stderr)
			}
		}
	}
	// NHS number 0000000000 (Modulus 11 passes it).
	stderr := e.want(2, "--as", "reception", "patient", "add", "--nhs", "0000000000", "--family", "Nought", "--given", "Ann", "--dob", "1980-01-01", "--sex", "female")
	if !strings.Contains(stderr, "0000000000") || !strings.Contains(stderr, "identical") {
		t.Errorf("NHS 0000000000: %s", stderr)
	}
	// The date of birth moved after an entry: refused, naming it.
	e.ok("--as", "dr.patel", "obs", "add", smithNHS, "--code", "27113001", "--value", "70", "--unit", "kg", "--date", "1975-05-05")
	stderr = e.want(2, "--as", "reception", "patient", "update", smithNHS, "--dob", "1980-01-01")
	for _, s := range []string{"1980-01-01", "observation", "effective 1975-05-05", "before birth"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("DOB change: stderr does not say %q: %s", s, stderr)
		}
	}
	// An implausible value needs --confirm, and is then kept with a visible flag.
	stderr = e.want(2, "--as", "dr.patel", "obs", "add", smithNHS, "--code", "27113001", "--value", "310", "--unit", "kg")
	if !strings.Contains(stderr, "implausible") || !strings.Contains(stderr, "1–300") || !strings.Contains(stderr, "--confirm") {
		t.Errorf("implausible: %s", stderr)
	}
	out := e.ok("--as", "dr.patel", "obs", "add", smithNHS, "--code", "27113001", "--value", "310", "--unit", "kg", "--confirm")
	if !strings.Contains(out, "[implausible]") {
		t.Errorf("confirmed value not flagged in the table: %s", out)
	}
	// An impossible value cannot be confirmed.
	e.want(2, "--as", "dr.patel", "obs", "add", smithNHS, "--code", "27113001", "--value", "-5", "--unit", "kg", "--confirm")
	var obs []record.Observation
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS)
	if len(obs) != 2 {
		t.Fatalf("stored %d observations, want the 70 kg and the confirmed 310 kg: %+v", len(obs), obs)
	}
	for _, o := range obs {
		if *o.Value == 310 && (len(o.Flags) != 1 || o.Flags[0].Kind != "implausible" || !strings.Contains(o.Flags[0].Reason, "confirmed")) {
			t.Errorf("310 kg flags: %+v", o.Flags)
		}
	}
	var probs []record.Problem
	e.jsonOf(&probs, "--as", "dr.patel", "problem", "list", smithNHS)
	var alls []record.Allergy
	e.jsonOf(&alls, "--as", "dr.patel", "allergy", "list", smithNHS)
	if len(probs)+len(alls) != 0 {
		t.Errorf("stored problems %+v allergies %+v", probs, alls)
	}
}

func TestValidationRefusesOnTheNDJSONImports(t *testing.T) {
	e := validEnv(t)
	dir := t.TempDir()
	for _, c := range validCases() {
		if c.noun == "" {
			continue
		}
		file := filepath.Join(dir, "in.ndjson")
		// One good line around the bad one: only the bad line is rejected.
		good := map[string]string{"obs": obsLine("27113001", `"value":81`, "kg", ""),
			"problem": `{"patientId":"9434765919","code":{"system":"` + sctSys + `","code":"38341003"},"significance":"major"}`,
			"allergy": `{"patientId":"9434765919","agent":{"system":"` + sctSys + `","code":"387458008"},"type":"allergy"}`}[c.noun]
		if err := os.WriteFile(file, []byte(good+"\n"+c.line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.run("", "--as", "dr.patel", "-o", "json", c.noun, "import", file)
		var sum struct {
			Read, Written, Unchanged, Rejected int
			Rejections                         []struct {
				Line          int
				Field, Reason string
			}
		}
		if err := json.Unmarshal([]byte(r.out), &sum); err != nil {
			t.Fatalf("%s: %v\n%s%s", c.name, err, r.out, r.err)
		}
		if r.code != 1 || sum.Rejected != 1 || len(sum.Rejections) != 1 || sum.Rejections[0].Line != 2 || sum.Rejections[0].Field != c.field {
			t.Errorf("%s: exit %d, %+v; want line 2 rejected on %s\n%s", c.name, r.code, sum, c.field, r.err)
		}
	}
	// What got in is the good lines only, and nothing of the refused ones.
	var obs []record.Observation
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS)
	for _, o := range obs {
		if o.IsBP() || o.Value == nil || *o.Value != 81 {
			t.Errorf("stored %+v", o)
		}
	}
	// Implausible values are stored and flagged; nothing prompts.
	file := filepath.Join(dir, "implausible.ndjson")
	_ = os.WriteFile(file, []byte(obsLine("27113001", `"value":320`, "kg", "")+"\n"), 0o644)
	e.ok("--as", "dr.patel", "obs", "import", file)
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS)
	flagged := 0
	for _, o := range obs {
		if *o.Value == 320 && len(o.Flags) == 1 && o.Flags[0].Kind == "implausible" {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("320 kg imported: %+v", obs)
	}
	// NHS number 0000000000 in a patient import.
	pf := filepath.Join(dir, "patients.ndjson")
	_ = os.WriteFile(pf, []byte(`{"nhsNumber":"0000000000","family":"Nought","given":["Ann"],"birthDate":"1980-01-01","sex":"female"}`+"\n"), 0o644)
	r := e.run("", "--as", "admin", "patient", "import", pf)
	if r.code != 1 || !strings.Contains(r.err, "0000000000") || !strings.Contains(r.err, "identical") {
		t.Errorf("patient import of 0000000000: exit %d %s", r.code, r.err)
	}
}

func TestValidationRefusesWholeFHIRBundles(t *testing.T) {
	e := validEnv(t)
	dir := t.TempDir()
	smith := map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"system": nhsSys, "value": "9434765919"}},
		"name": []any{map[string]any{"family": "Smith", "given": []any{"John"}}}, "birthDate": smithDOB, "gender": "male"}
	good := fhirObs("27113001", 79, "kg", "2026-11-21T09:00:00Z")
	bundle := func(rs ...map[string]any) string {
		b := map[string]any{"resourceType": "Bundle", "type": "collection",
			"entry": []any{map[string]any{"fullUrl": "urn:uuid:smith", "resource": smith}}}
		for i, r := range rs {
			b["entry"] = append(b["entry"].([]any), map[string]any{"fullUrl": "urn:uuid:e" + string(rune('a'+i)), "resource": r})
		}
		raw, _ := json.Marshal(b)
		f := filepath.Join(dir, "bundle.json")
		if err := os.WriteFile(f, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range validCases() {
		if c.fhir == nil {
			continue
		}
		r := e.run("", "--as", "dr.patel", "import", "fhir", bundle(good, c.fhir))
		// Entries count from 0: the bad one is entry 2, and nothing is imported.
		if r.code != 1 || !strings.Contains(r.err, "entry 2: ") || !strings.HasPrefix(r.out, "imported 0,") {
			t.Errorf("%s: exit %d; want the bundle refused naming entry 2\n%s%s", c.name, r.code, r.out, r.err)
		}
		for _, s := range c.says {
			if strings.HasPrefix(s, "--") || s == "82.5" {
				continue
			}
			if !strings.Contains(r.err, s) {
				t.Errorf("%s: import fhir does not say %q: %s", c.name, s, r.err)
			}
		}
	}
	// The good observation in every refused bundle was not written either.
	var obs []record.Observation
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS)
	if len(obs) != 0 {
		t.Errorf("a refused bundle wrote %+v", obs)
	}
	// NHS number 0000000000.
	nought := map[string]any{"resourceType": "Patient", "identifier": []any{map[string]any{"system": nhsSys, "value": "0000000000"}},
		"name": []any{map[string]any{"family": "Nought", "given": []any{"Ann"}}}, "birthDate": "1980-01-01", "gender": "female"}
	r := e.run("", "--as", "admin", "import", "fhir", bundle(nought))
	if r.code != 1 || !strings.Contains(r.out+r.err, "0000000000") {
		t.Errorf("0000000000: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// An implausible value is imported, flagged.
	e.ok("--as", "dr.patel", "import", "fhir", bundle(fhirObs("27113001", 330, "kg", "2026-11-21T09:00:00Z")))
	e.jsonOf(&obs, "--as", "dr.patel", "obs", "list", smithNHS)
	if len(obs) != 1 || len(obs[0].Flags) != 1 || obs[0].Flags[0].Kind != "implausible" {
		t.Errorf("330 kg by import fhir: %+v", obs)
	}
}

// The table every path checks values against is printed with its sources.
func TestObsRangesPrintsTheCitedTable(t *testing.T) {
	e := newPracticeEnv(t, false)
	var rows []struct {
		Name, Unit, Source, Section, Date string
		Codes                             []string
		Impossible                        struct{ Below, Above *float64 }
	}
	e.jsonOf(&rows, "obs", "ranges")
	weight := false
	for _, r := range rows {
		if r.Source == "" || r.Section == "" || r.Date == "" || len(r.Codes) == 0 || (r.Impossible.Below == nil && r.Impossible.Above == nil) {
			t.Errorf("row without its citation or range: %+v", r)
		}
		if r.Name == "Body weight" && r.Unit == "kg" && *r.Impossible.Above == 650 {
			weight = true
		}
	}
	if len(rows) < 20 || !weight {
		t.Errorf("%d rows, body weight found %v", len(rows), weight)
	}
}
