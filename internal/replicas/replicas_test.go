package replicas_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/postgres"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// replica is one serve process as the site's practice sees it: its URL
// (shared by every practice the process serves), and the practice's store
// and services on that process's own pool.
type replica struct {
	url string
	st  store.Store
	grp store.Store // st behind the server's group commit
	p   *clinical.Practice
}

// site is a practice served by several replicas, with a token per user.
type site struct {
	ods    string
	reps   []*replica
	tokens map[string]string
}

var users = []record.User{
	{Name: "dr.gp", Role: record.RoleGP, Prescriber: true, RegNumber: "7012345"},
	{Name: "nurse", Role: record.RoleNurse},
	{Name: "recep", Role: record.RoleReceptionist},
}

// serveReplicas creates the practices odss in the database at dbURL (admin,
// a GP, a nurse, a receptionist, a token each) and serves all of them from
// each of n replicas, as `gpsoc serve --store` does (commands/serve_pg.go):
// one pool per replica, a server per practice made on its first request,
// the token deciding the practice.
func serveReplicas(t testing.TB, dbURL string, n int, odss ...string) []*site {
	t.Helper()
	return serveReplicasPool(t, dbURL, n, 0, odss...)
}

// serveReplicasPool is serveReplicas with each replica's pool of pool
// connections (0: the pool gpsoc serve opens by default).
func serveReplicasPool(t testing.TB, dbURL string, n int, pool int32, odss ...string) []*site {
	t.Helper()
	sites := make([]*site, len(odss))
	for i := range odss {
		sites[i] = &site{ods: odss[i], tokens: map[string]string{}}
	}
	for r := 0; r < n; r++ {
		db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: pool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		practices := map[string]*clinical.Practice{}
		for i, ods := range odss {
			st, err := db.Practice(ods)
			if err != nil {
				t.Fatal(err)
			}
			grp := server.GroupCommit(st)
			p := clinical.New(clinical.Options{Store: grp, Source: "api"})
			if r == 0 {
				setUpPractice(t, p, sites[i])
			}
			practices[ods] = p
			sites[i].reps = append(sites[i].reps, &replica{st: st, grp: grp, p: p})
		}
		open := func(_ context.Context, ods string) (*server.Server, error) {
			p, ok := practices[ods]
			if !ok {
				return nil, &record.NotFoundError{Kind: "practice", ID: ods}
			}
			return server.New(server.Options{Practice: p}), nil
		}
		home, _ := open(ctx, odss[0])
		hs := httptest.NewServer(server.NewPractices(server.PracticesOptions{Route: db.TokenPractice, Open: open, Home: home}).Handler())
		t.Cleanup(hs.Close)
		for _, s := range sites {
			s.reps[r].url = hs.URL
		}
	}
	return sites
}

