package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	"github.com/opengpsoc/gpsoc/store/remote"
	"github.com/opengpsoc/gpsoc/store/storetest"
)

var ctx = context.Background()

// serve starts `gpsoc serve`'s handler over a new practice on loopback and
// returns a remote store acting as dr.who (a GP) through it.
// practiceStores is the store each served practice is on, for the tests that
// look at what the server wrote (the services do not hand it out).
var practiceStores sync.Map

func storeOf(p *clinical.Practice) store.Store {
	st, _ := practiceStores.Load(p)
	return st.(store.Store)
}

func serve(t *testing.T) (*remote.Store, *clinical.Practice) {
	t.Helper()
	return serveAs(t, "dr.who", nil)
}

// serveAs is serve acting as user (dr.who, a GP, or admin), with options
// adjusted by opt.
func serveAs(t *testing.T, user string, opt func(*remote.Options)) (*remote.Store, *clinical.Practice) {
	t.Helper()
	return serveWith(t, user, opt, nil)
}

// serveWith is serveAs with the server's handler wrapped (nil: as it is).
func serveWith(t *testing.T, user string, opt func(*remote.Options), wrap func(http.Handler) http.Handler) (*remote.Store, *clinical.Practice) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	gst := server.GroupCommit(st)
	p := clinical.New(clinical.Options{Store: gst, Source: "api"})
	practiceStores.Store(p, gst)
	if _, err := p.Init(ctx, "Test Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	if _, err := admin.AddUser(ctx, record.User{Name: "dr.who", Role: record.RoleGP, Prescriber: true, RegNumber: "7012345"}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := admin.NewToken(ctx, user, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Options{Practice: p}).Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.Close(); st.Close() })
	o := remote.Options{URL: hs.URL, Token: tok, User: user, Role: record.RoleGP,
		Practice: record.Practice{Name: "Test Surgery", ODS: "B86001"}}
	if user == "admin" {
		o.Role = record.RoleAdmin
	}
	if opt != nil {
		opt(&o)
	}
	rs, err := remote.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return rs, p
}

