package clinical_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

var ctx = context.Background()

// setup makes a practice with an admin, a GP, a nurse and a receptionist.
func setup(t *testing.T) (*clinical.Practice, map[string]*clinical.Service) {
	t.Helper()
	p, admin := newPractice(t, t.TempDir(), false)
	svcs := map[string]*clinical.Service{"admin": admin}
	for _, u := range []record.User{
		{Name: "dr.gp", Role: record.RoleGP, Prescriber: true, RegNumber: "7012345"},
		{Name: "nurse", Role: record.RoleNurse},
		{Name: "recep", Role: record.RoleReceptionist},
	} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		s, err := p.As(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		svcs[u.Name] = s
	}
	return p, svcs
}

func john() *record.Patient {
	return &record.Patient{NHSNumber: "943 476 5919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male", Postcode: "ls62qt"}
}

func TestAddPatientNormalisesAndAudits(t *testing.T) {
	p, s := setup(t)
	pt := john()
	if _, err := s["recep"].AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	if pt.NHSNumber != "9434765919" || pt.Postcode != "LS6 2QT" || pt.Status != "active" || pt.RecordedBy != "recep" {
		t.Fatalf("stored %+v", pt)
	}
	var last *record.AuditEvent
	_ = clinical.StoreOf(p).View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error { last = ev; return nil })
	})
	if last.Action != "create" || last.EntityID != pt.ID || last.User != "recep" {
		t.Fatalf("last audit event %+v", last)
	}
}

func TestCloseMatchWarns(t *testing.T) {
	_, s := setup(t)
	if _, err := s["admin"].AddPatient(ctx, john()); err != nil {
		t.Fatal(err)
	}
	twin := john()
	twin.NHSNumber, twin.NoNHSReason = "", "temporary-resident"
	warns, err := s["admin"].AddPatient(ctx, twin)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "close match") {
		t.Fatalf("warnings = %+v", warns)
	}
}

func TestStaleUpdateNamesWhoChangedIt(t *testing.T) {
	_, s := setup(t)
	pt := john()
	if _, err := s["admin"].AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	phone := "0113 496 0000"
	if _, err := s["recep"].UpdatePatient(ctx, pt.ID, clinical.PatientUpdate{IfVersion: 1, Phone: &phone}); err != nil {
		t.Fatal(err)
	}
	_, err := s["dr.gp"].UpdatePatient(ctx, pt.ID, clinical.PatientUpdate{IfVersion: 1, Phone: &phone})
	var ce *record.ConflictError
	if !errors.As(err, &ce) || ce.By != "recep" {
		t.Fatalf("stale update err = %v", err)
	}
}

func TestSensitiveRecordNeedsAReason(t *testing.T) {
	_, s := setup(t)
	pt := john()
	pt.Sensitive = true
	if _, err := s["admin"].AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	_, err := s["dr.gp"].Patient(ctx, pt.ID, clinical.ReadOptions{})
	var pe *record.PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("no reason: err = %v", err)
	}
	got, err := s["dr.gp"].Patient(ctx, "943 476 5919", clinical.ReadOptions{Reason: "reviewing results"})
	if err != nil || got.ID != pt.ID {
		t.Fatalf("with reason: %v %v", got, err)
	}
	evs, _ := s["admin"].AuditEvents(ctx, clinical.AuditFilter{PatientID: pt.ID})
	var denied, read bool
	for _, ev := range evs {
		denied = denied || (ev.Outcome == "denied" && ev.User == "dr.gp")
		read = read || (ev.Action == "read" && ev.Reason == "reviewing results")
	}
	if !denied || !read {
		t.Fatalf("audit lacks the denial or the reasoned read: %+v", evs)
	}
}

