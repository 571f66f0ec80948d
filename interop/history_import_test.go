package interop_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

func localTrail(t *testing.T, st store.Store) []*record.AuditEvent {
	t.Helper()
	var out []*record.AuditEvent
	if err := st.View(context.Background(), func(tx store.Tx) error {
		return tx.Audit(0, func(ev *record.AuditEvent) error { out = append(out, ev); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func importedTrail(t *testing.T, s *clinical.Service) []*record.ImportedAuditEvent {
	t.Helper()
	ies, err := s.ImportedAuditEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ies
}

// A practice moved from another system brings its audit trail: it is kept
// as imported history, verified and labelled with where it came from, and
// never chained as this practice's own events (issue 15). audit verify
// checks this practice's chain and the kept trail; an export carries the
// trail on, still labelled, so a second move keeps its first source.
func TestImportedAuditTrailKeptApart(t *testing.T) {
	a, ast := fxSourcePractice(t, 3)
	aEvents := fxAuditCount(t, ast)
	ea := fxExportAll(t, a)
	if len(ea["AuditEvent"]) != aEvents {
		t.Fatalf("A's export carries %d audit events, its trail %d", len(ea["AuditEvent"]), aEvents)
	}

	_, b, bst := fhirPractice(t, "Moorside Surgery", "B86099", true)
	sum := importFHIR(t, b, ea.asInputs(), false)
	if sum.RejectedBundles != 0 || sum.ByType["AuditEvent"].Imported != aEvents {
		t.Fatalf("import: %+v, audit events %+v", sum.Rejections, sum.ByType["AuditEvent"])
	}
	// B's own chain has none of A's events: only what B did (the import's
	// writes, and one event that records the trail it kept).
	var recorded *record.AuditEvent
	for _, ev := range localTrail(t, bst) {
		if ev.User != "admin" {
			t.Errorf("B's own trail holds an event of another system's user: %+v", ev)
		}
		if ev.Action == "import" && ev.Kind == "audit" {
			recorded = ev
		}
	}
	src := fixtures.PracticeName + " (ODS " + fixtures.PracticeODS + ")"
	if recorded == nil || recorded.EntityID != src || !strings.Contains(recorded.Query, fmt.Sprintf(": %d events kept as imported history", aEvents)) {
		t.Fatalf("no event of B's own records the imported trail: %+v", recorded)
	}
	// Kept apart, as A recorded them (its sequence and hashes), labelled.
	kept := importedTrail(t, b)
	if len(kept) != aEvents {
		t.Fatalf("kept %d imported events, A's trail has %d", len(kept), aEvents)
	}
	for i, ie := range kept {
		if ie.Source != src || ie.ImportedBy != "admin" || ie.Problem != "" || ie.Batch != recorded.Seq {
			t.Fatalf("imported event %d: %+v (source want %q, verified, recorded at event %d)", i, ie, src, recorded.Seq)
		}
		if ie.Event.Seq != uint64(i+1) || ie.Event.Hash == "" {
			t.Fatalf("imported event %d lost A's own chain: %+v", i, ie.Event)
		}
	}
	rep, err := bst.(*bolt.Store).VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 || rep.Imported.Events != aEvents || rep.Imported.Unverified != 0 {
		t.Fatalf("audit verify on B: %+v", rep)
	}

	// B's export carries A's trail labelled; a move on to C keeps A as its source.
	eb := fxExportAll(t, b)
	labelled := 0
	for _, raw := range eb["AuditEvent"] {
		r, err := fhir.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if fhir.ImportedFrom(r.(*fhir.AuditEvent)) == src {
			labelled++
		}
	}
	if labelled != aEvents {
		t.Fatalf("B's export labels %d events as imported from A, want %d", labelled, aEvents)
	}
	_, c, _ := fhirPractice(t, "Hilltop Surgery", "B86100", true)
	importFHIR(t, c, eb.asInputs(), false)
	bySource := map[string]int{}
	for _, ie := range importedTrail(t, c) {
		bySource[ie.Source]++
		if ie.Problem != "" {
			t.Errorf("C: %s's event %d does not verify: %s", ie.Source, ie.Event.Seq, ie.Problem)
		}
	}
	if bySource[src] != aEvents || bySource["Moorside Surgery (ODS B86099)"] == 0 {
		t.Fatalf("C keeps imported events by source %v, want %d from A and B's own", bySource, aEvents)
	}
}

// An imported trail whose own chain does not verify (an event altered
// before the move) is still kept, as history, labelled with what failed,
// and the import says so.
func TestImportedAuditTrailAlteredIsLabelled(t *testing.T) {
	a, _ := fxSourcePractice(t, 2)
	ea := fxExportAll(t, a)
	ev := ea["AuditEvent"][1]
	altered := strings.Replace(string(ev), `\"user\":\"dr.patel\"`, `\"user\":\"dr.other\"`, 1)
	if altered == string(ev) {
		t.Fatalf("the test's alteration found nothing to alter in %s", ev)
	}
	ea["AuditEvent"][1] = []byte(altered)
	_, d, _ := fhirPractice(t, "Moorside Surgery", "B86099", true)
	sum := importFHIR(t, d, ea.asInputs(), false)
	var bad []*record.ImportedAuditEvent
	for _, ie := range importedTrail(t, d) {
		if ie.Problem != "" {
			bad = append(bad, ie)
		}
	}
	if len(bad) != 1 || bad[0].Event.User != "dr.other" || !strings.Contains(bad[0].Problem, "altered") {
		t.Fatalf("labelled %d events (%+v), want the altered one", len(bad), bad)
	}
	if sum.Flagged["audit events kept as imported history whose own chain does not verify (labelled so)"] != 1 {
		t.Fatalf("the import does not say so: %+v", sum.Flagged)
	}
}

// A bulk import of history from another system marks each record it
// writes as imported, keeping where it came from and its original author
// as data (recordedBy is the user who imported it); the mark goes out with
// an export (a meta tag and the author) and a second move keeps the first
// source. Importing the same history again changes nothing.
func TestImportMarksHistory(t *testing.T) {
	a, ast := fxSourcePractice(t, 3)
	ea := fxExportAll(t, a)
	_, b, bst := fhirPractice(t, "Moorside Surgery", "B86099", true)
	importFHIR(t, b, ea.asInputs(), false)
	src := fixtures.PracticeName + " (ODS " + fixtures.PracticeODS + ")"
	clinicianOf := map[string]string{}
	recorderOf := map[string]string{} // problems, allergies, results: who recorded them in A
	_ = ast.View(context.Background(), func(tx store.Tx) error {
		for _, k := range []record.Kind{record.KindProblem, record.KindAllergy, record.KindObservation} {
			_ = tx.ForEach(k, func(e record.Entity) error {
				recorderOf[e.Head().ID] = e.Head().RecordedBy
				return nil
			})
		}
		return tx.ForEach(record.KindConsultation, func(e record.Entity) error {
			clinicianOf[e.Head().ID] = e.(*record.Consultation).Clinician
			return nil
		})
	})
	marked, consults, recorded := 0, 0, 0
	for _, k := range record.Kinds {
		_ = bst.View(context.Background(), func(tx store.Tx) error {
			return tx.ForEach(k, func(e record.Entity) error {
				m := e.Head()
				if k == record.KindPatient {
					return nil
				}
				if m.Imported == nil || m.Imported.Source != src || m.RecordedBy != "admin" {
					t.Errorf("%s %s: imported %+v, recordedBy %q: want marked imported from %s, recorded here by admin", k, m.ID, m.Imported, m.RecordedBy, src)
					return nil
				}
				marked++
				if want, ok := recorderOf[m.ID]; ok && want != "" {
					recorded++
					if m.Imported.Author != want {
						t.Errorf("%s %s: author %q, A's recorder %q", k, m.ID, m.Imported.Author, want)
					}
				}
				if _, ok := e.(*record.Consultation); ok {
					consults++
					if m.Imported.Author != clinicianOf[m.ID] || m.Imported.Author == "" {
						t.Errorf("consultation %s: author %q, A's clinician %q", m.ID, m.Imported.Author, clinicianOf[m.ID])
					}
				}
				return nil
			})
		})
	}
	if marked == 0 || consults == 0 || recorded == 0 {
		t.Fatalf("marked %d records, %d consultations, %d problems, allergies and results with their recorder", marked, consults, recorded)
	}
	if sum := importFHIR(t, b, ea.asInputs(), false); sum.Imported != 0 {
		t.Fatalf("the same history again imported %d", sum.Imported)
	}
	eb := fxExportAll(t, b)
	tagged := 0
	for _, raw := range eb["Condition"] {
		r, _ := fhir.Parse(raw)
		if f := fhir.ImportedOf(r); f != nil && f.Source == src && strings.Contains(string(raw), `"code":"imported"`) {
			tagged++
		}
	}
	if tagged != len(eb["Condition"]) || tagged == 0 {
		t.Fatalf("%d of B's %d Conditions carry the import mark", tagged, len(eb["Condition"]))
	}
	_, c, cst := fhirPractice(t, "Hilltop Surgery", "B86100", true)
	importFHIR(t, c, eb.asInputs(), false)
	_ = cst.View(context.Background(), func(tx store.Tx) error {
		return tx.ForEach(record.KindProblem, func(e record.Entity) error {
			if imp := e.Head().Imported; imp == nil || imp.Source != src {
				t.Errorf("C: problem %s marked %+v, want its first source %s kept", e.Head().ID, imp, src)
			}
			return nil
		})
	})
}
