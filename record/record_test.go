package record

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNormaliseNHS(t *testing.T) {
	for in, want := range map[string]string{"9434765919": "9434765919", "943 476 5919": "9434765919", " 4010232137 ": "4010232137"} {
		got, err := NormaliseNHS(in)
		if err != nil || got != want {
			t.Errorf("NormaliseNHS(%q) = %q, %v", in, got, err)
		}
	}
	for in, reason := range map[string]string{
		"9434765918": "check digit is wrong", "1000000010": "would be 10", "943476591": "10 digits",
		"94347659190": "10 digits", "943476591A": "10 digits", "94 3476 5919": "3-3-4", "943-476-5919": "10 digits", "": "10 digits",
		// Modulus 11 passes these; no NHS number is ten identical digits.
		"0000000000": "ten identical digits", "1111111111": "ten identical digits", "000 000 0000": "ten identical digits",
	} {
		_, err := NormaliseNHS(in)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "nhsNumber" || ve.Value != in || !strings.Contains(ve.Reason, reason) {
			t.Errorf("NormaliseNHS(%q) err = %v, want a nhsNumber error containing %q", in, err, reason)
		}
	}
	// The 999 range (test numbers, never issued to patients) stays valid.
	n999 := 0
	for i := 0; i < 200; i++ {
		stem := "999" + strings.Repeat("0", 6-len(itoa(i*4099))) + itoa(i*4099)
		if n, ok := CompleteNHS(stem); ok {
			n999++
			if _, err := NormaliseNHS(n); err != nil {
				t.Errorf("test-range number %s refused: %v", n, err)
			}
		}
	}
	if n999 < 100 {
		t.Errorf("only %d test-range numbers completed", n999)
	}
	if FormatNHS("9434765919") != "943 476 5919" {
		t.Error("FormatNHS")
	}
	// Every 9-digit stem either completes to a valid number or has no valid check digit.
	for i := 0; i < 2000; i++ {
		stem := strings.Repeat("0", 9-len(itoa(i*7919))) + itoa(i*7919)
		if n, ok := CompleteNHS(stem); ok && !ValidNHS(n) {
			t.Fatalf("CompleteNHS(%s) = %s is not valid", stem, n)
		}
	}
}

func TestNormalisePostcode(t *testing.T) {
	for in, want := range map[string]string{"ls62qt": "LS6 2QT", "LS6 2QT": "LS6 2QT", "sw1a 1aa": "SW1A 1AA", "EC1A1BB": "EC1A 1BB", "M1 1AE": "M1 1AE", "gir0aa": "GIR 0AA", "zz99 3vz": "ZZ99 3VZ", "ZZ993WZ": "ZZ99 3WZ"} {
		if got, err := NormalisePostcode(in); err != nil || got != want {
			t.Errorf("NormalisePostcode(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"LS6", "12345", "QQ1 1AA", "LS6 2Q", "LS6 2QTX", "not a postcode"} {
		if _, err := NormalisePostcode(in); err == nil {
			t.Errorf("NormalisePostcode(%q) accepted", in)
		}
	}
}

func TestPatientValidate(t *testing.T) {
	base := func() *Patient {
		return &Patient{NHSNumber: "943 476 5919", Family: " Smith ", Given: []string{"John", " "}, BirthDate: "1961-03-12", Sex: "Male", Postcode: "ls6 2qt"}
	}
	p := base()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.NHSNumber != "9434765919" || p.Family != "Smith" || len(p.Given) != 1 || p.Sex != "male" || p.Postcode != "LS6 2QT" || p.Status != "active" || p.NHSNumberStatus != "02" {
		t.Fatalf("normalised %+v", p)
	}
	cases := map[string]func(p *Patient){
		"noNhsReason":             func(p *Patient) { p.NHSNumber = "" },
		"family":                  func(p *Patient) { p.Family = "" },
		"given":                   func(p *Patient) { p.Given = nil },
		"birthDate":               func(p *Patient) { p.BirthDate = "12/03/1961" },
		"sex":                     func(p *Patient) { p.Sex = "f" },
		"postcode":                func(p *Patient) { p.Postcode = "XX" },
		"nhsNumberStatus":         func(p *Patient) { p.NHSNumberStatus = "99" },
		"registration.leftOn":     func(p *Patient) { p.Registration.LeftOn = "1960-01-01"; p.Registration.LeftReason = "moved" },
		"registration.leftReason": func(p *Patient) { p.Registration.LeftOn = "2020-01-01" },
		"registration.type":       func(p *Patient) { p.Registration.Type = "permanent" },
	}
	for field, mut := range cases {
		p := base()
		mut(p)
		err := p.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	// A future date of birth is refused; a foreign postcode is kept as given.
	p = base()
	p.BirthDate = time.Now().AddDate(1, 0, 0).Format(DateLayout)
	if err := p.Validate(); err == nil {
		t.Error("future date of birth accepted")
	}
	p = base()
	p.Postcode, p.Address = "75001", &Address{Country: "FR"}
	if err := p.Validate(); err != nil || p.Postcode != "75001" {
		t.Errorf("foreign postcode: %v %q", err, p.Postcode)
	}
	p = base()
	p.Registration.DeceasedOn = "2020-05-01"
	if err := p.Validate(); err != nil || p.Status != PatientDeceased {
		t.Errorf("deceased: %v %s", err, p.Status)
	}
}

func TestSCTID(t *testing.T) {
	for _, ok := range []string{"38341003", "44054006", "75367002", "999791000000106", "73211009"} {
		if !ValidSCTID(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"38341004", "12345", "0123456", "abcdefg"} {
		if ValidSCTID(bad) {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestAgeOn(t *testing.T) {
	p := &Patient{BirthDate: "1961-03-12"}
	for d, want := range map[string]int{"2026-03-11": 64, "2026-03-12": 65, "2026-12-31": 65} {
		day, _ := time.Parse(DateLayout, d)
		if got := p.AgeOn(day); got != want {
			t.Errorf("age on %s = %d, want %d", d, got, want)
		}
	}
}

func TestZeroTimesAreOmitted(t *testing.T) {
	b, _ := json.Marshal(&Task{Text: "x"})
	if strings.Contains(string(b), "doneAt") {
		t.Errorf("zero doneAt written: %s", b)
	}
	b, _ = json.Marshal(&Allergy{NKDA: true})
	if strings.Contains(string(b), `"agent"`) {
		t.Errorf("empty agent written: %s", b)
	}
}

// MakeSafe leaves good text alone and turns what CheckStrings refuses into
// text it accepts, visibly.
func TestMakeSafe(t *testing.T) {
	r := &Report{Format: "fhir", LabReportID: "R\x001", Sender: Party{Name: "Lab"},
		Tests: []ReportTest{{Name: "K", ValueText: "line 1\nline 2", Comments: []string{"bad \xff byte", strings.Repeat("x", MaxTextBytes+10)}}}}
	if CheckStrings(r) == nil {
		t.Fatal("test report should fail CheckStrings")
	}
	MakeSafe(r)
	if err := CheckStrings(r); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(r.LabReportID, 0) || !strings.HasPrefix(r.LabReportID, "R") || len(r.LabReportID) < 4 {
		t.Fatalf("id %q", r.LabReportID)
	}
	if r.Tests[0].ValueText != "line 1\nline 2" || !strings.Contains(r.Tests[0].Comments[0], `\xff`) || !strings.Contains(r.Tests[0].Comments[1], "cut:") {
		t.Fatalf("tests %q %q", r.Tests[0].ValueText, r.Tests[0].Comments[0])
	}
}
