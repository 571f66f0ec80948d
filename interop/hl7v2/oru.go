package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Versions are the HL7 versions read: what UK laboratories send ORU^R01 at.
var Versions = []string{"2.4", "2.5", "2.5.1"}

// skipped are segments the ORU^R01 structure allows that carry nothing a
// GP record keeps (software, additional demographics, next of kin, visit
// detail, timing, clinical trial, financial): read and dropped. Any other
// segment, a Z-segment included, refuses the message, because dropping
// what we do not understand could drop a result or a comment.
var skipped = map[string]bool{"SFT": true, "PD1": true, "NK1": true, "PV2": true, "TQ1": true, "TQ2": true, "CTD": true, "FT1": true, "CTI": true}

// IsER7 reports whether data looks like an ER7 message (it starts with
// MSH and a field separator, or a batch header), so an import can tell
// it from FHIR JSON.
func IsER7(data []byte) bool {
	s := strings.TrimPrefix(string(data[:min(len(data), 16)]), "\ufeff")
	s = strings.TrimLeft(s, "\x0b\r\n")
	return strings.HasPrefix(s, "MSH|") || strings.HasPrefix(s, "FHS|") || strings.HasPrefix(s, "BHS|")
}

// Parse reads every ORU^R01 message of an ER7 text. It is all or nothing:
// the first problem refuses the whole text, with an *Error naming where.
func Parse(text []byte) ([]ORU, error) {
	msgs, err := Split(text)
	if err != nil {
		return nil, err
	}
	out := make([]ORU, 0, len(msgs))
	for _, segs := range msgs {
		m, err := parseORU(segs)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func parseORU(segs []Segment) (ORU, error) {
	var m ORU
	msh := &segs[0]
	if t := msh.Comp(9, 1) + "^" + msh.Comp(9, 2); t != "ORU^R01" {
		return m, msh.errf(9, 0, msh.Raw(9), "only ORU^R01 (observation result) messages are read")
	}
	if s := msh.Comp(9, 3); s != "" && s != "ORU_R01" {
		return m, msh.errf(9, 3, s, "message structure must be ORU_R01")
	}
	m.Version = msh.Comp(12, 1)
	if !contains(Versions, m.Version) {
		return m, msh.errf(12, 0, msh.Raw(12), "HL7 version %s is read; this is not one of them", strings.Join(Versions, ", "))
	}
	m.ControlID = msh.Str(10)
	if m.ControlID == "" {
		return m, msh.errf(10, 0, "", "the message control id is required")
	}
	m.ProcessingID = msh.Comp(11, 1)
	switch m.ProcessingID {
	case "P", "T", "D":
	default:
		return m, msh.errf(11, 0, msh.Raw(11), "processing id must be P (production), T (training) or D (debugging)")
	}
	m.SendingApplication = hd(msh, 3)
	m.SendingFacility = hd(msh, 4)
	if m.SendingFacility.Name() == "" {
		return m, msh.errf(4, 0, "", "the sending facility (the laboratory) is required")
	}
	var err error
	if m.Sent, err = timestamp(msh, 7); err != nil {
		return m, err
	}
	if cs := msh.Str(18); cs != "" && cs != "UNICODE UTF-8" && cs != "ASCII" {
		// Text is read as UTF-8; a message declaring another character set
		// would be misread, so it is refused rather than guessed at.
		return m, msh.errf(18, 0, cs, "character set must be ASCII or UNICODE UTF-8 (convert the file first)")
	}

	var (
		patient *Patient
		order   *Segment // the ORC before an OBR
		report  *Report
		result  *Result
		inSPM   bool
		done    bool // after DSC
	)
	finish := func() {
		if report != nil {
			m.Reports = append(m.Reports, *report)
			report, result, inSPM = nil, nil, false
		}
	}
	for i := 1; i < len(segs); i++ {
		s := &segs[i]
		if done {
			return m, &Error{Line: s.Line, Segment: s.Name, Reason: "no segment may follow DSC"}
		}
		switch s.Name {
		case "MSH":
			return m, &Error{Line: s.Line, Segment: s.Name, Reason: "a second MSH inside one message"}
		case "PID":
			finish()
			p, err := readPID(s)
			if err != nil {
				return m, err
			}
			patient, order = &p, nil
		case "PV1":
			if patient == nil || report != nil || order != nil {
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "PV1 belongs straight after its PID"}
			}
		case "ORC":
			finish()
			if patient == nil {
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "an order before any PID: a result must name its patient"}
			}
			if order != nil {
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "ORC must be followed by its OBR"}
			}
			order = s
		case "OBR":
			finish()
			if patient == nil {
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "a report before any PID: a result must name its patient"}
			}
			r, err := readOBR(s, order)
			if err != nil {
				return m, err
			}
			r.Patient = *patient
			report, order = &r, nil
		case "OBX":
			if report == nil {
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "OBX must follow its OBR"}
			}
			x, err := readOBX(s)
			if err != nil {
				return m, err
			}
			x.Specimen = inSPM
			if x.Observed.IsZero() {
				x.Observed = report.Collected
			}
			report.Results = append(report.Results, x)
			result = &report.Results[len(report.Results)-1]
		case "NTE":
			text, err := readNTE(s)
			if err != nil {
				return m, err
			}
			switch {
			case result != nil:
				result.Notes = append(result.Notes, text)
			case report != nil:
				report.Notes = append(report.Notes, text)
			case patient != nil && order == nil:
				patient.Notes = append(patient.Notes, text)
			default:
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "NTE must follow the PID, OBR or OBX it comments on"}
			}
		case "SPM":
			if report == nil {
				return m, &Error{Line: s.Line, Segment: s.Name, Reason: "SPM must follow its OBR"}
			}
			if err := readSPM(s, report); err != nil {
				return m, err
			}
			inSPM, result = true, nil
		case "DSC":
			done = true
		default:
			if skipped[s.Name] {
				continue
			}
			return m, &Error{Line: s.Line, Segment: s.Name, Reason: "segment " + s.Name + " is not part of ORU^R01 as read here (PID, PV1, ORC, OBR, OBX, NTE, SPM); it is refused rather than dropped, so nothing in it is lost unseen"}
		}
	}
	if order != nil {
		return m, &Error{Line: order.Line, Segment: "ORC", Reason: "ORC must be followed by its OBR"}
	}
	finish()
	if len(m.Reports) == 0 {
		return m, &Error{Line: msh.Line, Segment: "MSH", Reason: "the message holds no report (no OBR)"}
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hd(s *Segment, n int) HD {
	return HD{Namespace: s.Get(n, 1, 1, 1), UniversalID: s.Get(n, 1, 2, 1), IDType: s.Get(n, 1, 3, 1)}
}

func readPID(s *Segment) (Patient, error) {
	p := Patient{Line: s.Line}
	for _, rep := range s.Field(3) {
		id := Identifier{Value: sub(rep, 1, 1), Authority: sub(rep, 4, 1), Type: sub(rep, 5, 1)}
		if id.Authority == "" {
			id.Authority = sub(rep, 4, 2)
		}
		if id.Value == "" {
			return p, s.errf(3, 1, "", "a patient identifier repetition without its id")
		}
		p.Identifiers = append(p.Identifiers, id)
		if id.Type == "NH" || strings.EqualFold(id.Authority, "NHS") {
			if p.NHSNumber != "" || p.NHSNumberProblem != "" {
				return p, s.errf(3, 1, id.Value, "two NHS numbers in one PID")
			}
			if n, err := record.NormaliseNHS(id.Value); err != nil {
				p.NHSNumberProblem = err.Error()
			} else {
				p.NHSNumber = n
			}
		}
	}
	if len(p.Identifiers) == 0 {
		return p, s.errf(3, 0, "", "at least one patient identifier is required")
	}
	// PID-5 may repeat (legal name, alias...): the legal name (type L), else the first.
	name := 0
	for i, rep := range s.Field(5) {
		if sub(rep, 7, 1) == "L" {
			name = i
			break
		}
	}
	if f := s.Field(5); len(f) > 0 {
		rep := f[name]
		p.Family = sub(rep, 1, 1)
		for _, c := range []int{2, 3} {
			if g := sub(rep, c, 1); g != "" {
				p.Given = append(p.Given, g)
			}
		}
		p.Prefix = sub(rep, 5, 1)
	}
	var err error
	if p.BirthDate, err = timestamp(s, 7); err != nil {
		return p, err
	}
	if !p.BirthDate.IsZero() && p.BirthDate.Precision < PrecisionDay {
		return p, s.errf(7, 0, p.BirthDate.Raw, "date of birth must give the day (YYYYMMDD)")
	}
	p.Sex = s.Str(8)
	switch p.Sex {
	case "", "M", "F", "U", "O", "A", "N":
	default:
		return p, s.errf(8, 0, p.Sex, "sex must be M, F, U, O, A or N (HL7 table 0001)")
	}
	if f := s.Field(11); len(f) > 0 {
		var parts []string
		for c := 1; c <= 5; c++ {
			if v := sub(f[0], c, 1); v != "" {
				parts = append(parts, v)
			}
		}
		p.Address = strings.Join(parts, ", ")
		p.Postcode = sub(f[0], 5, 1)
	}
	return p, nil
}

// sub is component c, subcomponent k of one repetition.
func sub(rep [][]string, c, k int) string {
	if c < 1 || c > len(rep) || k < 1 || k > len(rep[c-1]) {
		return ""
	}
	return rep[c-1][k-1]
}

func coded(s *Segment, n, rep int) Coded {
	g := func(c int) string { return s.Get(n, rep, c, 1) }
	return Coded{Code: g(1), Text: g(2), System: g(3), AltCode: g(4), AltText: g(5), AltSystem: g(6)}
}

func person(s *Segment, n int) Person {
	g := func(c int) string { return s.Get(n, 1, c, 1) }
	return Person{ID: g(1), Family: g(2), Given: strings.TrimSpace(g(3) + " " + g(4)), Prefix: g(6), Authority: g(9)}
}

var reportStatus = map[string]bool{"O": true, "I": true, "S": true, "A": true, "P": true, "C": true, "R": true, "F": true, "X": true, "Y": true, "Z": true}

func readOBR(s *Segment, orc *Segment) (Report, error) {
	r := Report{Line: s.Line}
	r.PlacerOrder = s.Comp(2, 1)
	r.FillerOrder = s.Comp(3, 1)
	if orc != nil {
		if r.PlacerOrder == "" {
			r.PlacerOrder = orc.Comp(2, 1)
		}
		if r.FillerOrder == "" {
			r.FillerOrder = orc.Comp(3, 1)
		}
	}
	if r.FillerOrder == "" {
		// The laboratory's number is what identifies the report, and what a
		// corrected report is matched to: without it a correction could not
		// find what it corrects.
		return r, s.errf(3, 0, "", "the filler order number (the laboratory's report number, OBR-3 or ORC-3) is required")
	}
	r.Service = coded(s, 4, 1)
	if r.Service.IsZero() {
		return r, s.errf(4, 0, "", "the universal service identifier (the test requested) is required")
	}
	var err error
	if r.Collected, err = timestamp(s, 7); err != nil {
		return r, err
	}
	if r.Received, err = timestamp(s, 14); err != nil {
		return r, err
	}
	if r.Issued, err = timestamp(s, 22); err != nil {
		return r, err
	}
	r.Specimen = Coded{Code: s.Get(15, 1, 1, 1), Text: s.Get(15, 1, 1, 2), System: s.Get(15, 1, 1, 3)}
	r.Requester = person(s, 16)
	if r.Requester.IsZero() && orc != nil {
		r.Requester = person(orc, 12)
	}
	r.Section = s.Str(24)
	r.Status = s.Str(25)
	if !reportStatus[r.Status] {
		return r, s.errf(25, 0, r.Status, "result status must be one of O I S A P C R F X Y Z (HL7 table 0123)")
	}
	return r, nil
}

var resultStatuses = map[string]bool{"C": true, "D": true, "F": true, "I": true, "N": true, "O": true, "P": true, "R": true, "S": true, "U": true, "W": true, "X": true}

func readOBX(s *Segment) (Result, error) {
	x := Result{Line: s.Line, SetID: s.Str(1), ValueType: s.Str(2), SubID: s.Str(4)}
	x.Code = coded(s, 3, 1)
	if x.Code.IsZero() {
		return x, s.errf(3, 0, "", "the observation identifier (which test) is required")
	}
	x.Status = s.Str(11)
	if !resultStatuses[x.Status] {
		return x, s.errf(11, 0, x.Status, "observation result status must be one of C D F I N O P R S U W X (HL7 table 0085)")
	}
	if err := readValue(s, &x); err != nil {
		return x, err
	}
	x.Units = coded(s, 6, 1)
	x.Range = s.Str(7)
	for _, rep := range s.Field(8) {
		if f := sub(rep, 1, 1); f != "" {
			x.Flags = append(x.Flags, f)
		}
	}
	var err error
	if x.Observed, err = timestamp(s, 14); err != nil {
		return x, err
	}
	x.Producer = s.Comp(15, 2)
	if x.Producer == "" {
		x.Producer = s.Comp(15, 1)
	}
	return x, nil
}

// readValue reads OBX-5 by its value type (OBX-2).
func readValue(s *Segment, x *Result) error {
	f := s.Field(5)
	if len(f) == 0 {
		if x.ValueType != "" && !valueTypes[x.ValueType] {
			return s.errf(2, 0, x.ValueType, "value type must be one of NM SN ST TX FT CE CWE")
		}
		return nil // no value: a heading row, or status X (cannot obtain)
	}
	switch x.ValueType {
	case "NM":
		if len(f) > 1 {
			return s.errf(5, 0, s.Raw(5), "a numeric value cannot repeat")
		}
		v := sub(f[0], 1, 1)
		n, err := number(v)
		if err != nil {
			return s.errf(5, 0, v, "not a number, and OBX-2 says NM (a value with < or > is sent as SN)")
		}
		x.Number, x.Text = &n, v
	case "SN":
		if len(f) > 1 {
			return s.errf(5, 0, s.Raw(5), "a structured numeric value cannot repeat")
		}
		return readSN(s, f[0], x)
	case "ST", "TX", "FT":
		t, err := text(s, 5)
		if err != nil {
			return err
		}
		x.Text = t
	case "CE", "CWE":
		if len(f) > 1 {
			return s.errf(5, 0, s.Raw(5), "one coded value per OBX")
		}
		c := coded(s, 5, 1)
		x.Coded = &c
		x.Text = c.Text
		if x.Text == "" {
			x.Text = c.Code
		}
	case "":
		return s.errf(2, 0, "", "the value type is required when OBX-5 holds a value")
	default:
		return s.errf(2, 0, x.ValueType, "value type must be one of NM SN ST TX FT CE CWE")
	}
	return nil
}

var valueTypes = map[string]bool{"NM": true, "SN": true, "ST": true, "TX": true, "FT": true, "CE": true, "CWE": true}

// number reads an HL7 NM: an optional sign, digits, an optional decimal
// point; no exponent, no thousands separator.
func number(v string) (float64, error) {
	t := v
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return 0, fmt.Errorf("not a number")
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("not a number")
	}
	return strconv.ParseFloat(v, 64)
}

