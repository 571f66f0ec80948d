package record

import (
	"errors"
	"strings"
	"testing"
)

// Control characters, escape sequences, line breaks and bidirectional
// overrides are refused in single-line fields, on every record type; free
// text keeps its newlines but no escapes.
func TestTextSafetyRefusesControlsInSingleLineFields(t *testing.T) {
	patient := func() *Patient {
		return &Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male", Postcode: "LS6 2QT"}
	}
	cases := map[string]struct {
		set   func(p *Patient)
		field string
	}{
		"escape in family":           {func(p *Patient) { p.Family = "Smith\x1b[2J" }, "family"},
		"newline in given":           {func(p *Patient) { p.Given = []string{"Jo\nhn"} }, "given"},
		"C1 CSI in family":           {func(p *Patient) { p.Family = "Smi\u009bth" }, "family"},
		"bidi override in family":    {func(p *Patient) { p.Family = "\u202eHTIMS" }, "family"},
		"line separator in postcode": {func(p *Patient) { p.Postcode = "LS6\u20282QT" }, "postcode"},
		"tab in an address line":     {func(p *Patient) { p.Address = &Address{Lines: []string{"1 High\tStreet"}} }, "address.lines"},
		"escape in a flag":           {func(p *Patient) { p.Flags = []string{"carer\x07"} }, "flags"},
		"invalid UTF-8 in family":    {func(p *Patient) { p.Family = "Sm\xffith" }, "family"},
		"oversized family":           {func(p *Patient) { p.Family = strings.Repeat("a", MaxLineBytes+1) }, "family"},
		"newline in a retraction":    {func(p *Patient) { p.Retraction = &Retraction{Reason: "wrong\npatient"} }, "enteredInError.reason"},
	}
	for name, c := range cases {
		p := patient()
		c.set(p)
		err := p.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%s: err = %v, want a validation error on %s", name, err, c.field)
			continue
		}
		if strings.ContainsAny(ve.Value, "\x1b\n\u009b\u202e") {
			t.Errorf("%s: the error's value %q carries the raw control", name, ve.Value)
		}
	}
	// Non-ASCII names are fine.
	p := patient()
	p.Family, p.Given = "Ó Súilleabháin", []string{"Zoë", "Łukasz"}
	if err := p.Validate(); err != nil {
		t.Fatalf("accented names refused: %v", err)
	}
}

func TestTextSafetyFreeTextKeepsNewlinesOnly(t *testing.T) {
	c := &Consultation{Type: "surgery", Clinician: "dr.gp", History: "Cough for 3 days.\r\nNo fever.\n\tWheeze on exertion.", Plan: "Review in 1 week"}
	c.PatientID = "p1"
	if err := CheckStrings(c); err != nil {
		t.Fatalf("notes with newlines refused: %v", err)
	}
	c.Plan = "Review \x1b]0;pwned\x07"
	err := CheckStrings(c)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "plan" || !strings.Contains(ve.Reason, "escape") {
		t.Fatalf("escape in plan: err = %v", err)
	}
	c.Plan = ""
	c.Location = "Room\n2"
	if err := CheckStrings(c); !errors.As(err, &ve) || ve.Field != "location" {
		t.Fatalf("newline in location: err = %v", err)
	}
	c.Location = ""
	c.Entries = []CodedEntry{{Code: Code{System: "http://snomed.info/sct", Code: "49727002", Display: "Cough\x1b[31m"}}}
	if err := CheckStrings(c); !errors.As(err, &ve) || ve.Field != "entries[0].code.display" {
		t.Fatalf("escape in a code display: err = %v", err)
	}
}

func TestShowControls(t *testing.T) {
	for in, want := range map[string]string{
		"Smith":        "Smith",
		"Zoë":          "Zoë",
		"Smith\x1b[2J": `Smith\x1b[2J`,
		"Jo\nhn\tx":    `Jo\nhn\tx`,
		"\u202eevil":   `\u202eevil`,
		"Sm\xffith":    `Sm\xffith`,
		"a\u009bb":     `a\x9bb`,
	} {
		if got := ShowControls(in); got != want {
			t.Errorf("ShowControls(%q) = %q, want %q", in, got, want)
		}
	}
	if got := ShowControlsText("line 1\nline 2\x1b[0m"); got != "line 1\nline 2\\x1b[0m" {
		t.Errorf("ShowControlsText = %q", got)
	}
}
