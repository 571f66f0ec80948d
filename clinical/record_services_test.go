package clinical_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// recordPractice is a practice with a GP, a nurse, a receptionist and one
// patient, on a clock the test moves.
type recordPractice struct {
	t     *testing.T
	p     *clinical.Practice
	mu    sync.Mutex
	clock time.Time
	pid   string
}

func (rp *recordPractice) now() time.Time { rp.mu.Lock(); defer rp.mu.Unlock(); return rp.clock }
func (rp *recordPractice) tick(d time.Duration) {
	rp.mu.Lock()
	rp.clock = rp.clock.Add(d)
	rp.mu.Unlock()
}

func newRecordPractice(t *testing.T) *recordPractice {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rp := &recordPractice{t: t, clock: time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC)}
	rp.p = clinical.New(clinical.Options{Store: st, Now: rp.now})
	ctx := context.Background()
	if _, err := rp.p.Init(ctx, "Leeds Road Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin := rp.as("admin")
	for _, u := range []record.User{{Name: "dr.patel", Role: record.RoleGP, Prescriber: true},
		{Name: "nurse.jones", Role: record.RoleNurse}, {Name: "reception", Role: record.RoleReceptionist}} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}
	if _, err := rp.as("reception").AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	rp.pid = pt.ID
	return rp
}

func (rp *recordPractice) as(user string) *clinical.Service {
	rp.t.Helper()
	s, err := rp.p.As(context.Background(), user)
	if err != nil {
		rp.t.Fatal(err)
	}
	return s
}

// events is the audit trail after seq.
func (rp *recordPractice) events(after uint64) []*record.AuditEvent {
	var evs []*record.AuditEvent
	_ = clinical.StoreOf(rp.p).View(context.Background(), func(tx store.Tx) error {
		return tx.Audit(after, func(ev *record.AuditEvent) error { evs = append(evs, ev); return nil })
	})
	return evs
}

func (rp *recordPractice) head() uint64 {
	var seq uint64
	_ = clinical.StoreOf(rp.p).View(context.Background(), func(tx store.Tx) error {
		var err error
		seq, _, err = tx.AuditHead()
		return err
	})
	return seq
}

func actions(evs []*record.AuditEvent) string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Action+" "+string(ev.Kind))
	}
	return strings.Join(s, ", ")
}

// Recording an allergy retires an active NKDA in the same write, with one
// audit event per record written; NKDA is refused while an allergy is active.
func TestAllergyRetiresNKDA(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	gp := rp.as("dr.patel")
	nkda, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: rp.pid, NKDA: true})
	if err != nil {
		t.Fatal(err)
	}
	seq := rp.head()
	a, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: "943 476 5919", Code: "91936005", Severity: "severe"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Agent.Code != "764146007" || a.Finding == nil || a.Finding.Code != "91936005" {
		t.Errorf("agent %v finding %v: the finding should map to penicillin", a.Agent, a.Finding)
	}
	if got := actions(rp.events(seq)); got != "create allergy, update allergy" {
		t.Errorf("audit = %s", got)
	}
	l, err := gp.Allergies(ctx, rp.pid, clinical.ListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range l.Items {
		if x.ID == nkda.ID && (x.Status != "inactive" || x.Version != 2) {
			t.Errorf("NKDA after an allergy: status %s version %d", x.Status, x.Version)
		}
	}
	var ve *record.ValidationError
	if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: rp.pid, NKDA: true}); !errors.As(err, &ve) {
		t.Errorf("NKDA with an active allergy: %v", err)
	}
	var ce *record.ConflictError
	if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: rp.pid, Code: "764146007"}); !errors.As(err, &ce) {
		t.Errorf("the same agent twice: %v", err)
	}
}

