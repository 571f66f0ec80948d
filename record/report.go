package record

import (
	"math"
	"strings"
	"time"
)

// KindReport is a laboratory report in the results inbox.
const KindReport Kind = "report"

// Report is one version of a laboratory report as it arrived (a FHIR UK
// Core pathology message, an HL7 v2 ORU^R01), and its journey through the
// results inbox: matched to a patient or held unmatched, then filed.
//
// Meta.PatientID stays empty: a report may arrive for no patient of ours
// and be matched later, and a stored record never moves between patients
// (the store refuses it). The patient it was matched to is MatchedPatient;
// the values it brought are observations of that patient (ReportTest.ObservationID).
//
// Meta.Status is where the report is in the inbox (ReportUnmatched,
// ReportUnfiled, ReportFiled, ReportSuperseded); LabStatus is the
// laboratory's own status of the report (final, corrected…).
type Report struct {
	Meta
	// Format is the message format it came in: "fhir" or "hl7v2".
	Format string `json:"format"`
	// MessageID is the message's own identifier (MessageHeader / MSH-10):
	// the same message delivered twice changes nothing.
	MessageID string `json:"messageId,omitempty"`
	// LabReportID is the laboratory's identifier of the report
	// (DiagnosticReport.identifier, OBR-3 filler order number) and
	// LabVersion the version of it this is (1, then 2 for a correction…):
	// a later version of the same id from the same sender supersedes it.
	LabReportID string `json:"labReportId"`
	LabVersion  int    `json:"labVersion"`
	// LabStatus is the laboratory's status of the report as sent:
	// registered, partial, preliminary, final, amended, corrected, cancelled.
	LabStatus string `json:"labStatus"`
	// Corrected is set on a report that supersedes an earlier version of the
	// same report: it comes back to the inbox marked CORRECTED.
	Corrected bool `json:"corrected,omitempty"`
	// Supersedes is the record id of the earlier version it replaced;
	// SupersededBy, on that earlier one, the id of the later.
	Supersedes   string `json:"supersedes,omitempty"`
	SupersededBy string `json:"supersededBy,omitempty"`

	Sender    Party  `json:"sender"`
	Requester Party  `json:"requester,omitzero"`
	Title     Code   `json:"title,omitzero"` // the report's code (e.g. full blood count), as sent
	Category  string `json:"category,omitempty"`
	// Specimen is what was examined and when it was taken; Issued when the
	// laboratory released the report.
	Specimen Specimen  `json:"specimen,omitzero"`
	Issued   time.Time `json:"issued,omitzero"`

	// SentPatient is the patient as the laboratory identified them,
	// kept exactly as sent whatever was matched.
	SentPatient SentPatient  `json:"sentPatient"`
	Tests       []ReportTest `json:"tests"`
	// Comments are the report's own comments (conclusion, notes).
	Comments []string `json:"comments,omitempty"`

	// MatchedPatient is the patient the report was filed to; MatchedBy how
	// ("nhs-number+birth-date" on arrival, else the user who matched it)
	// and MatchReason why, for a manual match.
	MatchedPatient string    `json:"matchedPatientId,omitempty"`
	MatchedBy      string    `json:"matchedBy,omitempty"`
	MatchedAt      time.Time `json:"matchedAt,omitzero"`
	MatchReason    string    `json:"matchReason,omitempty"`
	// Unmatched says why a report waits in the unmatched queue (no patient
	// with that NHS number, a date of birth, name or sex that differs…).
	Unmatched string `json:"unmatchedReason,omitempty"`
	// To is the clinician whose inbox the report is in (the requester when
	// they are a user of ours, else the patient's usual GP).
	To string `json:"to,omitempty"`

	// ReceivedAt is when this version reached the practice.
	ReceivedAt time.Time `json:"receivedAt"`

	Filing *Filing `json:"filing,omitempty"`
}

// Inbox states of a report (Report.Status).
const (
	ReportUnmatched  = "unmatched"
	ReportUnfiled    = "unfiled"
	ReportFiled      = "filed"
	ReportSuperseded = "superseded"
)

// Filing actions.
const (
	FileNormal      = "normal"  // normal, no action
	FileComment     = "comment" // filed with a comment for the patient or the team
	FileRoutineAppt = "routine-appointment"
	FileUrgent      = "urgent" // urgent: contact the patient today
	FileSpeakToGP   = "speak-to-gp"
	FileRepeat      = "repeat" // repeat in N weeks (a recall)
)

// FilingActions lists the filing actions, in the order they are offered.
var FilingActions = []string{FileNormal, FileComment, FileRoutineAppt, FileUrgent, FileSpeakToGP, FileRepeat}

