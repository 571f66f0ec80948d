package pathology_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop/pathology"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

func parseFile(t *testing.T, name string) *record.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := pathology.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d reports", len(rs))
	}
	return rs[0]
}

// A UK Core pathology message keeps sender, requester, specimen and issue
// dates, the patient as identified, values, units, ranges, flags and
// codes from every system as sent.
func TestParseFHIRPathologyMessage(t *testing.T) {
	r := parseFile(t, "ue-abnormal.json")
	if r.Sender.ODS != "RR8" || r.Requester.Code != "G7654321" || r.Requester.Name != "Dr Anna Jones" {
		t.Fatalf("sender %+v requester %+v", r.Sender, r.Requester)
	}
	if r.LabReportID != "RR8-24-0001234" || r.LabStatus != "final" || r.MessageID == "" || r.Title.Code != "1000981000000109" {
		t.Fatalf("report %+v", r)
	}
	if !r.Specimen.Collected.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) || r.Specimen.ID != "24S0012345" || r.Specimen.Type != "Serum specimen" ||
		!r.Issued.Equal(time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("specimen %+v issued %v", r.Specimen, r.Issued)
	}
	if sp := r.SentPatient; sp.NHSNumber != "9434765919" || sp.BirthDate != "1961-03-12" || sp.Family != "SMITH" || sp.Sex != "male" || sp.LocalID != "L1234567" {
		t.Fatalf("patient %+v", sp)
	}
	if len(r.Tests) != 3 {
		t.Fatalf("tests %+v", r.Tests)
	}
	k := r.Tests[0]
	if *k.Value != 6.2 || k.Unit != "mmol/L" || k.Flag != "H" || k.Range.String() != "3.5-5.3" || len(k.Codes) != 2 || k.Codes[1].System != record.SystemLOINC {
		t.Fatalf("potassium %+v", k)
	}
	if e := r.Tests[2]; e.Codes[0].Code != "EGFR" || e.Unit != "mL/min/{1.73_m2}" {
		t.Fatalf("lab's own code %+v", e)
	}
}

// Broken messages are refused with the path of what is wrong.
func TestParseFHIRErrorsNamePath(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join("testdata", "ue-abnormal.json"))
	for _, c := range []struct{ from, to, want string }{
		{`"reference": "urn:uuid:0f1e2d3c-0000-4000-8000-000000000011"`, `"reference": "urn:uuid:missing"`, `result[1].reference "urn:uuid:missing": not in the message`},
		{`"value": 6.2`, `"value": "six"`, `entry[7].resource (Observation)`},
		{`"resourceType": "MessageHeader"`, `"resourceType": "Provenance"`, `entry[0]: a message Bundle starts with its MessageHeader`},
		{`"issued": "2026-11-23T16:00:00+00:00"`, `"issued": "23/11/2026"`, `entry[2].resource.issued "23/11/2026"`},
	} {
		bad := strings.Replace(string(b), c.from, c.to, 1)
		if bad == string(b) {
			t.Fatalf("%q not in the message", c.from)
		}
		if _, err := pathology.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v", c.want, err)
		}
	}
}

// Imported through the one door: the message is matched, its values enter
// the record, and the corrected message supersedes them.
func TestFHIRMessageThroughTheInbox(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return now }})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Leeds Road Surgery", "B86001", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	as := func(u string) *clinical.Service {
		s, err := p.As(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, u := range []record.User{{Name: "lab", Role: record.RoleInterface}, {Name: "dr.jones", Role: record.RoleGP, RegNumber: "G7654321"}} {
		if _, err := as("admin").AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}
	if _, err := as("admin").AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	d, err := as("lab").DeliverReport(ctx, parseFile(t, "ue-abnormal.json"))
	if err != nil || d.Outcome != clinical.DeliveredMatched || d.Report.To != "dr.jones" || d.Observations != 3 {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	c, err := as("lab").DeliverReport(ctx, parseFile(t, "ue-corrected.json"))
	if err != nil || !c.Corrected || c.Report.Supersedes != d.Report.ID || len(c.Report.Comments) != 1 {
		t.Fatalf("correction %+v, %v", c, err)
	}
	items, err := as("dr.jones").Inbox(ctx, clinical.InboxFilter{To: "dr.jones"})
	if err != nil || len(items) != 1 || !items[0].Report.Corrected {
		t.Fatalf("inbox %+v, %v", items, err)
	}
}

func recordUser(name string) record.User { return record.User{Name: name, Role: record.RoleInterface} }
