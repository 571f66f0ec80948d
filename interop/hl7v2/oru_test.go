package hl7v2

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string) []ORU {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ms
}

func TestParseFullBloodCountV24(t *testing.T) {
	ms := parseFile(t, "fbc_v24.hl7")
	if len(ms) != 1 || len(ms[0].Reports) != 1 {
		t.Fatalf("want one message with one report, got %+v", ms)
	}
	m := ms[0]
	if m.SendingFacility.Name() != "RBA11" || m.Version != "2.4" || m.ControlID != "FBC00001" {
		t.Errorf("header: %+v", m)
	}
	r := m.Reports[0]
	p := r.Patient
	if p.NHSNumber != "9990000018" || p.Family != "CARTER" || strings.Join(p.Given, " ") != "Eleanor May" || p.Sex != "F" {
		t.Errorf("patient: %+v", p)
	}
	if got := p.BirthDate.Time.Format("2006-01-02"); got != "1961-03-12" || p.BirthDate.Precision != PrecisionDay {
		t.Errorf("date of birth %s (precision %d)", got, p.BirthDate.Precision)
	}
	if len(p.Identifiers) != 2 || p.Identifiers[1] != (Identifier{Value: "RBA1234567", Authority: "RBA", Type: "MR"}) {
		t.Errorf("identifiers as sent: %+v", p.Identifiers)
	}
	if r.FillerOrder != "26H012345" || r.PlacerOrder != "GP0042" || r.Status != "F" || r.Section != "HM" {
		t.Errorf("report ids/status: %+v", r)
	}
	if r.Service != (Coded{Code: "FBC", Text: "Full blood count", System: "WinPath"}) {
		t.Errorf("service %+v", r.Service)
	}
	if r.Requester.Display() != "Dr Alan JONES (G1234567)" {
		t.Errorf("requester %q", r.Requester.Display())
	}
	if r.Specimen.Code != "BLD" || r.Specimen.Text != "Blood" {
		t.Errorf("specimen %+v", r.Specimen)
	}
	wantCollected := time.Date(2026, 3, 5, 9, 15, 0, 0, london)
	if !r.Collected.Time.Equal(wantCollected) || r.Issued.Time.Format("15:04") != "14:30" || r.Received.Time.Format("15:04") != "12:00" {
		t.Errorf("dates: collected %v received %v issued %v", r.Collected.Time, r.Received.Time, r.Issued.Time)
	}
	if len(r.Notes) != 1 || r.Notes[0] != "Sample received in lab 12:00." {
		t.Errorf("report notes %q", r.Notes)
	}
	if len(r.Results) != 4 {
		t.Fatalf("want 4 results, got %d", len(r.Results))
	}
	hb := r.Results[0]
	if *hb.Number != 98 || hb.Units.Code != "g/L" || hb.Range != "115-165" || strings.Join(hb.Flags, ",") != "L" || !hb.Abnormal() {
		t.Errorf("haemoglobin %+v", hb)
	}
	// The lab's own code and its LOINC alternate are both kept as sent.
	if hb.Code.Code != "HB" || hb.Code.System != "WinPath" || hb.Code.AltCode != "718-7" || hb.Code.AltSystem != "LN" {
		t.Errorf("haemoglobin code %+v", hb.Code)
	}
	if r.Results[1].Abnormal() {
		t.Error("WBC flagged N is not abnormal")
	}
	plt := r.Results[2]
	if len(plt.Notes) != 1 || plt.Notes[0] != "Platelets mildly raised.\nSuggest repeat in 4 weeks." {
		t.Errorf("platelet comment (with \\.br\\) %q", plt.Notes)
	}
	if !r.Results[1].Observed.Time.Equal(wantCollected) {
		t.Errorf("a result without OBX-14 takes the collection time, got %v", r.Results[1].Observed.Time)
	}
}

