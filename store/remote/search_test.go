package remote_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/remote"
)

// fakeFHIR is a FHIR server of canned answers: its CapabilityStatement, a
// Group/$search that answers one patient, and a Patient search.
func fakeFHIR(t *testing.T, capability, patients string) (*remote.Store, *[]string) {
	t.Helper()
	var asked []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/fhir+json")
		switch r.URL.Path {
		case "/metadata":
			_, _ = w.Write([]byte(capability))
		case "/Group/$search":
			_, _ = w.Write([]byte(`{"resourceType":"Group","type":"person","actual":true,"name":"x","quantity":1,
				"member":[{"entity":{"reference":"Patient/p1","display":"SMITH, Ann"}}]}`))
		case "/Patient":
			_, _ = w.Write([]byte(patients))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`))
		}
	}))
	t.Cleanup(hs.Close)
	s, err := remote.Open(ctx, remote.Options{URL: hs.URL, Token: "t", User: "dr.who", Role: record.RoleGP})
	if err != nil {
		t.Fatal(err)
	}
	return s, &asked
}

// Whether a search runs on the server is what its CapabilityStatement
// declares (gpsoc's Group/$search by its canonical URL), not what the
// software calls itself: a gpsoc serve without a terminology declares no
// searches and is searched like any other server; any server that declares
// the operation is asked to run it.
func TestSearchWhereTheServerDeclaresIt(t *testing.T) {
	const declares = `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","software":{"name":"another"},
		"rest":[{"mode":"server","resource":[{"type":"Group","operation":[{"name":"search","definition":"` + fhir.OpGroupSearch + `"}]}]}]}`
	s, asked := fakeFHIR(t, declares, "")
	res, ok, err := s.RunSearch(ctx, "search \"x\"\nselect all\n", "", "", "")
	if err != nil || !ok || len(res.Members) != 1 || res.Members[0].PatientID != "p1" || !strings.Contains(strings.Join(*asked, ","), "POST /Group/$search") {
		t.Fatalf("a server declaring Group/$search: %+v %v %v (asked %v)", res, ok, err, *asked)
	}
	for _, cs := range []string{
		// gpsoc serve without a terminology: no Group operation declared
		`{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","software":{"name":"gpsoc"},"rest":[{"mode":"server","resource":[{"type":"Patient"}]}]}`,
		// an operation of that name, but not ours
		`{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","rest":[{"mode":"server","resource":[{"type":"Group","operation":[{"name":"search","definition":"http://example.org/OperationDefinition/other"}]}]}]}`,
	} {
		s, asked := fakeFHIR(t, cs, "")
		if _, ok, err := s.RunSearch(ctx, "search \"x\"\nselect all\n", "", "", ""); ok || err != nil || strings.Contains(strings.Join(*asked, ","), "$search") {
			t.Errorf("a server that does not declare it: ok %v, %v, asked %v", ok, err, *asked)
		}
	}
}

// A scan given fewer resources than the server says match (it pages without
// next links) fails: a search over part of the practice would be wrong.
func TestScanFailsWhenIncomplete(t *testing.T) {
	const cs = `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","rest":[{"mode":"server"}]}`
	s, _ := fakeFHIR(t, cs, `{"resourceType":"Bundle","type":"searchset","total":3,"entry":[
		{"resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Ann"]}],"birthDate":"1961-03-12"}},
		{"resource":{"resourceType":"Patient","id":"p2","name":[{"family":"Jones","given":["Ann"]}],"birthDate":"1961-03-12"}}]}`)
	n := 0
	err := s.View(ctx, func(tx store.Tx) error {
		return tx.(store.Scanner).Scan([]record.Kind{record.KindPatient}, func(record.Entity) error { n++; return nil })
	})
	if err == nil || !strings.Contains(err.Error(), "says 3 Patient resources match but gave 2") {
		t.Fatalf("an incomplete scan: %v (%d read)", err, n)
	}
}

// A scan over gpsoc serve (one without a terminology, so searches run in the
// workstation) reads what the practice file holds: a consultation's coded
// entries come in its Encounter, and no type the server does not declare
// (Procedure) is asked for.
func TestScanOverGpsocServe(t *testing.T) {
	rs, p := serve(t)
	gp, err := clinical.New(clinical.Options{Store: rs, Source: "cli"}).As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"Ann"}, BirthDate: "1961-03-12", Sex: "female"}
	if _, err := gp.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	if _, err := gp.AddConsultation(ctx, clinical.ConsultInput{PatientRef: pt.ID, Type: "surgery", Text: "review",
		Codes: []record.CodedEntry{{Code: record.Code{System: record.SystemSNOMED, Code: "38341003", Display: "Hypertensive disorder"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: pt.ID, System: "sct", Code: "73211009", Onset: "2015-01-01"}); err != nil {
		t.Fatal(err)
	}
	count := func(scan func(fn func(record.Entity) error) error) map[string]int {
		n := map[string]int{}
		if err := scan(func(e record.Entity) error {
			n[string(e.Kind())]++
			if c, ok := e.(*record.Consultation); ok {
				n["entries"] += len(c.Entries)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var here, there map[string]int
	_ = storeOf(p).View(ctx, func(tx store.Tx) error {
		here = count(func(fn func(record.Entity) error) error {
			for _, k := range clinical.SearchKinds() {
				if err := tx.ForEach(k, fn); err != nil {
					return err
				}
			}
			return nil
		})
		return nil
	})
	_ = rs.View(ctx, func(tx store.Tx) error {
		there = count(func(fn func(record.Entity) error) error { return tx.(store.Scanner).Scan(clinical.SearchKinds(), fn) })
		return nil
	})
	if fmt.Sprint(here) != fmt.Sprint(there) || here["entries"] != 1 || here["problem"] != 1 {
		t.Fatalf("scanned over gpsoc serve %v, the practice file holds %v", there, here)
	}
}

// A search run in the workstation over another vendor's server is recorded
// there as an AuditEvent; a server that will not take it fails the run's
// audit, so the caller shows nothing (as when a practice file cannot write
// its audit event).
func TestSearchAuditOnAnotherServer(t *testing.T) {
	const cs = `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","rest":[{"mode":"server"}]}`
	s, asked := fakeFHIR(t, cs, "") // it answers POST AuditEvent 404
	gp, err := clinical.New(clinical.Options{Store: s, Source: "cli"}).As(ctx, "dr.who")
	if err != nil {
		t.Fatal(err)
	}
	err = gp.AuditSearch(ctx, clinical.SearchRun{Query: "search x; count 3"})
	if err == nil || !strings.Contains(err.Error(), "POST AuditEvent") || !strings.Contains(err.Error(), "nothing is shown until it is recorded") ||
		!strings.Contains(strings.Join(*asked, ","), "POST /AuditEvent") {
		t.Fatalf("a server refusing the search's AuditEvent: %v (asked %v)", err, *asked)
	}
}
