package server_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// ValueSet/$expand?filter= answers with the pickers' search: the filter, picker, system
// and count reach it, the ranked codes come back as an expansion, a note as a parameter.
func TestValueSetExpand(t *testing.T) {
	type call struct {
		filter, picker, system string
		count                  int
	}
	var got call
	codes := func(_ context.Context, filter, picker, system string, count int) ([]server.ExpandedCode, string, error) {
		got = call{filter, picker, system, count}
		switch filter {
		case "htn":
			return []server.ExpandedCode{{System: "http://snomed.info/sct", Code: "38341003", Display: "Hypertensive disorder"}}, "", nil
		case "bad":
			return nil, "", errors.New("picker: nope")
		}
		return nil, "not in the embedded terminology — import the UK release", nil
	}
	f := startWith(t, bolt.Options{Hold: true}, func(o *server.Options) { o.Codes = codes })
	r := f.do(t, "dr.gp", "GET", "/ValueSet/$expand?filter=htn&picker=problem&count=5&url="+url.QueryEscape("http://snomed.info/sct?fhir_vs"), nil)
	wantStatus(t, r, 200)
	if got != (call{"htn", "problem", "sct", 5}) {
		t.Errorf("search called with %+v", got)
	}
	exp, _ := r.body["expansion"].(map[string]any)
	contains, _ := exp["contains"].([]any)
	if r.body["resourceType"] != "ValueSet" || len(contains) != 1 || contains[0].(map[string]any)["code"] != "38341003" {
		t.Errorf("expansion: %s", r.raw)
	}
	r = f.do(t, "dr.gp", "GET", "/ValueSet/$expand?filter=fbc", nil)
	wantStatus(t, r, 200)
	exp, _ = r.body["expansion"].(map[string]any)
	if exp["total"] != float64(0) || len(exp["parameter"].([]any)) != 2 {
		t.Errorf("no match: want total 0 and the note as a parameter: %s", r.raw)
	}
	wantStatus(t, f.do(t, "dr.gp", "GET", "/ValueSet/$expand", nil), 400)
	wantStatus(t, f.do(t, "dr.gp", "GET", "/ValueSet/$expand?filter=x&picker=banana", nil), 400)
	wantStatus(t, f.do(t, "dr.gp", "GET", "/ValueSet/$expand?filter=x&count=0", nil), 400)
	wantStatus(t, f.do(t, "dr.gp", "GET", "/ValueSet/$expand?filter=x&url=http://example.org/vs", nil), 400)
	wantStatus(t, f.do(t, "", "GET", "/ValueSet/$expand?filter=htn", nil), 401)
	// without a terminology the operation says so
	g := start(t)
	wantStatus(t, g.do(t, "dr.gp", "GET", "/ValueSet/$expand?filter=htn", nil), 501)
}
