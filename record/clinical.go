package record

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Consultation is one encounter: free text and coded entries. Observations,
// problems and other records written in it carry its id.
type Consultation struct {
	Meta
	Type        string        `json:"type"` // surgery | telephone | video | home
	Start       time.Time     `json:"start"`
	End         time.Time     `json:"end,omitzero"`
	Clinician   string        `json:"clinician"`
	Location    string        `json:"location,omitempty"`
	ProblemID   string        `json:"problemId,omitempty"`
	ProblemLink string        `json:"problemLink,omitempty"` // new | ongoing
	History     string        `json:"history,omitempty"`
	Examination string        `json:"examination,omitempty"`
	Plan        string        `json:"plan,omitempty"`
	Text        string        `json:"text,omitempty"`
	Entries     []CodedEntry  `json:"entries,omitempty"`
	Linked      []LinkedEntry `json:"linked,omitempty"` // records written with it
}

// CodedEntry is a code written in a consultation, with optional text.
type CodedEntry struct {
	Code   Code   `json:"code"`
	Mapped *Code  `json:"mapped,omitempty"` // the SNOMED concept of a legacy Read/CTV3 code
	Text   string `json:"text,omitempty"`
}

// LinkedEntry names a record written in the same consultation.
type LinkedEntry struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

func (*Consultation) Kind() Kind { return KindConsultation }

// MergeLinks is a's links followed by those of b that a lacks (a itself is
// never appended to: it may be a stored record's).
func MergeLinks(a, b []LinkedEntry) []LinkedEntry {
	out := a
	for _, l := range b {
		if !slices.Contains(out, l) {
			if len(out) == len(a) {
				out = slices.Clone(a)
			}
			out = append(out, l)
		}
	}
	return out
}

// ConsultationTypes are the allowed consultation types.
var ConsultationTypes = []string{"surgery", "telephone", "video", "home"}

func (c *Consultation) Validate() error {
	if err := CheckStrings(c); err != nil {
		return err
	}
	if err := checkPatientRef(&c.Meta); err != nil {
		return err
	}
	if c.Type == "" {
		c.Type = "surgery"
	}
	if err := checkEnum("type", c.Type, ConsultationTypes...); err != nil {
		return err
	}
	if c.Start.IsZero() {
		return Invalid("start", "", "a start time is required")
	}
	if !c.End.IsZero() && c.End.Before(c.Start) {
		return Invalid("end", c.End.Format(time.RFC3339), "is before the start %s", c.Start.Format(time.RFC3339))
	}
	if c.Clinician == "" {
		return Invalid("clinician", "", "a clinician is required")
	}
	if c.ProblemLink != "" {
		if err := checkEnum("problemLink", c.ProblemLink, "new", "ongoing"); err != nil {
			return err
		}
	}
	for i, e := range c.Entries {
		if err := checkCode("entries["+itoa(i)+"].code", e.Code); err != nil {
			return err
		}
	}
	if c.Status == "" {
		c.Status = "final"
	}
	return nil
}

// Problem is an entry on the problem list.
type Problem struct {
	Meta
	Code           Code   `json:"code"`
	Onset          string `json:"onset,omitempty"`
	Significance   string `json:"significance"` // major | minor
	ResolvedOn     string `json:"resolvedOn,omitempty"`
	ConsultationID string `json:"consultationId,omitempty"`
}

func (*Problem) Kind() Kind { return KindProblem }

func (p *Problem) Validate() error {
	if err := CheckStrings(p); err != nil {
		return err
	}
	if err := checkPatientRef(&p.Meta); err != nil {
		return err
	}
	if err := checkCode("code", p.Code); err != nil {
		return err
	}
	if p.Significance == "" {
		p.Significance = "minor"
	}
	if err := checkEnum("significance", p.Significance, "major", "minor"); err != nil {
		return err
	}
	if p.Onset != "" {
		d, err := ParseDate("onset", p.Onset)
		if err != nil {
			return err
		}
		p.Onset = d
	}
	if p.ResolvedOn != "" {
		d, err := ParseDate("resolvedOn", p.ResolvedOn)
		if err != nil {
			return err
		}
		p.ResolvedOn = d
		if p.Status == "" || p.Status == "active" {
			p.Status = "past"
		}
	}
	if p.Status == "" {
		p.Status = "active"
	}
	if p.Status != StatusEnteredInError {
		return checkEnum("status", p.Status, "active", "past")
	}
	return nil
}

