package hl7v2

import (
	"net/url"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
)

// LocalCodeSystem is the stem of the system URI given to a laboratory's own
// codes (OBX-3.3 naming neither LOINC, SNOMED CT nor Read): the sender and
// the coding system name as sent follow it, so two laboratories' "HB" stay
// two codes.
const LocalCodeSystem = "https://opengpsoc.org/fhir/CodeSystem/hl7v2-local/"

// Records maps a parsed message to the inbox's reports, one per OBR, as
// the laboratory sent them: codes, units, ranges, flags and comments are
// kept as given and never checked against our tables (the inbox service
// decides matching, versions and corrections).
func (m *ORU) Records() []*record.Report {
	out := make([]*record.Report, 0, len(m.Reports))
	sender := record.Party{ODS: m.SendingFacility.Namespace, Name: m.SendingFacility.Name()}
	if m.SendingFacility.Namespace == "" {
		sender.ODS = ""
	}
	for i := range m.Reports {
		r := &m.Reports[i]
		rep := &record.Report{
			Format:      "hl7v2",
			MessageID:   m.ControlID,
			LabReportID: r.FillerOrder,
			LabStatus:   labStatus(r.Status),
			Sender:      sender,
			Title:       code(r.Service, sender),
			Category:    section(r.Section),
			Specimen: record.Specimen{
				ID:        r.FillerOrder,
				Type:      firstNonEmpty(r.Specimen.Text, r.Specimen.Code),
				Collected: r.Collected.Time,
				Received:  r.Received.Time,
			},
			Issued:      r.Issued.Time,
			SentPatient: sentPatient(&r.Patient),
			Comments:    lines(r.Notes, r.Patient.Notes),
		}
		if rep.Issued.IsZero() {
			rep.Issued = m.Sent.Time
		}
		if !r.Requester.IsZero() {
			p := r.Requester
			p.ID = ""
			rep.Requester = record.Party{Name: p.Display(), Code: r.Requester.ID}
		}
		for j := range r.Results {
			rep.Tests = append(rep.Tests, test(&r.Results[j], sender))
		}
		out = append(out, rep)
	}
	return out
}