func TestRoleTable(t *testing.T) {
	_, s := setup(t)
	in := clinical.ConsultInput{PatientRef: "943 476 5919", Text: "seen"}
	if _, err := s["admin"].AddPatient(ctx, john()); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"admin", "recep"} {
		_, err := s[who].AddConsultation(ctx, in)
		var pe *record.PermissionError
		if !errors.As(err, &pe) {
			t.Errorf("%s wrote a consultation: err = %v", who, err)
		}
	}
	for _, who := range []string{"dr.gp", "nurse"} {
		if _, err := s[who].AddConsultation(ctx, in); err != nil {
			t.Errorf("%s: %v", who, err)
		}
	}
	if _, err := s["dr.gp"].AddUser(ctx, record.User{Name: "x", Role: record.RoleGP}); err == nil {
		t.Error("a GP added a user")
	}
	if _, err := s["nurse"].ImportPatients(ctx, strings.NewReader(""), clinical.ImportOptions{}); err == nil {
		t.Error("a nurse ran a bulk import")
	}
	// Nurse prescribing follows the practice setting.
	nurse := record.User{Role: record.RoleNurse, Prescriber: true}
	pr := record.Practice{Settings: map[string]string{}}
	if clinical.Allowed(nurse, clinical.ActPrescribe, pr) {
		t.Error("nurse prescriber allowed without the practice setting")
	}
	pr.Settings[clinical.SettingNursePrescribing] = "true"
	if !clinical.Allowed(nurse, clinical.ActPrescribe, pr) {
		t.Error("nurse prescriber refused with nurse-prescribing on")
	}
	if clinical.Allowed(record.User{Role: record.RoleGP, Prescriber: false}, clinical.ActPrescribe, pr) {
		t.Error("a --no-prescriber GP may prescribe")
	}
}

func TestConsultationIsOneWrite(t *testing.T) {
	p, s := setup(t)
	pt := john()
	if _, err := s["admin"].AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	sys, dia := 150.0, 95.0
	bad := 10.0
	in := clinical.ConsultInput{PatientRef: pt.ID, Text: "BP check", Problem: "38341003", ProblemNew: true,
		Start: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		Obs: []clinical.ObsInput{
			{Code: record.Code{System: record.SystemSNOMED, Code: "75367002"}, Systolic: &sys, Diastolic: &dia},
			{Code: record.Code{System: record.SystemSNOMED, Code: "75367002"}, Systolic: &bad, Diastolic: &dia},
		}}
	before := auditCount(t, p)
	if _, err := s["dr.gp"].AddConsultation(ctx, in); err == nil {
		t.Fatal("a consultation with an impossible BP was saved")
	}
	if auditCount(t, p) != before {
		t.Fatal("a refused consultation wrote audit events")
	}
	in.Obs = in.Obs[:1]
	res, err := s["dr.gp"].AddConsultation(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Consultation.Version != 1 || res.Problem.ConsultationID != res.Consultation.ID || res.Consultation.ProblemID != res.Problem.ID {
		t.Fatalf("links: %+v %+v", res.Consultation, res.Problem)
	}
	if got := auditCount(t, p) - before; got != 3 {
		t.Fatalf("audit events for consultation+problem+BP = %d, want 3", got)
	}
	// A follow-up links to the ongoing problem by code.
	in2 := clinical.ConsultInput{PatientRef: pt.ID, Text: "review", Problem: "38341003"}
	res2, err := s["dr.gp"].AddConsultation(ctx, in2)
	if err != nil || res2.Consultation.ProblemID != res.Problem.ID || res2.Consultation.ProblemLink != "ongoing" {
		t.Fatalf("follow-up: %v %+v", err, res2)
	}
}

func auditCount(t *testing.T, p *clinical.Practice) uint64 {
	var n uint64
	_ = clinical.StoreOf(p).View(ctx, func(tx store.Tx) error { n, _, _ = tx.AuditHead(); return nil })
	return n
}

func TestRefusedDuplicateIsAudited(t *testing.T) {
	_, s := setup(t)
	if _, err := s["admin"].AddPatient(ctx, john()); err != nil {
		t.Fatal(err)
	}
	_, err := s["recep"].AddPatient(ctx, john())
	var ce *record.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("duplicate: err = %v", err)
	}
	evs, _ := s["admin"].AuditEvents(ctx, clinical.AuditFilter{User: "recep"})
	if len(evs) == 0 || evs[len(evs)-1].Outcome != "failed" || !strings.Contains(evs[len(evs)-1].Reason, "already registered") {
		t.Fatalf("audit: %+v", evs)
	}
}
