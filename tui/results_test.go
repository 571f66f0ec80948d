package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// The trend chart's axis keeps the data's precision.
func TestChartAxisKeepsPrecision(t *testing.T) {
	s := series{name: "HbA1c", unit: "%", pts: []point{{at: fixedNow.AddDate(0, -6, 0), a: 6.3}, {at: fixedNow, a: 5.3}}}
	lines := chart(s, NewStyles(true, true), 60, 9)
	var labels []string
	for _, l := range lines {
		if lab, _, ok := strings.Cut(l, "│"); ok && strings.TrimSpace(lab) != "" {
			labels = append(labels, strings.TrimSpace(lab))
		}
	}
	if strings.Join(labels, " ") != "6.3 5.8 5.2" {
		t.Errorf("axis labels %q; want 6.3 5.8 5.2 (one decimal, as the data; not 6 and 5)", labels)
	}
}

// The summary puts the results of the patient's problems first, calculates
// a BMI from weight and height, and puts coded findings last.
func TestSummaryResultsOrder(t *testing.T) {
	at := func(d int) time.Time { return fixedNow.AddDate(0, 0, -d) }
	v := func(x float64) *float64 { return &x }
	latest := []*record.Observation{
		{Code: record.Code{Code: "229819007", Display: "Tobacco use and exposure"}, ValueCode: &record.Code{Code: "266919005", Display: "Never smoked tobacco"}, Effective: at(1)},
		{Code: record.Code{Code: "27113001", Display: "Body weight"}, Value: v(81), Unit: "kg", Effective: at(2)},
		{Code: record.Code{Code: "50373000", Display: "Body height"}, Value: v(180), Unit: "cm", Effective: at(300)},
		{Code: record.Code{Code: "75367002", Display: "Blood pressure"}, Systolic: v(150), Diastolic: v(92), Effective: at(3)},
		{Code: record.Code{Code: "999791000000106", Display: "HbA1c"}, Value: v(61), Unit: "mmol/mol", Effective: at(40)},
	}
	problems := []*record.Problem{{Code: record.Code{Code: "46635009", Display: "Type 1 diabetes mellitus"}}}
	got := summaryResults(latest, problems)
	var order []string
	for _, o := range got {
		order = append(order, shortTerm(o.Code))
	}
	want := "HbA1c, Blood pressure, Body weight, Body height, BMI (calculated), Tobacco use and exposure"
	if strings.Join(order, ", ") != want {
		t.Fatalf("order %q\nwant  %q", strings.Join(order, ", "), want)
	}
	for _, o := range got {
		if o.Code.Code == "60621009" && (o.Value == nil || *o.Value != 25) {
			t.Errorf("calculated BMI %v, want 25.0 (81 kg, 1.80 m)", o.Value)
		}
	}
}
