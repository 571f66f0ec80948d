package commands

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opengpsoc/gpsoc/cohort"
	"github.com/opengpsoc/gpsoc/internal/medplumtest"
)

// requestLog is a proxy in front of a FHIR server that notes every request.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // METHOD path?query
}

func (l *requestLog) proxy(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.RequestURI())
		l.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL + "/"
}

func (l *requestLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs[n:]...)
}

func (l *requestLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// withoutIDs blanks the patient ids, which each server gives its own.
func withoutIDs(rows []cohort.Row) []cohort.Row {
	out := append([]cohort.Row(nil), rows...)
	for i := range out {
		out[i].PatientID = ""
	}
	return out
}

// Against another vendor's FHIR server (Medplum's FHIR router), which does
// not declare gpsoc's Group/$search, a search and the registers run in the
// workstation over standard FHIR search: the same data gives the same
// patients, values and counts as the same search run on a local practice
// file; the command says where it ran and how much it fetched; only the
// resource types the search's criteria read are fetched, type by type with
// _count (never patient by patient, never a resource's history); the read
// rules hold (a sensitive record flagged without its values unless a reason
// is given; reception refused); an explanation equals the local one; and
// each run leaves one AuditEvent with the search and its count on that
// server. (A consultation's coded entries may be Procedures: they are read.)
func TestSearchAgainstOtherVendor(t *testing.T) {
	e, file := searchPractice(t)
	regs := filepath.Join("testdata", "registers")
	var local, localReason, localHT1 []cohort.Row
	var localSums []registerSummary
	e.jsonOf(&local, "--as", "mrs.khan", "search", "run", file)
	e.jsonOf(&localReason, "--as", "dr.patel", "search", "run", file, "--reason", "hypertension clinic")
	e.jsonOf(&localHT1, "--as", "mrs.khan", "register", "show", "HT1", "--registers", regs)
	e.jsonOf(&localSums, "--as", "mrs.khan", "register", "list", "--registers", regs)
	var localX cohort.Explanation
	e.jsonOf(&localX, "--as", "dr.patel", "search", "explain", file, htNHS2, "--reason", "hypertension clinic")

	// The same practice on Medplum, written through remote mode with the
	// same commands.
	var log requestLog
	base := log.proxy(t, medplumtest.Start(t))
	tokens := map[string]string{}
	for _, u := range []string{"dr.patel", "mrs.khan", "reception"} {
		tokens[u] = medplumtest.Token
	}
	e.remote = &remoteSide{url: base, tokens: tokens, dir: t.TempDir(), now: &atomic.Int64{}}
	as := func(role string) {
		e.config = map[string]string{"remote.role": role, "remote.ods": "B86001", "remote.practice": "Leeds Road Surgery"}
	}
	as("gp")
	var nd strings.Builder
	for i, nhs := range []string{htNHS1, htNHS2, htNHS3, "9434765846"} {
		fmt.Fprintf(&nd, `{"nhsNumber":%q,"family":%q,"given":["Ann"],"birthDate":"1961-03-12","sex":"female","registration":{"type":"regular","registeredOn":"2010-01-01"}}`+"\n",
			nhs, []string{"Smith", "Jones", "Brown", "Green"}[i])
	}
	if r := e.run(nd.String(), "--as", "dr.patel", "patient", "import", "-"); r.code != 0 {
		t.Fatalf("import into Medplum: %s %s", r.out, r.err)
	}
	gp := func(args ...string) { e.ok(append([]string{"--as", "dr.patel"}, args...)...) }
	gp("problem", "add", htNHS1, "--code", "38341003", "--onset", "2015-01-01")
	gp("problem", "add", htNHS2, "--code", "38341003", "--onset", "2015-01-01")
	gp("problem", "add", htNHS3, "--code", "38341003", "--onset", "2015-01-01")
	gp("problem", "add", htNHS3, "--code", "162659009", "--onset", "2020-01-01")
	gp("obs", "add", htNHS1, "--bp", "132/84", "--date", "2026-10-01")
	gp("obs", "add", htNHS2, "--bp", "162/94", "--date", "2026-10-02")
	gp("patient", "update", htNHS2, "--sensitive", "--if-version", "1")

	as("manager")
	n0 := log.len()
	r := e.run("", "--as", "mrs.khan", "search", "run", file, "-o", "json")
	if r.code != 0 {
		t.Fatalf("search against Medplum: exit %d\n%s", r.code, r.err)
	}
	if !strings.Contains(r.err, "searched in the workstation over standard FHIR search") || !strings.Contains(r.err, ": 4 patients,") ||
		!strings.Contains(r.err, "slower than on a gpsoc server") {
		t.Errorf("the search does not say where it ran and what it fetched: %q", r.err)
	}
	var remote []cohort.Row
	if err := json.Unmarshal([]byte(r.out), &remote); err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, withoutIDs(remote)), mustJSON(t, withoutIDs(local)); a != b {
		t.Fatalf("against Medplum:\n%s\nlocally:\n%s", a, b)
	}
	if !remote[1].Sensitive || len(remote[1].Matched) != 0 {
		t.Fatalf("a sensitive record against Medplum: %+v", remote[1])
	}
	// What was asked: each type the criteria read, once, paged with _count;
	// no medicines (no criterion reads them), nothing patient by patient.
	var types []string
	for _, q := range log.since(n0) {
		method, uri, _ := strings.Cut(q, " ")
		path, query, _ := strings.Cut(strings.TrimPrefix(uri, "/"), "?")
		if strings.Contains(path, "_history") || strings.Contains(query, "patient=") || strings.Contains(query, "subject=") {
			t.Errorf("the search asked record by record: %s", q)
		}
		if method == "GET" && query != "" && strings.Contains(query, "_count=1000") && !strings.Contains(path, "/") {
			types = append(types, path)
		}
	}
	slices.Sort(types)
	if want := []string{"AllergyIntolerance", "Condition", "Encounter", "Immunization", "Observation", "Patient", "Procedure"}; !slices.Equal(slices.Compact(types), want) {
		t.Errorf("resource types fetched %v, want %v (and no MedicationRequest)", types, want)
	}

	// A clinician with a reason sees the values, as locally.
	as("gp")
	var reason []cohort.Row
	e.jsonOf(&reason, "--as", "dr.patel", "search", "run", file, "--reason", "hypertension clinic")
	if a, b := mustJSON(t, withoutIDs(reason)), mustJSON(t, withoutIDs(localReason)); a != b {
		t.Fatalf("with a reason against Medplum:\n%s\nlocally:\n%s", a, b)
	}
	// A register (an indicator) and the register list: the same as locally.
	as("manager")
	var ht1 []cohort.Row
	e.jsonOf(&ht1, "--as", "mrs.khan", "register", "show", "HT1", "--registers", regs)
	if a, b := mustJSON(t, withoutIDs(ht1)), mustJSON(t, withoutIDs(localHT1)); a != b {
		t.Fatalf("register show HT1 against Medplum:\n%s\nlocally:\n%s", a, b)
	}
	var sums []registerSummary
	e.jsonOf(&sums, "--as", "mrs.khan", "register", "list", "--registers", regs)
	if a, b := mustJSON(t, sums), mustJSON(t, localSums); a != b {
		t.Fatalf("register list against Medplum:\n%s\nlocally:\n%s", a, b)
	}
	// An explanation reads the one patient over standard FHIR search and
	// explains here: the same rules and entries as locally.
	as("gp")
	var x cohort.Explanation
	e.jsonOf(&x, "--as", "dr.patel", "search", "explain", file, htNHS2, "--reason", "hypertension clinic")
	if a, b := mustJSON(t, explanationWithoutIDs(x)), mustJSON(t, explanationWithoutIDs(localX)); a != b {
		t.Fatalf("explained against Medplum:\n%s\nlocally:\n%s", a, b)
	}
	// Reception may not run searches: refused before anything is fetched.
	as("receptionist")
	n1 := log.len()
	e.want(ExitForbidden, "--as", "reception", "search", "run", file)
	for _, q := range log.since(n1) {
		if strings.Contains(q, "Condition") || strings.Contains(q, "Observation") {
			t.Errorf("a refused search fetched records: %s", q)
		}
	}

	// One AuditEvent a run, on the server, with the search and its count
	// (the reason too when one was given).
	req, _ := http.NewRequest("GET", base+"AuditEvent?_count=1000", nil)
	req.Header.Set("Authorization", "Bearer "+medplumtest.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				Subtype []struct{ Code string }
				Agent   []struct{ Who struct{ Display string } }
				Entity  []struct {
					Detail []struct{ ValueString string }
				}
				OutcomeDesc string
			}
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, en := range b.Entry {
		ev := en.Resource
		for _, x := range ev.Entity {
			for _, d := range x.Detail {
				if strings.Contains(d.ValueString, "Hypertension, BP above") && len(ev.Subtype) > 0 && (ev.Subtype[0].Code == "search" || ev.Subtype[0].Code == "explain") {
					runs = append(runs, ev.Agent[0].Who.Display+" "+d.ValueString+" "+ev.OutcomeDesc)
				}
			}
		}
	}
	if len(runs) != 3 || !strings.HasPrefix(runs[0], "mrs.khan ") || !strings.Contains(runs[0], "count 2") ||
		!strings.HasPrefix(runs[1], "dr.patel ") || !strings.HasSuffix(runs[1], "hypertension clinic") ||
		!strings.HasPrefix(runs[2], "dr.patel ") || !strings.Contains(runs[2], "count 1 hypertension clinic") {
		t.Errorf("audit events of the search runs on Medplum: %q", runs)
	}
}

// explanationWithoutIDs blanks the record ids, which each server gives its own.
func explanationWithoutIDs(x cohort.Explanation) cohort.Explanation {
	x.PatientID = ""
	lines := append([]cohort.Line(nil), x.Lines...)
	for i := range lines {
		ev := append([]cohort.Evidence(nil), lines[i].Evidence...)
		for j := range ev {
			ev[j].ID = ""
		}
		lines[i].Evidence = ev
	}
	x.Lines = lines
	return x
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
