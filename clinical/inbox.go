package clinical

// The results inbox (design.md §3, issue 22). Laboratory reports arrive
// through DeliverReport (a feed acting as an `interface` user, or a
// clinician or admin running `inbox import`), are matched to a patient by
// NHS number and date of birth, and their values enter the record at once
// as observations marked unreviewed. A report leaves the inbox only by a
// filing action (FileReport), one service call each, audited.
//
// Decisions where the issue is silent:
//   - A report is matched on arrival only when the NHS number sent is one
//     of ours AND the date of birth is the same AND the family name and
//     the first given name agree (case, spaces, hyphens and apostrophes
//     aside; an initial agrees with its name) AND the sex agrees when both
//     are known. Anything else waits in the unmatched queue with the
//     reason. Never by name alone: a report without a valid NHS number is
//     always unmatched.
//   - A report's record id is derived from (sender, laboratory report id,
//     version), so a message delivered twice changes nothing, and the
//     earlier version of a correction is found without a scan.
//   - A correction (a later version of the same report id from the same
//     sender, or the same version re-sent with different content and a
//     corrected/amended status) retracts the earlier values (entered in
//     error, "superseded by corrected report"), marks the earlier report
//     superseded, and comes to the inbox CORRECTED even when the earlier
//     one was filed. It is matched afresh, by the same rules.
//   - A report whose dates cannot belong to the matched patient (taken
//     before their birth, after their death, or in the future) is not
//     written to that record: it waits unmatched, with the reason.
//   - Addressed to the requester when the requester's code or name is one
//     of our clinicians (registration number or user name), else the
//     patient's usual GP, else to any clinician.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Delivery outcomes.
const (
	DeliveredMatched   = "matched"
	DeliveredUnmatched = "unmatched"
	DeliveredDuplicate = "duplicate" // the same report version again: nothing written
	DeliveredAutoFiled = "auto-filed"
)

// Delivery is what delivering one report did.
type Delivery struct {
	Report  *record.Report `json:"report"`
	Outcome string         `json:"outcome"`
	// Corrected: it superseded an earlier version of the same report.
	Corrected bool `json:"corrected,omitempty"`
	// Observations is how many values entered the patient's record.
	Observations int `json:"observations"`
}

// reportNS is the namespace of report record ids (derived, see above).
var reportNS = uuid.MustParse("5b0c1f0e-22a1-4c55-9e1a-7a3f1d2c0b22")

// senderKey is who sent a report, for its identity: the ODS code, else the name.
func senderKey(p record.Party) string {
	if p.ODS != "" {
		return strings.ToUpper(strings.TrimSpace(p.ODS))
	}
	return strings.ToUpper(strings.Join(strings.Fields(p.Name), " "))
}

// ReportRecordID is the record id of a version of a laboratory's report.
func ReportRecordID(sender record.Party, labReportID string, version int) string {
	return uuid.NewSHA1(reportNS, []byte(senderKey(sender)+"\x00"+strings.TrimSpace(labReportID)+"\x00"+itoa(version))).String()
}

