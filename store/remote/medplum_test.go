package remote_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/internal/medplumtest"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/remote"
)

// medplum starts another vendor's FHIR server: Medplum's open-source FHIR
// router with its in-memory repository (internal/medplumtest).
func medplum(t *testing.T) string { return medplumtest.Start(t) }

func searchRow(p *record.Patient) []byte {
	return find.EncodePatientRow(find.Patient{ID: p.ID, Family: p.Family, Given: strings.Join(p.Given, " "),
		BirthDate: p.BirthDate, NHS: p.NHSNumber, Postcode: p.Postcode})
}

// Remote mode against Medplum: patients and observations (add, show, find
// by standard search), and a stale update is a conflict.
func TestAgainstMedplum(t *testing.T) {
	base := medplum(t)
	s, err := remote.Open(ctx, remote.Options{URL: base, Token: "medplum-test-token", User: "dr.who", Role: record.RoleGP,
		Practice: record.Practice{Name: "Test Surgery", ODS: "B86001"}, SearchRow: searchRow})
	if err != nil {
		t.Fatal(err)
	}
	p := clinical.New(clinical.Options{Store: s, Source: "cli"})
	svc, err := p.As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}
	if _, err := svc.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	other := &record.Patient{Family: "Brown", Given: []string{"Carol"}, BirthDate: "1980-05-06", Sex: "female", NoNHSReason: "temporary-resident"}
	if _, err := svc.AddPatient(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Patient(ctx, "943 476 5919", clinical.ReadOptions{})
	if err != nil || got.ID != pt.ID || got.Family != "Smith" || got.Version != 1 {
		t.Fatalf("show by NHS number: %+v, %v", got, err)
	}
	found, err := svc.FindPatients(ctx, "smi j", 10)
	if err != nil || len(found) != 1 || found[0].Patient.ID != pt.ID {
		t.Fatalf("find: %+v, %v", found, err)
	}
	v := 82.5
	if _, err := svc.AddObservation(ctx, clinical.ObservationInput{PatientRef: pt.ID, System: "sct", Code: "27113001", Value: &v, Unit: "kg"}); err != nil {
		t.Fatal(err)
	}
	l, err := svc.Observations(ctx, pt.ID, clinical.ObsFilter{})
	if err != nil || len(l.Items) != 1 || *l.Items[0].Value != 82.5 {
		t.Fatalf("observations: %+v, %v", l, err)
	}
	up, err := svc.UpdatePatient(ctx, pt.ID, clinical.PatientUpdate{IfVersion: 1, Phone: ptr("0113 496 0000")})
	if err != nil || up.Version != 2 {
		t.Fatalf("update: %+v, %v", up, err)
	}
	var ce *record.ConflictError
	stale := *got // version 1
	stale.Family = "Jones"
	if err := put(s, &stale); !errors.As(err, &ce) {
		t.Fatalf("stale update against Medplum: %v, want a conflict", err)
	}
}

// Against another vendor's server the change feed follows the clinical
// resource types, not only Patient: an allergy another client adds is a
// change to its patient (an open record reloads on it), and the cursor moves
// past it.
func TestMedplumChangesFollowClinicalTypes(t *testing.T) {
	ctx := t.Context()
	base := medplum(t)
	open := func() *remote.Store {
		s, err := remote.Open(ctx, remote.Options{URL: base, Token: "medplum-test-token", User: "dr.who", Role: record.RoleGP,
			Practice: record.Practice{Name: "Test Surgery", ODS: "B86001"}, SearchRow: searchRow, PollEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	watcher, writer := open(), open() // the workstation, and another client
	svc, err := clinical.New(clinical.Options{Store: writer, Source: "cli"}).As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}
	if _, err := svc.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	changes := func(after uint64) (uint64, []string) {
		t.Helper()
		var ids []string
		var last uint64
		err := watcher.View(ctx, func(tx store.Tx) error {
			var err error
			last, err = tx.Changes(after, func(_ uint64, id string) error { ids = append(ids, id); return nil })
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return last, ids
	}
	// A poll reaches back a little before its cursor (a late commit), so it
	// may name the patient again for their own creation: the cursor moving
	// past the head is what says the allergy was seen.
	head, _ := changes(store.ChangesHead)
	if _, err := svc.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pt.ID, System: "sct", Code: "764146007", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	last, ids := changes(head)
	if !slices.Contains(ids, pt.ID) || last <= head {
		t.Fatalf("an allergy added by another client: changes %v (head %d, last %d); want the patient", ids, head, last)
	}
	v := 82.5
	if _, err := svc.AddObservation(ctx, clinical.ObservationInput{PatientRef: pt.ID, System: "sct", Code: "27113001", Value: &v, Unit: "kg"}); err != nil {
		t.Fatal(err)
	}
	if next, ids := changes(last); !slices.Contains(ids, pt.ID) || next <= last {
		t.Fatalf("an observation added by another client: changes %v (from %d to %d); want the patient", ids, last, next)
	}
}
