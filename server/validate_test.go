package server_test

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/terminology"
)

// realTerms checks codes against a real terminology, as gpsoc serve does.
type realTerms struct{ tm *terminology.Terminology }

func (r realTerms) Lookup(system, code string) (string, error) {
	if err := r.tm.Validate(system, code); err != nil {
		return "", record.Invalid("code", code, "%v", err)
	}
	d, err := r.tm.Concept(system, code)
	return d.PreferredTerm, err
}

func (r realTerms) Hierarchies(system, code string) ([]string, error) {
	return r.tm.Hierarchies(system, code)
}

const sct = "http://snomed.info/sct"

func coding(code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": sct, "code": code}}}
}

func valueObs(pid, code string, value any, unit, when string) map[string]any {
	o := map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Patient/" + pid},
		"code": coding(code), "effectiveDateTime": when}
	if v, ok := value.([2]float64); ok {
		o["component"] = []any{
			map[string]any{"code": coding("271649006"), "valueQuantity": map[string]any{"value": v[0], "unit": "mm[Hg]"}},
			map[string]any{"code": coding("271650006"), "valueQuantity": map[string]any{"value": v[1], "unit": "mm[Hg]"}},
		}
	} else {
		o["valueQuantity"] = map[string]any{"value": value, "unit": unit}
	}
	return o
}

// Every case issue 15 lists, POSTed to gpsoc serve: 422 naming the field
// and the value, and nothing written (the CLI and the imports:
// commands/validate_cli_test.go).
func TestAPIRefusesWhatAClinicianNeverWrites(t *testing.T) {
	tm, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	f := startOn(t, bolt.Options{Hold: true}, realTerms{tm})
	r := f.do(t, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"))
	wantStatus(t, r, 201)
	pid := r.body["id"].(string)
	day := "2026-11-20T09:00:00Z"
	for _, c := range []struct {
		name string
		path string
		res  map[string]any
		says []string
	}{
		{"BP 300/20", "/Observation", valueObs(pid, "75367002", [2]float64{300, 20}, "", day), []string{"300/20", "impossible"}},
		{"weight -5 kg", "/Observation", valueObs(pid, "27113001", -5, "kg", day), []string{"-5 kg", "impossible"}},
		{`eGFR "-5 kg"`, "/Observation", valueObs(pid, "1011481000000105", -5, "kg", day), []string{"kg", "not a unit"}},
		{"HbA1c 7.5 % under mmol/mol", "/Observation", valueObs(pid, "999791000000106", 7.5, "%", day), []string{"%", "mmol/mol"}},
		{"a BP under Body weight", "/Observation", valueObs(pid, "27113001", [2]float64{140, 90}, "", day), []string{"Body weight", "blood pressure"}},
		{"1e308 kg", "/Observation", valueObs(pid, "27113001", 1e308, "kg", day), []string{"not a measurement"}},
		{"dated before birth", "/Observation", valueObs(pid, "27113001", 80, "kg", "1955-06-01T09:00:00Z"), []string{"1955-06-01", "date of birth"}},
		{"dated 2099", "/Observation", valueObs(pid, "27113001", 80, "kg", "2099-01-01T09:00:00Z"), []string{"2099", "future"}},
		{"Aspirin as a problem", "/Condition", map[string]any{"resourceType": "Condition", "subject": map[string]any{"reference": "Patient/" + pid},
			"code": coding("387458008")}, []string{"387458008", "substance"}},
		{"Hypertension as an allergy agent", "/AllergyIntolerance", map[string]any{"resourceType": "AllergyIntolerance", "type": "allergy",
			"patient": map[string]any{"reference": "Patient/" + pid}, "code": coding("38341003")}, []string{"38341003", "allergy agent"}},
		{"NHS number 0000000000", "/Patient", patientJSON("0000000000", "Nought", "Ann", "1980-01-01"), []string{"0000000000", "identical"}},
	} {
		r := f.do(t, "dr.gp", "POST", c.path, c.res)
		if r.status != 422 {
			t.Errorf("%s: status %d, want 422: %s", c.name, r.status, r.raw)
			continue
		}
		for _, s := range c.says {
			if !strings.Contains(string(r.raw), s) {
				t.Errorf("%s: the outcome does not say %q: %s", c.name, s, r.raw)
			}
		}
	}
	// The same in a transaction: the whole Bundle is refused, naming the entry.
	tx := txOf(valueObs(pid, "27113001", 79, "kg", day), valueObs(pid, "80274001", 95, "mL/min/{1.73_m2}", "2099-01-01T09:00:00Z"))
	r = f.do(t, "nurse", "POST", "/", tx)
	if r.status < 400 || r.status >= 500 || !strings.Contains(string(r.raw), "entry 1") || !strings.Contains(string(r.raw), "2099") {
		t.Errorf("transaction with an eGFR dated 2099: %d %s", r.status, r.raw)
	}
	// A code the terminology does not know is refused in a transaction as in a POST.
	unknown := valueObs(pid, "999991000000109", 95, "mL/min/{1.73_m2}", day)
	wantStatus(t, f.do(t, "dr.gp", "POST", "/Observation", unknown), 422)
	r = f.do(t, "dr.gp", "POST", "/", txOf(valueObs(pid, "27113001", 79, "kg", day), unknown))
	if (r.status != 400 && r.status != 422) || !strings.Contains(string(r.raw), "entry 1") || !strings.Contains(string(r.raw), "999991000000109") {
		t.Errorf("transaction with an unknown code: %d %s", r.status, r.raw)
	}
	count := func(k record.Kind) int {
		n := 0
		_ = f.st.View(ctx, func(tx store.Tx) error {
			es, err := tx.List(pid, k)
			n = len(es)
			return err
		})
		return n
	}
	if n := count(record.KindObservation) + count(record.KindProblem) + count(record.KindAllergy); n != 0 {
		t.Fatalf("%d records written by refused requests", n)
	}
	// An implausible value from a client, who cannot be asked, is kept and flagged.
	r = f.do(t, "dr.gp", "POST", "/Observation", valueObs(pid, "27113001", 310, "kg", day))
	wantStatus(t, r, 201)
	// A date of birth moved after an entry is refused, naming it.
	r = f.do(t, "dr.gp", "POST", "/Observation", valueObs(pid, "27113001", 70, "kg", "1975-05-05T09:00:00Z"))
	wantStatus(t, r, 201)
	later := patientJSON("9434765919", "Smith", "John", "1980-01-01")
	later["id"] = pid
	r = f.do(t, "admin", "PUT", "/Patient/"+pid, later, "If-Match", `W/"1"`)
	if r.status != 422 || !strings.Contains(string(r.raw), "1975-05-05") || !strings.Contains(string(r.raw), "before birth") {
		t.Errorf("PUT with a later date of birth: %d %s", r.status, r.raw)
	}
	var flagged int
	_ = f.st.View(ctx, func(tx store.Tx) error {
		es, _ := tx.List(pid, record.KindObservation)
		for _, e := range es {
			if o := e.(*record.Observation); *o.Value == 310 && len(o.Flags) == 1 && o.Flags[0].Kind == "implausible" {
				flagged++
			}
		}
		return nil
	})
	if flagged != 1 {
		t.Errorf("310 kg from the API is not stored flagged")
	}
}