// setUpPractice creates the site's practice with its users, and a token each.
func setUpPractice(t testing.TB, p *clinical.Practice, s *site) {
	t.Helper()
	if _, err := p.Init(ctx, "Surgery "+s.ods, s.ods, "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"admin", "dr.gp", "nurse", "recep"} {
		tok, _, err := admin.NewToken(ctx, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[name] = tok
	}
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

type answer struct {
	status int
	etag   string
	body   map[string]any
	raw    []byte
}

func (s *site) do(t testing.TB, rep int, user, method, path string, body any, hdr ...string) answer {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.reps[rep].url+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.tokens[user])
	req.Header.Set("Content-Type", "application/fhir+json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, etag: res.Header.Get("ETag"), raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// letters spells n in letters (a find treats digits as part of a number
// or a date, not of a name).
func letters(n int) string {
	s := ""
	for {
		s = string(rune('a'+n%26)) + s
		if n /= 26; n == 0 {
			return s
		}
	}
}

func patientJSON(family string) map[string]any {
	return map[string]any{"resourceType": "Patient", "gender": "female", "birthDate": "1970-01-02",
		"name": []any{map[string]any{"family": family, "given": []string{"Ann"}}}}
}

// found reports whether a find on replica rep lists a patient with this
// family name.
func (s *site) found(t testing.TB, rep int, family string) bool {
	a := s.do(t, rep, "recep", "GET", "/Patient/$find?_count=5&q="+url.QueryEscape(family), nil)
	return a.status == 200 && bytes.Contains(a.raw, []byte(`"`+family+`"`))
}

// Two replicas on one database, each serving both practices in it (the
// token deciding the practice, as gpsoc serve --store does), 8 concurrent clients
// per practice writing and reading through both replicas: no update is
// lost (a version check holds across replicas), every write is found by a
// find on the other replica within a second, each practice keeps one
// intact audit chain, and a user disabled through one replica is refused
// by the other within a second.
func TestTwoReplicasOneDatabase(t *testing.T) {
	dbURL := pgtest.Shared(t).NewDatabase(t)
	sites := serveReplicas(t, dbURL, 2, "B86001", "Y12345")

	const nPatients, clients, rounds = 6, 8, 12
	type result struct {
		applied  map[string]int // patient id -> updates acknowledged
		conflict int
		seen     []time.Duration // write on one replica -> found on the other
		failures []string
	}
	results := make([]*result, len(sites))
	var wg sync.WaitGroup
	for si, s := range sites {
		var ids []string
		for i := 0; i < nPatients; i++ {
			a := s.do(t, i%2, "recep", "POST", "/Patient", patientJSON("Seed"+strings.ToLower(s.ods[:1])+letters(i)))
			if a.status != 201 {
				t.Fatalf("seed patient: %d %s", a.status, a.raw)
			}
			ids = append(ids, a.body["id"].(string))
		}
		r := &result{applied: map[string]int{}}
		results[si] = r
		var mu sync.Mutex
		fail := func(format string, args ...any) {
			mu.Lock()
			r.failures = append(r.failures, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < rounds; n++ {
					rep := (c + n) % 2
					id := ids[(c+n)%len(ids)]
					if c%2 == 1 {
						// A reader: the record, and a find, on either replica.
						if a := s.do(t, rep, "recep", "GET", "/Patient/"+id, nil); a.status != 200 {
							fail("read %s on replica %d: %d %s", id, rep, a.status, a.raw)
						}
						if !s.found(t, 1-rep, "Seed"+strings.ToLower(s.ods[:1])+letters((c+n)%len(ids))) {
							fail("seed patient not found on replica %d", 1-rep)
						}
						continue
					}
					// A writer: read on one replica, write on the other with
					// the version read; a conflict is read again and retried.
					for try := 0; ; try++ {
						g := s.do(t, rep, "recep", "GET", "/Patient/"+id, nil)
						body := g.body
						body["telecom"] = []any{map[string]any{"system": "phone", "value": fmt.Sprintf("07700 9%02d%03d", c, n)}}
						u := s.do(t, 1-rep, "recep", "PUT", "/Patient/"+id, body, "If-Match", g.etag)
						if u.status == 200 {
							mu.Lock()
							r.applied[id]++
							mu.Unlock()
							break
						}
						if u.status != 412 || try > 50 {
							fail("update %s: %d %s", id, u.status, u.raw)
							break
						}
						mu.Lock()
						r.conflict++
						mu.Unlock()
					}
					// A new patient through one replica, found through the other.
					fam := "New" + strings.ToLower(s.ods[:1]) + letters(c) + "q" + letters(n)
					if a := s.do(t, rep, "recep", "POST", "/Patient", patientJSON(fam)); a.status != 201 {
						fail("create %s: %d %s", fam, a.status, a.raw)
						continue
					}
					t0 := time.Now()
					for !s.found(t, 1-rep, fam) {
						if time.Since(t0) > 5*time.Second {
							fail("%s written on replica %d is not found on replica %d after 5 s", fam, rep, 1-rep)
							break
						}
						time.Sleep(10 * time.Millisecond)
					}
					mu.Lock()
					r.seen = append(r.seen, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()

	for si, s := range sites {
		r := results[si]
		for _, f := range r.failures {
			t.Errorf("%s: %s", s.ods, f)
		}
		total := 0
		for id, n := range r.applied {
			total += n
			for rep := range s.reps {
				a := s.do(t, rep, "recep", "GET", "/Patient/"+id, nil)
				if want := fmt.Sprintf(`W/"%d"`, 1+n); a.etag != want {
					t.Errorf("%s: patient %s on replica %d is at %s after %d acknowledged updates: an update was lost", s.ods, id, rep, a.etag, n)
				}
			}
		}
		if want := clients / 2 * rounds; total != want {
			t.Errorf("%s: %d updates acknowledged, want %d", s.ods, total, want)
		}
		var worst time.Duration
		for _, d := range r.seen {
			worst = max(worst, d)
		}
		if worst > time.Second {
			t.Errorf("%s: a write was found on the other replica only after %v (budget 1 s)", s.ods, worst)
		}
		t.Logf("%s: %d updates (%d conflicts retried across replicas), %d creates each found on the other replica within %v",
			s.ods, total, r.conflict, len(r.seen), worst)

		// One intact chain per practice, however the replicas interleaved.
		if ps := storetest.VerifyChain(t, s.reps[0].st); len(ps) > 0 {
			t.Errorf("%s: audit chain: %v", s.ods, ps)
		}
		var events uint64
		var patients int
		_ = s.reps[1].st.View(ctx, func(tx store.Tx) error {
			events, _, _ = tx.AuditHead()
			patients = tx.Count(record.KindPatient)
			return nil
		})
		if want := nPatients + clients/2*rounds; patients != want {
			t.Errorf("%s: %d patients, want %d (the other practice's must not show)", s.ods, patients, want)
		}
		if events < uint64(patients+total) {
			t.Errorf("%s: %d audit events for %d patients and %d updates", s.ods, events, patients, total)
		}
	}

	// A user disabled through one replica is refused by the other within
	// a second (its token was in use there, so it is cached).
	s := sites[0]
	some := s.do(t, 0, "recep", "GET", "/Patient?_count=1", nil)
	if some.status != 200 {
		t.Fatalf("search: %d %s", some.status, some.raw)
	}
	if a := s.do(t, 1, "nurse", "GET", "/Patient?_count=1", nil); a.status != 200 {
		t.Fatalf("the nurse before being disabled: %d %s", a.status, a.raw)
	}
	pr := s.do(t, 0, "admin", "GET", "/Practitioner/"+fhir.PractitionerID("nurse"), nil)
	if pr.status != 200 {
		t.Fatalf("read the nurse's Practitioner: %d %s", pr.status, pr.raw)
	}
	pr.body["active"] = false
	if a := s.do(t, 0, "admin", "PUT", "/Practitioner/"+fhir.PractitionerID("nurse"), pr.body, "If-Match", pr.etag); a.status != 200 {
		t.Fatalf("disable the nurse through replica 0: %d %s", a.status, a.raw)
	}
	t0 := time.Now()
	for {
		a := s.do(t, 1, "nurse", "GET", "/Patient?_count=1", nil)
		if a.status == 401 || a.status == 403 {
			break
		}
		if a.status != 200 || time.Since(t0) > 3*time.Second {
			t.Fatalf("the disabled nurse on the other replica: %d after %v", a.status, time.Since(t0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("a user disabled through one replica was refused by the other only after %v (budget 1 s)", d)
	} else {
		t.Logf("a user disabled through one replica was refused by the other after %v", d)
	}
}

// On PostgreSQL a replica runs the writes of requests arriving together in
// one transaction, each from a savepoint: at 16 clients at once, every
// consultation is saved but those refused — one naming a patient that does
// not exist (refused before it writes), or one whose Bundle also updates
// the patient from a stale version (refused after its consultation was
// written) — and each refused one is undone alone, records, counts and
// audit events, taking none of its neighbours with it; the chain stays
// one intact chain.
func TestSharedCommitsRefuseOnlyTheRefused(t *testing.T) {
	dbURL := pgtest.Shared(t).NewDatabase(t)
	s := serveReplicas(t, dbURL, 2, "B86001")[0]
	var ids []string
	for i := 0; i < 4; i++ {
		a := s.do(t, i%2, "recep", "POST", "/Patient", patientJSON("Shared"+letters(i)))
		if a.status != 201 {
			t.Fatalf("seed patient: %d %s", a.status, a.raw)
		}
		ids = append(ids, a.body["id"].(string))
	}
	good := writeReq(s, ids)
	missing := writeReq(s, []string{"01900000-0000-7000-8000-000000000000"})
	pat := s.do(t, 0, "dr.gp", "GET", "/Patient/"+ids[0], nil).body
	stale := func(i int) *http.Request {
		// The consultation, then the patient from a version long gone
		// (PUTs are applied last): refused after the consultation's writes.
		r := writeReq(s, ids[:1])(i)
		var b map[string]any
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Fatal(err)
		}
		b["entry"] = append(b["entry"].([]any), map[string]any{"resource": pat,
			"request": map[string]any{"method": "PUT", "url": "Patient/" + ids[0], "ifMatch": `W/"99"`}})
		raw, _ := json.Marshal(b)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
		return r
	}
	bad := func(i int) *http.Request {
		if i%2 == 0 {
			return stale(i)
		}
		return missing(i)
	}
	const clients, each = 16, 6
	var saved, refused atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < each; n++ {
				i := c*each + n
				req := good(i)
				if i%3 == 1 {
					req = bad(i)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch {
				case i%3 != 1 && res.StatusCode == 200:
					saved.Add(1)
				case i%3 == 1 && res.StatusCode/100 == 4:
					refused.Add(1)
				default:
					t.Errorf("request %d (refusable %v): %d %s", i, i%3 == 1, res.StatusCode, raw[:min(len(raw), 200)])
				}
			}
		}()
	}
	wg.Wait()
	if want := int64(clients * each * 2 / 3); saved.Load() != want || refused.Load() != clients*each-want {
		t.Errorf("%d saved and %d refused, want %d and %d", saved.Load(), refused.Load(), want, clients*each-want)
	}
	var consults, obs int
	_ = s.reps[1].st.View(ctx, func(tx store.Tx) error {
		consults, obs = tx.Count(record.KindConsultation), tx.Count(record.KindObservation)
		return nil
	})
	if consults != int(saved.Load()) || obs != 5*int(saved.Load()) {
		t.Errorf("the database holds %d consultations and %d observations for %d saved (want 5 observations each)", consults, obs, saved.Load())
	}
	if ps := storetest.VerifyChain(t, s.reps[0].st); len(ps) > 0 {
		t.Errorf("audit chain: %v", ps)
	}
}
