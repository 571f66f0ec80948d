package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

var ctx = context.Background()

type fixture struct {
	st     store.Store
	url    string
	p      *clinical.Practice
	tokens map[string]string
}

// start serves a new practice (admin, a GP, a nurse, a receptionist) over loopback.
func start(t testing.TB) *fixture { return startWith(t, bolt.Options{Hold: true}) }

func startWith(t testing.TB, o bolt.Options, opts ...func(*server.Options)) *fixture {
	return startOn(t, o, nil, opts...)
}

// startOn serves a practice whose codes are checked against terms.
func startOn(t testing.TB, o bolt.Options, terms clinical.Terminology, opts ...func(*server.Options)) *fixture {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), o)
	if err != nil {
		t.Fatal(err)
	}
	gst := server.GroupCommit(st)
	p := clinical.New(clinical.Options{Store: gst, Terms: terms, Source: "api"})
	if _, err := p.Init(ctx, "Test Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{p: p, st: gst, tokens: map[string]string{}}
	for _, u := range []record.User{
		{Name: "admin"},
		{Name: "dr.gp", Role: record.RoleGP, Prescriber: true, RegNumber: "7012345"},
		{Name: "nurse", Role: record.RoleNurse},
		{Name: "recep", Role: record.RoleReceptionist},
	} {
		if u.Role != "" {
			if _, err := admin.AddUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		tok, _, err := admin.NewToken(ctx, u.Name, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u.Name] = tok
	}
	so := server.Options{Practice: p}
	for _, o := range opts {
		o(&so)
	}
	hs := httptest.NewServer(server.New(so).Handler())
	t.Cleanup(func() { hs.Close(); st.Close() })
	f.url = hs.URL
	return f
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (f *fixture) do(t testing.TB, user, method, path string, body any, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.url+path, rd)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	req.Header.Set("Content-Type", "application/fhir+json")
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

func patientJSON(nhs, family, given, dob string) map[string]any {
	p := map[string]any{
		"resourceType": "Patient",
		"name":         []any{map[string]any{"family": family, "given": []string{given}}},
		"gender":       "female",
		"birthDate":    dob,
	}
	if nhs != "" {
		p["identifier"] = []any{map[string]any{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}}
	}
	return p
}

func obsJSON(patientID string, value float64) map[string]any {
	return map[string]any{
		"resourceType":      "Observation",
		"status":            "final",
		"code":              map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "27113001", "display": "Body weight"}}},
		"subject":           map[string]any{"reference": "Patient/" + patientID},
		"effectiveDateTime": "2026-11-20T10:00:00Z",
		"valueQuantity":     map[string]any{"value": value, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
	}
}

func wantStatus(t testing.TB, r resp, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	if want >= 400 && r.body["resourceType"] != "OperationOutcome" {
		t.Fatalf("error %d without an OperationOutcome: %s", r.status, r.raw)
	}
}

func lastAudit(t testing.TB, st store.Store) *record.AuditEvent {
	var last *record.AuditEvent
	_ = st.View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error { last = ev; return nil })
	})
	return last
}

func TestAuthAndRoles(t *testing.T) {
	f := start(t)
	r := f.do(t, "", "GET", "/Patient", nil)
	wantStatus(t, r, 401)
	if ev := lastAudit(t, f.st); ev.Action != "denied" || !strings.HasPrefix(ev.Reason, "no bearer token") || !strings.Contains(ev.Query, "/Patient") {
		t.Fatalf("401 not audited: %+v", ev)
	}
	req, _ := http.NewRequest("GET", f.url+"/Patient", nil)
	req.Header.Set("Authorization", "Bearer gpsoc_wrong")
	res, _ := http.DefaultClient.Do(req)
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("wrong token: %d", res.StatusCode)
	}

	pr := f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "Ann", "1961-03-12"))
	wantStatus(t, pr, 201)
	pid := pr.body["id"].(string)
	or := f.do(t, "dr.gp", "POST", "/Observation", obsJSON(pid, 71.5))
	wantStatus(t, or, 201)
	oid := or.body["id"].(string)

	r = f.do(t, "recep", "GET", "/Observation/"+oid, nil)
	wantStatus(t, r, 403)
	if ev := lastAudit(t, f.st); ev.Action != "denied" || ev.User != "recep" || ev.Outcome != "denied" {
		t.Fatalf("403 not audited: %+v", ev)
	}
	wantStatus(t, f.do(t, "recep", "GET", "/Observation?patient="+pid, nil), 403)
	wantStatus(t, f.do(t, "recep", "POST", "/Observation", obsJSON(pid, 70)), 403)
	wantStatus(t, f.do(t, "nurse", "GET", "/Observation/"+oid, nil), 200)
	// Reception may read demographics.
	wantStatus(t, f.do(t, "recep", "GET", "/Patient/"+pid, nil), 200)
	if ev := lastAudit(t, f.st); ev.Action != "read" || ev.EntityID != pid || ev.Source != "api" {
		t.Fatalf("read not audited: %+v", ev)
	}
}

