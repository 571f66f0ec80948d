package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// FilingInput is a clinician's filing of one report.
type FilingInput struct {
	ReportID string
	// Action is one of record.FilingActions.
	Action string
	// Comment is for the patient or the team (required by record.FileComment,
	// kept with any other action).
	Comment string
	// For is who the comment is for: "patient" or "team" (default team).
	For string
	// Weeks is when the test is to be repeated (record.FileRepeat), 1 to 104.
	Weeks int
	// RecallSystem and RecallCode code the recall of a repeat; by default
	// the report's own code, else its first result's SNOMED CT code.
	RecallSystem, RecallCode string
	IfVersion                int
}

// FilingResult is what a filing wrote.
type FilingResult struct {
	Report *record.Report `json:"report"`
	Task   *record.Task   `json:"task,omitempty"`
	Recall *record.Recall `json:"recall,omitempty"`
}

// Days from filing to a task's due date, by action.
var filingDue = map[string]int{record.FileRoutineAppt: 14, record.FileUrgent: 0, record.FileSpeakToGP: 2}

// FileReport files a report: it leaves the inbox, its values are marked
// reviewed, and the action's task or recall is made through the task and
// recall services, all in one transaction with one audit event each.
func (s *Service) FileReport(ctx context.Context, in FilingInput) (*FilingResult, error) {
	if ops := s.inboxOps(); ops != nil {
		var out FilingResult
		if err := callInbox(ctx, ops, "file", in, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if err := s.require(ctx, ActInbox, ""); err != nil {
		return nil, err
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if err := checkFiling(&in); err != nil {
		return nil, err
	}
	var res *FilingResult
	err := s.Unit(ctx, func(u *Service) error {
		var err error
		res, err = u.fileIn(ctx, in, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func checkFiling(in *FilingInput) error {
	if err := checkEnumIn("action", in.Action, record.FilingActions); err != nil {
		return err
	}
	if in.For == "" {
		in.For = "team"
	}
	if err := checkEnumIn("for", in.For, []string{"patient", "team"}); err != nil {
		return err
	}
	if in.Action == record.FileComment && in.Comment == "" {
		return record.Invalid("comment", "", "filing with a comment needs the comment")
	}
	if in.Action == record.FileRepeat {
		if in.Weeks < 1 || in.Weeks > 104 {
			return record.Invalid("weeks", itoa(in.Weeks), "a repeat is due in 1 to 104 weeks")
		}
	} else if in.Weeks != 0 {
		return record.Invalid("weeks", itoa(in.Weeks), "only a repeat takes weeks")
	}
	return nil
}

func checkEnumIn(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return record.Invalid(field, v, "must be one of %s", strings.Join(allowed, ", "))
}

// waitingReport reads a report that can be filed (inside a transaction).
func waitingReport(tx store.Tx, id string, ifVersion int) (*record.Report, error) {
	e, err := findEntry(tx, id, []record.Kind{record.KindReport})
	if err != nil {
		return nil, err
	}
	r := e.(*record.Report)
	if ifVersion != 0 && ifVersion != r.Version {
		return nil, staleConflict(r, ifVersion)
	}
	switch r.Status {
	case record.ReportUnfiled:
		return r, nil
	case record.ReportUnmatched:
		return nil, record.Invalid("report", r.ID, "is unmatched (%s): match it to a patient first (inbox match)", r.Unmatched)
	case record.ReportFiled:
		return nil, &record.ConflictError{What: "report " + r.ID, Msg: "is already filed (" + r.Filing.Action + ")", By: r.Filing.By, At: r.Filing.At}
	case record.ReportSuperseded:
		return nil, &record.ConflictError{What: "report " + r.ID, Msg: "was superseded by corrected report " + r.SupersededBy + ": file that one", By: r.RecordedBy, At: r.RecordedAt}
	}
	return nil, &record.ConflictError{What: "report " + r.ID, Msg: "is " + r.Status}
}

// fileIn files inside a unit of work; rule is the filing rule's id when a
// rule files it.
func (s *Service) fileIn(ctx context.Context, in FilingInput, rule string) (*FilingResult, error) {
	var r *record.Report
	if err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		r, err = waitingReport(tx, in.ReportID, in.IfVersion)
		return err
	}); err != nil {
		return nil, err
	}
	now := s.p.now()
	today := now.In(ukZone)
	res := &FilingResult{Report: r}
	f := &record.Filing{Action: in.Action, Comment: in.Comment, Weeks: in.Weeks, Rule: rule,
		By: s.user.Name, At: now.UTC().Truncate(time.Millisecond)}
	if in.Comment != "" {
		f.For = in.For
	}
	what := reportTitle(r)
	switch in.Action {
	case record.FileRoutineAppt, record.FileUrgent, record.FileSpeakToGP:
		text := map[string]string{
			record.FileRoutineAppt: "Book a routine appointment to discuss results: ",
			record.FileUrgent:      "URGENT: contact the patient today about results: ",
			record.FileSpeakToGP:   "Ask the patient to speak to the GP about results: ",
		}[in.Action] + what
		if in.Comment != "" {
			text += " (" + in.Comment + ")"
		}
		t, err := s.AddTask(ctx, TaskInput{PatientRef: r.MatchedPatient, Text: text,
			Due: today.AddDate(0, 0, filingDue[in.Action]).Format(record.DateLayout)})
		if err != nil {
			return nil, fmt.Errorf("task for filing %s: %w", in.Action, err)
		}
		res.Task, f.TaskID = t, t.ID
	case record.FileRepeat:
		sys, code := in.RecallSystem, in.RecallCode
		if code == "" {
			sys, code = recallCodeOf(r)
		}
		if code == "" {
			return nil, record.Invalid("code", "", "the report carries no SNOMED CT code to recall: give the recall's code")
		}
		rc, err := s.AddRecall(ctx, RecallInput{PatientRef: r.MatchedPatient, System: sys, Code: code,
			Due: today.AddDate(0, 0, 7*in.Weeks).Format(record.DateLayout)})
		if err != nil {
			return nil, fmt.Errorf("recall for repeat in %d weeks: %w", in.Weeks, err)
		}
		res.Recall, f.RecallID = rc, rc.ID
	}
	err := s.store().Update(ctx, func(tx store.WTx) error { return s.fileWrite(tx, r, f, in.Comment) })
	if err != nil {
		return nil, err
	}
	return res, nil
}

// fileWrite marks a report's values reviewed and the report filed, with
// one audit event each (the report's names the rule, when a rule filed it).
func (s *Service) fileWrite(tx store.WTx, r *record.Report, f *record.Filing, comment string) error {
	for _, t := range r.Tests {
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
		if !o.Unreviewed || o.Status == record.StatusEnteredInError {
			continue
		}
		o.Unreviewed = false
		s.stamp(&o.Meta)
		if err := tx.Put(o); err != nil {
			return err
		}
		ev := s.event("update", record.KindObservation, o.ID, o.PatientID, o.Version)
		ev.Reason = "reviewed: report filed"
		if err := tx.Append(ev); err != nil {
			return err
		}
	}
	r.Status, r.Filing = record.ReportFiled, f
	s.stamp(&r.Meta)
	if err := r.Validate(); err != nil {
		return err
	}
	if err := tx.Put(r); err != nil {
		return err
	}
	ev := s.event("file", record.KindReport, r.ID, r.MatchedPatient, r.Version)
	ev.Reason = f.Action
	if f.Rule != "" {
		ev.Reason += " by rule " + f.Rule
	}
	if comment != "" {
		ev.Reason += ": " + comment
	}
	return tx.Append(ev)
}

// reportTitle names a report for a task: its title, else its tests.
func reportTitle(r *record.Report) string {
	t := r.Title.Display
	if t == "" {
		var names []string
		for _, x := range r.Tests {
			names = append(names, x.Name)
		}
		t = strings.Join(names, ", ")
		if len(t) > 80 {
			t = t[:77] + "..."
		}
	}
	return t + " (" + r.Sender.Name + " report " + r.LabReportID + ")"
}

// recallCodeOf is the SNOMED CT code a repeat of the report is recalled under.
func recallCodeOf(r *record.Report) (string, string) {
	if r.Title.System == record.SystemSNOMED && record.ValidSCTID(r.Title.Code) {
		return "sct", r.Title.Code
	}
	for _, t := range r.Tests {
		for _, c := range t.Codes {
			if c.System == record.SystemSNOMED && record.ValidSCTID(c.Code) {
				return "sct", c.Code
			}
		}
	}
	return "", ""
}

// MatchReport files an unmatched report to a patient, with the reason (an
// admin, a manager or a clinician; audited). Its values enter the record
// as they would have on arrival, and it waits in the inbox to be filed.
func (s *Service) MatchReport(ctx context.Context, reportID, patientRef, reason string, ifVersion int) (*record.Report, error) {
	if ops := s.inboxOps(); ops != nil {
		var out record.Report
		if err := callInbox(ctx, ops, "match", inboxMatchIn{reportID, patientRef, reason, ifVersion}, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if err := s.require(ctx, ActUnmatched, ""); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, record.Invalid("reason", "", "matching a report to a patient needs the reason (what confirmed the identity)")
	}
	p, err := s.lookupPatient(ctx, patientRef)
	if err != nil {
		return nil, err
	}
	var out *record.Report
	err = s.store().Update(ctx, func(tx store.WTx) error {
		e, err := findEntry(tx, reportID, []record.Kind{record.KindReport})
		if err != nil {
			return err
		}
		r := e.(*record.Report)
		if ifVersion != 0 && ifVersion != r.Version {
			return staleConflict(r, ifVersion)
		}
		if r.Status != record.ReportUnmatched {
			return &record.ConflictError{What: "report " + r.ID, Msg: "is " + r.Status + ", not unmatched", By: r.RecordedBy, At: r.RecordedAt}
		}
		obs, why := s.reportObservations(p, r)
		if why != "" {
			return record.Invalid("patient", patientRef, "%s", why)
		}
		for _, o := range obs {
			if err := tx.Put(o); err != nil {
				return err
			}
			if err := tx.Append(s.event("create", record.KindObservation, o.ID, o.PatientID, o.Version)); err != nil {
				return err
			}
		}
		now := s.p.now().UTC().Truncate(time.Millisecond)
		r.MatchedPatient, r.MatchedBy, r.MatchedAt, r.MatchReason = p.ID, s.user.Name, now, reason
		r.Status, r.To = record.ReportUnfiled, addressee(tx, r, p, nil)
		s.stamp(&r.Meta)
		if err := r.Validate(); err != nil {
			return err
		}
		if err := tx.Put(r); err != nil {
			return err
		}
		ev := s.event("match", record.KindReport, r.ID, p.ID, r.Version)
		ev.Reason = reason
		out = r
		return tx.Append(ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UnmatchReport takes a report off the record it was matched to (it was
// the wrong patient), with the reason: its values there are marked entered
// in error with the reason, and it goes back to the unmatched queue, to be
// matched again (clinicians, admins and managers, as matching; audited).
// A filing's task or recall stays (it may already be in hand) and is named
// in the report's unmatched reason, so whoever matches it again sees it.
func (s *Service) UnmatchReport(ctx context.Context, reportID, reason string, ifVersion int) (*record.Report, error) {
	if ops := s.inboxOps(); ops != nil {
		var out record.Report
		if err := callInbox(ctx, ops, "unmatch", inboxMatchIn{Report: reportID, Reason: reason, IfVersion: ifVersion}, &out); err != nil {
			return nil, err
		}
		return &out, nil
	}
	if err := s.require(ctx, ActUnmatched, ""); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, record.Invalid("reason", "", "taking a report off a record needs the reason")
	}
	var out *record.Report
	err := s.store().Update(ctx, func(tx store.WTx) error {
		e, err := findEntry(tx, reportID, []record.Kind{record.KindReport})
		if err != nil {
			return err
		}
		r := e.(*record.Report)
		if ifVersion != 0 && ifVersion != r.Version {
			return staleConflict(r, ifVersion)
		}
		if r.Status != record.ReportUnfiled && r.Status != record.ReportFiled {
			return &record.ConflictError{What: "report " + r.ID, Msg: "is " + r.Status + ": only a matched report can be unmatched", By: r.RecordedBy, At: r.RecordedAt}
		}
		why := "report taken off this record by " + s.user.Name + ": " + reason
		now := s.p.now().UTC().Truncate(time.Millisecond)
		for i := range r.Tests {
			t := &r.Tests[i]
			if t.ObservationID == "" {
				continue
			}
			oe, err := tx.Get(record.KindObservation, t.ObservationID)
			if err == nil {
				o := oe.(*record.Observation)
				if o.Status != record.StatusEnteredInError {
					o.Status, o.Unreviewed = record.StatusEnteredInError, false
					o.Retraction = &record.Retraction{Reason: why, By: s.user.Name, At: now}
					s.stamp(&o.Meta)
					if err := tx.Put(o); err != nil {
						return err
					}
					ev := s.event("retract", record.KindObservation, o.ID, o.PatientID, o.Version)
					ev.Reason = why
					if err := tx.Append(ev); err != nil {
						return err
					}
				}
			} else if !record.IsNotFound(err) {
				return err
			}
			t.ObservationID = ""
		}
		was := r.MatchedPatient
		r.Unmatched = fmt.Sprintf("taken off patient %s by %s: %s", was, s.user.Name, reason)
		if f := r.Filing; f != nil {
			r.Unmatched += fmt.Sprintf(" (it had been filed %s by %s", f.Action, f.By)
			if f.TaskID != "" {
				r.Unmatched += "; its task " + f.TaskID + " stays"
			}
			if f.RecallID != "" {
				r.Unmatched += "; its recall " + f.RecallID + " stays"
			}
			r.Unmatched += ")"
		}
		r.Status, r.MatchedPatient, r.MatchedBy, r.MatchedAt, r.MatchReason, r.To, r.Filing =
			record.ReportUnmatched, "", "", time.Time{}, "", "", nil
		s.stamp(&r.Meta)
		if err := r.Validate(); err != nil {
			return err
		}
		if err := tx.Put(r); err != nil {
			return err
		}
		ev := s.event("unmatch", record.KindReport, r.ID, was, r.Version)
		ev.Reason = reason
		out = r
		return tx.Append(ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