// Observation is a coded value. Blood pressure is one observation with
// Systolic and Diastolic.
type Observation struct {
	Meta
	Code           Code      `json:"code"`
	Value          *float64  `json:"value,omitempty"`
	ValueText      string    `json:"valueText,omitempty"`
	ValueCode      *Code     `json:"valueCode,omitempty"` // a coded result (smoking status, a coded lab finding)
	Unit           string    `json:"unit,omitempty"`
	Systolic       *float64  `json:"systolic,omitempty"`
	Diastolic      *float64  `json:"diastolic,omitempty"`
	Effective      time.Time `json:"effective"`
	ConsultationID string    `json:"consultationId,omitempty"`
	// Flags say why a stored value is not plainly valid: implausible for its
	// observable (an import stores it and flags it), or, from a laboratory
	// report, a value or unit that failed validation and was kept as given.
	Flags []ValueFlag `json:"flags,omitempty"`
	// Review is true while a flagged laboratory value waits for a clinician.
	Review bool `json:"review,omitempty"`
	// ReferenceRange and Interpretation are a laboratory's normal range and
	// abnormal flag (N, L, H, LL, HH, A…) as it sent them; Comparator
	// qualifies Value (<, <=, >=, >), Comment is the laboratory's comment.
	ReferenceRange *ReferenceRange `json:"referenceRange,omitempty"`
	Interpretation string          `json:"interpretation,omitempty"`
	Comparator     string          `json:"comparator,omitempty"`
	Comment        string          `json:"comment,omitempty"`
	// ReportID is the inbox report (record id) the value arrived in, and
	// Unreviewed is true until a clinician files that report: the value is
	// in the record (trends and prescribing checks see it) but no one has
	// looked at it yet.
	ReportID   string `json:"reportId,omitempty"`
	Unreviewed bool   `json:"unreviewed,omitempty"`
}

// Abnormal reports whether the laboratory flagged the value (or it lies
// outside the range sent).
func (o *Observation) Abnormal() bool {
	t := ReportTest{Flag: o.Interpretation, Value: o.Value, Range: o.ReferenceRange}
	return t.Abnormal()
}

// ValueFlag is one reason a value was flagged: Kind is implausible,
// impossible, unit (a unit not known for the observable) or unparsed.
type ValueFlag struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

func (*Observation) Kind() Kind { return KindObservation }

// IsBP reports whether this observation is a blood pressure.
func (o *Observation) IsBP() bool { return o.Systolic != nil || o.Diastolic != nil }

func (o *Observation) Validate() error {
	if err := CheckStrings(o); err != nil {
		return err
	}
	if err := checkPatientRef(&o.Meta); err != nil {
		return err
	}
	if err := checkCode("code", o.Code); err != nil {
		return err
	}
	for _, v := range []struct {
		name string
		v    *float64
	}{{"value", o.Value}, {"systolic", o.Systolic}, {"diastolic", o.Diastolic}} {
		// NaN passes every range check (each comparison is false): refuse it
		// and the infinities, which a parsed "NaN" or "1e999" becomes.
		if v.v != nil && (math.IsNaN(*v.v) || math.IsInf(*v.v, 0)) {
			return Invalid(v.name, ftoa(*v.v), "must be a number")
		}
	}
	if o.IsBP() {
		if o.Systolic == nil || o.Diastolic == nil {
			return Invalid("bp", "", "blood pressure needs systolic and diastolic")
		}
		if *o.Systolic < 40 || *o.Systolic > 300 {
			return Invalid("systolic", ftoa(*o.Systolic), "must be between 40 and 300 mmHg")
		}
		if *o.Diastolic < 20 || *o.Diastolic > 200 || *o.Diastolic >= *o.Systolic {
			return Invalid("diastolic", ftoa(*o.Diastolic), "must be between 20 and 200 mmHg and below the systolic")
		}
		if o.Unit == "" {
			o.Unit = "mm[Hg]"
		}
	} else if o.Value == nil && o.ValueText == "" && o.ValueCode == nil {
		return Invalid("value", "", "a value is required")
	}
	if o.ValueCode != nil {
		if err := checkCode("valueCode", *o.ValueCode); err != nil {
			return err
		}
	}
	if o.Effective.IsZero() {
		return Invalid("effective", "", "a date is required")
	}
	if o.Status == "" {
		o.Status = "final"
	}
	return nil
}