func TestReadVersionsAndHistory(t *testing.T) {
	f := start(t)
	pr := f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "Ann", "1961-03-12"))
	wantStatus(t, pr, 201)
	pid := pr.body["id"].(string)
	if loc := pr.header.Get("Location"); !strings.HasSuffix(loc, "/Patient/"+pid+"/_history/1") {
		t.Errorf("Location %q", loc)
	}
	if et := pr.header.Get("ETag"); et != `W/"1"` {
		t.Errorf("ETag %q", et)
	}
	body := pr.body
	body["name"] = []any{map[string]any{"family": "Smyth", "given": []string{"Ann"}}}
	// No version named: refused.
	wantStatus(t, f.do(t, "recep", "PUT", "/Patient/"+pid, map[string]any{"resourceType": "Patient", "id": pid,
		"name": body["name"], "birthDate": "1961-03-12", "gender": "female"}), 428)
	up := f.do(t, "recep", "PUT", "/Patient/"+pid, body, "If-Match", `W/"1"`)
	wantStatus(t, up, 200)
	if up.header.Get("ETag") != `W/"2"` {
		t.Fatalf("after update ETag %q", up.header.Get("ETag"))
	}
	stale := f.do(t, "dr.gp", "PUT", "/Patient/"+pid, body, "If-Match", `W/"1"`)
	wantStatus(t, stale, 412)
	if !strings.Contains(string(stale.raw), "recep") {
		t.Errorf("412 does not say who changed it: %s", stale.raw)
	}
	v1 := f.do(t, "recep", "GET", "/Patient/"+pid+"/_history/1", nil)
	wantStatus(t, v1, 200)
	if !strings.Contains(string(v1.raw), `"Smith"`) {
		t.Errorf("vread 1: %s", v1.raw)
	}
	h := f.do(t, "recep", "GET", "/Patient/"+pid+"/_history", nil)
	wantStatus(t, h, 200)
	if h.body["type"] != "history" || h.body["total"].(float64) != 2 {
		t.Fatalf("history: %s", h.raw)
	}
	wantStatus(t, f.do(t, "recep", "GET", "/Patient/nope", nil), 404)
	wantStatus(t, f.do(t, "recep", "GET", "/Patient/"+pid+"/_history/9", nil), 404)
	wantStatus(t, f.do(t, "recep", "GET", "/Medication/x", nil), 404)

	// Observations: entered in error is the one update, version-checked.
	or := f.do(t, "dr.gp", "POST", "/Observation", obsJSON(pid, 71.5))
	wantStatus(t, or, 201)
	oid := or.body["id"].(string)
	ob := or.body
	ob["status"] = "entered-in-error"
	ob["note"] = []any{map[string]any{"text": "wrong patient"}}
	wantStatus(t, f.do(t, "dr.gp", "PUT", "/Observation/"+oid, ob, "If-Match", `W/"2"`), 412)
	wantStatus(t, f.do(t, "dr.gp", "PUT", "/Observation/"+oid, ob, "If-Match", `W/"1"`), 200)
	oh := f.do(t, "dr.gp", "GET", "/Observation/"+oid+"/_history", nil)
	wantStatus(t, oh, 200)
	if oh.body["total"].(float64) != 2 {
		t.Fatalf("observation history: %s", oh.raw)
	}
}

