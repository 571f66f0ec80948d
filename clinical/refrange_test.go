package clinical_test

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// A result is read against the laboratory's range when it sent one, else the
// table's cited reference interval (labelled as such), else nothing: no
// range and no flag is made up.
func TestResultRangeAndFlag(t *testing.T) {
	sct := func(code string) record.Code { return record.Code{System: record.SystemSNOMED, Code: code} }
	potassium := func(v float64) *record.Observation {
		return &record.Observation{Code: sct("1000651000000109"), Value: f64(v), Unit: "mmol/L"}
	}
	cases := []struct {
		name  string
		o     *record.Observation
		label string
		flag  string
	}{
		{"the table's interval, high", potassium(5.9), "3.5-5.3 (ref table)", "H"},
		{"the table's interval, low", potassium(3.1), "3.5-5.3 (ref table)", "L"},
		{"the table's interval, normal", potassium(4.2), "3.5-5.3 (ref table)", ""},
		{"an alias of the unit", &record.Observation{Code: sct("1000651000000109"), Value: f64(5.9), Unit: "mmol/l"}, "3.5-5.3 (ref table)", "H"},
		{"the lab's range wins", func() *record.Observation {
			o := potassium(5.4)
			o.ReferenceRange = &record.ReferenceRange{Low: f64(3.5), High: f64(5.5)}
			return o
		}(), "3.5-5.5", ""},
		{"the lab's flag as sent", func() *record.Observation {
			o := potassium(6.6)
			o.Interpretation = "HH"
			return o
		}(), "3.5-5.3 (ref table)", "HH"},
		{"a lab 'normal' flag outside the lab's range", func() *record.Observation {
			o := potassium(6.0)
			o.Interpretation, o.ReferenceRange = "N", &record.ReferenceRange{Low: f64(3.5), High: f64(5.3)}
			return o
		}(), "3.5-5.3", "H"},
		{"BMI (WHO)", &record.Observation{Code: sct("60621009"), Value: f64(31.2), Unit: "kg/m2"}, "18.5-24.9 (ref table)", "H"},
		{"no interval in the table (HbA1c)", &record.Observation{Code: sct("999791000000106"), Value: f64(71), Unit: "mmol/mol"}, "", ""},
		{"a unit the interval is not for", &record.Observation{Code: sct("1000651000000109"), Value: f64(9), Unit: "mg/dL"}, "", ""},
		{"blood pressure", &record.Observation{Code: sct("75367002"), Systolic: f64(180), Diastolic: f64(100)}, "", ""},
		{"a coded finding", &record.Observation{Code: sct("266919005")}, "", ""},
	}
	for _, c := range cases {
		r := clinical.RangeOf(c.o)
		if got := r.Label(); got != c.label {
			t.Errorf("%s: range %q, want %q", c.name, got, c.label)
		}
		if got := clinical.ResultFlag(c.o); got != c.flag {
			t.Errorf("%s: flag %q, want %q", c.name, got, c.flag)
		}
		if r != nil && !r.Lab && !strings.Contains(r.Source, "Adult reference intervals") && !strings.Contains(r.Source, "WHO") {
			t.Errorf("%s: the table's interval cites %q", c.name, r.Source)
		}
	}
}

// A reference interval in the table needs its citation and must lie inside
// the implausible range.
func TestObservableReferenceIsChecked(t *testing.T) {
	row := `observables:
  - name: Serum potassium
    codes: ["1000651000000109"]
    units:
      - unit: mmol/L
        impossible: {below: 1, above: 15}
        implausible: {below: 2, above: 8}
        source: "s"
        section: "t"
        date: 2011-01-01
        reference: %s
`
	for ref, want := range map[string]string{
		`{low: 3.5, high: 5.3, section: "x", date: 2011-01-01}`:              "cites its source",
		`{low: 3.5, high: 9, source: "s", section: "x", date: 2011-01-01}`:   "inside the implausible range",
		`{low: 5.3, high: 3.5, source: "s", section: "x", date: 2011-01-01}`: "low is above high",
		`{source: "s", section: "x", date: 2011-01-01}`:                      "low or high",
	} {
		_, err := clinical.LoadObservables([]byte(strings.Replace(row, "%s", ref, 1)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("reference %s: %v, want %q", ref, err, want)
		}
	}
}
