// Package pathology reads laboratory reports from the formats labs send
// them in (FHIR UK Core pathology messages, DAPB4101; HL7 v2 ORU^R01) into
// record.Report, which the results inbox takes through the one door
// (clinical.Service.DeliverReport). It writes nothing itself.
//
// Parsing is strict about structure (a message that is not a report, or
// whose references do not resolve, is an error naming the path) and
// lenient about content: values, units, codes from any system and flags
// are kept exactly as sent, never checked against our tables.
package pathology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/interop/hl7v2"
	"github.com/opengpsoc/gpsoc/record"
)

// How a UK Core pathology message may differ from what a laboratory's
// system sends (no published example messages were at hand; the test
// messages in testdata follow the specification's structure):
//   - Labs may send a grouping Observation (a panel, e.g. full blood count)
//     whose members are hasMember references; they are flattened into the
//     report's results, in order.
//   - The report version is not a field of DiagnosticReport: a correction is
//     recognised by status corrected/amended (or different content) under
//     the same identifier; meta.versionId is used when it is a number.
//   - The requester may be a Practitioner, a PractitionerRole or only an
//     Organization; its GMC/GMP number or SDS user id becomes Party.Code.
//   - A value may be valueQuantity, valueString, valueCodeableConcept,
//     valueInteger or valueBoolean; dataAbsentReason is kept as text.
//   - Comments come as Observation.note and DiagnosticReport.conclusion;
//     some labs put them in a valueString "comment" Observation, kept as a
//     result with text.

// FHIR code systems of a pathology message.
const (
	systemNHS = record.SystemNHS
	systemODS = record.SystemODS
)

type resource struct {
	ResourceType string     `json:"resourceType"`
	ID           string     `json:"id"`
	Meta         *fhir.Meta `json:"meta"`
}

type entry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type bundle struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Timestamp    string           `json:"timestamp"`
	Identifier   *fhir.Identifier `json:"identifier"`
	Entry        []entry          `json:"entry"`
}

type messageHeader struct {
	ID          string          `json:"id"`
	EventCoding *fhir.Coding    `json:"eventCoding"`
	Sender      *fhir.Reference `json:"sender"`
	Source      struct {
		Name     string `json:"name"`
		Endpoint string `json:"endpoint"`
	} `json:"source"`
	Focus []fhir.Reference `json:"focus"`
}

type diagnosticReport struct {
	ID         string                 `json:"id"`
	Meta       *fhir.Meta             `json:"meta"`
	Identifier []fhir.Identifier      `json:"identifier"`
	BasedOn    []fhir.Reference       `json:"basedOn"`
	Status     string                 `json:"status"`
	Category   []fhir.CodeableConcept `json:"category"`
	Code       fhir.CodeableConcept   `json:"code"`
	Subject    *fhir.Reference        `json:"subject"`
	Effective  string                 `json:"effectiveDateTime"`
	Issued     string                 `json:"issued"`
	Performer  []fhir.Reference       `json:"performer"`
	Specimen   []fhir.Reference       `json:"specimen"`
	Result     []fhir.Reference       `json:"result"`
	Conclusion string                 `json:"conclusion"`
}

type rangeJSON struct {
	Low  *fhir.Quantity `json:"low"`
	High *fhir.Quantity `json:"high"`
	Text string         `json:"text"`
}

type observation struct {
	ID                   string                 `json:"id"`
	Status               string                 `json:"status"`
	Code                 fhir.CodeableConcept   `json:"code"`
	ValueQuantity        *fhir.Quantity         `json:"valueQuantity"`
	ValueString          *string                `json:"valueString"`
	ValueCodeableConcept *fhir.CodeableConcept  `json:"valueCodeableConcept"`
	ValueInteger         *int64                 `json:"valueInteger"`
	ValueBoolean         *bool                  `json:"valueBoolean"`
	DataAbsentReason     *fhir.CodeableConcept  `json:"dataAbsentReason"`
	Interpretation       []fhir.CodeableConcept `json:"interpretation"`
	ReferenceRange       []rangeJSON            `json:"referenceRange"`
	Note                 []fhir.Annotation      `json:"note"`
	HasMember            []fhir.Reference       `json:"hasMember"`
	Effective            string                 `json:"effectiveDateTime"`
}