func TestParseUreaElectrolytesV251(t *testing.T) {
	r := parseFile(t, "ue_v251.hl7")[0].Reports[0]
	if r.Service.Text != "Urea & electrolytes" {
		t.Errorf(`\T\ must decode to &: %q`, r.Service.Text)
	}
	if r.FillerOrder != "RD26-55501" {
		t.Errorf("filler order from ORC-3 when OBR-3... got %q", r.FillerOrder)
	}
	if r.Collected.Precision != PrecisionMinute || r.Issued.Time.Format("2006-01-02 15:04") != "2026-03-05 14:55" {
		t.Errorf("dates %+v %+v", r.Collected, r.Issued)
	}
	byCode := map[string]Result{}
	for _, x := range r.Results {
		byCode[x.Code.Code] = x
	}
	if k := byCode["2823-3"]; *k.Number != 6.1 || k.Flags[0] != "HH" || k.Notes[0] != "Telephoned to surgery 15:00 & result read back." {
		t.Errorf("potassium %+v", k)
	}
	if e := byCode["33914-3"]; e.Comparator != ">" || *e.Number != 90 || e.Text != ">90" || e.Units.Code != "mL/min/{1.73_m2}" {
		t.Errorf("eGFR as SN >90: %+v", e)
	}
	if c := byCode["CRP"]; c.Comparator != "<" || *c.Number != 5 || c.Text != "<5" {
		t.Errorf("CRP <5: %+v", c)
	}
	if a := byCode["TITRE"]; a.Number != nil || a.Text != "1:200" {
		t.Errorf("a titre is text, not a number: %+v", a)
	}
	if g := byCode["BGRP"]; g.Coded == nil || g.Coded.Code != "A+" || g.Text != "A Rh D positive" {
		t.Errorf("coded value %+v", g)
	}
	if c := byCode["COMM"]; c.Text != "Haemolysed sample:\npotassium may be falsely raised." {
		t.Errorf("TX repetitions are lines: %q", c.Text)
	}
	if r.Specimen.Code != "BLD" || r.Specimen.System != "HL70487" {
		t.Errorf("specimen from SPM-4: %+v", r.Specimen)
	}
}

func TestParseCorrectedReport(t *testing.T) {
	r := parseFile(t, "fbc_corrected_v24.hl7")[0].Reports[0]
	if !r.Corrected() || r.Results[0].Status != "C" || r.FillerOrder != "26H012345" {
		t.Errorf("corrected report: status %q, Hb status %q, filler %q", r.Status, r.Results[0].Status, r.FillerOrder)
	}
	first := parseFile(t, "fbc_v24.hl7")[0].Reports[0]
	if first.Corrected() {
		t.Error("the first report is not corrected")
	}
}

func TestParseBatchWithLineFeeds(t *testing.T) {
	ms := parseFile(t, "batch_lf.hl7")
	if len(ms) != 2 {
		t.Fatalf("want 2 messages, got %d", len(ms))
	}
	if p := ms[0].Reports[0].Patient; p.NHSNumber != "" || p.Identifiers[0].Value != "RBA7654321" || p.Sex != "U" {
		t.Errorf("a patient without an NHS number keeps the identifier as sent: %+v", p)
	}
	if len(ms[1].Reports) != 2 || ms[1].Reports[1].Patient.NHSNumber != "9990000158" || ms[1].Reports[1].Service.Code != "LFT" {
		t.Errorf("two OBRs for one PID are two reports of that patient: %+v", ms[1].Reports)
	}
	if ms[1].Reports[0].Results[1].Flags != nil {
		t.Errorf("no flag sent, none kept: %q", ms[1].Reports[0].Results[1].Flags)
	}
}

