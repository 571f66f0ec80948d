package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

func f64(v float64) *float64 { return &v }

// seedInbox delivers, through the inbox service, an earlier potassium for
// KINGSLAND (filed), then today's: an abnormal U&E for her, a normal full
// blood count for another patient, and one report for nobody of ours.
func seedInbox(t testing.TB, svc *clinical.Service) (kingsland string) {
	t.Helper()
	ctx := context.Background()
	ps, err := svc.Patients(ctx, clinical.PatientFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var k, other *record.Patient
	for _, p := range ps {
		switch {
		case p.Family == "KINGSLAND" || strings.EqualFold(p.Family, "kingsland"):
			k = p
		case other == nil && p.NHSNumber != "" && p.Status == record.PatientActive:
			other = p
		}
	}
	if k == nil || other == nil {
		t.Fatal("the fixture practice lacks KINGSLAND or a second patient")
	}
	lab := record.Party{ODS: "RBA11", Name: "Musgrove Pathology"}
	ue := func(id string, k1 float64, flag string, days int) *record.Report {
		taken := fixedNow.AddDate(0, 0, -days).Add(-2 * time.Hour)
		return &record.Report{Format: "hl7v2", LabReportID: id, LabStatus: "final", Sender: lab,
			Requester: record.Party{Code: "dr.patel"}, Title: record.Code{System: "urn:lab", Code: "UE", Display: "Urea and electrolytes"},
			Specimen: record.Specimen{Type: "Blood", Collected: taken}, Issued: taken.Add(4 * time.Hour),
			SentPatient: record.SentPatient{NHSNumber: k.NHSNumber, Family: k.Family, Given: k.Given, BirthDate: k.BirthDate, Sex: k.Sex},
			Tests: []record.ReportTest{
				{Name: "Potassium", Codes: []record.Code{{System: record.SystemLOINC, Code: "2823-3"}}, Value: f64(k1), Unit: "mmol/L",
					Range: &record.ReferenceRange{Low: f64(3.5), High: f64(5.3)}, Flag: flag, Status: "final"},
				{Name: "Sodium", Codes: []record.Code{{System: record.SystemLOINC, Code: "2951-2"}}, Value: f64(139), Unit: "mmol/L",
					Range: &record.ReferenceRange{Low: f64(133), High: f64(146)}, Status: "final"},
			}}
	}
	first, err := svc.DeliverReport(ctx, ue("UE-1", 4.6, "N", 90))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FileReport(ctx, clinical.FilingInput{ReportID: first.Report.ID, Action: record.FileNormal}); err != nil {
		t.Fatal(err)
	}
	today := ue("UE-2", 6.4, "HH", 0)
	today.Tests[0].Comments = []string{"Sample not haemolysed. Telephoned to the surgery."}
	fbc := &record.Report{Format: "hl7v2", LabReportID: "FBC-7", LabStatus: "final", Sender: lab, Requester: record.Party{Name: "Dr Patel", Code: "dr.patel"},
		Title:       record.Code{System: "urn:lab", Code: "FBC", Display: "Full blood count"},
		SentPatient: record.SentPatient{NHSNumber: other.NHSNumber, Family: other.Family, Given: other.Given, BirthDate: other.BirthDate, Sex: other.Sex},
		Tests:       []record.ReportTest{{Name: "Haemoglobin", Value: f64(135), Unit: "g/L", Range: &record.ReferenceRange{Low: f64(115), High: f64(165)}, Flag: "N"}}}
	stranger := &record.Report{Format: "hl7v2", LabReportID: "TSH-9", LabStatus: "final", Sender: lab,
		Title:       record.Code{System: "urn:lab", Code: "TSH", Display: "Thyroid function"},
		SentPatient: record.SentPatient{Family: "NOBODY", Given: []string{"Sam"}, BirthDate: "1990-07-04", LocalID: "RBA7654321"},
		Tests:       []record.ReportTest{{Name: "TSH", Value: f64(2.1), Unit: "mU/L"}}}
	for _, r := range []*record.Report{today, fbc, stranger} {
		if _, err := svc.DeliverReport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return k.ID
}

func TestGoldenInbox(t *testing.T) {
	dir, svc := practice(t, 50)
	seedInbox(t, svc)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			d := &driver{t: t, m: newModel(t, dir, svc, w, h)}
			shot := func(name string) {
				t.Helper()
				golden(t, fmt.Sprintf("%s-%dx%d", name, w, h), d.screen())
			}
			d.init()
			d.contains("results 2 (f7) · 1 abnormal")
			d.keys("f7")
			shot("inbox-list")
			d.keys("enter")
			shot("inbox-report")
			d.keys("c")
			d.typeText("Repeat U&E")
			shot("inbox-comment")
		})
	}
}