func TestSearch(t *testing.T) {
	f := start(t)
	var ids []string
	for i, n := range []struct{ nhs, fam, giv, dob string }{
		{"9434765919", "Smith", "John", "1961-03-12"},
		{"4010232137", "Smithson", "Ann", "1970-01-02"},
		{"", "Brown", "Carol", "1980-05-06"},
	} {
		p := patientJSON(n.nhs, n.fam, n.giv, n.dob)
		if n.nhs == "" {
			p["extension"] = []any{map[string]any{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberUnavailableReason",
				"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"code": "temporary-resident"}}}}}
		}
		r := f.do(t, "recep", "POST", "/Patient", p)
		wantStatus(t, r, 201)
		ids = append(ids, r.body["id"].(string))
		_ = i
	}
	total := func(r resp) int { return int(r.body["total"].(float64)) }
	r := f.do(t, "recep", "GET", "/Patient?name=smi", nil)
	wantStatus(t, r, 200)
	if total(r) != 2 {
		t.Fatalf("name=smi: %s", r.raw)
	}
	r = f.do(t, "recep", "GET", "/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919", nil)
	if total(r) != 1 || !strings.Contains(string(r.raw), ids[0]) {
		t.Fatalf("identifier: %s", r.raw)
	}
	r = f.do(t, "recep", "GET", "/Patient?birthdate=ge1970-01-01&_sort=-birthdate", nil)
	if total(r) != 2 || !strings.Contains(string(r.raw), "Brown") {
		t.Fatalf("birthdate: %s", r.raw)
	}
	if strings.Index(string(r.raw), "Brown") > strings.Index(string(r.raw), "Smithson") {
		t.Errorf("_sort=-birthdate not applied")
	}
	r = f.do(t, "recep", "GET", "/Patient?_count=1", nil)
	if total(r) != 3 || len(r.body["entry"].([]any)) != 1 || !strings.Contains(string(r.raw), `"next"`) {
		t.Fatalf("paging: %s", r.raw)
	}
	wantStatus(t, f.do(t, "recep", "GET", "/Patient?colour=blue", nil), 400)

	for i, v := range []float64{70, 71, 72} {
		o := obsJSON(ids[0], v)
		o["effectiveDateTime"] = fmt.Sprintf("2026-11-%02dT10:00:00Z", 10+i)
		wantStatus(t, f.do(t, "dr.gp", "POST", "/Observation", o), 201)
	}
	r = f.do(t, "dr.gp", "GET", "/Observation?patient=Patient/"+ids[0]+"&code=http://snomed.info/sct|27113001&date=ge2026-11-11", nil)
	wantStatus(t, r, 200)
	if total(r) != 2 {
		t.Fatalf("observation search: %s", r.raw)
	}
	wantStatus(t, f.do(t, "dr.gp", "GET", "/Observation", nil), 400)

	r = f.do(t, "recep", "GET", "/Patient/$find?q=smi+j", nil)
	wantStatus(t, r, 200)
	if total(r) < 1 || !strings.Contains(string(r.raw), ids[0]) {
		t.Fatalf("$find: %s", r.raw)
	}
	r = f.do(t, "dr.gp", "GET", "/Patient/"+ids[0]+"/$everything", nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.raw), `"Observation"`) {
		t.Fatalf("$everything: %s", r.raw)
	}
	wantStatus(t, f.do(t, "recep", "GET", "/Patient/"+ids[0]+"/$everything", nil), 403)
}

func TestMetadataAndErrors(t *testing.T) {
	f := start(t)
	r := f.do(t, "", "GET", "/metadata", nil)
	wantStatus(t, r, 200)
	if r.body["resourceType"] != "CapabilityStatement" || !strings.Contains(string(r.raw), `"AllergyIntolerance"`) {
		t.Fatalf("metadata: %s", r.raw)
	}
	wantStatus(t, f.do(t, "dr.gp", "DELETE", "/Patient/x", nil), 404)
	bad := f.do(t, "recep", "POST", "/Patient", map[string]any{"resourceType": "Patient", "birthDate": "not a date"})
	if bad.status < 400 || bad.body["resourceType"] != "OperationOutcome" {
		t.Fatalf("bad patient: %d %s", bad.status, bad.raw)
	}
	big := strings.Repeat("x", 9<<20)
	req, _ := http.NewRequest("POST", f.url+"/Patient", strings.NewReader(`{"resourceType":"Patient","id":"`+big+`"}`))
	req.Header.Set("Authorization", "Bearer "+f.tokens["recep"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Errorf("oversized body: %d", res.StatusCode)
	}
}

func TestTransaction(t *testing.T) {
	f := start(t)
	b := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
		map[string]any{"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "resource": patientJSON("9434765919", "Smith", "John", "1961-03-12"),
			"request": map[string]any{"method": "POST", "url": "Patient"}},
		map[string]any{"resource": func() map[string]any {
			o := obsJSON("x", 80)
			o["subject"] = map[string]any{"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}
			return o
		}(), "request": map[string]any{"method": "POST", "url": "Observation"}},
	}}
	r := f.do(t, "dr.gp", "POST", "/", b)
	wantStatus(t, r, 200)
	if r.body["type"] != "transaction-response" {
		t.Fatalf("transaction: %s", r.raw)
	}
	s := f.do(t, "dr.gp", "GET", "/Patient?identifier=9434765919", nil)
	if s.body["total"].(float64) != 1 {
		t.Fatalf("after transaction: %s", s.raw)
	}
	pid := s.body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string)

	// A transaction is not a bulk import: each resource needs the right its
	// write needs. A nurse may record results; a receptionist may not.
	obsTx := func(v float64) map[string]any {
		return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"resource": obsJSON(pid, v), "request": map[string]any{"method": "POST", "url": "Observation"}}}}
	}
	wantStatus(t, f.do(t, "nurse", "POST", "/", obsTx(81)), 200)
	wantStatus(t, f.do(t, "recep", "POST", "/", obsTx(82)), 403)
	if ev := lastAudit(t, f.st); ev.Action != "denied" || ev.User != "recep" {
		t.Errorf("refused transaction not audited: %+v", ev)
	}
	o := f.do(t, "dr.gp", "GET", "/Observation?patient="+pid, nil)
	if o.body["total"].(float64) != 2 {
		t.Fatalf("observations after the nurse's and the receptionist's transactions: %s", o.raw)
	}
}