// Medication is an acute or repeat prescription. Each issue, re-authorisation,
// dose change or stop writes a new version.
type Medication struct {
	Meta
	Code             Code          `json:"code"` // dm+d VMP or AMP
	Type             string        `json:"type"` // acute | repeat
	Dose             string        `json:"dose"`
	Quantity         float64       `json:"quantity"`
	Unit             string        `json:"unit,omitempty"`
	DurationDays     int           `json:"durationDays,omitempty"`
	IssuesAuthorised int           `json:"issuesAuthorised,omitempty"`
	Issues           []Issue       `json:"issues,omitempty"`
	ReviewDate       string        `json:"reviewDate,omitempty"`
	AuthorisedOn     string        `json:"authorisedOn,omitempty"`
	Prescriber       string        `json:"prescriber"`
	StoppedOn        string        `json:"stoppedOn,omitempty"`
	StopReason       string        `json:"stopReason,omitempty"`
	Replaces         string        `json:"replaces,omitempty"` // the medication this one replaced (dose change)
	Answers          []AlertAnswer `json:"alertAnswers,omitempty"`
}

// MedElsewhere is the type of a medication recorded elsewhere (a posted or
// imported MedicationStatement, a reported MedicationRequest): history the
// prescribing checks take into account, never a prescription of this
// practice (it is not issued, re-authorised or changed here).
const MedElsewhere = "elsewhere"

// UnitNotStated is the unit of a medication whose quantity its source did not state.
const UnitNotStated = "(quantity not stated)"

// Issue is one issue of a prescription.
type Issue struct {
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Quantity float64   `json:"quantity"`
}