func patient(nhs, family string) *record.Patient {
	p := &record.Patient{NHSNumber: nhs, Family: family, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female"}
	p.RecordedAt, p.RecordedBy = time.Now().UTC(), "dr.who"
	if nhs == "" {
		p.NoNHSReason = "temporary-resident"
	}
	return p
}

func put(s store.Store, e record.Entity) error {
	return s.Update(ctx, func(tx store.WTx) error { return tx.Put(e) })
}

func TestVersionsAndConflicts(t *testing.T) {
	s, _ := serve(t)
	p := patient("9434765919", "Smith")
	if err := put(s, p); err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Version != 1 {
		t.Fatalf("after create: id %q version %d", p.ID, p.Version)
	}
	p2 := *p
	p2.Family = "Smyth"
	if err := put(s, &p2); err != nil {
		t.Fatal(err)
	}
	if p2.Version != 2 {
		t.Fatalf("version after update = %d", p2.Version)
	}
	stale := *p
	stale.Family = "Jones"
	var ce *record.ConflictError
	if err := put(s, &stale); !errors.As(err, &ce) || ce.By != "dr.who" {
		t.Fatalf("stale update: %v, want a conflict naming dr.who", err)
	}
	err := s.View(ctx, func(tx store.Tx) error {
		vs, err := tx.Versions(record.KindPatient, p.ID)
		if err != nil || len(vs) != 2 || vs[0].(*record.Patient).Family != "Smith" || vs[1].(*record.Patient).Family != "Smyth" {
			t.Errorf("versions = %v, %v", vs, err)
		}
		got, err := tx.PatientByNHS("9434765919")
		if err != nil || got.ID != p.ID || got.Family != "Smyth" {
			t.Errorf("by NHS = %+v, %v", got, err)
		}
		if n := tx.Count(record.KindPatient); n != 1 {
			t.Errorf("count = %d", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := put(s, patient("9434765919", "Brown")); !errors.As(err, &ce) {
		t.Fatalf("duplicate NHS number: %v, want conflict", err)
	}
}

func TestRecordsAndFailedUpdates(t *testing.T) {
	s, _ := serve(t)
	p := patient("", "Nowak")
	if err := put(s, p); err != nil {
		t.Fatal(err)
	}
	orphan := &record.Problem{Meta: record.Meta{PatientID: "no-such-patient"}, Code: record.Code{System: record.SystemSNOMED, Code: "38341003"}}
	if err := put(s, orphan); !record.IsNotFound(err) {
		t.Errorf("problem for a missing patient: %v", err)
	}
	v := 71.5
	ob := &record.Observation{Meta: record.Meta{PatientID: p.ID}, Code: record.Code{System: record.SystemSNOMED, Code: "27113001"},
		Value: &v, Unit: "kg", Effective: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	if err := ob.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := put(s, ob); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx store.WTx) error {
		if err := tx.Put(patient("", "Ghost")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		obs, err := tx.List(p.ID, record.KindObservation)
		if err != nil || len(obs) != 1 || *obs[0].(*record.Observation).Value != 71.5 {
			t.Errorf("observations = %v, %v", obs, err)
		}
		if n := tx.Count(record.KindPatient); n != 1 {
			t.Errorf("patients after a failed update = %d", n)
		}
		return nil
	})
}

// The clinical services run unchanged over the remote store: add, show and
// find a patient, and record and list an observation.
func TestServicesOverRemote(t *testing.T) {
	s, _ := serve(t)
	p := clinical.New(clinical.Options{Store: s, Source: "cli"})
	svc, err := p.As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	pt := patient("9434765919", "Smith")
	pt.Given = []string{"John"}
	if _, err := svc.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Patient(ctx, "943 476 5919", clinical.ReadOptions{})
	if err != nil || got.ID != pt.ID {
		t.Fatalf("show: %+v, %v", got, err)
	}
	v := 80.0
	if _, err := svc.AddObservation(ctx, clinical.ObservationInput{PatientRef: pt.ID, System: "sct", Code: "27113001", Value: &v, Unit: "kg"}); err != nil {
		t.Fatal(err)
	}
	l, err := svc.Observations(ctx, pt.ID, clinical.ObsFilter{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("observations: %+v, %v", l, err)
	}
	if _, err := svc.UpdatePatient(ctx, pt.ID, clinical.PatientUpdate{IfVersion: 1, Family: ptr("Smyth")}); err != nil {
		t.Fatal(err)
	}
	var ce *record.ConflictError
	if _, err := svc.UpdatePatient(ctx, pt.ID, clinical.PatientUpdate{IfVersion: 1, Family: ptr("Jones")}); !errors.As(err, &ce) {
		t.Fatalf("stale update: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// The store conformance suite against our server, as a GP for the records
// and as the admin for the practice, users and audit trail (the server
// applies the role table). Find rows are derived from the server's
// patients, and the change feed is asked at every call (no poll interval).
func TestConformance(t *testing.T) {
	storetest.ConformanceOverServer(t, func(t *testing.T, role record.Role) store.Store {
		user := "dr.who"
		if role == record.RoleAdmin {
			user = "admin"
		}
		s, _ := serveAs(t, user, func(o *remote.Options) { o.SearchRow = searchRow; o.PollEvery = -1 })
		return s
	})
}

// Eight clients, each its own remote store, updating the same patients at
// once: every update lands or is refused as a conflict, none is lost.
func TestEightClientsLoseNoUpdate(t *testing.T) {
	first, _ := serve(t)
	opts := first.Options()
	var ids []string
	for i := 0; i < 3; i++ {
		p := patient("", fmt.Sprintf("Family%d", i))
		if err := put(first, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	var mu sync.Mutex
	applied := map[string]int{}
	conflicts := 0
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			s, err := remote.Open(ctx, opts)
			if err != nil {
				t.Error(err)
				return
			}
			svc, err := clinical.New(clinical.Options{Store: s}).As(ctx, "dr.who")
			if err != nil {
				t.Error(err)
				return
			}
			for n := 0; n < 6; n++ {
				id := ids[(c+n)%len(ids)]
				for {
					cur, err := svc.Patient(ctx, id, clinical.ReadOptions{})
					if err != nil {
						t.Error(err)
						return
					}
					phone := fmt.Sprintf("07700 9%02d%03d", c, n)
					_, err = svc.UpdatePatient(ctx, id, clinical.PatientUpdate{IfVersion: cur.Version, Phone: &phone})
					var ce *record.ConflictError
					if errors.As(err, &ce) {
						mu.Lock()
						conflicts++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					applied[id]++
					mu.Unlock()
					break
				}
			}
		}(c)
	}
	wg.Wait()
	_ = first.View(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			vs, err := tx.Versions(record.KindPatient, id)
			if err != nil || len(vs) != applied[id]+1 {
				t.Errorf("patient %s: %d versions, %d updates applied (%v)", id, len(vs), applied[id], err)
			}
		}
		return nil
	})
	t.Logf("48 updates by 8 clients: %d conflicts reported and retried", conflicts)
}

// A long-lived client (the TUI) sees patients other clients register in its
// find index: Changes follows _lastUpdated.
func TestFindFollowsOtherClients(t *testing.T) {
	first, _ := serve(t)
	o := first.Options()
	o.SearchRow = searchRow
	o.PollEvery = -1
	a, err := remote.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	pa := clinical.New(clinical.Options{Store: a})
	sa, _ := pa.As(ctx, "dr.who")
	if _, err := sa.AddPatient(ctx, patient("9434765919", "Smith")); err != nil {
		t.Fatal(err)
	}
	if got, err := sa.FindPatients(ctx, "nowak", 5); err != nil || len(got) != 0 {
		t.Fatalf("find before: %v, %v", got, err)
	}
	if err := put(first, patient("", "Nowak")); err != nil { // another client
		t.Fatal(err)
	}
	got, err := sa.FindPatients(ctx, "nowak", 5)
	if err != nil || len(got) != 1 || got[0].Patient.Family != "Nowak" {
		t.Fatalf("find after another client registered Nowak: %+v, %v", got, err)
	}
}

// The audit trail is the server's own. A client's Append writes nothing
// into it (it cannot forge who, when or what); what only the workstation
// knows travels with the request it belongs to: the reason a sensitive
// record is opened as X-Access-Reason on the read, a find as
// Patient/$find, each audited by the server under the token's user. Only an
// admin reads the trail; a GP's attempt is refused and audited.
func TestAuditIsTheServersOwn(t *testing.T) {
	gp, p := serve(t)
	forged := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := &record.AuditEvent{At: forged, User: "admin", Role: record.RoleAdmin, Action: "read", Kind: record.KindPatient,
		EntityID: "x", Reason: "forged by the client", Source: "tui"}
	if err := gp.Update(ctx, func(tx store.WTx) error { return tx.Append(ev) }); err != nil {
		t.Fatal(err)
	}
	// A sensitive patient, opened with a reason and found, over the server.
	svc, err := clinical.New(clinical.Options{Store: gp}).As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	pt := patient("9434765919", "Quayle")
	pt.Sensitive = true
	if err := put(gp, pt); err != nil {
		t.Fatal(err)
	}
	var pe *record.PermissionError
	if _, err := svc.Patient(ctx, pt.ID, clinical.ReadOptions{}); !errors.As(err, &pe) {
		t.Errorf("a sensitive record opened without a reason over the server: %v, want refused", err)
	}
	if _, err := svc.Patient(ctx, pt.ID, clinical.ReadOptions{Reason: "safeguarding review"}); err != nil {
		t.Errorf("a sensitive record opened with a reason over the server: %v", err)
	}
	found, err := svc.FindPatients(ctx, "quayle", 5)
	if err != nil || len(found) != 1 || found[0].Patient.ID != pt.ID {
		t.Errorf("find over the server: %+v, %v", found, err)
	}
	err = gp.View(ctx, func(tx store.Tx) error { return tx.Audit(0, func(*record.AuditEvent) error { return nil }) })
	if !errors.As(err, &pe) {
		t.Errorf("a GP reading the trail: %v, want a permission error", err)
	}
	if _, err := svc.AuditEvents(ctx, clinical.AuditFilter{}); !errors.As(err, &pe) {
		t.Errorf("a GP listing the trail: %v, want a permission error", err)
	}
	// The server refuses the GP itself, whatever the client does, and no
	// longer takes events from a client at all.
	for _, m := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(m, gp.Options().URL+"/AuditEvent", strings.NewReader(`{"resourceType":"AuditEvent"}`))
		req.Header.Set("Authorization", "Bearer "+gp.Options().Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[string]int{"GET": http.StatusForbidden, "POST": http.StatusNotFound}[m]; res.StatusCode != want {
			t.Errorf("%s AuditEvent as a GP: %s, want %d", m, res.Status, want)
		}
	}
	var forgedIn, readWithReason, refusedRead, findAudited, deniedTrail bool
	_ = storeOf(p).View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(e *record.AuditEvent) error {
			forgedIn = forgedIn || e.Reason == "forged by the client"
			readWithReason = readWithReason || (e.Action == "read" && e.EntityID == pt.ID && e.User == "dr.who" &&
				e.Reason == "safeguarding review" && e.Source == "api")
			refusedRead = refusedRead || (e.Outcome == "denied" && e.EntityID == pt.ID && e.User == "dr.who")
			findAudited = findAudited || (e.Action == "find" && e.Query == "quayle" && e.User == "dr.who" && e.Source == "api")
			deniedTrail = deniedTrail || (e.User == "dr.who" && e.Outcome == "denied" && e.Reason == string(clinical.ActAdmin))
			return nil
		})
	})
	if forgedIn || !readWithReason || !refusedRead || !findAudited || !deniedTrail {
		t.Errorf("server trail: client's event written %v (want false); read with its reason %v, refused read %v, find %v, GP's refused trail read %v",
			forgedIn, readWithReason, refusedRead, findAudited, deniedTrail)
	}
}

// The role rules over the API are the services' own: a GP reads the
// practice and its users but changes neither (refused, and the refusal
// audited); the admin changes them through the same services, audited; and
// the practice settings the server holds reach the workstation's services
// (nurse prescribing).
func TestPracticeAndUsersRoles(t *testing.T) {
	gp, p := serve(t)
	admin, _ := p.As(ctx, "admin")
	tok, _, err := admin.NewToken(ctx, "admin", 0)
	if err != nil {
		t.Fatal(err)
	}
	o := gp.Options()
	o.Token, o.User, o.Role = tok, "admin", record.RoleAdmin
	ad, err := remote.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	gpSvc, err := clinical.New(clinical.Options{Store: gp}).As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	if pr := gpSvc.PracticeInfo(); pr.Name != "Test Surgery" || pr.ODS != "B86001" || pr.Version != 1 {
		t.Errorf("the GP's services see the practice %+v", pr)
	}
	var pe *record.PermissionError
	err = gp.Update(ctx, func(tx store.WTx) error {
		pr, err := tx.Practice()
		if err != nil {
			return err
		}
		pr.Name = "Hijacked"
		return tx.PutPractice(pr)
	})
	if !errors.As(err, &pe) {
		t.Errorf("a GP changing the practice over the API: %v, want refused", err)
	}
	if err := gp.Update(ctx, func(tx store.WTx) error {
		return tx.PutUser(&record.User{Name: "mallory", Role: record.RoleAdmin})
	}); !errors.As(err, &pe) {
		t.Errorf("a GP adding an admin over the API: %v, want refused", err)
	}
	adSvc, err := clinical.New(clinical.Options{Store: ad}).As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adSvc.SetPractice(ctx, clinical.SettingNursePrescribing, "true"); err != nil {
		t.Fatal(err)
	}
	if _, err := adSvc.AddUser(ctx, record.User{Name: "nurse.joy", Role: record.RoleNurse, Prescriber: true, RegNumber: "12A3456E"}); err != nil {
		t.Fatal(err)
	}
	nurse, err := clinical.New(clinical.Options{Store: gp}).As(ctx, "nurse.joy")
	if err != nil || !nurse.Can(clinical.ActPrescribe) {
		t.Errorf("nurse.joy as the workstation sees her (%+v): may prescribe %v, want true (nurse prescribing is on)", nurse, err)
	}
	var deniedUser, changedPractice, addedUser bool
	_ = storeOf(p).View(ctx, func(tx store.Tx) error {
		if _, err := tx.User("mallory"); !record.IsNotFound(err) {
			t.Errorf("mallory was added: %v", err)
		}
		return tx.Audit(0, func(e *record.AuditEvent) error {
			deniedUser = deniedUser || (e.User == "dr.who" && e.Outcome == "denied" && e.Reason == string(clinical.ActAdmin))
			changedPractice = changedPractice || (e.User == "admin" && e.Action == "update" && e.Kind == "practice" && e.Source == "api")
			addedUser = addedUser || (e.User == "admin" && e.Action == "create" && e.Kind == "user" && e.EntityID == "nurse.joy" && e.Source == "api")
			return nil
		})
	})
	if !deniedUser || !changedPractice || !addedUser {
		t.Errorf("audited: GP refused %v, practice changed %v, user added %v", deniedUser, changedPractice, addedUser)
	}
}

// A consultation entered in error over the server takes what was written in
// it (its observations) with it, as it does locally.
func TestRetractConsultationTakesItsEntriesRemote(t *testing.T) {
	s, _ := serve(t)
	svc, err := clinical.New(clinical.Options{Store: s, Source: "cli"}).As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	pt := patient("9434765919", "Smith")
	if _, err := svc.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	sys, dia := 150.0, 95.0
	res, err := svc.AddConsultation(ctx, clinical.ConsultInput{PatientRef: pt.ID, Type: "surgery", History: "headache",
		Obs: []clinical.ObsInput{{Code: record.Code{System: record.SystemSNOMED, Code: "75367002"}, Systolic: &sys, Diastolic: &dia, Unit: "mm[Hg]"}}})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := svc.Retract(ctx, res.Consultation.ID, "wrong patient", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Linked) != 1 {
		t.Fatalf("retracted with the consultation: %d records, want its blood pressure", len(rr.Linked))
	}
	_ = s.View(ctx, func(tx store.Tx) error {
		o, err := tx.Get(record.KindObservation, res.Observations[0].ID)
		if err != nil || o.Head().Status != record.StatusEnteredInError {
			t.Errorf("the consultation's observation after retraction: %+v, %v", o, err)
		}
		return nil
	})
}

// An action that creates and updates sends its creates first: when the
// server refuses the creates, the update (a dose change's stop, a
// rebooking's cancellation) has not been made either.
func TestRefusedCreateLeavesUpdatesUnsent(t *testing.T) {
	var refuse atomic.Bool
	s, _ := serveWith(t, "dr.who", nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.Method == "POST" && r.URL.Path != "/introspect" && r.URL.Path != "/AuditEvent" {
				w.Header().Set("Content-Type", "application/fhir+json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"refused"}]}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	pt := patient("9434765919", "Smith")
	if err := put(s, pt); err != nil {
		t.Fatal(err)
	}
	refuse.Store(true)
	err := s.Update(ctx, func(tx store.WTx) error {
		cur, err := tx.Get(record.KindPatient, pt.ID)
		if err != nil {
			return err
		}
		up := cur.(*record.Patient)
		up.Phone = "07700 900123"
		if err := tx.Put(up); err != nil {
			return err
		}
		v := 80.0
		o := &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "27113001"}, Value: &v, Unit: "kg", Effective: time.Now().UTC()}
		o.PatientID, o.RecordedAt, o.RecordedBy = pt.ID, time.Now().UTC(), "dr.who"
		return tx.Put(o)
	})
	if err == nil {
		t.Fatal("the refused create was reported saved")
	}
	refuse.Store(false)
	_ = s.View(ctx, func(tx store.Tx) error {
		cur, err := tx.Get(record.KindPatient, pt.ID)
		if err != nil || cur.(*record.Patient).Phone != "" || cur.Head().Version != 1 {
			t.Errorf("patient after the refused action: %+v, %v; want unchanged at version 1", cur, err)
		}
		return nil
	})
}