// The list: abnormal first, then oldest; an unmatched report shows the
// patient as sent; a normal report may be filed from the list, an abnormal
// one only after reading it.
func TestInboxListAndFilingFromTheList(t *testing.T) {
	dir, svc := practice(t, 50)
	seedInbox(t, svc)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.keys("f7")
	s := d.screen()
	iUE, iFBC, iTSH := strings.Index(s, "Urea and electrolytes"), strings.Index(s, "Full blood count"), strings.Index(s, "unmatched: NOBODY, Sam")
	if iUE < 0 || iFBC < 0 || iTSH < 0 || iUE > iFBC || iUE > iTSH {
		t.Fatalf("want the abnormal U&E first, then the others:\n%s", s)
	}
	d.keys("n")
	d.contains("an abnormal result is read before it is filed")
	if iFBC > iTSH { // same arrival time: the service's order
		d.keys("down")
	}
	d.keys("down", "n")
	d.contains("filed: normal, no action")
	if strings.Contains(d.screen(), "Full blood count") {
		t.Errorf("the filed report is still listed:\n%s", d.screen())
	}
	d.contains("results 1 (f7) · 1 abnormal")
	d.keys("up", "up", "down", "enter")
	d.contains("Unmatched:")
	d.keys("u")
	d.contains("an unmatched report cannot be filed")
	d.keys("o")
	d.contains("not matched to a patient yet")
	// Jump from a report to the patient's record.
	d.keys("esc")
	d.keys("up", "up", "enter", "o")
	if d.m.Page() != "record" {
		t.Fatalf("o on a report opens the record, got page %q:\n%s", d.m.Page(), d.screen())
	}
	d.contains("KINGSLAND, Kathleen")
	// Her banner says her results wait for a clinician.
	d.contains("2 result(s) not yet reviewed")
}

// Each filing key is one service call with its result: a task, a recall,
// a comment.
func TestInboxFilingKeys(t *testing.T) {
	for _, c := range []struct {
		keys  []string
		typed string
		want  string
		check func(*testing.T, *record.Report)
	}{
		{[]string{"a"}, "", "filed: routine appointment — task made", func(t *testing.T, r *record.Report) {
			if r.Filing.TaskID == "" {
				t.Error("no task")
			}
		}},
		{[]string{"g"}, "", "filed: speak to the GP — task made", nil},
		{[]string{"c"}, "Discussed by phone", "filed: with a comment", func(t *testing.T, r *record.Report) {
			if r.Filing.Comment != "Discussed by phone" || r.Filing.For != "team" {
				t.Errorf("filing %+v", r.Filing)
			}
		}},
		{[]string{"w"}, "6", "", nil}, // the report's codes are LOINC: the service asks for a SNOMED code
	} {
		t.Run(c.keys[0], func(t *testing.T) {
			dir, svc := practice(t, 50)
			seedInbox(t, svc)
			d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
			d.init()
			d.keys("f7", "enter")
			d.keys(c.keys...)
			if c.typed != "" {
				d.typeText(c.typed)
				d.keys("ctrl+s")
			}
			if c.want == "" {
				d.contains("SNOMED CT")
				return
			}
			d.contains(c.want)
			items, err := svc.Inbox(context.Background(), clinical.InboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.Report.LabReportID == "UE-2" {
					t.Fatal("the filed report is still in the inbox")
				}
			}
			if c.check != nil {
				v, err := svc.Report(context.Background(), clinical.ReportRecordID(record.Party{ODS: "RBA11"}, "UE-2", 1))
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, v.Report)
			}
		})
	}
}

// TestFlowInboxFileUrgent (teatest): open the inbox, read the abnormal
// result with its range, flag and previous value, file it "urgent", and
// the task appears in the patient's record.
func TestFlowInboxFileUrgent(t *testing.T) {
	dir, svc := practice(t, 50)
	seedInbox(t, svc)
	tm, m := startProgram(t, dir, svc)
	waitFor(t, tm, m, "results 2 (f7) · 1 abnormal")
	typeKeys(tm, "f7")
	waitFor(t, tm, m, "3 waiting · 1 abnormal", "Urea and electrolytes")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "Potassium", "6.4 mmol/L", "3.5-5.3", "HH", "4.6 mmol/L", "Telephoned to the surgery")
	typeKeys(tm, "u")
	waitFor(t, tm, m, "filed: urgent: contact today — task made for 24-Nov-2026")
	waitFor(t, tm, m, "results 1 (f7)")
	typeKeys(tm, "esc")
	waitFor(t, tm, m, "Find:")
	tm.Type("kingsland")
	waitFor(t, tm, m, "1 found")
	typeKeys(tm, "enter")
	waitFor(t, tm, m, "KINGSLAND")
	typeKeys(tm, "t")
	waitFor(t, tm, m, "URGENT: contact the patient today about results")
	typeKeys(tm, "ctrl+q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if s := ansi.Strip(fm.Render()); !strings.Contains(s, "URGENT") {
		t.Errorf("final screen:\n%s", s)
	}
	tasks, err := svc.Tasks(context.Background(), clinical.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tk := range tasks {
		if strings.HasPrefix(tk.Text, "URGENT: contact the patient today about results: Urea and electrolytes") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("want one urgent task, got %d", n)
	}
}