func TestEscapes(t *testing.T) {
	e := &Encoding{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
	for in, want := range map[string]string{
		`a\F\b`:           "a|b",
		`a\S\b\T\c\R\d`:   "a^b&c~d",
		`back\E\slash`:    `back\slash`,
		`\H\bold\N\`:      "bold",
		`one\.br\two`:     "one\ntwo",
		`\X4869\`:         "Hi",
		`caf\XC3A9\`:      "café",
		`no escapes here`: "no escapes here",
	} {
		got, err := unescape(in, e)
		if err != nil || got != want {
			t.Errorf("unescape(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`\Z99\`, `\C2842\`, `open\F`, `\X4\`, `\XZZ\`, `\\`, `\XFF\`, `\X00\`} {
		if _, err := unescape(bad, e); err == nil {
			t.Errorf("unescape(%q) must fail", bad)
		}
	}
}

func TestOtherEncodingCharacters(t *testing.T) {
	// A sender may choose other delimiters in MSH-2; they are honoured.
	msg := "MSH#$%!*#LAB#RBA11#GP#Y01234#20260305##ORU$R01#X1#P#2.4\r" +
		"PID#1##9990000018$$$NHS$NH##CARTER$Ann##19610312#F\r" +
		"OBR#1##L1#FBC$Full blood count$L#########################F\r" +
		"OBX#1#ST#C$Comment$L##a !F! b and c!T!d!.br!e######F\r"
	// OBR-25 sits 24 separators after OBR-1; build it rather than count by eye.
	msg = strings.Replace(msg, "#########################F", strings.Repeat("#", 21)+"F", 1)
	ms, err := Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	x := ms[0].Reports[0].Results[0]
	if x.Text != "a # b and c*d\ne" {
		t.Errorf("text %q (!F! is the field separator, !T! the subcomponent one)", x.Text)
	}
}

// Each refusal names the line, the field and the value.
func TestRefusals(t *testing.T) {
	good, _ := os.ReadFile("testdata/fbc_v24.hl7")
	segs := strings.Split(strings.TrimRight(string(good), "\r"), "\r")
	with := func(i int, seg string) string {
		c := append([]string(nil), segs...)
		c[i] = seg
		return strings.Join(c, "\r")
	}
	cases := []struct {
		name, text, want string
	}{
		{"not HL7", "hello", `line 1: message "hello": an HL7 v2 message starts with MSH`},
		{"raw component in text", with(9, "NTE|1||a^b"), `line 10: NTE-3 "a^b": text holds an unescaped component separator`},
		{"ADT", with(0, strings.Replace(segs[0], "ORU^R01", "ADT^A01", 1)), `line 1: MSH-9 "ADT^A01": only ORU^R01`},
		{"version", with(0, strings.Replace(segs[0], "|2.4|", "|2.3|", 1)), `line 1: MSH-12 "2.3": HL7 version 2.4, 2.5, 2.5.1`},
		{"no control id", with(0, strings.Replace(segs[0], "FBC00001", "", 1)), `MSH-10 "": the message control id is required`},
		{"five encoding chars", with(0, strings.Replace(segs[0], `MSH|^~\&|`, `MSH|^~\&#|`, 1)), `MSH-2 "^~\\&#": must be exactly four`},
		{"NM not a number", with(6, strings.Replace(segs[6], "||98|", "||9 8|", 1)), `line 7: OBX-5 "9 8": not a number`},
		{"NM with comparator", with(6, strings.Replace(segs[6], "||98|", "||<98|", 1)), `OBX-5 "<98": not a number, and OBX-2 says NM`},
		{"value type", with(6, strings.Replace(segs[6], "OBX|1|NM|", "OBX|1|ED|", 1)), `line 7: OBX-2 "ED": value type must be one of`},
		{"result status", with(6, strings.TrimSuffix(segs[6], "|F|||20260305091500")+"|Q"), `line 7: OBX-11 "Q": observation result status`},
		{"report status", with(4, strings.Replace(segs[4], "||HM|F", "||HM|", 1)), `line 5: OBR-25 "": result status must be`},
		{"no filler order", strings.Join([]string{segs[0], segs[1], strings.Replace(segs[4], "|GP0042|26H012345|", "|GP0042||", 1)}, "\r"), `OBR-3 "": the filler order number`},
		{"bad date", with(4, strings.Replace(segs[4], "20260305091500", "20260230091500", 1)), `line 5: OBR-7 "20260230091500": not a real date`},
		{"dob without day", with(1, strings.Replace(segs[1], "|19610312|", "|196103|", 1)), `PID-7 "196103": date of birth must give the day`},
		{"sex", with(1, strings.Replace(segs[1], "|19610312|F|", "|19610312|X|", 1)), `line 2: PID-8 "X": sex must be`},
		{"bad escape", with(9, strings.Replace(segs[9], `\.br\`, `\Z1\`, 1)), `line 10: NTE-3`},
		{"z segment", with(9, "ZDS|1|private"), `line 10: segment ZDS: segment ZDS is not part of ORU^R01`},
		{"obx first", strings.Join([]string{segs[0], segs[1], segs[6]}, "\r"), `line 3: segment OBX: OBX must follow its OBR`},
		{"no pid", strings.Join([]string{segs[0], segs[4], segs[6]}, "\r"), `line 2: segment OBR: a report before any PID`},
		{"no obr", strings.Join([]string{segs[0], segs[1]}, "\r"), `no report (no OBR)`},
		{"lower-case segment", with(2, "pv1|1"), `line 3: message "pv1|1": a segment starts with a three-character name`},
		{"unknown charset", with(0, segs[0]+"||8859/1"), `MSH-18 "8859/1": character set must be`},
		{"not utf8", string(good[:40]) + "\xff" + string(good[40:]), `not valid UTF-8`},
		{"two NHS numbers", with(1, strings.Replace(segs[1], "~RBA1234567^^^RBA^MR", "~9990000085^^^NHS^NH", 1)), `PID-3.1 "9990000085": two NHS numbers`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("want *Error, got %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestInvalidNHSNumberIsKeptNotMatched(t *testing.T) {
	b, _ := os.ReadFile("testdata/fbc_v24.hl7")
	ms, err := Parse([]byte(strings.Replace(string(b), "9990000018^^^NHS", "9990000019^^^NHS", 1)))
	if err != nil {
		t.Fatal(err)
	}
	p := ms[0].Reports[0].Patient
	if p.NHSNumber != "" || !strings.Contains(p.NHSNumberProblem, "check digit") || p.Identifiers[0].Value != "9990000019" {
		t.Errorf("an invalid NHS number is kept as sent, with its problem, and not used: %+v", p)
	}
}

func TestTimestamps(t *testing.T) {
	for in, want := range map[string]string{
		"2026":                  "2026-01-01T00:00:00Z",
		"20260305":              "2026-03-05T00:00:00Z",
		"202607011230":          "2026-07-01T11:30:00Z", // BST
		"20260305143210.25":     "2026-03-05T14:32:10.25Z",
		"20260701123000+0000":   "2026-07-01T12:30:00Z",
		"20260701123000-0500":   "2026-07-01T17:30:00Z",
		"202603051432+0100":     "2026-03-05T13:32:00Z",
		"19610312":              "1961-03-12T00:00:00Z",
		"20260305143210.1+0000": "2026-03-05T14:32:10.1Z",
	} {
		ts, err := parseTimestamp(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := ts.Time.UTC().Format(time.RFC3339Nano); got != want {
			t.Errorf("%s = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"26", "2026030", "20261301", "2026-03-05", "20260305+01", "20260305.5", "18000101", "20260305143210.12345"} {
		if _, err := parseTimestamp(bad); err == nil {
			t.Errorf("%s must be refused", bad)
		}
	}
}

func TestIsER7(t *testing.T) {
	for in, want := range map[string]bool{
		"MSH|^~\\&|":         true,
		"\ufeffMSH|^~\\&|":   true,
		"\x0bMSH|^~\\&":      true,
		"FHS|^~\\&|":         true,
		`{"resourceType":"B`: false,
		"MSH":                false,
		"":                   false,
	} {
		if IsER7([]byte(in)) != want {
			t.Errorf("IsER7(%q) != %v", in, want)
		}
	}
}
