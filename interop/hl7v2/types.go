package hl7v2

import "time"

// ORU is one ORU^R01 message: its header and the reports it carries, one
// per OBR (a message may hold several patients, each with several reports).
type ORU struct {
	ControlID          string    // MSH-10, unique per sender
	ProcessingID       string    // MSH-11: P production, T training, D debugging
	Version            string    // MSH-12
	SendingApplication HD        // MSH-3
	SendingFacility    HD        // MSH-4: the laboratory (an ODS code in the UK)
	Sent               Timestamp // MSH-7
	Reports            []Report
}

// HD is a hierarchic designator: a namespace id, or a universal id and its type.
type HD struct {
	Namespace   string `json:"namespace,omitempty"`
	UniversalID string `json:"universalId,omitempty"`
	IDType      string `json:"idType,omitempty"`
}

// Name is the namespace, else the universal id.
func (h HD) Name() string {
	if h.Namespace != "" {
		return h.Namespace
	}
	return h.UniversalID
}

// Timestamp is an HL7 date or date-time. Raw is the text as sent; Precision
// says how much of it there was (year, month, day, minute, second...), so a
// date of birth sent as a day is never shown as midnight.
type Timestamp struct {
	Time      time.Time
	Precision Precision
	Raw       string
}

// IsZero reports whether the timestamp was absent.
func (t Timestamp) IsZero() bool { return t.Raw == "" }

// Precision of a Timestamp.
type Precision int

const (
	PrecisionNone Precision = iota
	PrecisionYear
	PrecisionMonth
	PrecisionDay
	PrecisionHour
	PrecisionMinute
	PrecisionSecond
)

// Coded is a CE or CWE value: the identifier, its text, the coding system
// name as sent (LN for LOINC, SCT, a laboratory's own name), and the
// alternate triplet a laboratory often adds (its own code beside LOINC).
type Coded struct {
	Code      string `json:"code,omitempty"`
	Text      string `json:"text,omitempty"`
	System    string `json:"system,omitempty"`
	AltCode   string `json:"altCode,omitempty"`
	AltText   string `json:"altText,omitempty"`
	AltSystem string `json:"altSystem,omitempty"`
}

// IsZero reports whether nothing was sent.
func (c Coded) IsZero() bool { return c.Code == "" && c.Text == "" && c.AltCode == "" }

// Identifier is one PID-3 repetition (CX).
type Identifier struct {
	Value     string `json:"value"`
	Authority string `json:"authority,omitempty"` // CX-4 (its namespace, else universal id)
	Type      string `json:"type,omitempty"`      // CX-5: NH (NHS number), MR (hospital number)...
}

// Patient is PID.
type Patient struct {
	Identifiers []Identifier // PID-3, all repetitions as sent
	// NHSNumber is the PID-3 identifier of type NH or authority NHS, when
	// it is a valid NHS number (10 digits, Modulus 11). An invalid one stays
	// in Identifiers only, with NHSNumberProblem saying why: the report is
	// still delivered, and cannot be matched on it.
	NHSNumber        string
	NHSNumberProblem string
	Family           string    // PID-5.1
	Given            []string  // PID-5.2 and PID-5.3
	Prefix           string    // PID-5.5
	BirthDate        Timestamp // PID-7
	Sex              string    // PID-8 as sent: M F U O A N
	Address          string    // PID-11, as one line
	Postcode         string    // PID-11.5
	Notes            []string  // NTE after PID
	Line             int
}

// Person is an XCN (OBR-16, ORC-12): the requesting clinician.
type Person struct {
	ID        string `json:"id,omitempty"` // a GMC, GMP or local code
	Family    string `json:"family,omitempty"`
	Given     string `json:"given,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	Authority string `json:"authority,omitempty"` // XCN-9
}

// IsZero reports whether nothing was sent.
func (p Person) IsZero() bool { return p == Person{} }

// Display is the person as a reader expects: "Dr A Jones (G1234567)".
func (p Person) Display() string {
	s := p.Family
	if p.Given != "" {
		s = p.Given + " " + s
	}
	if p.Prefix != "" {
		s = p.Prefix + " " + s
	}
	if p.ID != "" {
		if s == "" {
			return p.ID
		}
		s += " (" + p.ID + ")"
	}
	return s
}

// Report is one OBR with its results: a laboratory report.
type Report struct {
	Patient Patient
	// PlacerOrder is the requester's order number (OBR-2, else ORC-2);
	// FillerOrder the laboratory's (OBR-3, else ORC-3): with the sender
	// it identifies the report, so a corrected report finds the earlier one.
	PlacerOrder string
	FillerOrder string
	Service     Coded     // OBR-4: the test or panel requested
	Collected   Timestamp // OBR-7: specimen collection (else SPM-17)
	Received    Timestamp // OBR-14: specimen received in the laboratory
	Issued      Timestamp // OBR-22: report status last changed (the issue date)
	Status      string    // OBR-25: F final, C corrected, P preliminary, X cancelled...
	Requester   Person    // OBR-16, else ORC-12
	Specimen    Coded     // OBR-15.1 (2.4) or SPM-4 (2.5.1)
	Section     string    // OBR-24: diagnostic service section (HM, CH, MB...)
	Notes       []string  // NTE after OBR
	Results     []Result
	Line        int
}

// Corrected reports whether the laboratory marks the report as corrected
// (OBR-25 C) or any of its results (OBX-11 C).
func (r *Report) Corrected() bool {
	if r.Status == "C" {
		return true
	}
	for _, x := range r.Results {
		if x.Status == "C" {
			return true
		}
	}
	return false
}

// Result is one OBX.
type Result struct {
	SetID     string
	ValueType string // OBX-2: NM, SN, ST, TX, FT, CE, CWE
	Code      Coded  // OBX-3
	SubID     string // OBX-4
	// The value (OBX-5). Text is always set when a value was sent: the
	// value as a reader sees it ("<5", "1:128", a coded value's text).
	// Number is set for NM, and for SN with one number (with Comparator
	// "<", ">", "<=", ">=" or "" ); Coded for CE and CWE.
	Text       string
	Number     *float64
	Comparator string
	Coded      *Coded
	Units      Coded     // OBX-6: as sent (mmol/L, 10*9/L, a lab's own)
	Range      string    // OBX-7: as sent
	Flags      []string  // OBX-8: as sent (L, H, LL, HH, A, AA, N, <, >)
	Status     string    // OBX-11: F final, C corrected, P preliminary, X cannot obtain, D deleted...
	Observed   Timestamp // OBX-14
	Producer   string    // OBX-15: the performing laboratory, when not the sender
	Notes      []string  // NTE after OBX
	Specimen   bool      // an OBX that follows SPM: about the specimen
	Line       int
}

// Abnormal reports whether the laboratory flagged the result as outside
// its normal range or abnormal: any OBX-8 flag other than N (normal).
func (r *Result) Abnormal() bool {
	for _, f := range r.Flags {
		if f != "" && f != "N" {
			return true
		}
	}
	return false
}
