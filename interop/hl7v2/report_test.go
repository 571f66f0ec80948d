package hl7v2

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
)

func TestRecordsKeepWhatTheLaboratorySent(t *testing.T) {
	m := parseFile(t, "fbc_v24.hl7")[0]
	rs := m.Records()
	if len(rs) != 1 {
		t.Fatalf("one report per OBR, got %d", len(rs))
	}
	r := rs[0]
	if r.Format != "hl7v2" || r.MessageID != "FBC00001" || r.LabReportID != "26H012345" || r.LabStatus != "final" {
		t.Errorf("identity: %+v", r)
	}
	if r.Sender.ODS != "RBA11" || r.Requester.Code != "G1234567" || r.Requester.Name != "Dr Alan JONES" {
		t.Errorf("sender %+v requester %+v", r.Sender, r.Requester)
	}
	if r.Category != "Haematology" || r.Title.Code != "FBC" || r.Title.Display != "Full blood count" || !r.Title.Foreign {
		t.Errorf("title %+v category %q", r.Title, r.Category)
	}
	if r.Specimen.Type != "Blood" || r.Specimen.Collected.IsZero() || r.Specimen.Received.IsZero() || r.Issued.IsZero() {
		t.Errorf("specimen %+v issued %v", r.Specimen, r.Issued)
	}
	sp := r.SentPatient
	if sp.NHSNumber != "9990000018" || sp.BirthDate != "1961-03-12" || sp.Sex != "female" || sp.Family != "CARTER" ||
		sp.LocalID != "RBA1234567" || sp.Postcode != "TA1 1AA" {
		t.Errorf("sent patient %+v", sp)
	}
	if len(r.Comments) != 1 || !strings.Contains(r.Comments[0], "Sample received") {
		t.Errorf("comments %q", r.Comments)
	}
	hb := r.Tests[0]
	if hb.Name != "Haemoglobin" || *hb.Value != 98 || hb.Unit != "g/L" || hb.Flag != "L" || hb.Status != "final" || !hb.Abnormal() {
		t.Errorf("haemoglobin %+v", hb)
	}
	if hb.Range == nil || *hb.Range.Low != 115 || *hb.Range.High != 165 || hb.Range.Text != "115-165" {
		t.Errorf("range %+v", hb.Range)
	}
	if len(hb.Codes) != 2 || hb.Codes[0].System != LocalCodeSystem+"RBA11/WinPath" || hb.Codes[0].Code != "HB" ||
		hb.Codes[1] != (record.Code{System: record.SystemLOINC, Code: "718-7", Display: "Hemoglobin [Mass/volume] in Blood", Foreign: true}) {
		t.Errorf("codes as sent, the lab's own and LOINC: %+v", hb.Codes)
	}
	if plt := r.Tests[2]; plt.Flag != "H" || strings.Join(plt.Comments, "|") != "Platelets mildly raised.|Suggest repeat in 4 weeks." {
		t.Errorf("platelets %+v", plt)
	}
	if r.Tests[1].Abnormal() {
		t.Error("a normal WBC is not abnormal")
	}
	if err := r.Validate(); err != nil {
		t.Errorf("the mapped report is a valid report: %v", err)
	}
}

func TestRecordsValueTypes(t *testing.T) {
	r := parseFile(t, "ue_v251.hl7")[0].Records()[0]
	by := map[string]record.ReportTest{}
	for _, x := range r.Tests {
		by[x.Name] = x
	}
	if e := by["eGFR"]; e.Comparator != ">" || *e.Value != 90 || e.Range.Low == nil || *e.Range.Low != 60 || e.Abnormal() {
		t.Errorf("eGFR >90 with range >60: %+v", e)
	}
	if c := by["C-reactive protein"]; c.Comparator != "<" || *c.Value != 5 {
		t.Errorf("CRP <5: %+v", c)
	}
	if a := by["ASO titre"]; a.Value != nil || a.ValueText != "1:200" {
		t.Errorf("titre: %+v", a)
	}
	if g := by["Blood group"]; g.ValueText != "A Rh D positive (A+)" {
		t.Errorf("coded value keeps its code: %q", g.ValueText)
	}
	if k := by["Potassium"]; k.Flag != "HH" || k.Codes[0].System != record.SystemLOINC {
		t.Errorf("potassium %+v", k)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("the mapped report (a multi-line TX value) is a valid report: %v", err)
	}
	if r.Requester.Code != "G7654321" || r.Category != "" {
		t.Errorf("requester from OBR-16 %+v; no section sent, none invented: %q", r.Requester, r.Category)
	}
}

func TestRecordsCorrected(t *testing.T) {
	r := parseFile(t, "fbc_corrected_v24.hl7")[0].Records()[0]
	if r.LabStatus != "corrected" || r.Tests[0].Status != "corrected" || r.LabReportID != "26H012345" || r.Sender.ODS != "RBA11" {
		t.Errorf("corrected report %+v", r)
	}
}

func TestReferenceRanges(t *testing.T) {
	for in, want := range map[string]string{"3.5-5.3": "3.5-5.3", "<5": "<5", ">60": ">60", "-2-2": "-2-2", "<=5": "<=5", "see report": "see report", "1.0 - 2.0": "1-2"} {
		if got := referenceRange(in).String(); got != want {
			t.Errorf("range %q reads as %q, want %q", in, got, want)
		}
	}
}
