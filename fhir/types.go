package fhir

import "encoding/json"

// Data types (R4). Decimals are json.Number so their lexical precision survives.

type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Source      string   `json:"source,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Security    []Coding `json:"security,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
	Extra       Extra    `json:"-"`
}

type Coding struct {
	System       string      `json:"system,omitempty"`
	Version      string      `json:"version,omitempty"`
	Code         string      `json:"code,omitempty"`
	Display      string      `json:"display,omitempty"`
	UserSelected *bool       `json:"userSelected,omitempty"`
	Extension    []Extension `json:"extension,omitempty"`
	Extra        Extra       `json:"-"`
}

type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
	Extra  Extra    `json:"-"`
}

type Identifier struct {
	Extension []Extension      `json:"extension,omitempty"`
	Use       string           `json:"use,omitempty"`
	Type      *CodeableConcept `json:"type,omitempty"`
	System    string           `json:"system,omitempty"`
	Value     string           `json:"value,omitempty"`
	Period    *Period          `json:"period,omitempty"`
	Extra     Extra            `json:"-"`
}

type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
	Extra      Extra       `json:"-"`
}

type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	Extra Extra  `json:"-"`
}

type Quantity struct {
	Value      json.Number `json:"value,omitempty"`
	Comparator string      `json:"comparator,omitempty"`
	Unit       string      `json:"unit,omitempty"`
	System     string      `json:"system,omitempty"`
	Code       string      `json:"code,omitempty"`
	Extra      Extra       `json:"-"`
}

// Duration is a Quantity of time.
type Duration struct {
	Value  json.Number `json:"value,omitempty"`
	Unit   string      `json:"unit,omitempty"`
	System string      `json:"system,omitempty"`
	Code   string      `json:"code,omitempty"`
	Extra  Extra       `json:"-"`
}

type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Suffix []string `json:"suffix,omitempty"`
	Period *Period  `json:"period,omitempty"`
	Extra  Extra    `json:"-"`
}

type Address struct {
	Extension  []Extension `json:"extension,omitempty"`
	Use        string      `json:"use,omitempty"`
	Type       string      `json:"type,omitempty"`
	Text       string      `json:"text,omitempty"`
	Line       []string    `json:"line,omitempty"`
	City       string      `json:"city,omitempty"`
	District   string      `json:"district,omitempty"`
	State      string      `json:"state,omitempty"`
	PostalCode string      `json:"postalCode,omitempty"`
	Country    string      `json:"country,omitempty"`
	Extra      Extra       `json:"-"`
}

type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
	Extra  Extra  `json:"-"`
}

type Annotation struct {
	AuthorString string `json:"authorString,omitempty"`
	Time         string `json:"time,omitempty"`
	Text         string `json:"text"`
	Extra        Extra  `json:"-"`
}

type Narrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
	Extra  Extra  `json:"-"`
}

// Extension with the value[x] variants we read or write; others stay in Extra.
type Extension struct {
	URL                  string           `json:"url"`
	Extension            []Extension      `json:"extension,omitempty"`
	ValueString          *string          `json:"valueString,omitempty"`
	ValueCode            *string          `json:"valueCode,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueInteger         *int             `json:"valueInteger,omitempty"`
	ValueUnsignedInt     *int             `json:"valueUnsignedInt,omitempty"`
	ValueDecimal         json.Number      `json:"valueDecimal,omitempty"`
	ValueDate            *string          `json:"valueDate,omitempty"`
	ValueDateTime        *string          `json:"valueDateTime,omitempty"`
	ValueCoding          *Coding          `json:"valueCoding,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueIdentifier      *Identifier      `json:"valueIdentifier,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
	ValuePeriod          *Period          `json:"valuePeriod,omitempty"`
	Extra                Extra            `json:"-"`
}

type Dosage struct {
	Sequence           *int             `json:"sequence,omitempty"`
	Text               string           `json:"text,omitempty"`
	PatientInstruction string           `json:"patientInstruction,omitempty"`
	Timing             *Timing          `json:"timing,omitempty"`
	AsNeededBoolean    *bool            `json:"asNeededBoolean,omitempty"`
	Route              *CodeableConcept `json:"route,omitempty"`
	Extra              Extra            `json:"-"`
}

type Timing struct {
	Repeat *TimingRepeat    `json:"repeat,omitempty"`
	Code   *CodeableConcept `json:"code,omitempty"`
	Extra  Extra            `json:"-"`
}

type TimingRepeat struct {
	Frequency  *int        `json:"frequency,omitempty"`
	Period     json.Number `json:"period,omitempty"`
	PeriodUnit string      `json:"periodUnit,omitempty"`
	Extra      Extra       `json:"-"`
}

type DispenseRequest struct {
	NumberOfRepeatsAllowed *int      `json:"numberOfRepeatsAllowed,omitempty"`
	Quantity               *Quantity `json:"quantity,omitempty"`
	ExpectedSupplyDuration *Duration `json:"expectedSupplyDuration,omitempty"`
	ValidityPeriod         *Period   `json:"validityPeriod,omitempty"`
	Extra                  Extra     `json:"-"`
}
