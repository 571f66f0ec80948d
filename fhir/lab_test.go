package fhir

import (
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// A laboratory result's range, flag, comparator and review state survive
// export and import (remote mode reads results this way); a resource that
// came with several ranges keeps them all on re-export.
func TestLabResultRoundTrip(t *testing.T) {
	lo, hi, v := 3.5, 5.3, 6.2
	o := &record.Observation{Meta: record.Meta{ID: "o1", PatientID: "p1", Version: 1},
		Code: record.Code{System: record.SystemSNOMED, Code: "1000651000000109"}, Value: &v, Unit: "mmol/L",
		Effective: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Interpretation: "H", Comparator: ">",
		ReferenceRange: &record.ReferenceRange{Low: &lo, High: &hi}, Unreviewed: true, ReportID: "r1", Comment: "repeat"}
	res := (&Context{}).ObservationResource(o)
	b, err := Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"interpretation":[{"coding":[{"system":"` + CSObservationInterpretation + `","code":"H"}]}]`,
		`"referenceRange":[{"low":{"value":3.5,"unit":"mmol/L"},"high":{"value":5.3,"unit":"mmol/L"}}]`, `"comparator":">"`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("export lacks %s:\n%s", want, b)
		}
	}
	var back Observation
	if err := Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	got, _, err := ObservationFrom(&back, fuzzResolver{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Interpretation != "H" || got.ReferenceRange.String() != "3.5-5.3" || got.Comparator != ">" || !got.Unreviewed || got.ReportID != "r1" || got.Comment != "repeat" {
		t.Fatalf("imported %+v", got)
	}
	// Two ranges sent: both kept on re-export, the first read.
	two := strings.Replace(string(b), `"referenceRange":[`, `"referenceRange":[{"text":"adult 3.5-5.3"},`, 1)
	var tw Observation
	if err := Unmarshal([]byte(two), &tw); err != nil {
		t.Fatal(err)
	}
	o2, _, err := ObservationFrom(&tw, fuzzResolver{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Marshal((&Context{}).ObservationResource(o2))
	if o2.ReferenceRange.Text != "adult 3.5-5.3" || !strings.Contains(string(out), `{"text":"adult 3.5-5.3"},{"low"`) {
		t.Fatalf("two ranges: %+v\n%s", o2.ReferenceRange, out)
	}
}