// Eight clients updating the same patients at once: every update either
// lands or is refused as stale (412) — none is lost.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	f := start(t)
	var ids []string
	for i := 0; i < 3; i++ {
		r := f.do(t, "recep", "POST", "/Patient", patientJSON("", fmt.Sprintf("Family%d", i), "Ann", "1970-01-02"))
		if r.status != 201 {
			p := patientJSON("", fmt.Sprintf("Family%d", i), "Ann", "1970-01-02")
			p["extension"] = []any{map[string]any{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberUnavailableReason",
				"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"code": "temporary-resident"}}}}}
			r = f.do(t, "recep", "POST", "/Patient", p)
		}
		wantStatus(t, r, 201)
		ids = append(ids, r.body["id"].(string))
	}
	var mu sync.Mutex
	applied := map[string]int{}
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for n := 0; n < 10; n++ {
				id := ids[(c+n)%len(ids)]
				for {
					g := f.do(t, "recep", "GET", "/Patient/"+id, nil)
					body := g.body
					tel := []any{map[string]any{"system": "phone", "value": fmt.Sprintf("07700 9%02d%03d", c, n)}}
					body["telecom"] = tel
					u := f.do(t, "recep", "PUT", "/Patient/"+id, body, "If-Match", g.header.Get("ETag"))
					if u.status == 200 {
						mu.Lock()
						applied[id]++
						mu.Unlock()
						break
					}
					if u.status != 412 {
						t.Errorf("update: %d %s", u.status, u.raw)
						return
					}
				}
			}
		}(c)
	}
	wg.Wait()
	for _, id := range ids {
		h := f.do(t, "recep", "GET", "/Patient/"+id+"/_history", nil)
		if got := int(h.body["total"].(float64)); got != applied[id]+1 {
			t.Errorf("patient %s: %d versions, %d updates applied", id, got, applied[id])
		}
	}
}

func TestListenRefusesPlainHTTPBeyondLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true, "0.0.0.0:8080": false, "192.0.2.1:80": false} {
		err := server.CheckListen(server.ListenOptions{Addr: addr})
		if (err == nil) != ok {
			t.Errorf("%s: err = %v", addr, err)
		}
	}
	if err := server.CheckListen(server.ListenOptions{Addr: "0.0.0.0:8080", Insecure: true}); err != nil {
		t.Error(err)
	}
}

func TestGracefulShutdownFinishesWrites(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := clinical.New(clinical.Options{Store: server.GroupCommit(st), Source: "api"})
	if _, err := p.Init(ctx, "T", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	tok, _, _ := admin.NewToken(ctx, "admin", 0)
	sctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.New(server.Options{Practice: p}).ListenAndServe(sctx, server.ListenOptions{Addr: "127.0.0.1:0", Ready: func(a string) { ready <- a }})
	}()
	addr := <-ready
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b, _ := json.Marshal(patientJSON("", fmt.Sprintf("Shut%d", i), "Ann", "1970-01-02"))
			req, _ := http.NewRequest("POST", "http://"+addr+"/Patient", bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return // refused after the listener closed: never started
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes <- res.StatusCode
		}(i)
	}
	time.Sleep(5 * time.Millisecond)
	cancel()
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(codes)
	created := 0
	for c := range codes {
		if c == 201 {
			created++
		}
	}
	n := 0
	_ = st.View(ctx, func(tx store.Tx) error { n = tx.Count(record.KindPatient); return nil })
	if n != created {
		t.Fatalf("patients written = %d, creations answered 201 = %d", n, created)
	}
}

// A write that panics fails alone; the server and the other writes go on.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := server.GroupCommit(st)
	err = g.Update(ctx, func(tx store.WTx) error { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panicking write: %v", err)
	}
	if err := g.Update(ctx, func(tx store.WTx) error {
		return tx.Append(&record.AuditEvent{User: "x", Action: "read", Outcome: "ok"})
	}); err != nil {
		t.Fatal(err)
	}
	_ = g.View(ctx, func(tx store.Tx) error {
		if seq, _, _ := tx.AuditHead(); seq != 1 {
			t.Errorf("audit events = %d, want 1", seq)
		}
		return nil
	})
}

// In a batch, a failing write fails alone: the audit appends beside it are
// committed, and a create is never run twice.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g := server.GroupCommit(st)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for round := 0; round < 10; round++ {
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				switch i {
				case 0: // fails after writing: rolled back
					errs <- g.Update(ctx, func(tx store.WTx) error {
						p := &record.Patient{Family: "Fail", Given: []string{"A"}, BirthDate: "1970-01-01", Sex: "female", NoNHSReason: "temporary-resident"}
						if err := tx.Put(p); err != nil {
							return err
						}
						return errors.New("refused")
					})
				case 1: // a create
					p := &record.Patient{Family: "Keep", Given: []string{"A"}, BirthDate: "1970-01-01", Sex: "female", NoNHSReason: "temporary-resident"}
					errs <- g.Update(ctx, func(tx store.WTx) error { return tx.Put(p) })
				default:
					errs <- g.Update(ctx, func(tx store.WTx) error {
						return tx.Append(&record.AuditEvent{User: "x", Action: "read", Outcome: "ok"})
					})
				}
			}(i)
		}
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if err.Error() != "refused" {
				t.Errorf("unexpected error: %v", err)
			}
			failed++
		}
	}
	_ = g.View(ctx, func(tx store.Tx) error {
		if seq, _, _ := tx.AuditHead(); seq != 60 {
			t.Errorf("audit events = %d, want 60", seq)
		}
		n := 0
		_ = tx.ForEach(record.KindPatient, func(e record.Entity) error {
			if e.(*record.Patient).Family != "Keep" {
				t.Errorf("a failed write's patient was committed")
			}
			n++
			return nil
		})
		if n != 10 || failed != 10 {
			t.Errorf("patients = %d (want 10), failed writes = %d (want 10)", n, failed)
		}
		return nil
	})
}