type specimen struct {
	Identifier          []fhir.Identifier     `json:"identifier"`
	AccessionIdentifier *fhir.Identifier      `json:"accessionIdentifier"`
	Type                *fhir.CodeableConcept `json:"type"`
	ReceivedTime        string                `json:"receivedTime"`
	Collection          *struct {
		CollectedDateTime string       `json:"collectedDateTime"`
		CollectedPeriod   *fhir.Period `json:"collectedPeriod"`
	} `json:"collection"`
}

type serviceRequest struct {
	Identifier []fhir.Identifier `json:"identifier"`
	Requester  *fhir.Reference   `json:"requester"`
}

type patient struct {
	Identifier []fhir.Identifier `json:"identifier"`
	Name       []fhir.HumanName  `json:"name"`
	BirthDate  string            `json:"birthDate"`
	Gender     string            `json:"gender"`
	Address    []fhir.Address    `json:"address"`
}

type party struct {
	ResourceType string            `json:"resourceType"`
	Identifier   []fhir.Identifier `json:"identifier"`
	Name         json.RawMessage   `json:"name"` // a string (Organization) or HumanName[] (Practitioner)
	Practitioner *fhir.Reference   `json:"practitioner"`
	Organization *fhir.Reference   `json:"organization"`
}

// message is a parsed Bundle with its entries by reference.
type message struct {
	entries []entry
	types   []string
	byRef   map[string]int
}

func (m *message) resolve(path string, ref *fhir.Reference, want ...string) (int, error) {
	if ref == nil || ref.Reference == "" {
		return -1, nil
	}
	i, ok := m.byRef[ref.Reference]
	if !ok {
		return -1, fmt.Errorf("%s.reference %q: not in the message", path, ref.Reference)
	}
	if len(want) > 0 {
		for _, w := range want {
			if m.types[i] == w {
				return i, nil
			}
		}
		return -1, fmt.Errorf("%s.reference %q: is a %s, not a %s", path, ref.Reference, m.types[i], strings.Join(want, " or "))
	}
	return i, nil
}

func (m *message) decode(i int, v any) error {
	if err := gojson.Unmarshal(m.entries[i].Resource, v); err != nil {
		return fmt.Errorf("entry[%d].resource (%s): %w", i, m.types[i], err)
	}
	return nil
}

