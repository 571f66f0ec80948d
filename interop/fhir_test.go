package interop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

const (
	fxSyntheaDir = "../fhir/testdata/synthea"
	fxBulkDir    = "../fhir/testdata/synthea-bulk"
)

var fhirToday = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// fhirPractice is an empty practice (name, ODS) acting as its admin.
func fhirPractice(tb testing.TB, name, ods string, demo bool) (*clinical.Practice, *clinical.Service, store.Store) {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), bolt.FileName), bolt.Options{Hold: true, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return fhirToday }})
	ctx := context.Background()
	if _, err := p.Init(ctx, name, ods, "admin", "", demo); err != nil {
		tb.Fatal(err)
	}
	s, err := p.As(ctx, "admin")
	if err != nil {
		tb.Fatal(err)
	}
	return p, s, st
}

func fxLoadInputs(tb testing.TB, paths ...string) []interop.FHIRInput {
	tb.Helper()
	in, err := interop.LoadFHIRInputs(paths, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

func importFHIR(tb testing.TB, s *clinical.Service, in []interop.FHIRInput, dry bool) *interop.FHIRImportSummary {
	tb.Helper()
	sum, err := interop.ImportFHIR(context.Background(), s, in, interop.FHIRImportOptions{DryRun: dry})
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}

// fxManifestTotals sums the per-type columns of a MANIFEST.tsv.
func fxManifestTotals(t *testing.T, path string, cols ...string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	hdr := strings.Split(sc.Text(), "\t")
	idx := map[string]int{}
	for i, h := range hdr {
		idx[h] = i
	}
	out := map[string]int{}
	for sc.Scan() {
		row := strings.Split(sc.Text(), "\t")
		for _, c := range cols {
			n, _ := strconv.Atoi(row[idx[c]])
			out[c] += n
		}
		out["rows"]++
	}
	return out
}

func TestFHIRImportSyntheaBundlesMatchManifest(t *testing.T) {
	_, s, st := fhirPractice(t, "Import Surgery", "B86001", false)
	types := []string{"Condition", "Observation", "MedicationRequest", "Immunization", "Encounter", "Procedure", "AllergyIntolerance"}
	want := fxManifestTotals(t, filepath.Join(fxSyntheaDir, "MANIFEST.tsv"), types...)
	if want["rows"] != 100 {
		t.Fatalf("MANIFEST lists %d bundles", want["rows"])
	}
	in := fxLoadInputs(t, fxSyntheaDir)
	sum := importFHIR(t, s, in, false)
	if sum.Rejected != 0 || sum.RejectedBundles != 0 {
		t.Fatalf("rejected %d: %+v", sum.Rejected, sum.Rejections[:min(5, len(sum.Rejections))])
	}
	if got := sum.ByType["Patient"].Imported; got != 100 {
		t.Errorf("Patient imported %d, want 100", got)
	}
	for _, ty := range types {
		if got := sum.ByType[ty]; got == nil || got.Imported != want[ty] || got.Skipped != 0 {
			t.Errorf("%s: %+v, want %d imported", ty, got, want[ty])
		}
	}
	for _, ty := range []string{"Claim", "ExplanationOfBenefit", "CarePlan", "Goal", "DiagnosticReport", "ImagingStudy", "Organization", "Practitioner"} {
		if c := sum.ByType[ty]; c == nil || c.Imported != 0 || c.Skipped == 0 {
			t.Errorf("%s: %+v, want skipped", ty, c)
		}
	}
	for _, sk := range sum.Skips {
		if sk.Reason == "" || sk.Reason == "not written" {
			t.Errorf("skipped without a reason: %+v", sk)
		}
	}
	if sum.Flagged["code system http://loinc.org is outside the UK terminologies: kept as given"] != want["Observation"] {
		t.Errorf("LOINC codes not flagged: %v", sum.Flagged)
	}
	// What came in: a patient from abroad keeps what they have.
	ctx := context.Background()
	err := st.View(ctx, func(tx store.Tx) error {
		if n := tx.Count(record.KindPatient); n != 100 {
			t.Errorf("%d patients stored", n)
		}
		e, err := tx.Get(record.KindPatient, "018f428e-34f6-4707-8009-5ad742f901e7")
		if err != nil {
			return err
		}
		p := e.(*record.Patient)
		if p.NoNHSReason != "imported-record" || p.NHSNumber != "" || p.Address == nil || p.Address.Country != "US" || p.Postcode == "" || len(p.Identifiers) < 2 {
			t.Errorf("patient from abroad: %+v %+v", p, p.Address)
		}
		obs, _ := tx.List(p.ID, record.KindObservation)
		bp := 0
		for _, o := range obs {
			o := o.(*record.Observation)
			if o.Code.System != record.SystemLOINC {
				t.Errorf("observation code changed: %+v", o.Code)
			}
			if o.IsBP() {
				bp++
				if *o.Systolic <= *o.Diastolic {
					t.Errorf("BP components swapped: %v/%v", *o.Systolic, *o.Diastolic)
				}
			}
		}
		if bp == 0 {
			t.Error("no blood pressure imported as one observation")
		}
		meds, _ := tx.List(p.ID, record.KindMedication)
		for _, m := range meds {
			if c := m.(*record.Medication).Code; c.System != fhir.SystemRxNorm {
				t.Errorf("RxNorm code not kept: %+v", c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A re-run changes nothing.
	before := fxAuditCount(t, st)
	again := importFHIR(t, s, in, false)
	if again.Imported != 0 || again.Rejected != 0 || again.Skipped != sum.Imported+sum.Skipped {
		t.Errorf("re-run: imported %d skipped %d rejected %d (first run %d/%d)", again.Imported, again.Skipped, again.Rejected, sum.Imported, sum.Skipped)
	}
	if after := fxAuditCount(t, st); after != before {
		t.Errorf("re-run wrote %d audit events", after-before)
	}
}

func fxAuditCount(t testing.TB, st store.Store) int {
	n := 0
	_ = st.View(context.Background(), func(tx store.Tx) error {
		seq, _, err := tx.AuditHead()
		n = int(seq)
		return err
	})
	return n
}

func TestFHIRImportBulkNDJSON(t *testing.T) {
	_, s, _ := fhirPractice(t, "Bulk Surgery", "B86002", false)
	in := fxLoadInputs(t, fxBulkDir)
	sum := importFHIR(t, s, in, false)
	if sum.RejectedBundles != 0 {
		t.Fatalf("rejected: %+v", sum.Rejections)
	}
	lines := map[string]int{}
	f, _ := os.Open(filepath.Join(fxBulkDir, "MANIFEST.tsv"))
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		row := strings.Split(sc.Text(), "\t")
		n, err := strconv.Atoi(row[2])
		if err != nil {
			continue // absent files
		}
		lines[strings.Split(row[0], ".")[0]] = n
	}
	f.Close()
	for _, ty := range []string{"Patient", "Condition", "Encounter", "Immunization", "MedicationRequest", "Procedure", "AllergyIntolerance"} {
		if c := sum.ByType[ty]; c == nil || c.Imported != lines[ty] {
			t.Errorf("%s: %+v, want %d imported", ty, c, lines[ty])
		}
	}
	for _, ty := range []string{"Device", "DocumentReference", "Location", "Organization", "Practitioner", "PractitionerRole"} {
		if c := sum.ByType[ty]; c == nil || c.Skipped != lines[ty] {
			t.Errorf("%s: %+v, want %d skipped", ty, c, lines[ty])
		}
	}
	if c := sum.ByType["(not a resource)"]; c == nil || c.Skipped != lines["log"] {
		t.Errorf("log lines: %+v", c)
	}
	again := importFHIR(t, s, in, false)
	if again.Imported != 0 || again.Rejected != 0 {
		t.Errorf("re-run imported %d rejected %d", again.Imported, again.Rejected)
	}
}

// fxSourcePractice is a demo practice generated by fixtures, written straight
// to the store, with a few records the generator does not make.
func fxSourcePractice(t testing.TB, patients int) (*clinical.Service, store.Store) {
	_, s, st := fhirPractice(t, fixtures.PracticeName, fixtures.PracticeODS, true)
	g := fixtures.Practice(fixtures.Options{Patients: patients, Seed: 9, Today: fhirToday})
	ctx := context.Background()
	err := st.Update(ctx, func(tx store.WTx) error {
		for _, u := range g.Users {
			if u.Name == "admin" {
				continue
			}
			u := u
			u.Version = 0
			if err := tx.PutUser(&u); err != nil {
				return err
			}
		}
		for _, se := range fixtures.Sessions(fixtures.Options{Patients: patients, Seed: 9, Today: fhirToday}) {
			if err := tx.Put(se); err != nil {
				return err
			}
		}
		for i, b := range g.Patients {
			for _, e := range b.Records() {
				if err := tx.Put(e); err != nil {
					return err
				}
				if err := tx.Append(&record.AuditEvent{At: fhirToday, User: "dr.patel", Role: record.RoleGP, Action: "create",
					Kind: e.Kind(), EntityID: e.Head().ID, PatientID: b.Patient.ID, Version: 1, Source: "cli"}); err != nil {
					return err
				}
			}
			if i == 0 {
				// Extras: a Read v2 entry with its SNOMED map, a retracted problem, a repeat with issues.
				pid := b.Patient.ID
				at := fhirToday.Add(-48 * time.Hour)
				c := &record.Consultation{Type: "telephone", Start: at, End: at.Add(10 * time.Minute), Clinician: "dr.chen",
					Text: "Legacy <coded> & mapped", Entries: []record.CodedEntry{{Code: record.Code{System: record.SystemRead2, Code: "H33..", Display: "Asthma"},
						Mapped: &record.Code{System: record.SystemSNOMED, Code: "195967001", Display: "Asthma"}, Text: "from an old record"}}}
				c.PatientID, c.Status = pid, "final"
				pr := &record.Problem{Code: record.Code{System: record.SystemSNOMED, Code: "38341003", Display: "Hypertension"}, Significance: "major"}
				pr.PatientID, pr.Status = pid, record.StatusEnteredInError
				pr.Retraction = &record.Retraction{Reason: "wrong patient", By: "dr.chen", At: at}
				m := &record.Medication{Code: record.Code{System: record.SystemDMD, Code: "318902004", Display: "Ramipril 5mg capsules"}, Type: "repeat",
					Dose: "one daily", Quantity: 28, Unit: "capsule", DurationDays: 28, IssuesAuthorised: 6, ReviewDate: "2027-05-01",
					AuthorisedOn: "2026-06-01", Prescriber: "dr.patel",
					Issues: []record.Issue{{At: at, By: "dr.patel", Quantity: 28}, {At: at.Add(24 * time.Hour), By: "nurse.jones", Quantity: 28}}}
				m.PatientID, m.Status = pid, "active"
				for _, e := range []record.Entity{c, pr, m} {
					if err := e.Validate(); err != nil {
						return err
					}
					if err := tx.Put(e); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

type fxExported map[string][][]byte // type -> resources

func fxExportAll(t testing.TB, s *clinical.Service) fxExported {
	t.Helper()
	out := fxExported{}
	counts, err := interop.ExportFHIRAll(context.Background(), s, func(r fhir.Resource) error {
		b, err := fhir.Marshal(r)
		out[r.FHIRType()] = append(out[r.FHIRType()], b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for ty, n := range counts {
		if len(out[ty]) != n {
			t.Fatalf("%s: counted %d, emitted %d", ty, n, len(out[ty]))
		}
	}
	return out
}

// asInputs writes an export as Bulk NDJSON inputs.
func (e fxExported) asInputs() []interop.FHIRInput {
	var in []interop.FHIRInput
	types := make([]string, 0, len(e))
	for ty := range e {
		types = append(types, ty)
	}
	sort.Strings(types)
	for _, ty := range types {
		var b []byte
		for _, r := range e[ty] {
			b = append(append(b, r...), '\n')
		}
		in = append(in, interop.FHIRInput{Name: ty + ".ndjson", Data: b})
	}
	return in
}

// fxCheckExport validates every resource (schema and base rules) and that every reference resolves.
func fxCheckExport(t *testing.T, e fxExported) int {
	t.Helper()
	have := map[string]bool{}
	for ty, rs := range e {
		for _, r := range rs {
			var h struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(r, &h)
			have[ty+"/"+h.ID] = true
		}
	}
	n, fails := 0, 0
	for ty, rs := range e {
		for _, r := range rs {
			n++
			if err := fxValidateSchema(t, r); err != nil && fails < 10 {
				fails++
				t.Errorf("%s fails the FHIR R4 schema: %v\n%s", ty, err, r)
			}
			var refs []string
			for _, p := range fxCheckBase(r, &refs) {
				if fails < 10 {
					fails++
					t.Errorf("%s\n%s", p, r)
				}
			}
			for _, ref := range refs {
				if !have[ref] && fails < 10 {
					fails++
					t.Errorf("%s: reference %s does not resolve within the export", ty, ref)
				}
			}
		}
	}
	return n
}

func TestFHIRExportValidatesAndRoundTrips(t *testing.T) {
	a, ast := fxSourcePractice(t, 40)
	ea := fxExportAll(t, a)
	n := fxCheckExport(t, ea)
	t.Logf("%d fxExported resources valid against the FHIR R4 schema and base rules", n)
	for _, ty := range []string{"Organization", "Practitioner", "Patient", "Encounter", "Condition", "Observation", "MedicationRequest",
		"AllergyIntolerance", "Immunization", "Appointment", "Task", "Schedule", "Provenance", "AuditEvent"} {
		if len(ea[ty]) == 0 {
			t.Errorf("no %s fxExported", ty)
		}
	}
	// A demo practice says so on every resource.
	for ty, rs := range ea {
		for _, r := range rs {
			if !strings.Contains(string(r), `"tag":[{"system":"`+fhir.CSActReason+`","code":"HTEST"`) {
				t.Fatalf("%s without the demo tag: %s", ty, r)
			}
		}
	}

	// Import into an empty practice, export again: the same resources.
	b, bst := func() (*clinical.Service, store.Store) {
		_, s, st := fhirPractice(t, fixtures.PracticeName, fixtures.PracticeODS, true)
		return s, st
	}()
	sum := importFHIR(t, b, ea.asInputs(), false)
	if sum.RejectedBundles != 0 {
		t.Fatalf("import of our own export rejected: %+v", sum.Rejections[:min(5, len(sum.Rejections))])
	}
	eb := fxExportAll(t, b)
	ka, kb := fxCanon(t, ea), fxCanon(t, eb)
	for k, na := range ka {
		if kb[k] != na {
			t.Errorf("lost or changed in the round trip (%d vs %d): %s", na, kb[k], k)
			if t.Failed() && len(t.Name()) > 0 {
				break
			}
		}
	}
	for k := range kb {
		if ka[k] == 0 && !strings.HasPrefix(k, "AuditEvent ") {
			t.Errorf("new after the round trip: %s", k)
		}
	}
	// Every record is there with its id, and the audit trail came along.
	for _, k := range []record.Kind{record.KindPatient, record.KindConsultation, record.KindMedication, record.KindTask, record.KindRecall, record.KindSession} {
		if ca, cb := fxCount(ast, k), fxCount(bst, k); ca != cb {
			t.Errorf("%s: %d in A, %d after the round trip", k, ca, cb)
		}
	}

	if sa, sb := fxSensitiveCount(ast), fxSensitiveCount(bst); sa != sb || sa == 0 {
		t.Errorf("sensitive records: %d in A, %d after the round trip", sa, sb)
	}
	// Importing the same export again, or into the practice it came from, changes nothing.
	for name, s := range map[string]*clinical.Service{"again": b, "source": a} {
		sum := importFHIR(t, s, ea.asInputs(), false)
		if sum.Imported != 0 || sum.RejectedBundles != 0 {
			var what []string
			for ty, c := range sum.ByType {
				if c.Imported > 0 {
					what = append(what, ty+":"+strconv.Itoa(c.Imported))
				}
			}
			t.Errorf("%s: a re-run imported %d (%v), rejected %d", name, sum.Imported, what, sum.RejectedBundles)
		}
	}
}

func fxCount(st store.Store, k record.Kind) int {
	n := 0
	_ = st.View(context.Background(), func(tx store.Tx) error { n = tx.Count(k); return nil })
	return n
}

// fxCanon keys every resource by type and content, ignoring id and meta (and,
// for audit events, their place in the hash chain).
func fxCanon(t *testing.T, e fxExported) map[string]int {
	out := map[string]int{}
	for ty, rs := range e {
		for _, r := range rs {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "id")
			delete(m, "meta")
			// A record of A comes back from B marked imported from A
			// (TestImportMarksHistory): the mark aside, it is the same.
			if exts := fxAnySlice(m["extension"]); exts != nil {
				var keep []any
				for _, x := range exts {
					if x.(map[string]any)["url"] != fhir.ExtImported {
						keep = append(keep, x)
					}
				}
				if keep == nil {
					delete(m, "extension")
				} else {
					m["extension"] = keep
				}
			}
			if ty == "AuditEvent" {
				// An event of A's trail comes back from B labelled as
				// imported from A (TestImportedAuditTrailKeptApart): the
				// label aside, it is the same event.
				var exts []any
				for _, x := range fxAnySlice(m["extension"]) {
					if x.(map[string]any)["url"] != fhir.ExtImportedAudit {
						exts = append(exts, x)
					}
				}
				m["extension"] = exts
				if src, ok := m["source"].(map[string]any); ok {
					if obs, ok := src["observer"].(map[string]any); ok {
						delete(obs, "display") // "gpsoc cli", or "imported from A"
					}
				}
				for _, x := range fxAnySlice(m["extension"]) {
					xm := x.(map[string]any)
					if xm["url"] == fhir.ExtRecord {
						var ev map[string]any
						_ = json.Unmarshal([]byte(xm["valueString"].(string)), &ev)
						delete(ev, "seq")
						delete(ev, "prevHash")
						delete(ev, "hash")
						// The record hash is the store's own, of what it wrote
						// itself: an imported event is not vouched for by it.
						delete(ev, "recordHash")
						b, _ := json.Marshal(ev)
						xm["valueString"] = string(b)
					}
				}
			}
			b, _ := json.Marshal(m)
			out[ty+" "+string(b)]++
		}
	}
	return out
}

func TestFHIRPatientBundle(t *testing.T) {
	a, ast := fxSourcePractice(t, 5)
	var pid string
	_ = ast.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error {
			if pid == "" {
				pid = e.Head().ID
			}
			return nil
		})
	})
	b, err := interop.ExportFHIRPatientFor(context.Background(), a, pid, clinical.ReadOptions{Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := fhir.Marshal(b)
	if err := fxValidateSchema(t, raw); err != nil {
		t.Fatalf("bundle fails the schema: %v", err)
	}
	if b.Type != "collection" || len(b.Entry) < 5 {
		t.Fatalf("bundle %s with %d entries", b.Type, len(b.Entry))
	}
	e := fxExported{}
	seen := map[string]bool{}
	for _, en := range b.Entry {
		if seen[en.FullURL] {
			t.Errorf("bdl-7: fullUrl %s twice", en.FullURL)
		}
		seen[en.FullURL] = true
		r, err := fhir.Parse(en.Resource)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(en.FullURL, "/"+r.FHIRType()+"/"+*r.Head().ID) {
			t.Errorf("fullUrl %s does not name %s/%s", en.FullURL, r.FHIRType(), *r.Head().ID)
		}
		e[r.FHIRType()] = append(e[r.FHIRType()], en.Resource)
	}
	fxCheckExport(t, e)
	// The bundle imports into an empty practice, and again changes nothing.
	_, s2, _ := fhirPractice(t, "Elsewhere", "C81002", false)
	in := []interop.FHIRInput{{Name: "p.json", Data: raw}}
	sum := importFHIR(t, s2, in, false)
	if sum.RejectedBundles != 0 || sum.ByType["Patient"].Imported != 1 {
		t.Fatalf("import: %+v %+v", sum.ByType["Patient"], sum.Rejections)
	}
	if again := importFHIR(t, s2, in, false); again.Imported != 0 {
		t.Errorf("re-run imported %d", again.Imported)
	}
}

func fxSensitiveCount(st store.Store) int {
	n := 0
	_ = st.View(context.Background(), func(tx store.Tx) error {
		for _, k := range record.Kinds {
			_ = tx.ForEach(k, func(e record.Entity) error {
				if e.Head().Sensitive {
					n++
				}
				return nil
			})
		}
		return nil
	})
	return n
}

// A bundle written by another generator: references by identifier and
