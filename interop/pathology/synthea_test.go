package pathology_test

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop/pathology"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// syntheaNHS is a Synthea patient's NHS number in the tests: from the 999
// range (never issued), derived from the patient's id, so every run and
// every machine gives the same one.
func syntheaNHS(id string) string {
	h := sha256.Sum256([]byte(id))
	n := binary.BigEndian.Uint64(h[:8])
	for {
		if nhs, ok := record.CompleteNHS(fmt.Sprintf("999%06d", n%1000000)); ok {
			return nhs
		}
		n++
	}
}

type entry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type res struct {
	ResourceType    string                       `json:"resourceType"`
	ID              string                       `json:"id"`
	Result          []struct{ Reference string } `json:"result"`
	Encounter       *struct{ Reference string }  `json:"encounter"`
	ServiceProvider *struct{ Reference string }  `json:"serviceProvider"`
}

// syntheaReports reads a Synthea patient bundle and makes, for each of its
// DiagnosticReports with results, the collection Bundle a laboratory would
// send: the patient (with the test NHS number), the report (performer: the
// encounter's organisation, Synthea names none) and its Observations.
func syntheaReports(t *testing.T, path string) (patient map[string]any, nhs string, bundles [][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Entry []entry }
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	byURL := map[string]entry{}
	var pe entry
	var drs []entry
	for _, e := range b.Entry {
		var r res
		_ = json.Unmarshal(e.Resource, &r)
		byURL[e.FullURL] = e
		switch r.ResourceType {
		case "Patient":
			pe = e
		case "DiagnosticReport":
			if len(r.Result) > 0 {
				drs = append(drs, e)
			}
		}
	}
	if err := json.Unmarshal(pe.Resource, &patient); err != nil {
		t.Fatal(err)
	}
	nhs = syntheaNHS(patient["id"].(string))
	ids, _ := patient["identifier"].([]any)
	patient["identifier"] = append([]any{map[string]any{"system": record.SystemNHS, "value": nhs}}, ids...)
	pj, _ := json.Marshal(patient)
	for _, d := range drs {
		var r res
		_ = json.Unmarshal(d.Resource, &r)
		var dr map[string]any
		_ = json.Unmarshal(d.Resource, &dr)
		entries := []entry{{FullURL: pe.FullURL, Resource: pj}}
		if r.Encounter != nil {
			var enc res
			_ = json.Unmarshal(byURL[r.Encounter.Reference].Resource, &enc)
			if enc.ServiceProvider != nil {
				if org, ok := byURL[enc.ServiceProvider.Reference]; ok {
					dr["performer"] = []any{map[string]any{"reference": org.FullURL}}
					entries = append(entries, org)
				}
			}
		}
		dj, _ := json.Marshal(dr)
		entries = append(entries, entry{FullURL: d.FullURL, Resource: dj})
		for _, ref := range r.Result {
			o, ok := byURL[ref.Reference]
			if !ok {
				t.Fatalf("%s: result %s not in the bundle", path, ref.Reference)
			}
			entries = append(entries, o)
		}
		out, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
		bundles = append(bundles, out)
	}
	return patient, nhs, bundles
}

// letters drops the digits Synthea appends to names (Kassulke123).
func letters(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return -1
		}
		return r
	}, s))
}

// Synthea patients, given deterministic 999-range NHS numbers and
// registered, have their DiagnosticReports imported through the inbox:
// every one matched on NHS number and date of birth, its values in the
// record, and a second import changes nothing.
func TestSyntheaDiagnosticReportsThroughTheInbox(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return now }, Source: "test"})
	if _, err := p.Init(ctx, "Test Surgery", "Y01234", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	for _, u := range []record.User{{Name: "dr.grey", Role: record.RoleGP, Prescriber: true}, {Name: "lab", Role: record.RoleInterface}} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	feed, _ := p.As(ctx, "lab")
	gp, _ := p.As(ctx, "dr.grey")
	files, _ := filepath.Glob("testdata/synthea/*.json.gz")
	if len(files) != 3 {
		t.Fatalf("want the 3 Synthea bundles, found %d", len(files))
	}
	total := 0
	var all []*record.Report
	for _, f := range files {
		pt, nhs, bundles := syntheaReports(t, f)
		if nhs != syntheaNHS(pt["id"].(string)) || !record.ValidNHS(nhs) || !strings.HasPrefix(nhs, "999") {
			t.Fatalf("NHS number %s", nhs)
		}
		name := pt["name"].([]any)[0].(map[string]any)
		var given []string
		for _, g := range name["given"].([]any) {
			given = append(given, letters(g.(string)))
		}
		reg := &record.Patient{NHSNumber: nhs, Family: letters(name["family"].(string)), Given: given,
			BirthDate: pt["birthDate"].(string), Sex: pt["gender"].(string), UsualGP: "dr.grey"}
		if _, err := admin.AddPatient(ctx, reg); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, b := range bundles {
			rs, err := pathology.Parse(b)
			if err != nil {
				t.Fatalf("%s report %d: %v", f, i, err)
			}
			all = append(all, rs...)
		}
		total += len(bundles)
	}
	ds, errs, err := feed.DeliverReports(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	obs := 0
	for i, d := range ds {
		if errs[i] != nil {
			t.Fatalf("report %d refused: %v", i, errs[i])
		}
		if d.Outcome != clinical.DeliveredMatched {
			t.Errorf("%s: %s (%s)", d.Report.LabReportID, d.Outcome, d.Report.Unmatched)
		}
		obs += d.Observations
	}
	t.Logf("%d Synthea reports, %d values, all matched", total, obs)
	if total < 40 || obs < total {
		t.Errorf("%d reports, %d values entered the records", total, obs)
	}
	items, err := gp.Inbox(ctx, clinical.InboxFilter{To: "dr.grey"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != total {
		t.Errorf("the GP's inbox holds %d reports, want %d", len(items), total)
	}
	// The same reports again: nothing new.
	again, _, err := feed.DeliverReports(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range again {
		if d.Outcome != clinical.DeliveredDuplicate {
			t.Fatalf("re-import: %s", d.Outcome)
		}
	}
	// The numbers are fixed by the Synthea ids: the same on every machine and run.
	if got := syntheaNHS("3d3d63e8-17e8-4f0c-b1a3-b24be51df9af"); got != "9998060133" {
		t.Errorf("NHS number of the first Synthea patient: %s", got)
	}
}
