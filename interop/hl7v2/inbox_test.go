package hl7v2_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop/hl7v2"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

var now = time.Date(2026, 3, 6, 11, 0, 0, 0, time.UTC)

// inbox is a practice with one GP (registration G1234567, the requester in
// the test messages), a lab feed user, and Eleanor Carter (9990000018).
func inbox(t *testing.T) (feed, gp *clinical.Service, carter string) {
	t.Helper()
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return now }, Source: "test"})
	if _, err := p.Init(ctx, "Test Surgery", "Y01234", "admin", "", false); err != nil {
		t.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []record.User{
		{Name: "dr.jones", Role: record.RoleGP, RegNumber: "G1234567", Prescriber: true},
		{Name: "lab", Role: record.RoleInterface},
	} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	pt := &record.Patient{NHSNumber: "9990000018", Family: "Carter", Given: []string{"Eleanor"}, BirthDate: "1961-03-12", Sex: "female", UsualGP: "dr.jones"}
	if _, err := admin.AddPatient(ctx, pt); err != nil {
		t.Fatal(err)
	}
	if feed, err = p.As(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if gp, err = p.As(ctx, "dr.jones"); err != nil {
		t.Fatal(err)
	}
	return feed, gp, pt.ID
}

func deliver(t *testing.T, svc *clinical.Service, file string) []*clinical.Delivery {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := hl7v2.ReadReports(b)
	if err != nil {
		t.Fatal(err)
	}
	ds, errs, err := svc.DeliverReports(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("report %d refused: %v", i, e)
		}
	}
	return ds
}

// An ORU^R01 from a laboratory reaches the requesting GP's inbox, matched
// on NHS number and date of birth; its values are in the record at once.
func TestORUDeliveredMatchedAndCorrected(t *testing.T) {
	feed, gp, carter := inbox(t)
	ctx := context.Background()
	ds := deliver(t, feed, "fbc_v24.hl7")
	if len(ds) != 1 || ds[0].Outcome != clinical.DeliveredMatched || ds[0].Report.MatchedPatient != carter || ds[0].Observations != 4 {
		t.Fatalf("delivery %+v: %s", ds[0], ds[0].Report.Unmatched)
	}
	if ds[0].Report.To != "dr.jones" {
		t.Errorf("addressed to %q, want the requester dr.jones (OBR-16 G1234567)", ds[0].Report.To)
	}
	items, err := gp.Inbox(ctx, clinical.InboxFilter{To: "dr.jones"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || !items[0].Abnormal {
		t.Fatalf("the GP's inbox: %+v", items)
	}
	// The same message again changes nothing.
	if again := deliver(t, feed, "fbc_v24.hl7"); again[0].Outcome != clinical.DeliveredDuplicate {
		t.Errorf("a message delivered twice: %s", again[0].Outcome)
	}
	// Filed, then corrected: the correction comes back to the inbox.
	if _, err := gp.FileReport(ctx, clinical.FilingInput{ReportID: ds[0].Report.ID, Action: record.FileNormal}); err != nil {
		t.Fatal(err)
	}
	cs := deliver(t, feed, "fbc_corrected_v24.hl7")
	if !cs[0].Corrected || cs[0].Report.Status != record.ReportUnfiled || cs[0].Report.LabVersion != 2 {
		t.Fatalf("correction: %+v", cs[0].Report)
	}
	v, err := gp.Report(ctx, cs[0].Report.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Earlier) != 1 || *v.Report.Tests[0].Value != 108 {
		t.Errorf("the corrected report shows Hb 108 and its earlier version: %+v", v)
	}
	// The first message re-sent after its correction (a feed replaying its
	// queue) is the version held, not a new "correction" with Hb 98.
	if late := deliver(t, feed, "fbc_v24.hl7"); late[0].Outcome != clinical.DeliveredDuplicate || late[0].Report.LabVersion != 1 {
		t.Errorf("the first version re-sent late: %s version %d", late[0].Outcome, late[0].Report.LabVersion)
	}
	// A different version issued before the one held is refused, not filed over it.
	b, _ := os.ReadFile("testdata/fbc_v24.hl7")
	older := strings.Replace(strings.Replace(string(b), "||98|g/L|", "||97|g/L|", 1), "|FBC00001|", "|FBC00001B|", 1)
	rs, err := hl7v2.ReadReports([]byte(older))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.DeliverReport(ctx, rs[0]); err == nil || !strings.Contains(err.Error(), "older version never replaces a newer one") {
		t.Errorf("an older version arriving late: %v", err)
	}
	items, _ = gp.Inbox(ctx, clinical.InboxFilter{})
	if len(items) != 1 || !items[0].Report.Corrected || *items[0].Report.Tests[0].Value != 108 {
		t.Errorf("the inbox holds the corrected report only: %+v", items)
	}
}

// A report without an NHS number, or one whose sex differs, waits unmatched.
func TestORUUnmatched(t *testing.T) {
	feed, _, _ := inbox(t)
	ds := deliver(t, feed, "batch_lf.hl7")
	if len(ds) != 3 {
		t.Fatalf("three reports in the batch, got %d", len(ds))
	}
	for _, d := range ds {
		if d.Outcome != clinical.DeliveredUnmatched || d.Report.Unmatched == "" {
			t.Errorf("%s: %s (%s)", d.Report.LabReportID, d.Outcome, d.Report.Unmatched)
		}
	}
	b, _ := os.ReadFile("testdata/fbc_v24.hl7")
	rs, err := hl7v2.ReadReports([]byte(strings.Replace(string(b), "|19610312|F|", "|19610312|M|", 1)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := feed.DeliverReport(context.Background(), rs[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != clinical.DeliveredUnmatched || !strings.Contains(d.Report.Unmatched, "sex") {
		t.Errorf("a sex mismatch is unmatched, saying so: %s %q", d.Outcome, d.Report.Unmatched)
	}
}

// A result the laboratory withdrew (OBX-11 D, deleted, or W, wrong) is in
// the report as sent, never a value in the record.
func TestORUWithdrawnResultNotRecorded(t *testing.T) {
	feed, gp, _ := inbox(t)
	b, _ := os.ReadFile("testdata/fbc_v24.hl7")
	msg := strings.Replace(string(b), "||412|10*9/L|150-400|H|||F", "||412|10*9/L|150-400|H|||D", 1)
	rs, err := hl7v2.ReadReports([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	d, err := feed.DeliverReport(context.Background(), rs[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != clinical.DeliveredMatched || d.Observations != 3 {
		t.Fatalf("%s with %d values, want matched with 3 (the deleted platelet count not recorded)", d.Outcome, d.Observations)
	}
	v, err := gp.Report(context.Background(), d.Report.ID)
	if err != nil {
		t.Fatal(err)
	}
	if plt := v.Report.Tests[2]; plt.Status != record.StatusEnteredInError || plt.ObservationID != "" {
		t.Errorf("the withdrawn result: %+v", plt)
	}
}