// lines flattens NTE texts into one comment per line: a comment is a line
// of text in the report, and a laboratory's \.br\ breaks are kept as the
// breaks between them. Blank lines (spacing in the laboratory's layout) go.
func lines(notes ...[]string) []string {
	var out []string
	for _, ns := range notes {
		for _, n := range ns {
			for _, l := range strings.Split(n, "\n") {
				if l = strings.TrimRight(l, " \t"); strings.TrimSpace(l) != "" {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func sentPatient(p *Patient) record.SentPatient {
	sp := record.SentPatient{NHSNumber: p.NHSNumber, Family: p.Family, Given: p.Given, Postcode: p.Postcode}
	if sp.NHSNumber == "" {
		// An NHS number that failed its check is kept as sent, so the
		// unmatched queue shows what the laboratory wrote.
		for _, id := range p.Identifiers {
			if id.Type == "NH" || strings.EqualFold(id.Authority, "NHS") {
				sp.NHSNumber = id.Value
			}
		}
	}
	for _, id := range p.Identifiers {
		if id.Type != "NH" && !strings.EqualFold(id.Authority, "NHS") {
			sp.LocalID = id.Value
			break
		}
	}
	if !p.BirthDate.IsZero() {
		sp.BirthDate = p.BirthDate.Time.Format("2006-01-02")
	}
	switch p.Sex {
	case "M":
		sp.Sex = "male"
	case "F":
		sp.Sex = "female"
	case "O", "A", "N":
		sp.Sex = "other"
	case "U":
		sp.Sex = "unknown"
	}
	return sp
}

func test(x *Result, sender record.Party) record.ReportTest {
	t := record.ReportTest{
		Name:       firstNonEmpty(x.Code.Text, x.Code.AltText, x.Code.Code, x.Code.AltCode),
		Value:      x.Number,
		Comparator: x.Comparator,
		Unit:       firstNonEmpty(x.Units.Code, x.Units.Text),
		Range:      referenceRange(x.Range),
		Flag:       strings.Join(x.Flags, ","),
		Comments:   lines(x.Notes),
		Status:     resultStatus(x.Status),
	}
	if x.Number == nil {
		t.ValueText = x.Text
	}
	if x.Coded != nil && x.Coded.Code != "" {
		// A coded value keeps its code beside its text.
		t.ValueText = x.Text
		if c := code(*x.Coded, sender); c.Code != "" && x.Coded.Text != "" && c.Code != x.Coded.Text {
			t.ValueText = x.Coded.Text + " (" + x.Coded.Code + ")"
		}
	}
	if x.Specimen {
		t.Name = "Specimen: " + t.Name
	}
	for _, c := range []Coded{{Code: x.Code.Code, Text: x.Code.Text, System: x.Code.System}, {Code: x.Code.AltCode, Text: x.Code.AltText, System: x.Code.AltSystem}} {
		if c.Code != "" {
			t.Codes = append(t.Codes, code(c, sender))
		}
	}
	return t
}

// code maps a CE's first triplet to a record code, the system named by its
// HL7 coding system name (table 0396, and the names UK laboratories use).
func code(c Coded, sender record.Party) record.Code {
	rc := record.Code{Code: c.Code, Display: c.Text}
	switch strings.ToUpper(c.System) {
	case "LN":
		rc.System, rc.Foreign = record.SystemLOINC, true
	case "SCT", "SNOMEDCT", "SNOMED CT":
		rc.System = record.SystemSNOMED
	case "READ", "READ2", "RD2", "99RD2":
		rc.System = record.SystemRead2
	case "CTV3", "READ3", "RD3", "99CT3":
		rc.System = record.SystemCTV3
	default:
		name := c.System
		if name == "" {
			name = "L"
		}
		rc.System = LocalCodeSystem + url.PathEscape(firstNonEmpty(sender.ODS, sender.Name)) + "/" + url.PathEscape(name)
		rc.Foreign = true
	}
	return rc
}

// referenceRange reads OBX-7 as laboratories write it: "3.5-5.3", "<5",
// ">60", "<=5"; anything else is kept as text.
func referenceRange(s string) *record.ReferenceRange {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	rr := &record.ReferenceRange{Text: s}
	num := func(v string) *float64 {
		f, err := number(strings.TrimSpace(v))
		if err != nil {
			return nil
		}
		return &f
	}
	switch {
	case strings.HasPrefix(s, "<="), strings.HasPrefix(s, ">="):
		// An inclusive bound is kept as text: ReferenceRange says < and > only.
	case strings.HasPrefix(s, "<"):
		rr.High = num(s[1:])
	case strings.HasPrefix(s, ">"):
		rr.Low = num(s[1:])
	default:
		// The dash after the first character (a low bound may be negative).
		if i := strings.Index(s[1:], "-"); i >= 0 {
			lo, hi := num(s[:i+1]), num(s[i+2:])
			if lo != nil && hi != nil {
				rr.Low, rr.High = lo, hi
			}
		}
	}
	return rr
}

// labStatus maps OBR-25 (table 0123) to the FHIR DiagnosticReport status.
func labStatus(s string) string {
	switch s {
	case "F":
		return "final"
	case "C":
		return "corrected"
	case "P", "R":
		return "preliminary"
	case "A":
		return "partial"
	case "X":
		return "cancelled"
	case "O", "I", "S":
		return "registered"
	}
	return "unknown"
}

// resultStatus maps OBX-11 (table 0085) to the FHIR Observation status.
func resultStatus(s string) string {
	switch s {
	case "F":
		return "final"
	case "C":
		return "corrected"
	case "P", "R", "S":
		return "preliminary"
	case "I", "O":
		return "registered"
	case "X":
		return "cancelled"
	case "D", "W":
		return "entered-in-error"
	}
	return "unknown"
}

// section names OBR-24 (table 0074) the way a GP reads it.
func section(s string) string {
	if n, ok := sections[s]; ok {
		return n
	}
	return s
}

var sections = map[string]string{
	"HM": "Haematology", "CH": "Clinical biochemistry", "MB": "Microbiology", "SP": "Histopathology",
	"CP": "Cytopathology", "SR": "Serology", "BLB": "Blood bank", "IMM": "Immunology", "VR": "Virology",
	"TX": "Toxicology", "PAT": "Pathology", "LAB": "Laboratory",
}

// ReadReports parses an ER7 text (one message or a batch) and maps every
// report in it: all or nothing, the error naming line, field and value.
func ReadReports(text []byte) ([]*record.Report, error) {
	ms, err := Parse(text)
	if err != nil {
		return nil, err
	}
	var out []*record.Report
	for i := range ms {
		out = append(out, ms[i].Records()...)
	}
	return out, nil
}
