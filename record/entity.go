package record

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Kind names a type of record.
type Kind string

const (
	KindPatient      Kind = "patient"
	KindConsultation Kind = "consultation"
	KindProblem      Kind = "problem"
	KindObservation  Kind = "observation"
	KindMedication   Kind = "medication"
	KindAllergy      Kind = "allergy"
	KindImmunisation Kind = "immunisation"
	KindAppointment  Kind = "appointment"
	KindSession      Kind = "session"
	KindTask         Kind = "task"
	KindRecall       Kind = "recall"
)

// Kinds lists every kind, patients first, then what refers to them.
var Kinds = []Kind{KindPatient, KindSession, KindConsultation, KindProblem, KindObservation,
	KindMedication, KindAllergy, KindImmunisation, KindAppointment, KindTask, KindRecall, KindReport}

// ClinicalKinds are the kinds only clinicians may read.
var ClinicalKinds = map[Kind]bool{KindConsultation: true, KindProblem: true, KindObservation: true,
	KindMedication: true, KindAllergy: true, KindImmunisation: true}

// StatusEnteredInError is the status of a retracted record.
const StatusEnteredInError = "entered-in-error"

// Meta is what every record has. Nothing clinical is overwritten: a change
// is a new Version, a removal is Status entered-in-error with a Retraction.
type Meta struct {
	ID         string      `json:"id"`
	Version    int         `json:"version"`
	PatientID  string      `json:"patientId,omitempty"`
	Status     string      `json:"status"`
	RecordedAt time.Time   `json:"recordedAt"`
	RecordedBy string      `json:"recordedBy"`
	Sensitive  bool        `json:"sensitive,omitempty"`
	Retraction *Retraction `json:"enteredInError,omitempty"`
	// FHIRExtra is, for a record imported from FHIR, a JSON object of what
	// the resource had that the record does not map: unknown elements and
	// "_element" primitive extensions (at the top level, or nested under the
	// element they belong to), extensions from other publishers, and the
	// lexical form of decimals (72.50). An export merges it back, the mapped
	// elements winning on conflict; a new version keeps it.
	FHIRExtra json.RawMessage `json:"fhirExtra,omitempty"`
	// Imported marks a record that came in with a bulk import of history
	// from another system: RecordedBy is the user who imported it, and the
	// original author and time are kept here as data, as that system gave them.
	Imported *ImportedFrom `json:"imported,omitempty"`
}

// ImportedFrom says where an imported record came from and who recorded it there.
type ImportedFrom struct {
	Source string    `json:"source"`           // the system or practice it came from
	Author string    `json:"author,omitempty"` // who recorded it there, as given (a name, not a user of ours)
	At     time.Time `json:"at,omitzero"`      // when it was recorded there
}

// String is how the marker is shown: "imported from S (recorded by A, D)".
func (f *ImportedFrom) String() string {
	if f == nil {
		return ""
	}
	s := "imported from " + f.Source
	var by []string
	if f.Author != "" {
		by = append(by, "recorded by "+f.Author)
	}
	if !f.At.IsZero() {
		by = append(by, f.At.UTC().Format("2006-01-02"))
	}
	if len(by) > 0 {
		s += " (" + strings.Join(by, ", ") + ")"
	}
	return s
}

// Retraction says who marked a record entered in error, when and why.
type Retraction struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Entity is any versioned record the store keeps.
type Entity interface {
	Head() *Meta
	Kind() Kind
	Validate() error
}

func (m *Meta) Head() *Meta { return m }

// New returns an empty record of a kind, for decoding.
func New(k Kind) (Entity, error) {
	switch k {
	case KindPatient:
		return &Patient{}, nil
	case KindConsultation:
		return &Consultation{}, nil
	case KindProblem:
		return &Problem{}, nil
	case KindObservation:
		return &Observation{}, nil
	case KindMedication:
		return &Medication{}, nil
	case KindAllergy:
		return &Allergy{}, nil
	case KindImmunisation:
		return &Immunisation{}, nil
	case KindAppointment:
		return &Appointment{}, nil
	case KindSession:
		return &Session{}, nil
	case KindTask:
		return &Task{}, nil
	case KindRecall:
		return &Recall{}, nil
	case KindReport:
		return &Report{}, nil
	}
	return nil, fmt.Errorf("unknown record kind %q", k)
}

// ParseKind validates a kind name.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(s))
	if _, err := New(k); err != nil {
		return "", Invalid("kind", s, "unknown record kind")
	}
	return k, nil
}

// DateLayout is how dates are written in JSON and on the command line.
const DateLayout = "2006-01-02"

// ParseDate validates a YYYY-MM-DD date for a field.
func ParseDate(field, s string) (string, error) {
	if y, m, d, ok := canonicalDate(s); ok { // the common case, without time.Parse
		if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); t.Month() == time.Month(m) && t.Day() == d && y >= 1850 && y <= 2200 {
			return s, nil
		}
	}
	t, err := time.Parse(DateLayout, strings.TrimSpace(s))
	if err != nil {
		return "", Invalid(field, s, "must be a date YYYY-MM-DD")
	}
	if t.Year() < 1850 || t.Year() > 2200 {
		return "", Invalid(field, s, "year out of range")
	}
	return t.Format(DateLayout), nil
}

func checkEnum(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return Invalid(field, v, "must be one of %s", strings.Join(allowed, ", "))
}

func checkCode(field string, c Code) error {
	if c.Code == "" {
		return Invalid(field, "", "a code is required")
	}
	if c.System == "" {
		return Invalid(field+".system", "", "a code system is required")
	}
	if c.System == SystemSNOMED && !ValidSCTID(c.Code) {
		return Invalid(field, c.Code, "not a valid SNOMED CT identifier")
	}
	return nil
}

func checkFHIRExtra(m *Meta) error {
	if len(m.FHIRExtra) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(m.FHIRExtra, &obj); err != nil {
		return Invalid("fhirExtra", "", "must be a JSON object")
	}
	return nil
}

func checkPatientRef(m *Meta) error {
	if m.PatientID == "" {
		return Invalid("patientId", "", "a patient is required")
	}
	return checkFHIRExtra(m)
}

// canonicalDate reads YYYY-MM-DD exactly (digits and dashes, nothing else).
func canonicalDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	num := func(a string) (int, bool) {
		n := 0
		for i := 0; i < len(a); i++ {
			if a[i] < '0' || a[i] > '9' {
				return 0, false
			}
			n = n*10 + int(a[i]-'0')
		}
		return n, true
	}
	var oy, om, od bool
	y, oy = num(s[:4])
	m, om = num(s[5:7])
	d, od = num(s[8:])
	return y, m, d, oy && om && od && m >= 1 && m <= 12 && d >= 1
}