// readSN reads a structured numeric: comparator ^ number ^ separator ^ number,
// as in "<^5" (less than 5), "^1^:^128" (a titre), "^10^-^20" (a range).
func readSN(s *Segment, rep [][]string, x *Result) error {
	cmp, n1, sep, n2 := sub(rep, 1, 1), sub(rep, 2, 1), sub(rep, 3, 1), sub(rep, 4, 1)
	switch cmp {
	case "", ">", "<", ">=", "<=", "=", "<>":
	default:
		return s.errf(5, 1, cmp, "comparator must be one of > < >= <= = <>")
	}
	switch sep {
	case "", "-", "+", "/", ".", ":":
	default:
		return s.errf(5, 3, sep, "separator must be one of - + / . :")
	}
	a, err := number(n1)
	if err != nil {
		return s.errf(5, 2, n1, "not a number")
	}
	if (sep == "") != (n2 == "") {
		return s.errf(5, 0, s.Raw(5), "a separator and a second number come together")
	}
	if n2 != "" {
		if _, err := number(n2); err != nil {
			return s.errf(5, 4, n2, "not a number")
		}
	}
	x.Text = cmp + n1 + sep + n2
	if sep == "" {
		x.Number = &a
		x.Comparator = cmp
		if cmp == "=" {
			x.Comparator = ""
		}
		if cmp == "<>" {
			x.Number = nil // "not equal to" is not a value
		}
	}
	return nil
}

