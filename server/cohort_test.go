package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// htSets resolves one test cluster.
type htSets struct{}

type codeList map[string]bool

func (c codeList) Contains(_, code string) bool { return c[code] }

func (htSets) CodeSet(kind, text string) (cohort.CodeSet, error) {
	if kind == "cluster" && text == "HT_COD" {
		return codeList{"38341003": true}, nil
	}
	return nil, fmt.Errorf("unknown %s %q", kind, text)
}

func (s htSets) MedicineSet(kind, text string) (cohort.CodeSet, error) { return s.CodeSet(kind, text) }

func postText(t *testing.T, f *fixture, user, path, body string, hdr ...string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", f.url+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	req.Header.Set("Content-Type", "text/plain")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// gpsoc serve runs a search where the data is: POST /Group/$search with the
// definition's text, or GET /Group/{id} for a register; a Group of the
// patients comes back; the role table and the audit apply; a sensitive
// record is a flagged member without its values unless X-Access-Reason.
func TestGroupSearch(t *testing.T) {
	reg, err := cohort.Parse("HT.search", "register HT \"Hypertension\"\nselect has code in cluster HT_COD\n")
	if err != nil {
		t.Fatal(err)
	}
	f := startWith(t, bolt.Options{Hold: true}, func(o *server.Options) {
		o.Cohort = &server.Cohort{Resolver: htSets{}, Defs: []*cohort.Def{reg}}
	})
	gp, err := f.p.As(ctx, "dr.gp")
	if err != nil {
		t.Fatal(err)
	}
	for i, nhs := range []string{"9434765919", "9434765870", "9434765838"} {
		p := &record.Patient{NHSNumber: nhs, Family: []string{"Smith", "Jones", "Brown"}[i], Given: []string{"Ann"}, BirthDate: "1961-03-12",
			Sex: "female"}
		p.Sensitive = i == 1
		if _, err := gp.AddPatient(ctx, p); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: nhs, Code: "38341003", Onset: "2015-01-01"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	search := "search \"Hypertension\"\nselect has code in cluster HT_COD\n"
	r := postText(t, f, "nurse", "/Group/$search", search)
	if r.status != http.StatusOK || r.body["resourceType"] != "Group" || r.body["quantity"] != float64(2) {
		t.Fatalf("$search: %d %s", r.status, r.raw)
	}
	members := r.body["member"].([]any)
	var sensitive, plain map[string]any
	for _, m := range members {
		mm := m.(map[string]any)
		if strings.Contains(string(must(json.Marshal(mm))), "search-sensitive") {
			sensitive = mm
		} else {
			plain = mm
		}
	}
	if sensitive == nil || plain == nil || strings.Contains(string(must(json.Marshal(sensitive))), "38341003") ||
		!strings.Contains(string(must(json.Marshal(plain))), "38341003") {
		t.Fatalf("members: %s", r.raw)
	}
	// with a reason, the sensitive member's values come too
	r = postText(t, f, "dr.gp", "/Group/$search", search, "X-Access-Reason", "clinic")
	if strings.Count(string(r.raw), "HT_COD: 38341003") != 2 || strings.Count(string(r.raw), `\"code\":\"38341003\"`) != 2 {
		t.Fatalf("with a reason: %s", r.raw)
	}
	// what a run is for, named in its audit event: a known purpose only
	if r := postText(t, f, "dr.gp", "/Group/$search?purpose=anything", search); r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), `purpose \"anything\"`) {
		t.Fatalf("an unknown purpose: %d %s", r.status, r.raw)
	}
	// a register by id
	r = f.do(t, "dr.gp", "GET", "/Group/HT", nil)
	if r.status != http.StatusOK || r.body["id"] != "HT" || r.body["quantity"] != float64(2) {
		t.Fatalf("GET /Group/HT: %d %s", r.status, r.raw)
	}
	// the role table: reception and the admin may not run searches
	if r := postText(t, f, "recep", "/Group/$search", search); r.status != http.StatusForbidden {
		t.Fatalf("reception: %d %s", r.status, r.raw)
	}
	// an error names the line and column
	r = postText(t, f, "dr.gp", "/Group/$search", "search \"x\"\nselect has code in cluster NOPE\n")
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), "request:2:20: unknown cluster") {
		t.Fatalf("bad search: %d %s", r.status, r.raw)
	}
	// every run is audited with its count
	n := 0
	admin, _ := f.p.As(ctx, "admin")
	evs, err := admin.AuditEvents(ctx, clinical.AuditFilter{})
	if err == nil {
		for _, ev := range evs {
			if ev.Action == "search" && strings.HasSuffix(ev.Query, "count 2") {
				n++
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d search audit events with their count, want 3 (%v)", n, err)
	}
}

func must(b []byte, _ error) []byte { return b }