// Retracting a consultation retracts what was written with it, in one write,
// one audit event each; the old versions stay readable.
func TestRetractConsultationCascades(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	gp := rp.as("dr.patel")
	bp, err := gp.ObsFromInput(clinical.ObservationInput{BP: "150/95"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := gp.AddConsultation(ctx, clinical.ConsultInput{PatientRef: rp.pid, Text: "wrong patient", Obs: []clinical.ObsInput{bp},
		Problem: "38341003", ProblemNew: true})
	if err != nil {
		t.Fatal(err)
	}
	rp.tick(time.Minute)
	seq := rp.head()
	if _, err := rp.as("reception").Retract(ctx, res.Consultation.ID, "wrong patient", 0); err == nil {
		t.Fatal("a receptionist retracted a consultation")
	}
	rr, err := gp.Retract(ctx, res.Consultation.ID, "wrong patient", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Linked) != 2 {
		t.Errorf("retracted %d linked records, want 2 (observation, problem)", len(rr.Linked))
	}
	evs := rp.events(seq)
	got := actions(evs)
	if len(evs) != 4 || evs[0].Action != "denied" || evs[1].Kind != record.KindConsultation ||
		!strings.Contains(got, "retract observation") || !strings.Contains(got, "retract problem") {
		t.Errorf("audit = %s", got)
	}
	sm, err := gp.RecordSummary(ctx, rp.pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(*sm.Problems) != 0 || len(*sm.Latest) != 0 {
		t.Errorf("retracted entries still in the summary: %d problems, %d values", len(*sm.Problems), len(*sm.Latest))
	}
	hist, err := gp.History(ctx, rp.pid, clinical.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range hist {
		if h.ID == res.Consultation.ID {
			n++
		}
	}
	if n != 2 {
		t.Errorf("history holds %d versions of the consultation, want 2 (as written, and retracted)", n)
	}
	var ce *record.ConflictError
	if _, err := gp.Retract(ctx, res.Consultation.ID, "again", 0); !errors.As(err, &ce) {
		t.Errorf("retracting twice: %v", err)
	}
}

// Two people changing the same record: the second, based on the old
// version, gets a conflict naming who changed it and when, and writes nothing.
func TestStaleChangeNamesWhoAndWhen(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	gp := rp.as("dr.patel")
	tk, err := rp.as("reception").AddTask(ctx, clinical.TaskInput{PatientRef: rp.pid, Text: "call back"})
	if err != nil {
		t.Fatal(err)
	}
	rp.tick(5 * time.Minute)
	if _, err := gp.DoneTask(ctx, tk.ID, 1); err != nil {
		t.Fatal(err)
	}
	seq := rp.head()
	_, err = rp.as("nurse.jones").DoneTask(ctx, tk.ID, 1)
	var ce *record.ConflictError
	if !errors.As(err, &ce) || ce.By != "dr.patel" || !ce.At.Equal(time.Date(2026, 11, 24, 8, 35, 0, 0, time.UTC)) {
		t.Fatalf("stale done: %v (%+v)", err, ce)
	}
	if evs := rp.events(seq); len(evs) != 0 {
		t.Errorf("a refused change wrote %s", actions(evs))
	}
}

// Booking: into a slot, as an extra, and a clash; concurrent bookings of one
// slot: exactly one wins.
func TestBookingClashes(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	rec := rp.as("reception")
	if _, err := rec.AddSession(ctx, clinical.SessionInput{Clinician: "dr.patel", Date: "2026-11-24", Start: "09:00", End: "10:00", SlotMinutes: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.AddSession(ctx, clinical.SessionInput{Clinician: "reception", Date: "2026-11-24", Start: "09:00", End: "10:00", SlotMinutes: 10}); err == nil {
		t.Error("a session for a receptionist")
	}
	at := time.Date(2026, 11, 24, 9, 20, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = rec.Book(ctx, clinical.BookInput{PatientRef: rp.pid, Clinician: "dr.patel", At: at})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var ce *record.ConflictError
		switch {
		case err == nil:
			won++
		case !errors.As(err, &ce):
			t.Errorf("losing booking: %v, want a conflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d bookings of one slot succeeded", won)
	}
	extra, err := rec.Book(ctx, clinical.BookInput{PatientRef: rp.pid, Clinician: "dr.patel", At: at.Add(2 * time.Hour), Minutes: 20})
	if err != nil || !extra.Extra || extra.Minutes != 20 {
		t.Fatalf("extra: %+v %v", extra, err)
	}
	_, err = rec.Book(ctx, clinical.BookInput{PatientRef: rp.pid, Clinician: "dr.patel", At: at.Add(2*time.Hour + 10*time.Minute)})
	var ce *record.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, extra.ID) {
		t.Errorf("clash with an extra: %v", err)
	}
	free, err := rec.Slots(ctx, "2026-11-24", "dr.patel", true)
	if err != nil || len(free) != 5 {
		t.Errorf("free slots = %d (%v), want 5", len(free), err)
	}
}

// Entry import: a re-run is unchanged, a changed line with a known id is rejected.
func TestImportEntriesIdempotent(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	admin := rp.as("admin")
	in := `{"patientId":"` + rp.pid + `","code":{"system":"http://snomed.info/sct","code":"44054006"},"onset":"2019-01-01","significance":"major"}
{"patientId":"9434765919","code":{"system":"http://snomed.info/sct","code":"38341003"}}
{"patientId":"9434765919","code":{"system":"http://snomed.info/sct","code":"38341003"},"colour":"blue"}
`
	sum, err := admin.ImportEntries(ctx, record.KindProblem, strings.NewReader(in), clinical.ImportOptions{})
	if err != nil || sum.Written != 2 || sum.Rejected != 1 || sum.Rejections[0].Field != "colour" {
		t.Fatalf("first run: %+v %v", sum, err)
	}
	sum, err = admin.ImportEntries(ctx, record.KindProblem, strings.NewReader(in), clinical.ImportOptions{})
	if err != nil || sum.Written != 0 || sum.Unchanged != 2 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	l, _ := rp.as("dr.patel").Problems(ctx, rp.pid, clinical.ProblemFilter{})
	changed := `{"id":"` + l.Items[0].ID + `","patientId":"` + rp.pid + `","code":{"system":"http://snomed.info/sct","code":"44054006"},"significance":"minor"}` + "\n"
	sum, err = admin.ImportEntries(ctx, record.KindProblem, strings.NewReader(changed), clinical.ImportOptions{})
	if err != nil || sum.Rejected != 1 || sum.Rejections[0].Field != "id" {
		t.Fatalf("changed line: %+v %v", sum, err)
	}
	// A line with its id as stored (an export read back) is unchanged; a new
	// id is kept as given.
	same := `{"id":"` + l.Items[0].ID + `","patientId":"` + rp.pid + `","code":{"system":"http://snomed.info/sct","code":"44054006"},"onset":"2019-01-01","significance":"major"}
{"id":"019a0000-0000-7000-8000-0000000000ee","patientId":"` + rp.pid + `","code":{"system":"http://snomed.info/sct","code":"73211009"}}
`
	sum, err = admin.ImportEntries(ctx, record.KindProblem, strings.NewReader(same), clinical.ImportOptions{})
	if err != nil || sum.Unchanged != 1 || sum.Written != 1 {
		t.Fatalf("lines with ids: %+v %v", sum, err)
	}
	after, _ := rp.as("dr.patel").Problems(ctx, rp.pid, clinical.ProblemFilter{})
	kept := false
	for _, p := range after.Items {
		kept = kept || (p.ID == "019a0000-0000-7000-8000-0000000000ee" && p.Code.Code == "73211009")
	}
	if len(after.Items) != len(l.Items)+1 || !kept {
		t.Errorf("problems after lines with ids: %d (was %d), new id kept %v", len(after.Items), len(l.Items), kept)
	}
	if _, err := rp.as("nurse.jones").ImportEntries(ctx, record.KindProblem, strings.NewReader(in), clinical.ImportOptions{}); err == nil {
		t.Error("a nurse bulk-imported")
	}
}

// Sensitive entries are left out of lists and the summary without a reason.
func TestSensitiveEntriesNeedAReason(t *testing.T) {
	rp := newRecordPractice(t)
	ctx := context.Background()
	gp := rp.as("dr.patel")
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: rp.pid, Code: "44054006"}); err != nil {
		t.Fatal(err)
	}
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: rp.pid, Code: "38341003", Sensitive: true}); err != nil {
		t.Fatal(err)
	}
	l, err := gp.Problems(ctx, rp.pid, clinical.ProblemFilter{})
	if err != nil || len(l.Items) != 1 || l.Hidden != 1 {
		t.Fatalf("without a reason: %d shown, %d hidden, %v", len(l.Items), l.Hidden, err)
	}
	l, err = gp.Problems(ctx, rp.pid, clinical.ProblemFilter{ListOptions: clinical.ListOptions{ReadOptions: clinical.ReadOptions{Reason: "review"}}})
	if err != nil || len(l.Items) != 2 || l.Hidden != 0 {
		t.Fatalf("with a reason: %d shown, %d hidden, %v", len(l.Items), l.Hidden, err)
	}
	evs := rp.events(0)
	last := evs[len(evs)-1]
	if last.Action != "list" || last.Reason != "review" || last.PatientID != rp.pid {
		t.Errorf("the list with a reason is audited as %+v", last)
	}
}