func readNTE(s *Segment) (string, error) { return text(s, 3) }

// text reads a text field (ST, TX, FT): its repetitions are lines of one
// text. Text has no components, so an unescaped component or subcomponent
// separator in it is refused: reading only the first component would drop
// the rest of a comment unseen.
func text(s *Segment, n int) (string, error) {
	f := s.Field(n)
	lines := make([]string, 0, len(f))
	for _, rep := range f {
		if len(rep) > 1 {
			return "", s.errf(n, 0, s.Raw(n), "text holds an unescaped component separator (a sender escapes it as \\S\\)")
		}
		if len(rep) == 1 && len(rep[0]) > 1 {
			return "", s.errf(n, 0, s.Raw(n), "text holds an unescaped subcomponent separator (a sender escapes it as \\T\\)")
		}
		lines = append(lines, sub(rep, 1, 1))
	}
	return strings.Join(lines, "\n"), nil
}

func readSPM(s *Segment, r *Report) error {
	c := coded(s, 4, 1)
	if !c.IsZero() {
		r.Specimen = c
	}
	if r.Collected.IsZero() {
		// SPM-17 is a date range (DR); its first component is the start.
		ts, err := parseTimestamp(s.Get(17, 1, 1, 1))
		if err != nil {
			return s.errf(17, 1, s.Get(17, 1, 1, 1), "%v", err)
		}
		r.Collected = ts
	}
	if r.Received.IsZero() {
		ts, err := parseTimestamp(s.Str(18))
		if err != nil {
			return s.errf(18, 0, s.Str(18), "%v", err)
		}
		r.Received = ts
	}
	return nil
}

