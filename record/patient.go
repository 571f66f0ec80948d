package record

import (
	"strings"
	"time"
)

// Patient is a registered (or formerly registered) patient.
type Patient struct {
	Meta
	NHSNumber       string       `json:"nhsNumber,omitempty"`
	NHSNumberStatus string       `json:"nhsNumberStatus,omitempty"`
	NoNHSReason     string       `json:"noNhsReason,omitempty"`
	Family          string       `json:"family"`
	Given           []string     `json:"given"`
	Prefix          string       `json:"prefix,omitempty"`
	BirthDate       string       `json:"birthDate"`
	Sex             string       `json:"sex"`
	Postcode        string       `json:"postcode,omitempty"`
	Address         *Address     `json:"address,omitempty"`
	Phone           string       `json:"phone,omitempty"`
	Email           string       `json:"email,omitempty"`
	UsualGP         string       `json:"usualGp,omitempty"`
	Registration    Registration `json:"registration"`
	Flags           []string     `json:"flags,omitempty"`
	Identifiers     []Identifier `json:"identifiers,omitempty"` // other identifiers, e.g. from an import
}

// Address is a postal address. A UK postcode is validated; other countries are kept as given.
type Address struct {
	Lines   []string `json:"lines,omitempty"`
	Town    string   `json:"town,omitempty"`
	County  string   `json:"county,omitempty"`
	Country string   `json:"country,omitempty"` // ISO 3166 code or name; empty means UK
}

// Identifier is an identifier from another system.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Registration at the practice.
type Registration struct {
	Type         string `json:"type"` // regular | temporary
	RegisteredOn string `json:"registeredOn,omitempty"`
	LeftOn       string `json:"leftOn,omitempty"`
	LeftReason   string `json:"leftReason,omitempty"`
	DeceasedOn   string `json:"deceasedOn,omitempty"`
}

func (*Patient) Kind() Kind { return KindPatient }

// Patient statuses.
const (
	PatientActive   = "active"
	PatientLeft     = "left"
	PatientDeceased = "deceased"
)

// Known warning flags; others are allowed but these are the common ones.
var KnownFlags = []string{"violence-marker", "interpreter-needed", "carer", "has-carer",
	"accessible-information", "safeguarding", "learning-disability", "housebound", "hearing-impaired",
	"visually-impaired", "do-not-resuscitate"}

// ForeignAddress reports whether the address is outside the UK.
func (p *Patient) ForeignAddress() bool {
	if p.Address == nil {
		return false
	}
	switch strings.ToUpper(strings.TrimSpace(p.Address.Country)) {
	case "", "GB", "GBR", "UK", "UNITED KINGDOM", "ENGLAND", "SCOTLAND", "WALES", "NORTHERN IRELAND":
		return false
	}
	return true
}

// Normalise canonicalises and validates a patient in place. It derives Status.
func (p *Patient) Validate() error {
	if err := CheckStrings(p); err != nil {
		return err
	}
	if p.NHSNumber != "" {
		n, err := NormaliseNHS(p.NHSNumber)
		if err != nil {
			return err
		}
		p.NHSNumber = n
		if p.NHSNumberStatus == "" {
			p.NHSNumberStatus = "02"
		}
		if _, ok := NHSStatuses[p.NHSNumberStatus]; !ok {
			return Invalid("nhsNumberStatus", p.NHSNumberStatus, "must be a UK Core verification status 01–08")
		}
		p.NoNHSReason = ""
	} else {
		if p.NHSNumberStatus != "" && p.NHSNumberStatus != "07" && p.NHSNumberStatus != "08" {
			return Invalid("nhsNumberStatus", p.NHSNumberStatus, "needs an NHS number")
		}
		if p.NoNHSReason == "" {
			return Invalid("noNhsReason", "", "give an NHS number or the reason there is none (%s)", strings.Join(NoNHSReasons, ", "))
		}
		if err := checkEnum("noNhsReason", p.NoNHSReason, NoNHSReasons...); err != nil {
			return err
		}
	}
	p.Family = strings.TrimSpace(p.Family)
	if p.Family == "" {
		return Invalid("family", "", "a family name is required")
	}
	var given []string
	for _, g := range p.Given {
		if g = strings.TrimSpace(g); g != "" {
			given = append(given, g)
		}
	}
	p.Given = given
	if len(p.Given) == 0 {
		return Invalid("given", "", "a given name is required")
	}
	d, err := ParseDate("birthDate", p.BirthDate)
	if err != nil {
		return err
	}
	p.BirthDate = d
	if p.RecordedAt.IsZero() {
		if d > time.Now().Format(DateLayout) {
			return Invalid("birthDate", p.BirthDate, "is in the future")
		}
	} else if d > p.RecordedAt.Format(DateLayout) {
		return Invalid("birthDate", p.BirthDate, "is in the future")
	}
	p.Sex = strings.ToLower(strings.TrimSpace(p.Sex))
	if err := checkEnum("sex", p.Sex, "female", "male", "other", "unknown"); err != nil {
		return err
	}
	if p.Postcode != "" {
		if p.ForeignAddress() {
			p.Postcode = strings.TrimSpace(p.Postcode)
		} else {
			pc, err := NormalisePostcode(p.Postcode)
			if err != nil {
				return err
			}
			p.Postcode = pc
		}
	}
	if p.Registration.Type == "" {
		p.Registration.Type = "regular"
	}
	if err := checkEnum("registration.type", p.Registration.Type, "regular", "temporary"); err != nil {
		return err
	}
	for _, f := range []struct{ name, v *string }{
		{ptr("registration.registeredOn"), &p.Registration.RegisteredOn},
		{ptr("registration.leftOn"), &p.Registration.LeftOn},
		{ptr("registration.deceasedOn"), &p.Registration.DeceasedOn},
	} {
		if *f.v != "" {
			d, err := ParseDate(*f.name, *f.v)
			if err != nil {
				return err
			}
			*f.v = d
			if d < p.BirthDate {
				return Invalid(*f.name, d, "is before the date of birth %s", p.BirthDate)
			}
		}
	}
	if p.Registration.LeftOn != "" && p.Registration.LeftReason == "" {
		return Invalid("registration.leftReason", "", "a reason is required when a patient leaves")
	}
	for i, f := range p.Flags {
		p.Flags[i] = strings.ToLower(strings.TrimSpace(f))
		if p.Flags[i] == "" {
			return Invalid("flags", f, "a flag cannot be empty")
		}
	}
	switch {
	case p.Registration.DeceasedOn != "":
		p.Status = PatientDeceased
	case p.Registration.LeftOn != "":
		p.Status = PatientLeft
	default:
		p.Status = PatientActive
	}
	p.PatientID = ""
	return nil
}

func ptr(s string) *string { return &s }

// Name is "FAMILY, Given Middle" as GP systems show it.
func (p *Patient) Name() string {
	return strings.ToUpper(p.Family) + ", " + strings.Join(p.Given, " ")
}

// HasFlag reports whether the patient carries a warning flag.
func (p *Patient) HasFlag(f string) bool {
	for _, x := range p.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// AgeOn is the patient's age in whole years on a date.
func (p *Patient) AgeOn(t time.Time) int {
	b, err := time.Parse(DateLayout, p.BirthDate)
	if err != nil {
		return 0
	}
	age := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		age--
	}
	return age
}