// A coded result (valueCodeableConcept: smoking status) is accepted and read
// back as it was sent.
func TestCodedObservation(t *testing.T) {
	f := start(t)
	pr := f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "Ann", "1961-03-12"))
	wantStatus(t, pr, 201)
	pid := pr.body["id"].(string)
	coded := func(code string) map[string]any {
		o := obsJSON(pid, 0)
		delete(o, "valueQuantity")
		o["code"] = map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "365981007"}}}
		o["valueCodeableConcept"] = map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": code}}}
		return o
	}
	r := f.do(t, "dr.gp", "POST", "/Observation", coded("8517006"))
	wantStatus(t, r, 201)
	got := f.do(t, "dr.gp", "GET", "/Observation/"+r.body["id"].(string), nil)
	wantStatus(t, got, 200)
	cc, _ := got.body["valueCodeableConcept"].(map[string]any)
	codings, _ := cc["coding"].([]any)
	if len(codings) != 1 || codings[0].(map[string]any)["code"] != "8517006" {
		t.Fatalf("coded value read back as %s", got.raw)
	}
}

// A transaction entry that would change a stored record is never answered
// "200 OK" while the record stays as it was: a PUT entry is refused (updates
// go one by one with If-Match), and a POST of a record that clashes with a
// stored one is rejected with the reason; nothing is written either way.
func TestTransactionNeverDropsAnUpdate(t *testing.T) {
	f := start(t)
	wantStatus(t, f.do(t, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12")), 201)
	s := f.do(t, "dr.gp", "GET", "/Patient?identifier=9434765919", nil)
	pid := s.body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	changed := patientJSON("9434765919", "Smyth", "John", "1961-03-12")
	changed["id"] = pid
	for _, method := range []string{"PUT", "POST"} {
		url := "Patient"
		if method == "PUT" {
			url = "Patient/" + pid
		}
		b := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"resource": changed, "request": map[string]any{"method": method, "url": url}}}}
		r := f.do(t, "dr.gp", "POST", "/", b)
		if r.status == 200 {
			t.Errorf("%s of a changed patient in a transaction: 200 OK\n%s", method, r.raw)
		}
		if r.body["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: no OperationOutcome: %s", method, r.raw)
		}
		g := f.do(t, "dr.gp", "GET", "/Patient/"+pid, nil)
		if name := g.body["name"].([]any)[0].(map[string]any)["family"]; name != "Smith" || g.body["meta"].(map[string]any)["versionId"] != "1" {
			t.Errorf("%s: patient now %v version %v, want Smith at 1", method, name, g.body["meta"])
		}
	}
}

// Entries with neither id nor fullUrl are each applied as the POST they
// are: each creates a record (a re-run that changes nothing is import
// fhir's, which matches on identifiers).
func TestTransactionEntriesWithoutIDs(t *testing.T) {
	f := start(t)
	wantStatus(t, f.do(t, "dr.gp", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12")), 201)
	s := f.do(t, "dr.gp", "GET", "/Patient?identifier=9434765919", nil)
	pid := s.body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)["id"].(string)
	tx := func(v float64) map[string]any {
		return map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
			map[string]any{"resource": obsJSON(pid, v), "request": map[string]any{"method": "POST", "url": "Observation"}}}}
	}
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", tx(80)), 200)
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", tx(81)), 200)
	wantStatus(t, f.do(t, "dr.gp", "POST", "/", tx(81)), 200) // sent again: a second result, as a POST makes
	o := f.do(t, "dr.gp", "GET", "/Observation?patient="+pid, nil)
	if o.body["total"].(float64) != 3 {
		t.Fatalf("observations after 80, 81 and 81 again: %s", o.raw)
	}
}

// A request that fails (here a search with a malformed date) is audited
// under its user, with what was asked.
func TestFailedRequestIsAudited(t *testing.T) {
	f := start(t)
	r := f.do(t, "dr.gp", "GET", "/Patient?birthdate=yesterday", nil)
	if r.status < 400 || r.status >= 500 {
		t.Fatalf("malformed birthdate: status %d %s", r.status, r.raw)
	}
	ev := lastAudit(t, f.st)
	if ev.User != "dr.gp" || ev.Outcome != "failed" || !strings.Contains(ev.Query, "birthdate=yesterday") {
		t.Errorf("last audit event = %+v, want dr.gp's failed search", ev)
	}
}