// timestamp reads field n's first component as an HL7 TS/DTM.
func timestamp(s *Segment, n int) (Timestamp, error) {
	v := s.Comp(n, 1)
	ts, err := parseTimestamp(v)
	if err != nil {
		return ts, s.errf(n, 0, v, "%v", err)
	}
	return ts, nil
}

var london = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

// parseTimestamp reads YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. A
// time without an offset is UK time, as UK laboratories send it.
func parseTimestamp(v string) (Timestamp, error) {
	ts := Timestamp{Raw: v}
	if v == "" {
		return ts, nil
	}
	body, loc := v, london
	if i := strings.IndexAny(v, "+-"); i >= 0 {
		body = v[:i]
		z := v[i+1:]
		if len(z) != 4 || !allDigits(z) {
			return ts, fmt.Errorf("time zone offset must be +HHMM or -HHMM")
		}
		h, _ := strconv.Atoi(z[:2])
		mi, _ := strconv.Atoi(z[2:])
		if h > 14 || mi > 59 {
			return ts, fmt.Errorf("time zone offset out of range")
		}
		off := h*3600 + mi*60
		if v[i] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	frac := ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(body) != 14 || len(frac) < 1 || len(frac) > 4 || !allDigits(frac) {
			return ts, fmt.Errorf("fractions of a second follow a full YYYYMMDDHHMMSS and have 1 to 4 digits")
		}
	}
	if !allDigits(body) {
		return ts, fmt.Errorf("a date must be digits, YYYYMMDD[HHMM[SS]]")
	}
	var prec Precision
	switch len(body) {
	case 4:
		prec = PrecisionYear
	case 6:
		prec = PrecisionMonth
	case 8:
		prec = PrecisionDay
	case 10:
		prec = PrecisionHour
	case 12:
		prec = PrecisionMinute
	case 14:
		prec = PrecisionSecond
	default:
		return ts, fmt.Errorf("a date must be YYYY, YYYYMM, YYYYMMDD, YYYYMMDDHH, YYYYMMDDHHMM or YYYYMMDDHHMMSS")
	}
	pad := body + "0101000000"[len(body)-4:] // default month and day 01, time 00:00:00
	t, err := time.ParseInLocation("20060102150405", pad, loc)
	if err != nil {
		return ts, fmt.Errorf("not a real date or time")
	}
	if frac != "" {
		f, _ := strconv.ParseFloat("0."+frac, 64)
		t = t.Add(time.Duration(f * float64(time.Second)))
	}
	if t.Year() < 1850 {
		return ts, fmt.Errorf("a date before 1850 is not plausible")
	}
	ts.Time, ts.Precision = t, prec
	return ts, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