// AlertAnswer records how a clinician answered a safety alert.
type AlertAnswer struct {
	AlertID  string    `json:"alertId"`
	Severity string    `json:"severity"`
	Message  string    `json:"message"`
	Answer   string    `json:"answer"` // override | ack
	Reason   string    `json:"reason,omitempty"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

func (*Medication) Kind() Kind { return KindMedication }

func (m *Medication) Validate() error {
	if err := CheckStrings(m); err != nil {
		return err
	}
	if err := checkPatientRef(&m.Meta); err != nil {
		return err
	}
	if err := checkCode("code", m.Code); err != nil {
		return err
	}
	if m.Type == "" {
		m.Type = "acute"
	}
	if err := checkEnum("type", m.Type, "acute", "repeat", MedElsewhere); err != nil {
		return err
	}
	if strings.TrimSpace(m.Dose) == "" {
		return Invalid("dose", m.Dose, "dose instructions are required")
	}
	if m.Quantity <= 0 {
		return Invalid("quantity", ftoa(m.Quantity), "must be more than 0")
	}
	if m.Type == "repeat" && m.IssuesAuthorised < 1 {
		return Invalid("issues", itoa(m.IssuesAuthorised), "a repeat needs at least 1 authorised issue")
	}
	if m.ReviewDate != "" {
		d, err := ParseDate("reviewDate", m.ReviewDate)
		if err != nil {
			return err
		}
		m.ReviewDate = d
	}
	if m.Status == "" {
		m.Status = "active"
	}
	if m.Status != StatusEnteredInError {
		return checkEnum("status", m.Status, "active", "stopped", "completed")
	}
	return nil
}

// IssuesLeft is how many authorised issues remain on a repeat.
func (m *Medication) IssuesLeft() int {
	if m.Type != "repeat" {
		if len(m.Issues) == 0 {
			return 1
		}
		return 0
	}
	n := m.IssuesAuthorised - len(m.Issues)
	if n < 0 {
		n = 0
	}
	return n
}

// Allergy is an allergy or intolerance, or a recorded "no known drug allergy".
type Allergy struct {
	Meta
	Agent          Code   `json:"agent,omitzero"`    // causative substance or product
	Finding        *Code  `json:"finding,omitempty"` // e.g. Allergy to penicillin
	Category       string `json:"category,omitempty"`
	Type           string `json:"type,omitempty"` // allergy | intolerance
	Reaction       string `json:"reaction,omitempty"`
	Severity       string `json:"severity,omitempty"` // mild | moderate | severe
	NKDA           bool   `json:"nkda,omitempty"`
	Onset          string `json:"onset,omitempty"`
	ConsultationID string `json:"consultationId,omitempty"`
	// ResolvedOn and ResolvedReason: the allergy was de-labelled (status
	// resolved), e.g. after a negative penicillin challenge; it stays readable.
	ResolvedOn     string `json:"resolvedOn,omitempty"`
	ResolvedReason string `json:"resolvedReason,omitempty"`
}

func (*Allergy) Kind() Kind { return KindAllergy }

// NKDACode is SNOMED CT 409137002 |No known drug allergy|.
const NKDACode = "409137002"

func (a *Allergy) Validate() error {
	if err := CheckStrings(a); err != nil {
		return err
	}
	if err := checkPatientRef(&a.Meta); err != nil {
		return err
	}
	if !a.NKDA {
		if err := checkCode("agent", a.Agent); err != nil {
			return err
		}
	}
	if a.Severity != "" {
		if err := checkEnum("severity", a.Severity, "mild", "moderate", "severe"); err != nil {
			return err
		}
	}
	if a.Type == "" {
		a.Type = "allergy"
	}
	if err := checkEnum("type", a.Type, "allergy", "intolerance"); err != nil {
		return err
	}
	if a.Status == "" {
		a.Status = "active"
	}
	if a.Status != StatusEnteredInError {
		return checkEnum("status", a.Status, "active", "inactive", "resolved")
	}
	return nil
}

// Immunisation given.
type Immunisation struct {
	Meta
	Code  Code   `json:"code"`
	Date  string `json:"date"`
	Batch string `json:"batch,omitempty"`
	Site  string `json:"site,omitempty"`
	By    string `json:"by,omitempty"`
}

func (*Immunisation) Kind() Kind { return KindImmunisation }

func (im *Immunisation) Validate() error {
	if err := CheckStrings(im); err != nil {
		return err
	}
	if err := checkPatientRef(&im.Meta); err != nil {
		return err
	}
	if err := checkCode("code", im.Code); err != nil {
		return err
	}
	d, err := ParseDate("date", im.Date)
	if err != nil {
		return err
	}
	im.Date = d
	if im.Status == "" {
		im.Status = "completed"
	}
	return nil
}

// Appointment statuses.
var AppointmentStatuses = []string{"booked", "arrived", "seen", "did-not-attend", "cancelled"}

// Appointment is a booking with a clinician.
type Appointment struct {
	Meta
	Clinician string    `json:"clinician"`
	Start     time.Time `json:"start"`
	Minutes   int       `json:"minutes"`
	Mode      string    `json:"mode"` // in-person | telephone | video | home
	Reason    string    `json:"reason,omitempty"`
	SessionID string    `json:"sessionId,omitempty"`
	Extra     bool      `json:"extra,omitempty"` // booked outside a session
}

func (*Appointment) Kind() Kind { return KindAppointment }

// End is when the appointment ends.
func (a *Appointment) End() time.Time { return a.Start.Add(time.Duration(a.Minutes) * time.Minute) }

func (a *Appointment) Validate() error {
	if err := CheckStrings(a); err != nil {
		return err
	}
	if err := checkPatientRef(&a.Meta); err != nil {
		return err
	}
	if a.Clinician == "" {
		return Invalid("clinician", "", "a clinician is required")
	}
	if a.Start.IsZero() {
		return Invalid("at", "", "a start time is required")
	}
	if a.Minutes <= 0 || a.Minutes > 240 {
		return Invalid("length", itoa(a.Minutes)+"m", "must be between 1 and 240 minutes")
	}
	if a.Mode == "" {
		a.Mode = "in-person"
	}
	if err := checkEnum("mode", a.Mode, "in-person", "telephone", "video", "home"); err != nil {
		return err
	}
	if a.Status == "" {
		a.Status = "booked"
	}
	if a.Status != StatusEnteredInError {
		return checkEnum("status", a.Status, AppointmentStatuses...)
	}
	return nil
}

// Session is a clinician's block of bookable slots on one day.
type Session struct {
	Meta
	Clinician   string `json:"clinician"`
	Date        string `json:"date"`
	Start       string `json:"start"` // HH:MM UK local time
	End         string `json:"end"`
	SlotMinutes int    `json:"slotMinutes"`
}

func (*Session) Kind() Kind { return KindSession }

func (s *Session) Validate() error {
	if err := CheckStrings(s); err != nil {
		return err
	}
	if s.Clinician == "" {
		return Invalid("clinician", "", "a clinician is required")
	}
	d, err := ParseDate("date", s.Date)
	if err != nil {
		return err
	}
	s.Date = d
	st, err := time.Parse("15:04", s.Start)
	if err != nil {
		return Invalid("start", s.Start, "must be HH:MM")
	}
	en, err := time.Parse("15:04", s.End)
	if err != nil {
		return Invalid("end", s.End, "must be HH:MM")
	}
	if !en.After(st) {
		return Invalid("end", s.End, "must be after the start %s", s.Start)
	}
	if s.SlotMinutes < 5 || s.SlotMinutes > 120 {
		return Invalid("slot", itoa(s.SlotMinutes)+"m", "must be between 5 and 120 minutes")
	}
	if s.Status == "" {
		s.Status = "active"
	}
	s.PatientID = ""
	return nil
}

// Task is work for someone in the practice, usually about a patient.
type Task struct {
	Meta
	Text   string    `json:"text"`
	Due    string    `json:"due,omitempty"`
	To     string    `json:"to,omitempty"`
	DoneAt time.Time `json:"doneAt,omitzero"`
	DoneBy string    `json:"doneBy,omitempty"`
	// CancelReason says why a cancelled task will not be done.
	CancelReason string `json:"cancelReason,omitempty"`
}

func (*Task) Kind() Kind { return KindTask }

func (t *Task) Validate() error {
	if err := CheckStrings(t); err != nil {
		return err
	}
	if strings.TrimSpace(t.Text) == "" {
		return Invalid("text", t.Text, "task text is required")
	}
	if t.Due != "" {
		d, err := ParseDate("due", t.Due)
		if err != nil {
			return err
		}
		t.Due = d
	}
	if t.Status == "" {
		t.Status = "open"
	}
	if t.Status != StatusEnteredInError {
		return checkEnum("status", t.Status, "open", "done", "cancelled")
	}
	return nil
}

// Recall is a coded reminder that a patient is due something (e.g. a diabetes review).
type Recall struct {
	Meta
	Code   Code      `json:"code"`
	Due    string    `json:"due"`
	DoneAt time.Time `json:"doneAt,omitzero"`
	DoneBy string    `json:"doneBy,omitempty"`
}

func (*Recall) Kind() Kind { return KindRecall }

func (r *Recall) Validate() error {
	if err := CheckStrings(r); err != nil {
		return err
	}
	if err := checkPatientRef(&r.Meta); err != nil {
		return err
	}
	if err := checkCode("code", r.Code); err != nil {
		return err
	}
	d, err := ParseDate("due", r.Due)
	if err != nil {
		return err
	}
	r.Due = d
	if r.Status == "" {
		r.Status = "open"
	}
	if r.Status != StatusEnteredInError {
		return checkEnum("status", r.Status, "open", "done", "cancelled")
	}
	return nil
}