// ParseFHIR reads one FHIR pathology message Bundle (type "message",
// MessageHeader first, focused on a DiagnosticReport) into a report. A
// Bundle of type collection or searchset holding a DiagnosticReport is
// accepted too (the report is found without a MessageHeader). An error
// names the path of what is wrong.
func ParseFHIR(data []byte) (*record.Report, error) {
	var b bundle
	if err := gojson.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("not a FHIR Bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, fmt.Errorf("resourceType %q: a pathology message is a Bundle", b.ResourceType)
	}
	m := &message{entries: b.Entry, byRef: map[string]int{}}
	for i, e := range b.Entry {
		var r resource
		if len(e.Resource) == 0 {
			return nil, fmt.Errorf("entry[%d].resource: missing", i)
		}
		if err := gojson.Unmarshal(e.Resource, &r); err != nil {
			return nil, fmt.Errorf("entry[%d].resource: %w", i, err)
		}
		m.types = append(m.types, r.ResourceType)
		if e.FullURL != "" {
			m.byRef[e.FullURL] = i
		}
		if r.ID != "" {
			m.byRef[r.ResourceType+"/"+r.ID] = i
		}
	}
	rep := &record.Report{Format: "fhir"}
	dri := -1
	if b.Type == "message" {
		if len(m.types) == 0 || m.types[0] != "MessageHeader" {
			return nil, fmt.Errorf("entry[0]: a message Bundle starts with its MessageHeader")
		}
		var h messageHeader
		if err := m.decode(0, &h); err != nil {
			return nil, err
		}
		rep.MessageID = h.ID
		if b.Identifier != nil && b.Identifier.Value != "" {
			rep.MessageID = b.Identifier.Value
		}
		for j, f := range h.Focus {
			i, err := m.resolve(fmt.Sprintf("entry[0].focus[%d]", j), &f)
			if err != nil {
				return nil, err
			}
			if i >= 0 && m.types[i] == "DiagnosticReport" {
				dri = i
				break
			}
		}
		if si, err := m.resolve("entry[0].sender", h.Sender, "Organization"); err != nil {
			return nil, err
		} else if si >= 0 {
			p, err := m.party(si)
			if err != nil {
				return nil, err
			}
			rep.Sender = p
		}
		if rep.Sender.IsZero() && h.Sender != nil {
			rep.Sender = partyOfRef(h.Sender)
		}
		if rep.Sender.IsZero() && h.Source.Name != "" {
			rep.Sender.Name = h.Source.Name
		}
	}
	if dri < 0 {
		for i, t := range m.types {
			if t == "DiagnosticReport" {
				dri = i
				break
			}
		}
	}
	if dri < 0 {
		return nil, fmt.Errorf("entry: the message holds no DiagnosticReport")
	}
	var dr diagnosticReport
	if err := m.decode(dri, &dr); err != nil {
		return nil, err
	}
	at := fmt.Sprintf("entry[%d].resource", dri)
	for _, id := range dr.Identifier {
		if id.Value != "" {
			rep.LabReportID = id.Value
			break
		}
	}
	if rep.LabReportID == "" {
		rep.LabReportID = dr.ID
	}
	if rep.LabReportID == "" {
		return nil, fmt.Errorf("%s.identifier: the report has no identifier", at)
	}
	if dr.Meta != nil {
		if v, err := strconv.Atoi(dr.Meta.VersionID); err == nil && v > 0 {
			rep.LabVersion = v
		}
	}
	rep.LabStatus = dr.Status
	rep.Title = firstCode(dr.Code)
	if len(dr.Category) > 0 {
		rep.Category = conceptText(dr.Category[0])
	}
	var err error
	if rep.Issued, err = instant(at+".issued", dr.Issued); err != nil {
		return nil, err
	}
	if dr.Conclusion != "" {
		rep.Comments = append(rep.Comments, dr.Conclusion)
	}
	if rep.Sender.IsZero() {
		for j, pf := range dr.Performer {
			i, err := m.resolve(fmt.Sprintf("%s.performer[%d]", at, j), &pf)
			if err != nil {
				return nil, err
			}
			if i >= 0 && m.types[i] == "Organization" {
				if rep.Sender, err = m.party(i); err != nil {
					return nil, err
				}
				break
			}
		}
	}
	// The patient as identified.
	pi, err := m.resolve(at+".subject", dr.Subject, "Patient")
	if err != nil {
		return nil, err
	}
	if pi < 0 {
		return nil, fmt.Errorf("%s.subject: the report names no patient", at)
	}
	var pt patient
	if err := m.decode(pi, &pt); err != nil {
		return nil, err
	}
	rep.SentPatient = sentPatient(pt)
	// Specimen.
	for j, sr := range dr.Specimen {
		i, err := m.resolve(fmt.Sprintf("%s.specimen[%d]", at, j), &sr, "Specimen")
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue
		}
		var sp specimen
		if err := m.decode(i, &sp); err != nil {
			return nil, err
		}
		sat := fmt.Sprintf("entry[%d].resource", i)
		if sp.AccessionIdentifier != nil {
			rep.Specimen.ID = sp.AccessionIdentifier.Value
		} else if len(sp.Identifier) > 0 {
			rep.Specimen.ID = sp.Identifier[0].Value
		}
		if sp.Type != nil {
			rep.Specimen.Type = conceptText(*sp.Type)
		}
		if sp.Collection != nil {
			c := sp.Collection.CollectedDateTime
			if c == "" && sp.Collection.CollectedPeriod != nil {
				c = sp.Collection.CollectedPeriod.Start
			}
			if rep.Specimen.Collected, err = instant(sat+".collection.collectedDateTime", c); err != nil {
				return nil, err
			}
		}
		if rep.Specimen.Received, err = instant(sat+".receivedTime", sp.ReceivedTime); err != nil {
			return nil, err
		}
		break
	}
	if rep.Specimen.Collected.IsZero() && dr.Effective != "" {
		if rep.Specimen.Collected, err = instant(at+".effectiveDateTime", dr.Effective); err != nil {
			return nil, err
		}
	}
	// The request and its requester.
	for j, br := range dr.BasedOn {
		i, err := m.resolve(fmt.Sprintf("%s.basedOn[%d]", at, j), &br, "ServiceRequest")
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue
		}
		var sr serviceRequest
		if err := m.decode(i, &sr); err != nil {
			return nil, err
		}
		ri, err := m.resolve(fmt.Sprintf("entry[%d].resource.requester", i), sr.Requester, "Practitioner", "PractitionerRole", "Organization")
		if err != nil {
			return nil, err
		}
		if ri >= 0 {
			if rep.Requester, err = m.party(ri); err != nil {
				return nil, err
			}
		} else if sr.Requester != nil {
			rep.Requester = partyOfRef(sr.Requester)
		}
		break
	}
	// Results, panels flattened.
	seen := map[int]bool{}
	var add func(path string, ref fhir.Reference, depth int) error
	add = func(path string, ref fhir.Reference, depth int) error {
		i, err := m.resolve(path, &ref, "Observation")
		if err != nil {
			return err
		}
		if i < 0 || seen[i] {
			return nil
		}
		if depth > 4 {
			return fmt.Errorf("%s: results nested more than 4 deep", path)
		}
		seen[i] = true
		var o observation
		if err := m.decode(i, &o); err != nil {
			return err
		}
		oat := fmt.Sprintf("entry[%d].resource", i)
		if len(o.HasMember) > 0 && o.ValueQuantity == nil && o.ValueString == nil && o.ValueCodeableConcept == nil {
			for j, hm := range o.HasMember {
				if err := add(fmt.Sprintf("%s.hasMember[%d]", oat, j), hm, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		t, err := result(oat, o)
		if err != nil {
			return err
		}
		rep.Tests = append(rep.Tests, t)
		return nil
	}
	for j, rr := range dr.Result {
		if err := add(fmt.Sprintf("%s.result[%d]", at, j), rr, 0); err != nil {
			return nil, err
		}
	}
	if len(rep.Tests) == 0 {
		return nil, fmt.Errorf("%s.result: the report has no results", at)
	}
	if rep.Sender.IsZero() {
		return nil, fmt.Errorf("entry[0].sender: the message does not name the laboratory")
	}
	return rep, nil
}

// result is one Observation as a report's result.
func result(at string, o observation) (record.ReportTest, error) {
	t := record.ReportTest{Name: conceptText(o.Code), Status: o.Status}
	for _, c := range o.Code.Coding {
		if c.Code != "" {
			t.Codes = append(t.Codes, record.Code{System: c.System, Code: c.Code, Display: c.Display})
		}
	}
	switch {
	case o.ValueQuantity != nil:
		q := o.ValueQuantity
		if q.Value != "" {
			v, err := strconv.ParseFloat(string(q.Value), 64)
			if err != nil {
				return t, fmt.Errorf("%s.valueQuantity.value %q: not a number", at, q.Value)
			}
			t.Value = &v
		}
		t.Comparator, t.Unit = q.Comparator, q.Unit
		if t.Unit == "" {
			t.Unit = q.Code
		}
	case o.ValueString != nil:
		t.ValueText = *o.ValueString
	case o.ValueCodeableConcept != nil:
		t.ValueText = conceptText(*o.ValueCodeableConcept)
	case o.ValueInteger != nil:
		v := float64(*o.ValueInteger)
		t.Value = &v
	case o.ValueBoolean != nil:
		t.ValueText = strconv.FormatBool(*o.ValueBoolean)
	case o.DataAbsentReason != nil:
		t.ValueText = "(no value: " + conceptText(*o.DataAbsentReason) + ")"
	}
	for _, in := range o.Interpretation {
		for _, c := range in.Coding {
			if c.Code != "" {
				t.Flag = c.Code
				break
			}
		}
		if t.Flag == "" && in.Text != "" {
			t.Flag = in.Text
		}
	}
	if len(o.ReferenceRange) > 0 {
		rr := o.ReferenceRange[0]
		r := &record.ReferenceRange{Text: rr.Text}
		for _, b := range []struct {
			q   *fhir.Quantity
			dst **float64
			f   string
		}{{rr.Low, &r.Low, "low"}, {rr.High, &r.High, "high"}} {
			if b.q != nil && b.q.Value != "" {
				v, err := strconv.ParseFloat(string(b.q.Value), 64)
				if err != nil {
					return t, fmt.Errorf("%s.referenceRange[0].%s.value %q: not a number", at, b.f, b.q.Value)
				}
				*b.dst = &v
			}
		}
		t.Range = r
	}
	for _, n := range o.Note {
		if s := strings.TrimSpace(n.Text); s != "" {
			t.Comments = append(t.Comments, s)
		}
	}
	if t.Name == "" && len(t.Codes) == 0 {
		return t, fmt.Errorf("%s.code: a result with no code and no text", at)
	}
	return t, nil
}

func (m *message) party(i int) (record.Party, error) {
	var p party
	if err := m.decode(i, &p); err != nil {
		return record.Party{}, err
	}
	var out record.Party
	for _, id := range p.Identifier {
		switch id.System {
		case systemODS:
			out.ODS = id.Value
		case fhir.SystemGMC, fhir.SystemGMP, fhir.SystemSDSUser:
			if out.Code == "" {
				out.Code = id.Value
			}
		default:
			if out.Code == "" && p.ResourceType != "Organization" {
				out.Code = id.Value
			}
		}
	}
	if len(p.Name) > 0 {
		var s string
		if json.Unmarshal(p.Name, &s) == nil {
			out.Name = s
		} else {
			var hn []fhir.HumanName
			if json.Unmarshal(p.Name, &hn) == nil && len(hn) > 0 {
				out.Name = humanName(hn[0])
			}
		}
	}
	if p.ResourceType == "PractitionerRole" {
		if pi, err := m.resolve(fmt.Sprintf("entry[%d].resource.practitioner", i), p.Practitioner, "Practitioner"); err == nil && pi >= 0 {
			pp, err := m.party(pi)
			if err != nil {
				return out, err
			}
			out.Name, out.Code = pp.Name, pp.Code
		}
		if oi, err := m.resolve(fmt.Sprintf("entry[%d].resource.organization", i), p.Organization, "Organization"); err == nil && oi >= 0 {
			op, err := m.party(oi)
			if err != nil {
				return out, err
			}
			out.Org = op.ODS
			if out.Org == "" {
				out.Org = op.Name
			}
		}
	}
	return out, nil
}

func partyOfRef(r *fhir.Reference) record.Party {
	p := record.Party{Name: r.Display}
	if r.Identifier != nil {
		if r.Identifier.System == systemODS {
			p.ODS = r.Identifier.Value
		} else {
			p.Code = r.Identifier.Value
		}
	}
	return p
}

func humanName(h fhir.HumanName) string {
	if h.Text != "" {
		return h.Text
	}
	return strings.TrimSpace(strings.Join(append(append([]string{}, h.Prefix...), append(h.Given, h.Family)...), " "))
}

func sentPatient(p patient) record.SentPatient {
	var sp record.SentPatient
	for _, id := range p.Identifier {
		if id.System == systemNHS {
			sp.NHSNumber = strings.ReplaceAll(id.Value, " ", "")
		} else if sp.LocalID == "" {
			sp.LocalID = id.Value
		}
	}
	for _, n := range p.Name {
		if n.Use == "old" || n.Use == "maiden" {
			continue
		}
		sp.Family, sp.Given = n.Family, n.Given
		break
	}
	sp.BirthDate, sp.Sex = p.BirthDate, p.Gender
	for _, a := range p.Address {
		if a.PostalCode != "" {
			sp.Postcode = a.PostalCode
			break
		}
	}
	return sp
}

func firstCode(c fhir.CodeableConcept) record.Code {
	for _, x := range c.Coding {
		if x.Code != "" {
			return record.Code{System: x.System, Code: x.Code, Display: firstNonEmpty(x.Display, c.Text)}
		}
	}
	return record.Code{}
}

func conceptText(c fhir.CodeableConcept) string {
	if c.Text != "" {
		return c.Text
	}
	for _, x := range c.Coding {
		if x.Display != "" {
			return x.Display
		}
	}
	for _, x := range c.Coding {
		if x.Code != "" {
			return x.Code
		}
	}
	return ""
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// instant reads a FHIR dateTime or instant (a date alone is midnight UTC).
func instant(path, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: not a FHIR dateTime", path, s)
}

// Parse reads the reports of one message or file, whatever its format: an
// HL7 v2 message (starts with MSH), a FHIR message Bundle, or NDJSON of
// Bundles (one report each).
func Parse(data []byte) ([]*record.Report, error) {
	d := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case hl7v2.IsER7(d):
		return hl7v2.ReadReports(d)
	case len(d) > 0 && d[0] == '{':
		// One Bundle (pretty-printed or not), or NDJSON: a Bundle a line.
		// Only NDJSON has more than one line that starts with "{".
		if bytes.Count(d, []byte("\n{")) == 0 {
			r, err := ParseFHIR(d)
			if err != nil {
				return nil, err
			}
			return []*record.Report{r}, nil
		}
		var out []*record.Report
		for n, line := range bytes.Split(d, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			r, err := ParseFHIR(line)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, fmt.Errorf("neither a FHIR Bundle nor an HL7 v2 message")
}
