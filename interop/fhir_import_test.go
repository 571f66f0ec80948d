package interop_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// conditional references only, UK Core identifiers. Everything is kept.
func TestFHIRImportOtherGeneratorByIdentifier(t *testing.T) {
	_, s, st := fhirPractice(t, "New Surgery", "B86003", false)
	in := fxLoadInputs(t, "../fhir/testdata/other-generator.json")
	sum := importFHIR(t, s, in, false)
	if sum.RejectedBundles != 0 {
		t.Fatalf("rejected: %+v", sum.Rejections)
	}
	for ty, want := range map[string]int{"Patient": 1, "Encounter": 1, "Condition": 1, "Observation": 2, "Procedure": 1,
		"MedicationRequest": 2, "AllergyIntolerance": 1, "Immunization": 1, "Appointment": 1} {
		if c := sum.ByType[ty]; c == nil || c.Imported != want {
			t.Errorf("%s: %+v, want %d imported", ty, c, want)
		}
	}
	for _, ty := range []string{"Organization", "Practitioner", "Medication"} {
		if c := sum.ByType[ty]; c == nil || c.Skipped != 1 {
			t.Errorf("%s: %+v, want 1 skipped (reference data)", ty, c)
		}
	}
	const dr = "Dr Hannah Whitfield"
	ctx := context.Background()
	err := st.View(ctx, func(tx store.Tx) error {
		p, err := tx.PatientByNHS("9990000115")
		if err != nil {
			return err
		}
		if p.NHSNumberStatus != "01" || p.Family != "Tester" || strings.Join(p.Given, " ") != "Olivia Jane" || p.Prefix != "Ms" ||
			p.BirthDate != "1984-03-12" || p.Sex != "female" || p.Postcode != "LS6 2QT" || p.Phone != "0113 496 0000" ||
			p.Email != "olivia@example.org" || p.Address == nil || p.Address.Town != "Leeds" || p.Address.County != "West Yorkshire" ||
			len(p.Identifiers) != 1 || p.Identifiers[0].Value != "OV-000417" {
			t.Errorf("patient: %+v %+v", p, p.Address)
		}
		one := func(k record.Kind) []record.Entity {
			es, err := tx.List(p.ID, k)
			if err != nil {
				t.Fatal(err)
			}
			return es
		}
		cs := one(record.KindConsultation)
		if len(cs) != 1 {
			t.Fatalf("%d consultations", len(cs))
		}
		c := cs[0].(*record.Consultation)
		if c.Clinician != dr || c.Location != "The Old Practice" || !c.Start.Equal(time.Date(2025, 2, 3, 10, 20, 0, 0, time.UTC)) ||
			len(c.Entries) != 1 || c.Entries[0].Code.Code != "7L1H6" || c.Entries[0].Mapped == nil || c.Entries[0].Mapped.Code != "385904005" {
			t.Errorf("consultation: %+v", c)
		}
		pr := one(record.KindProblem)[0].(*record.Problem)
		if pr.Code.Code != "38341003" || pr.Onset != "2025-02-03" || pr.ConsultationID != c.ID || pr.Status != "active" {
			t.Errorf("problem: %+v", pr)
		}
		var bp, wt *record.Observation
		for _, e := range one(record.KindObservation) {
			o := e.(*record.Observation)
			if o.IsBP() {
				bp = o
			} else {
				wt = o
			}
		}
		if bp == nil || *bp.Systolic != 158 || *bp.Diastolic != 92 || bp.ConsultationID != c.ID {
			t.Errorf("blood pressure: %+v", bp)
		}
		if wt == nil || *wt.Value != 72.5 || wt.Unit != "kg" {
			t.Errorf("weight: %+v", wt)
		}
		m := one(record.KindMedication)[0].(*record.Medication)
		if m.Code.System != record.SystemDMD || m.Code.Code != "318902004" || m.Type != "repeat" || m.IssuesAuthorised != 6 ||
			m.ReviewDate != "2025-08-03" || m.Dose != "One capsule daily" || m.Quantity != 28 || m.Unit != "capsule" ||
			m.DurationDays != 28 || m.Prescriber != dr || m.AuthorisedOn != "2025-02-03" || len(m.Issues) != 1 ||
			m.Issues[0].By != dr || m.Issues[0].Quantity != 28 {
			t.Errorf("medication: %+v", m)
		}
		a := one(record.KindAllergy)[0].(*record.Allergy)
		if a.Finding == nil || a.Finding.Code != "91936005" || a.Agent.Code != "764146007" || a.Reaction != "Eruption of skin" ||
			a.Severity != "moderate" || a.Category != "medication" {
			t.Errorf("allergy: %+v", a)
		}
		im := one(record.KindImmunisation)[0].(*record.Immunisation)
		if im.Date != "2024-10-09" || im.Batch != "AB1234" || im.By != dr || im.Code.System != record.SystemDMD {
			t.Errorf("immunisation: %+v", im)
		}
		ap := one(record.KindAppointment)[0].(*record.Appointment)
		if ap.Minutes != 10 || ap.Clinician != dr || ap.Reason != "Blood pressure review" || ap.Status != "booked" {
			t.Errorf("appointment: %+v", ap)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if again := importFHIR(t, s, in, false); again.Imported != 0 {
		t.Errorf("re-run imported %d", again.Imported)
	}
}

// A bundle with one bad resource writes nothing; the other bundles of the import go in.
func TestFHIRImportAllOrNothingPerBundle(t *testing.T) {
	_, s, st := fhirPractice(t, "Strict Surgery", "B86004", false)
	good, _ := os.ReadFile("../fhir/testdata/other-generator.json")
	bad := strings.Replace(string(good), `"value": "9990000115",`, `"value": "9990000116",`, 1)
	bad = strings.ReplaceAll(bad, "9990000115", "9990000116")
	second := []byte(strings.Replace(string(good), `"value": 72.50`, `"value": "heavy"`, 1))
	second = []byte(strings.ReplaceAll(string(second), "9990000115", "9990000484"))
	in := []interop.FHIRInput{{Name: "bad-nhs.json", Data: []byte(bad)}, {Name: "good.json", Data: good}, {Name: "bad-value.json", Data: second}}
	sum := importFHIR(t, s, in, false)
	if sum.RejectedBundles != 2 || sum.ByType["Patient"].Imported != 1 || sum.ByType["Patient"].Rejected != 2 {
		t.Fatalf("rejected bundles %d, patients %+v: %+v", sum.RejectedBundles, sum.ByType["Patient"], sum.Rejections)
	}
	paths := map[string]string{}
	for _, r := range sum.Rejections {
		paths[r.File] = r.Path + " " + r.Reason
	}
	if !strings.HasPrefix(paths["bad-nhs.json"], "Patient.identifier[0].value") {
		t.Errorf("bad NHS number reported as %q", paths["bad-nhs.json"])
	}
	if !strings.Contains(paths["bad-value.json"], "heavy") && !strings.Contains(paths["bad-value.json"], "valueQuantity") {
		t.Errorf("bad value reported as %q", paths["bad-value.json"])
	}
	if n := fxCount(st, record.KindPatient); n != 1 {
		t.Errorf("%d patients written, want 1", n)
	}
	if n := fxCount(st, record.KindObservation); n != 2 {
		t.Errorf("%d observations written, want the good bundle's 2", n)
	}
}

// References resolve across the files of one import; --dry-run writes nothing.
func TestFHIRImportAcrossFilesAndDryRun(t *testing.T) {
	_, s, st := fhirPractice(t, "Split Surgery", "B86005", false)
	patient := `{"resourceType":"Patient","id":"pat-1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000859"}],` +
		`"name":[{"family":"Split","given":["Sam"]}],"gender":"male","birthDate":"1990-05-05"}`
	obs := `{"resourceType":"Observation","id":"o-1","status":"final","code":{"coding":[{"system":"http://snomed.info/sct","code":"27113001"}]},` +
		`"subject":{"reference":"Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C9990000859"},"effectiveDateTime":"2025-01-01","valueQuantity":{"value":80,"unit":"kg"}}
{"resourceType":"Condition","id":"c-1","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"subject":{"reference":"Patient/pat-1"}}`
	in := []interop.FHIRInput{{Name: "Patient.ndjson", Data: []byte(patient)}, {Name: "Clinical.ndjson", Data: []byte(obs)}}
	dry := importFHIR(t, s, in, true)
	if dry.Imported != 3 || dry.RejectedBundles != 0 {
		t.Fatalf("dry run: %+v %+v", dry, dry.Rejections)
	}
	if n := fxCount(st, record.KindPatient) + fxCount(st, record.KindObservation); n != 0 {
		t.Fatalf("dry run wrote %d records", n)
	}
	sum := importFHIR(t, s, in, false)
	if sum.Imported != 3 {
		t.Fatalf("imported %d: %+v", sum.Imported, sum.Rejections)
	}
	// A later file can refer to a patient already in the practice.
	later := `{"resourceType":"Immunization","id":"i-1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]},` +
		`"patient":{"identifier":{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9990000859"}},"occurrenceDateTime":"2024-10-01"}`
	sum = importFHIR(t, s, []interop.FHIRInput{{Name: "imm.ndjson", Data: []byte(later)}}, false)
	if sum.Imported != 1 {
		t.Fatalf("reference to a patient in the practice: %+v", sum.Rejections)
	}
	// A reference that resolves nowhere is a rejection naming the element.
	orphan := `{"resourceType":"Condition","id":"c-2","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"subject":{"reference":"Patient/nobody"}}`
	sum = importFHIR(t, s, []interop.FHIRInput{{Name: "orphan.ndjson", Data: []byte(orphan)}}, false)
	if sum.RejectedBundles != 1 || len(sum.Rejections) != 1 || sum.Rejections[0].Path != "Condition.subject" || sum.Rejections[0].Entry != 1 {
		t.Fatalf("orphan: %+v", sum.Rejections)
	}
}

func TestFHIRRoles(t *testing.T) {
	_, s, st := fhirPractice(t, "Role Surgery", "B86006", false)
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.WTx) error {
		for _, u := range []record.User{{Name: "nurse.a", Role: record.RoleNurse}, {Name: "recep", Role: record.RoleReceptionist}, {Name: "dr.a", Role: record.RoleGP, Prescriber: true}} {
			u := u
			if err := tx.PutUser(&u); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p := s.Practice()
	for _, name := range []string{"nurse.a", "recep"} {
		u, err := p.As(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := interop.ImportFHIR(ctx, u, nil, interop.FHIRImportOptions{}); !fxIsPermission(err) {
			t.Errorf("%s import: %v", name, err)
		}
		if _, err := interop.ExportFHIRAll(ctx, u, func(fhir.Resource) error { return nil }); !fxIsPermission(err) {
			t.Errorf("%s export: %v", name, err)
		}
	}
	gp, _ := p.As(ctx, "dr.a")
	if _, err := interop.ExportFHIRAll(ctx, gp, func(fhir.Resource) error { return nil }); err != nil {
		t.Errorf("gp export: %v", err)
	}
	// A GP's import does not create users; an admin's does.
	prac := `{"resourceType":"Practitioner","id":"x","identifier":[{"system":"` + fhir.SystemUserName + `","value":"dr.new"}]}`
	in := []interop.FHIRInput{{Name: "p.ndjson", Data: []byte(prac)}}
	if sum := importFHIR(t, gp, in, false); sum.ByType["Practitioner"].Skipped != 1 {
		t.Errorf("gp import created a user: %+v", sum.ByType["Practitioner"])
	}
	if sum := importFHIR(t, s, in, false); sum.ByType["Practitioner"].Imported != 1 {
		t.Errorf("admin import: %+v %+v", sum.ByType["Practitioner"], sum.Skips)
	}
	_ = st.View(ctx, func(tx store.Tx) error {
		u, err := tx.User("dr.new")
		if err != nil || u.Role != record.RoleReceptionist {
			t.Errorf("imported user without a role: %+v %v (want least privilege)", u, err)
		}
		return nil
	})
}

func fxIsPermission(err error) bool { _, ok := err.(*record.PermissionError); return ok }

// Exporting a sensitive patient's record needs a reason, and the denial is audited.
func TestFHIRExportSensitiveNeedsReason(t *testing.T) {
	a, st := fxSourcePractice(t, 3)
	var pid string
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.WTx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error {
			if pid != "" {
				return nil
			}
			p := e.(*record.Patient)
			pid = p.ID
			p.Sensitive = true
			return tx.Put(p)
		})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := interop.ExportFHIRPatientFor(ctx, a, pid, clinical.ReadOptions{}); !fxIsPermission(err) {
		t.Fatalf("sensitive export without a reason: %v", err)
	}
	b, err := interop.ExportFHIRPatientFor(ctx, a, pid, clinical.ReadOptions{Reason: "transfer to new practice"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b.Entry[0].Resource)+string(b.Entry[len(b.Entry)-1].Resource), "resourceType") {
		t.Fatal("empty bundle")
	}
	var denied, exported bool
	_ = st.View(ctx, func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error {
			if ev.PatientID == pid && ev.Outcome == "denied" {
				denied = true
			}
			if ev.PatientID == pid && ev.Action == "export" && ev.Reason == "transfer to new practice" {
				exported = true
			}
			return nil
		})
	})
	if !denied || !exported {
		t.Errorf("audit: denied %v, export with reason %v", denied, exported)
	}
}

// Each Synthea bundle on its own imports exactly its MANIFEST row.
func TestFHIRImportSyntheaPerBundle(t *testing.T) {
	_, s, _ := fhirPractice(t, "Per Bundle Surgery", "B86007", false)
	f, err := os.Open(filepath.Join(fxSyntheaDir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	hdr := strings.Split(sc.Text(), "\t")
	rows := 0
	for sc.Scan() {
		row := strings.Split(sc.Text(), "\t")
		rows++
		sum := importFHIR(t, s, fxLoadInputs(t, filepath.Join(fxSyntheaDir, row[0])), false)
		if sum.RejectedBundles != 0 || sum.ByType["Patient"].Imported != 1 {
			t.Fatalf("%s: %+v", row[0], sum.Rejections)
		}
		for i := 9; i < len(hdr); i++ {
			want, _ := strconv.Atoi(row[i])
			got := 0
			if c := sum.ByType[hdr[i]]; c != nil {
				got = c.Imported
			}
			if got != want {
				t.Errorf("%s (%s): %s imported %d, MANIFEST says %d", row[0], row[1], hdr[i], got, want)
			}
		}
	}
	if rows != 100 {
		t.Errorf("%d MANIFEST rows", rows)
	}
}

// Records imported from abroad export as valid FHIR too, and survive a second round trip.
func TestFHIRSyntheaExportRoundTrip(t *testing.T) {
	_, a, _ := fhirPractice(t, "Abroad Surgery", "B86008", false)
	files, _ := filepath.Glob(filepath.Join(fxSyntheaDir, "*.json.gz"))
	sum := importFHIR(t, a, fxLoadInputs(t, files[:12]...), false)
	if sum.RejectedBundles != 0 {
		t.Fatalf("rejected: %+v", sum.Rejections)
	}
	ea := fxExportAll(t, a)
	n := fxCheckExport(t, ea)
	if len(ea["Procedure"]) == 0 || len(ea["Observation"]) == 0 {
		t.Fatalf("export lacks procedures or observations: %d resources", n)
	}
	foreign := 0
	for _, r := range ea["Observation"] {
		if strings.Contains(string(r), fhir.ExtForeignCode) {
			foreign++
		}
	}
	if foreign == 0 {
		t.Error("LOINC codes exported without the foreign-code flag")
	}
	_, b, _ := fhirPractice(t, "Abroad Surgery", "B86008", false)
	if sum := importFHIR(t, b, ea.asInputs(), false); sum.RejectedBundles != 0 {
		t.Fatalf("re-import rejected: %+v", sum.Rejections[:min(3, len(sum.Rejections))])
	}
	ka, kb := fxCanon(t, ea), fxCanon(t, fxExportAll(t, b))
	lost := 0
	for k, na := range ka {
		if kb[k] != na && lost < 5 {
			lost++
			t.Errorf("changed in the round trip: %.400s", k)
		}
	}
}