// Filing is how a report left the inbox.
type Filing struct {
	Action string `json:"action"`
	// Comment is for the patient or the team (required by FileComment).
	Comment string `json:"comment,omitempty"`
	// For is who the comment is for: "patient" or "team".
	For   string `json:"for,omitempty"`
	Weeks int    `json:"weeks,omitempty"` // FileRepeat
	// TaskID and RecallID are what the filing made.
	TaskID   string    `json:"taskId,omitempty"`
	RecallID string    `json:"recallId,omitempty"`
	Rule     string    `json:"rule,omitempty"` // the filing rule that filed it, when one did
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Party is a sender or a requester as the message named them.
type Party struct {
	Name string `json:"name,omitempty"`
	// ODS is an organisation's ODS code; Code a person's identifier as sent
	// (GMC, GMP or a local code).
	ODS  string `json:"ods,omitempty"`
	Code string `json:"code,omitempty"`
	Org  string `json:"org,omitempty"` // a requester's organisation (name or ODS code)
}

// IsZero reports whether nothing was named.
func (p Party) IsZero() bool { return p == Party{} }

// Specimen is what the laboratory examined.
type Specimen struct {
	ID        string    `json:"id,omitempty"` // the laboratory's accession number
	Type      string    `json:"type,omitempty"`
	Collected time.Time `json:"collected,omitzero"`
	Received  time.Time `json:"received,omitzero"`
}

// IsZero reports whether nothing is known of the specimen.
func (s Specimen) IsZero() bool {
	return s.ID == "" && s.Type == "" && s.Collected.IsZero() && s.Received.IsZero()
}

// SentPatient is the patient's identification as the message carried it.
type SentPatient struct {
	NHSNumber string   `json:"nhsNumber,omitempty"`
	Family    string   `json:"family,omitempty"`
	Given     []string `json:"given,omitempty"`
	BirthDate string   `json:"birthDate,omitempty"`
	Sex       string   `json:"sex,omitempty"`
	Postcode  string   `json:"postcode,omitempty"`
	// LocalID is the laboratory's or hospital's own number for the patient.
	LocalID string `json:"localId,omitempty"`
}

// Name is "FAMILY, Given" as sent.
func (p SentPatient) Name() string {
	n := strings.ToUpper(p.Family)
	if g := strings.Join(p.Given, " "); g != "" {
		n += ", " + g
	}
	return n
}

// ReportTest is one result of a report, as sent. Codes are every code the
// laboratory gave (LOINC, SNOMED CT, its own), never checked against our
// tables: a report is never refused for what it carries.
type ReportTest struct {
	Name      string   `json:"name"`
	Codes     []Code   `json:"codes,omitempty"`
	Value     *float64 `json:"value,omitempty"`
	ValueText string   `json:"valueText,omitempty"`
	// Comparator qualifies Value as sent: <, <=, >=, >.
	Comparator string          `json:"comparator,omitempty"`
	Unit       string          `json:"unit,omitempty"`
	Range      *ReferenceRange `json:"referenceRange,omitempty"`
	// Flag is the laboratory's abnormal flag as sent (HL7 table 0078 and
	// FHIR ObservationInterpretation codes: N, L, H, LL, HH, A, AA…).
	Flag     string   `json:"flag,omitempty"`
	Comments []string `json:"comments,omitempty"`
	Status   string   `json:"status,omitempty"`
	// ObservationID is the record observation the value became (matched reports).
	ObservationID string `json:"observationId,omitempty"`
}

// ReferenceRange is a laboratory's normal range for a value, as sent.
type ReferenceRange struct {
	Low  *float64 `json:"low,omitempty"`
	High *float64 `json:"high,omitempty"`
	Text string   `json:"text,omitempty"`
}

// String is "3.5-5.3", "<5", ">90" or the range's text.
func (r *ReferenceRange) String() string {
	if r == nil {
		return ""
	}
	switch {
	case r.Low != nil && r.High != nil:
		return ftoa(*r.Low) + "-" + ftoa(*r.High)
	case r.High != nil:
		return "<" + ftoa(*r.High)
	case r.Low != nil:
		return ">" + ftoa(*r.Low)
	}
	return r.Text
}

// NormalFlags are the abnormal-flag codes that say a value is normal
// (no flag sent is also normal).
var NormalFlags = map[string]bool{"": true, "N": true}

// Abnormal reports whether the laboratory flagged the result: any flag but
// "normal". A value outside its sent range counts too, whatever the flag said
// (a laboratory that forgot the flag does not make a result normal).
func (t *ReportTest) Abnormal() bool {
	if !NormalFlags[strings.ToUpper(strings.TrimSpace(t.Flag))] {
		return true
	}
	if t.Value != nil && t.Range != nil {
		if t.Range.Low != nil && *t.Value < *t.Range.Low {
			return true
		}
		if t.Range.High != nil && *t.Value > *t.Range.High {
			return true
		}
	}
	return false
}

// Abnormal reports whether any result of the report is abnormal.
func (r *Report) Abnormal() bool {
	for i := range r.Tests {
		if r.Tests[i].Abnormal() {
			return true
		}
	}
	return false
}

// HasComments reports whether the report or any of its results carries a comment.
func (r *Report) HasComments() bool {
	if len(r.Comments) > 0 {
		return true
	}
	for _, t := range r.Tests {
		if len(t.Comments) > 0 {
			return true
		}
	}
	return false
}

// InInbox reports whether the report still waits for someone: unmatched or unfiled.
func (r *Report) InInbox() bool {
	return r.Status == ReportUnmatched || r.Status == ReportUnfiled
}

func (*Report) Kind() Kind { return KindReport }

func (r *Report) Validate() error {
	if err := CheckStrings(r); err != nil {
		return err
	}
	if err := checkFHIRExtra(&r.Meta); err != nil {
		return err
	}
	r.PatientID = ""
	if err := checkEnum("format", r.Format, "fhir", "hl7v2"); err != nil {
		return err
	}
	if strings.TrimSpace(r.LabReportID) == "" {
		return Invalid("labReportId", r.LabReportID, "the laboratory's report identifier is required")
	}
	if r.LabVersion < 0 {
		// 0 is "not said" (HL7 v2 has no report version): the inbox
		// numbers it, and a changed report with no version is a correction.
		return Invalid("labVersion", itoa(r.LabVersion), "must be 1 or more")
	}
	if r.Sender.IsZero() {
		return Invalid("sender", "", "the sending laboratory is required")
	}
	if len(r.Tests) == 0 {
		return Invalid("tests", "", "a report needs at least one result")
	}
	for i := range r.Tests {
		t := &r.Tests[i]
		if t.Value != nil && (math.IsNaN(*t.Value) || math.IsInf(*t.Value, 0)) {
			return Invalid("tests["+itoa(i)+"].value", ftoa(*t.Value), "must be a number")
		}
		if strings.TrimSpace(t.Name) == "" && len(t.Codes) == 0 {
			return Invalid("tests["+itoa(i)+"].name", "", "a result needs a name or a code")
		}
	}
	if r.SentPatient.BirthDate != "" {
		if _, err := ParseDate("sentPatient.birthDate", r.SentPatient.BirthDate); err != nil {
			return err
		}
	}
	if r.Status == "" {
		r.Status = ReportUnmatched
		if r.MatchedPatient != "" {
			r.Status = ReportUnfiled
		}
	}
	if err := checkEnum("status", r.Status, ReportUnmatched, ReportUnfiled, ReportFiled, ReportSuperseded, StatusEnteredInError); err != nil {
		return err
	}
	if r.Status == ReportFiled {
		if r.Filing == nil {
			return Invalid("filing", "", "a filed report needs its filing")
		}
		if err := checkEnum("filing.action", r.Filing.Action, FilingActions...); err != nil {
			return err
		}
	}
	if (r.Status == ReportUnfiled || r.Status == ReportFiled) && r.MatchedPatient == "" {
		return Invalid("matchedPatientId", "", "a %s report needs its patient", r.Status)
	}
	return nil
}

// Clone is a deep copy of the report (nothing shared with r).
func (r *Report) Clone() *Report {
	c := *r
	c.FHIRExtra = append([]byte(nil), r.FHIRExtra...)
	if r.Retraction != nil {
		x := *r.Retraction
		c.Retraction = &x
	}
	c.SentPatient.Given = append([]string(nil), r.SentPatient.Given...)
	c.Comments = append([]string(nil), r.Comments...)
	if r.Filing != nil {
		f := *r.Filing
		c.Filing = &f
	}
	c.Tests = make([]ReportTest, len(r.Tests))
	for i, t := range r.Tests {
		t.Codes = append([]Code(nil), t.Codes...)
		t.Comments = append([]string(nil), t.Comments...)
		if t.Value != nil {
			v := *t.Value
			t.Value = &v
		}
		if t.Range != nil {
			rr := *t.Range
			if rr.Low != nil {
				v := *rr.Low
				rr.Low = &v
			}
			if rr.High != nil {
				v := *rr.High
				rr.High = &v
			}
			t.Range = &rr
		}
		c.Tests[i] = t
	}
	return &c
}