// DeliverReport takes one report into the inbox (see the package comment
// above for matching and corrections). The report is never refused for its
// values, units or codes; it is refused only when it is not a report (no
// identifier, no sender, no results).
func (s *Service) DeliverReport(ctx context.Context, in *record.Report) (*Delivery, error) {
	if ops := s.inboxOps(); ops != nil {
		ds, errs, err := s.DeliverReports(ctx, []*record.Report{in})
		if err != nil {
			return nil, err
		}
		return ds[0], errs[0]
	}
	if err := s.require(ctx, ActDeliverResults, ""); err != nil {
		return nil, err
	}
	r, err := s.normaliseReport(in)
	if err != nil {
		return nil, err
	}
	var d *Delivery
	err = s.store().Update(ctx, func(tx store.WTx) error {
		var err error
		d, err = s.deliverIn(tx, r, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.afterCommit(func() { s.p.inbox.invalidate() })
	return d, nil
}

// DeliverReports takes many reports in one transaction (bulk import):
// each is delivered as DeliverReport would, and a report refused writes
// nothing while the others are written. It returns one Delivery or error
// per report, in order.
func (s *Service) DeliverReports(ctx context.Context, in []*record.Report) ([]*Delivery, []error, error) {
	if ops := s.inboxOps(); ops != nil {
		var out inboxDeliveries
		if err := callInbox(ctx, ops, "deliver", in, &out); err != nil {
			return nil, nil, err
		}
		if len(out.Deliveries) != len(in) || len(out.Errors) != len(in) {
			return nil, nil, fmt.Errorf("$inbox deliver: %d answers for %d reports", len(out.Deliveries), len(in))
		}
		errs := make([]error, len(in))
		for i, e := range out.Errors {
			if e != "" {
				errs[i] = record.Invalid("report", "", "%s", e)
			}
		}
		return out.Deliveries, errs, nil
	}
	if err := s.require(ctx, ActDeliverResults, ""); err != nil {
		return nil, nil, err
	}
	ds := make([]*Delivery, len(in))
	errs := make([]error, len(in))
	rs := make([]*record.Report, len(in))
	for i, x := range in {
		rs[i], errs[i] = s.normaliseReport(x)
	}
	err := s.store().Update(ctx, func(tx store.WTx) error {
		uc := &userCache{}
		for i, r := range rs {
			if errs[i] != nil {
				continue
			}
			// Every check is made before the first write of a report, so a
			// refused one leaves nothing in the transaction.
			ds[i], errs[i] = s.deliverIn(tx, r, uc)
			if errs[i] != nil && !isRefusal(errs[i]) {
				return errs[i]
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.afterCommit(func() { s.p.inbox.invalidate() })
	return ds, errs, nil
}

func isRefusal(err error) bool {
	var ve *record.ValidationError
	return errors.As(err, &ve)
}

// normaliseReport copies what the message said, and validates it as a report.
func (s *Service) normaliseReport(in *record.Report) (*record.Report, error) {
	if in == nil {
		return nil, record.Invalid("report", "", "no report")
	}
	r := *in.Clone()
	extra := r.FHIRExtra
	r.Meta = record.Meta{FHIRExtra: extra}
	r.MatchedPatient, r.MatchedBy, r.MatchReason, r.Unmatched, r.To = "", "", "", "", ""
	r.MatchedAt = time.Time{}
	r.Filing, r.Supersedes, r.SupersededBy, r.Corrected = nil, "", "", false
	r.Status = record.ReportUnmatched
	for i := range r.Tests {
		r.Tests[i].ObservationID = ""
	}
	if n, err := record.NormaliseNHS(r.SentPatient.NHSNumber); err == nil {
		r.SentPatient.NHSNumber = n
	}
	// A laboratory's text is never a reason to refuse its report: what
	// CheckStrings would refuse is shown escaped, not dropped.
	record.MakeSafe(&r)
	given := r.LabVersion // 0: not sent (deliverIn decides it)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r.LabVersion = given
	return &r, nil
}

// latestReport is the latest stored version of a laboratory report (nil when none).
func latestReport(tx store.Tx, sender record.Party, labID string) (*record.Report, error) {
	held, err := heldReports(tx, sender, labID)
	if err != nil || len(held) == 0 {
		return nil, err
	}
	return held[len(held)-1], nil
}

// heldReports are every stored version of a laboratory report, oldest first.
func heldReports(tx store.Tx, sender record.Party, labID string) ([]*record.Report, error) {
	var out []*record.Report
	for v := 1; ; v++ {
		e, err := tx.Get(record.KindReport, ReportRecordID(sender, labID, v))
		if record.IsNotFound(err) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e.(*record.Report))
	}
}

// sameContent reports whether two versions say the same (a re-sent message).
func sameContent(a, b *record.Report) bool {
	if a.MessageID != "" && a.MessageID == b.MessageID {
		return true
	}
	type content struct {
		S  string
		P  record.SentPatient
		T  []record.ReportTest
		C  []string
		Sp record.Specimen
	}
	strip := func(ts []record.ReportTest) []record.ReportTest {
		out := append([]record.ReportTest(nil), ts...)
		for i := range out {
			out[i].ObservationID = ""
		}
		return out
	}
	x, _ := json.Marshal(content{a.LabStatus, a.SentPatient, strip(a.Tests), a.Comments, a.Specimen})
	y, _ := json.Marshal(content{b.LabStatus, b.SentPatient, strip(b.Tests), b.Comments, b.Specimen})
	return string(x) == string(y)
}

// deliverIn delivers one normalised report inside a write transaction.
func (s *Service) deliverIn(tx store.WTx, r *record.Report, uc *userCache) (*Delivery, error) {
	prev, err := latestReport(tx, r.Sender, r.LabReportID)
	if err != nil {
		return nil, err
	}
	switch {
	case prev == nil:
		if r.LabVersion < 1 {
			r.LabVersion = 1
		}
	case r.LabVersion > 0 && r.LabVersion <= prev.LabVersion:
		// A version we have (or an older one arriving late): if it is the
		// one we hold and says the same, nothing to do; an older version
		// never replaces a newer one.
		if r.LabVersion == prev.LabVersion && !sameContent(r, prev) {
			return nil, record.Invalid("labVersion", itoa(r.LabVersion),
				"report %s version %d is already held with different content; a correction needs a later version", r.LabReportID, r.LabVersion)
		}
		return &Delivery{Report: prev, Outcome: DeliveredDuplicate}, nil
	case r.LabVersion == 0:
		// No version said (HL7 v2 has none): a message re-sent late, after
		// its correction, must not come back as a "correction" with the old
		// values. Any held version that says the same is this one; one
		// issued before the latest held is an older version, refused.
		held, err := heldReports(tx, r.Sender, r.LabReportID)
		if err != nil {
			return nil, err
		}
		for _, h := range held {
			if sameContent(r, h) {
				return &Delivery{Report: h, Outcome: DeliveredDuplicate}, nil
			}
		}
		if !r.Issued.IsZero() && !prev.Issued.IsZero() && r.Issued.Before(prev.Issued) {
			return nil, record.Invalid("issued", r.Issued.UTC().Format(time.RFC3339),
				"report %s was issued before the version already held (issued %s): an older version never replaces a newer one",
				r.LabReportID, prev.Issued.UTC().Format(time.RFC3339))
		}
		r.LabVersion = prev.LabVersion + 1
		r.Corrected = true
	default:
		if r.LabVersion == 0 {
			r.LabVersion = prev.LabVersion + 1
		}
		r.Corrected = true
	}
	r.ID = ReportRecordID(r.Sender, r.LabReportID, r.LabVersion)
	now := s.p.now().UTC().Truncate(time.Millisecond)
	r.ReceivedAt = now
	if prev != nil {
		r.Supersedes = prev.ID
	}

	// Match, and compose the values it brings.
	p, why, err := matchReport(tx, r)
	if err != nil {
		return nil, err
	}
	var obs []*record.Observation
	if p != nil {
		obs, why = s.reportObservations(p, r)
	}
	if p != nil && why == "" {
		r.MatchedPatient, r.MatchedBy, r.MatchedAt, r.Status = p.ID, MatchedOnArrival, now, record.ReportUnfiled
		r.To = addressee(tx, r, p, uc)
	} else {
		r.Status, r.Unmatched, obs = record.ReportUnmatched, why, nil
	}
	s.stamp(&r.Meta)
	if err := r.Validate(); err != nil {
		return nil, err
	}

	// All checked: write. The earlier version first (its values retracted).
	if prev != nil {
		if err := s.supersede(tx, prev, r); err != nil {
			return nil, err
		}
	}
	for _, o := range obs {
		if err := tx.Put(o); err != nil {
			return nil, err
		}
		if err := tx.Append(s.event("create", record.KindObservation, o.ID, o.PatientID, o.Version)); err != nil {
			return nil, err
		}
	}
	if err := tx.Put(r); err != nil {
		return nil, err
	}
	ev := s.event("deliver", record.KindReport, r.ID, r.MatchedPatient, r.Version)
	ev.Reason = r.Status
	if r.Unmatched != "" {
		ev.Reason += ": " + r.Unmatched
	}
	if r.Corrected {
		ev.Reason += " (corrects " + prev.ID + ")"
	}
	if err := tx.Append(ev); err != nil {
		return nil, err
	}
	d := &Delivery{Report: r, Outcome: DeliveredMatched, Corrected: r.Corrected, Observations: len(obs)}
	if r.Status == record.ReportUnmatched {
		d.Outcome = DeliveredUnmatched
	} else if rule := s.autoFileRule(tx, r); rule != nil {
		if err := s.autoFile(tx, r, rule); err != nil {
			return nil, err
		}
		d.Outcome = DeliveredAutoFiled
	}
	return d, nil
}

// MatchedOnArrival is Report.MatchedBy for a report matched as it arrived.
const MatchedOnArrival = "nhs-number+birth-date"

// supersede retracts an earlier version's values and marks it superseded.
func (s *Service) supersede(tx store.WTx, prev, next *record.Report) error {
	why := fmt.Sprintf("superseded by corrected report %s version %d", next.LabReportID, next.LabVersion)
	for i, t := range prev.Tests {
		if t.ObservationID == "" {
			continue
		}
		e, err := tx.Get(record.KindObservation, t.ObservationID)
		if record.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		o := e.(*record.Observation)
		if o.Status == record.StatusEnteredInError {
			continue
		}
		o.Status = record.StatusEnteredInError
		o.Unreviewed = false
		o.Retraction = &record.Retraction{Reason: why, By: s.user.Name, At: s.p.now().UTC().Truncate(time.Millisecond)}
		s.stamp(&o.Meta)
		if err := tx.Put(o); err != nil {
			return fmt.Errorf("supersede result %d of report %s: %w", i+1, prev.ID, err)
		}
		ev := s.event("retract", record.KindObservation, o.ID, o.PatientID, o.Version)
		ev.Reason = why
		if err := tx.Append(ev); err != nil {
			return err
		}
	}
	prev.Status, prev.SupersededBy = record.ReportSuperseded, next.ID
	s.stamp(&prev.Meta)
	if err := tx.Put(prev); err != nil {
		return err
	}
	ev := s.event("update", record.KindReport, prev.ID, prev.MatchedPatient, prev.Version)
	ev.Reason = why
	return tx.Append(ev)
}

// matchReport finds the patient a report is for, or says why not.
func matchReport(tx store.Tx, r *record.Report) (*record.Patient, string, error) {
	sp := r.SentPatient
	if sp.NHSNumber == "" {
		return nil, "no NHS number was sent", nil
	}
	if !record.ValidNHS(sp.NHSNumber) {
		return nil, fmt.Sprintf("the NHS number sent %q is not a valid NHS number", sp.NHSNumber), nil
	}
	p, err := tx.PatientByNHS(sp.NHSNumber)
	if record.IsNotFound(err) {
		return nil, "no patient here has NHS number " + record.FormatNHS(sp.NHSNumber), nil
	}
	if err != nil {
		return nil, "", err
	}
	if why := identityMismatch(sp, p); why != "" {
		return nil, why, nil
	}
	return p, "", nil
}

// identityMismatch says how the identification sent differs from the
// patient with that NHS number ("" when it agrees).
func identityMismatch(sp record.SentPatient, p *record.Patient) string {
	nhs := record.FormatNHS(p.NHSNumber)
	if sp.BirthDate == "" {
		return "no date of birth was sent to confirm NHS number " + nhs
	}
	if sp.BirthDate != p.BirthDate {
		return fmt.Sprintf("date of birth sent %s differs from %s on the record with NHS number %s", sp.BirthDate, p.BirthDate, nhs)
	}
	if sp.Family != "" && nameKey(sp.Family) != nameKey(p.Family) {
		return fmt.Sprintf("family name sent %q differs from %q on the record with NHS number %s", sp.Family, p.Family, nhs)
	}
	if len(sp.Given) > 0 && !givenAgrees(sp.Given[0], p.Given) {
		return fmt.Sprintf("given name sent %q differs from %q on the record with NHS number %s", sp.Given[0], strings.Join(p.Given, " "), nhs)
	}
	if a, b := sexKey(sp.Sex), sexKey(p.Sex); a != "" && b != "" && a != b {
		return fmt.Sprintf("sex sent %q differs from %q on the record with NHS number %s", sp.Sex, p.Sex, nhs)
	}
	return ""
}

// nameKey folds a name for comparison: letters only, upper case.
func nameKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

func givenAgrees(sent string, given []string) bool {
	k := nameKey(sent)
	if k == "" {
		return true
	}
	for _, g := range given {
		gk := nameKey(g)
		if gk == k || (len([]rune(k)) == 1 && strings.HasPrefix(gk, k)) {
			return true
		}
	}
	return false
}

func sexKey(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "m", "male":
		return "male"
	case "f", "female":
		return "female"
	}
	return "" // unknown, other, not stated: nothing to compare
}

// addressee is whose inbox a matched report goes to.
func addressee(tx store.Tx, r *record.Report, p *record.Patient, uc *userCache) string {
	if r.Requester.Code == "" && r.Requester.Name == "" {
		return p.UsualGP
	}
	if users, err := uc.get(tx); err == nil {
		for _, u := range users {
			if u.Disabled || (u.Role != record.RoleGP && u.Role != record.RoleNurse) {
				continue
			}
			if (r.Requester.Code != "" && (strings.EqualFold(u.RegNumber, r.Requester.Code) || u.Name == strings.ToLower(r.Requester.Code))) ||
				(r.Requester.Name != "" && u.Name == strings.ToLower(strings.TrimSpace(r.Requester.Name))) {
				return u.Name
			}
		}
	}
	return p.UsualGP
}

// userCache reads the practice's users once per transaction of deliveries.
type userCache struct {
	users []record.User
	err   error
	done  bool
}

func (c *userCache) get(tx store.Tx) ([]record.User, error) {
	if c == nil {
		return tx.Users()
	}
	if !c.done {
		c.users, c.err = tx.Users()
		c.done = true
	}
	return c.users, c.err
}

// labLocalSystem is the code system of a result the laboratory sent
// without a code: its name as sent is the code.
const labLocalSystem = "https://opengpsoc.org/fhir/CodeSystem/lab-test-name"

// reportObservations makes the observations a matched report's values
// become, or says why they cannot belong to this patient.
func (s *Service) reportObservations(p *record.Patient, r *record.Report) ([]*record.Observation, string) {
	when := r.Specimen.Collected
	if when.IsZero() {
		when = r.Issued
	}
	if when.IsZero() {
		when = s.p.now()
	}
	var out []*record.Observation
	for i := range r.Tests {
		t := &r.Tests[i]
		if strings.EqualFold(t.Status, record.StatusEnteredInError) {
			// The laboratory withdrew this result (HL7 OBX-11 D or W): it is
			// shown in the report, never entered in the record as a value.
			continue
		}
		id, _ := uuid.NewV7()
		o := &record.Observation{
			Meta: record.Meta{ID: id.String(), PatientID: p.ID, Status: "final"},
			Code: observationCode(t), Value: t.Value, ValueText: t.ValueText, Unit: t.Unit,
			Effective: when.UTC(), ReferenceRange: t.Range, Interpretation: t.Flag, Comparator: t.Comparator,
			Comment: strings.Join(t.Comments, "\n"), ReportID: r.ID, Unreviewed: true,
		}
		if o.Value == nil && o.ValueText == "" && o.ValueCode == nil {
			o.ValueText = "(no value sent)"
		}
		switch strings.ToLower(t.Status) {
		case "preliminary", "amended", "corrected", "final", "registered", "cancelled":
			o.Status = strings.ToLower(t.Status)
		}
		s.stamp(&o.Meta)
		// The laboratory is never refused for its values, units or codes.
		_ = CheckObservation(o, ValuesLabReport)
		if err := o.Validate(); err != nil {
			return nil, fmt.Sprintf("result %d (%s) cannot be recorded: %v", i+1, t.Name, err)
		}
		if err := CheckEntryDates(p, o, s.p.now()); err != nil {
			return nil, fmt.Sprintf("the specimen date does not fit the record with NHS number %s: %v", record.FormatNHS(p.NHSNumber), err)
		}
		t.ObservationID = o.ID
		out = append(out, o)
	}
	return out, ""
}

// observationCode is the code a result is recorded under: the first
// SNOMED CT code sent that is a valid identifier, else the first code sent
// as given (LOINC, a laboratory's own), else the name as sent.
func observationCode(t *record.ReportTest) record.Code {
	for _, c := range t.Codes {
		if c.System == record.SystemSNOMED && record.ValidSCTID(c.Code) {
			if c.Display == "" {
				c.Display = t.Name
			}
			return c
		}
	}
	for _, c := range t.Codes {
		if c.Code != "" && c.System != "" && c.System != record.SystemSNOMED {
			if c.Display == "" {
				c.Display = t.Name
			}
			c.Foreign = true
			return c
		}
	}
	return record.Code{System: labLocalSystem, Code: strings.TrimSpace(t.Name), Display: t.Name, Foreign: true}
}