// A corrected report comes back to the inbox marked CORRECTED, with the
// corrected value marked and the earlier version's date.
func TestInboxCorrectedReport(t *testing.T) {
	dir, svc := practice(t, 50)
	seedInbox(t, svc)
	ctx := context.Background()
	items, err := svc.Inbox(ctx, clinical.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ue *record.Report
	for _, it := range items {
		if it.Report.LabReportID == "UE-2" {
			ue = it.Report
		}
	}
	if _, err := svc.FileReport(ctx, clinical.FilingInput{ReportID: ue.ID, Action: record.FileNormal}); err != nil {
		t.Fatal(err)
	}
	c := *ue
	c.LabStatus, c.LabVersion = "corrected", 0
	c.Tests = append([]record.ReportTest(nil), ue.Tests...)
	c.Tests[0].Value, c.Tests[0].Status, c.Tests[0].Flag = f64(5.1), "corrected", "N"
	if d, err := svc.DeliverReport(ctx, &c); err != nil || !d.Corrected {
		t.Fatalf("correction: %+v %v", d, err)
	}
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.keys("f7")
	d.contains("  C 24-Nov-2026 KINGSLAND, Kathleen         CORRECTED Urea and elec")
	// Among the normal reports by age, then id: find it.
	selected := func() string {
		for _, l := range strings.Split(d.screen(), "\n") {
			if strings.Contains(l, "›") {
				return l
			}
		}
		return ""
	}
	for i := 0; i < 3 && !strings.Contains(selected(), "CORRECTED"); i++ {
		d.keys("down")
	}
	d.keys("n")
	d.contains("open it (enter) before filing")
	d.keys("enter")
	d.contains("CORRECTED REPORT — replaces the version received 24-Nov-2026")
	d.contains("C Potassium")
	d.contains("5.1 mmol/L")
}

// An unmatched report is matched from the screen: the patient's NHS
// number and a reason, one audited service call; it then waits to be filed.
func TestInboxMatchUnmatched(t *testing.T) {
	dir, svc := practice(t, 50)
	seedInbox(t, svc)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.keys("f7")
	for i := 0; i < 3 && !strings.Contains(d.screen(), "› ?"); i++ {
		d.keys("down")
	}
	d.keys("enter")
	d.contains("m match to a patient (with a reason)")
	d.keys("m")
	d.typeText("9997456920")
	d.keys("ctrl+s")
	d.contains("give the reason for this match")
	d.keys("tab")
	d.typeText("lab phoned: wrong name sent")
	d.keys("ctrl+s")
	d.contains("matched to")
	items, err := svc.Inbox(context.Background(), clinical.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Report.LabReportID == "TSH-9" {
			if it.Report.Status != record.ReportUnfiled || it.Report.MatchedBy != "dr.patel" || it.Report.MatchReason != "lab phoned: wrong name sent" {
				t.Errorf("matched report: %+v", it.Report)
			}
			return
		}
	}
	t.Error("the matched report left the inbox")
}

// An admin sees the unmatched queue only, headers without values, may
// match and may not file.
func TestInboxAdminSeesHeadersOnly(t *testing.T) {
	dir, svc := practice(t, 50)
	seedInbox(t, svc)
	ctx := context.Background()
	admin, err := svc.Practice().As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.SetPassphrase(ctx, testPassphrase); err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, m: newModel(t, dir, admin, 120, 40)}
	d.init()
	if strings.Contains(d.screen(), "results ") {
		t.Errorf("an admin has no results slot:\n%s", d.screen())
	}
	d.keys("f7")
	s := d.screen()
	if !strings.Contains(s, "1 waiting") || !strings.Contains(s, "unmatched: NOBODY, Sam") || strings.Contains(s, "KINGSLAND") {
		t.Fatalf("the admin's inbox is the unmatched queue only:\n%s", s)
	}
	d.keys("enter")
	d.contains("Unmatched:")
	if strings.Contains(d.screen(), "2.1") {
		t.Errorf("an admin sees no values:\n%s", d.screen())
	}
	d.contains("m match to a patient")
}
