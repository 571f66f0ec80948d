package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store"
)

// serveWith serves f's practice again, with options.
func serveWith(t *testing.T, f *fixture, o server.Options) (*fixture, *server.Server) {
	o.Practice = f.p
	srv := server.New(o)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	g := *f
	g.url = hs.URL
	return &g, srv
}

// trailSize is the number of audit events and the bytes of their JSON.
func trailSize(t *testing.T, f *fixture) (n, bytes int) {
	t.Helper()
	_ = f.st.View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error {
			b, _ := json.Marshal(ev)
			n, bytes = n+1, bytes+len(b)
			return nil
		})
	})
	return n, bytes
}

func TestUnauthenticatedFloodGrowsTheAuditByABoundedAmount(t *testing.T) {
	// A window of an hour: however slow the machine, the flood falls in one.
	f, srv := serveWith(t, start(t), server.Options{Limits: server.Limits{FloodEvery: time.Hour}})
	n0, b0 := trailSize(t, f)
	long := "/Patient/" + strings.Repeat("A", 62<<10) // with its query, a 64 KiB request line
	codes := map[int]int{}
	for i := range 300 {
		req, _ := http.NewRequest("GET", f.url+long+"?q="+strings.Repeat("x", 2000), nil)
		if i%2 == 1 {
			req.Header.Set("Authorization", "Bearer gpsoc_guess")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes[res.StatusCode]++
		if res.StatusCode == 429 && res.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[401] == 0 || codes[429] == 0 || codes[401]+codes[429] != 300 {
		t.Fatalf("statuses %v: want 401s, then 429s once over the limit", codes)
	}
	srv.FlushRefusals(ctx, true) // the coalesced count, as at the end of its minute or on shutdown
	n1, b1 := trailSize(t, f)
	if n1-n0 > 3 || b1-b0 > 3000 {
		t.Fatalf("300 refused requests with 64 KiB URIs grew the trail by %d events, %d bytes", n1-n0, b1-b0)
	}
	var evs []*record.AuditEvent
	_ = f.st.View(ctx, func(tx store.Tx) error {
		return tx.Audit(uint64(n0), func(ev *record.AuditEvent) error { evs = append(evs, ev); return nil })
	})
	first, last := evs[0], evs[len(evs)-1]
	if first.Action != "denied" || !strings.HasPrefix(first.Query, "GET /Patient/AAAA") || !strings.Contains(first.Query, "bytes)") ||
		!strings.Contains(first.Reason, "client 127.0.0.1") {
		t.Errorf("first refusal: %+v", first)
	}
	if !strings.Contains(last.Reason, "299 more such requests") {
		t.Errorf("coalesced event: %+v", last)
	}
}

func TestFailedRequestsAreRateLimitedPerUser(t *testing.T) {
	f, _ := serveWith(t, start(t), server.Options{Limits: server.Limits{FailRate: 0.01, FailBurst: 5, AnonRate: 0.01, AnonBurst: 3}})
	var r resp
	for range 6 {
		r = f.do(t, "dr.gp", "GET", "/Patient/no-such-patient", nil)
	}
	wantStatus(t, r, 429)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Another user is not slowed by dr.gp's failures.
	wantStatus(t, f.do(t, "nurse", "GET", "/Patient", nil), 200)
	// Once the address is over its limit, unknown tokens get 429 without being
	// looked up; a token already in use from it still works.
	for range 4 {
		r = f.do(t, "", "GET", "/Patient", nil)
	}
	wantStatus(t, r, 429)
	req, _ := http.NewRequest("GET", f.url+"/Patient", nil)
	req.Header.Set("Authorization", "Bearer gpsoc_another_guess")
	res, _ := http.DefaultClient.Do(req)
	res.Body.Close()
	if res.StatusCode != 429 {
		t.Fatalf("unknown token from a limited address: %d", res.StatusCode)
	}
	wantStatus(t, f.do(t, "nurse", "GET", "/Patient", nil), 200)
}

func TestLinksComeFromTheBaseURLNeverTheHostHeader(t *testing.T) {
	for _, base := range []string{"", "https://gp.example.org/fhir/"} {
		f, _ := serveWith(t, start(t), server.Options{BaseURL: base})
		want := base
		if want == "" {
			want = f.url + "/"
		}
		r := f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"), "Host", "evil.example")
		wantStatus(t, r, 201)
		if loc := r.header.Get("Location"); !strings.HasPrefix(loc, want+"Patient/") {
			t.Errorf("base %q: Location %q", base, loc)
		}
		req, _ := http.NewRequest("GET", f.url+"/Patient?name=smi&_count=1", nil)
		req.Host = "evil.example"
		req.Header.Set("Authorization", "Bearer "+f.tokens["recep"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Link  []struct{ URL string }
			Entry []struct{ FullURL string }
		}
		_ = json.NewDecoder(res.Body).Decode(&b)
		res.Body.Close()
		if len(b.Link) == 0 || len(b.Entry) != 1 {
			t.Fatalf("bundle %+v", b)
		}
		for _, u := range append([]string{b.Entry[0].FullURL}, b.Link[0].URL) {
			if strings.Contains(u, "evil.example") || !strings.HasPrefix(u, want) {
				t.Errorf("base %q: link %q", base, u)
			}
		}
	}
}

func TestNoStoreOnEveryResponseButMetadata(t *testing.T) {
	f := start(t)
	for _, c := range []struct {
		user, path string
		status     int
	}{{"recep", "/Patient", 200}, {"", "/Patient", 401}, {"dr.gp", "/Patient/none", 404}, {"admin", "/AuditEvent", 200}} {
		r := f.do(t, c.user, "GET", c.path, nil)
		if r.status != c.status || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s as %q: %d, Cache-Control %q", c.path, c.user, r.status, r.header.Get("Cache-Control"))
		}
	}
	if r := f.do(t, "", "GET", "/metadata", nil); r.status != 200 || r.header.Get("Cache-Control") == "no-store" {
		t.Errorf("/metadata: %d %q", r.status, r.header.Get("Cache-Control"))
	}
}

func TestUnsupportedSearchModifiersAndParametersRefused(t *testing.T) {
	f := start(t)
	wantStatus(t, f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12")), 201)
	wantStatus(t, f.do(t, "recep", "POST", "/Patient", patientJSON("9434765927", "Jones", "Ann", "1970-01-01")), 201)
	for _, c := range []struct{ query, names string }{
		{"name:exact=Smith", `"name:exact"`},
		{"family:contains=mit", `"family:contains"`},
		{"birthdate:missing=true", `"birthdate:missing"`},
		{"nickname=Jo", `"nickname"`},
		{"identifier=9434765919&identifier=9434765927", `"identifier"`},
	} {
		r := f.do(t, "recep", "GET", "/Patient?"+c.query, nil)
		wantStatus(t, r, 400)
		if !strings.Contains(string(r.raw), strings.ReplaceAll(c.names, `"`, `\"`)) {
			t.Errorf("%s: the refusal does not name %s: %s", c.query, c.names, r.raw)
		}
	}
	wantStatus(t, f.do(t, "dr.gp", "GET", "/Observation?patient=x&code:text=bp", nil), 400)
	wantStatus(t, f.do(t, "recep", "GET", "/Patient?name=Smith", nil), 200)
}

func TestFailedRequestAuditIsASummary(t *testing.T) {
	f := start(t)
	r := f.do(t, "dr.gp", "GET", "/Patient/"+strings.Repeat("B", 50<<10)+"?x="+strings.Repeat("y", 5000), nil)
	if r.status != 404 && r.status != 400 {
		t.Fatalf("status %d", r.status)
	}
	ev := lastAudit(t, f.st)
	if ev.User != "dr.gp" || len(ev.Query) > 400 || len(ev.Reason) > 400 {
		t.Fatalf("failed request's event is not bounded: query %d bytes, reason %d bytes", len(ev.Query), len(ev.Reason))
	}
}

func TestFailedRequestFloodIsCoalesced(t *testing.T) {
	f, srv := serveWith(t, start(t), server.Options{Limits: server.Limits{FailRate: 1000, FailBurst: 1000, FloodEvery: time.Hour}})
	n0, _ := trailSize(t, f)
	for range 150 {
		wantStatus(t, f.do(t, "dr.gp", "GET", "/Patient/no-such-patient", nil), 404)
	}
	srv.FlushRefusals(ctx, true)
	n1, _ := trailSize(t, f)
	if got := n1 - n0; got != 61 {
		t.Fatalf("150 failed requests wrote %d events, want 60 in full and 1 with the count of the rest", got)
	}
	if ev := lastAudit(t, f.st); ev.User != "dr.gp" || ev.Outcome != "failed" || !strings.Contains(ev.Reason, "90 more such requests") {
		t.Fatalf("coalesced event: %+v", ev)
	}
}

func TestBaseURLMustBeAbsoluteHTTP(t *testing.T) {
	for _, bad := range []string{"gp.example.org", "ftp://gp.example.org/", "https://gp.example.org/?x=1", "/fhir"} {
		if _, err := server.NormalizeBaseURL(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("base URL %q: %v", bad, err)
		}
	}
	if got, err := server.NormalizeBaseURL("https://gp.example.org/fhir"); err != nil || got != "https://gp.example.org/fhir/" {
		t.Errorf("got %q, %v", got, err)
	}
}
