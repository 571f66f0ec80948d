package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The medication lifecycle: prescribe (acute or repeat, from a dm+d VMP or
// AMP), issue, re-authorise, change dose, stop; overdue reviews and the
// history of every issue. Every action is one store Update with its audit
// events; prescribing and dose changes run the safety checks (safety.go) in
// that same transaction, so what was checked is what was written.

// PrescribeInput is a new prescription.
type PrescribeInput struct {
	PatientRef   string
	Code         string  // dm+d VMP or AMP
	Dose         string  // dose instructions as written, e.g. "1 tds"
	Quantity     float64 // in the pack's unit
	Repeat       bool
	Issues       int    // repeat: issues authorised
	Review       string // YYYY-MM-DD
	DurationDays int
	Answers      Answers
	// Check lists the alerts without prescribing.
	Check bool
}

// PrescribeResult is what a prescription wrote, or (Check) would raise.
type PrescribeResult struct {
	Medication *record.Medication `json:"medication,omitempty"`
	Alerts     []SafetyAlert      `json:"alerts"`
	// Notes are checks that could not be done completely (kind not-checked):
	// shown with every prescription of the product, never answered.
	Notes []SafetyAlert `json:"notes"`
	// Dose is the dose as understood, shown back before saving (absent when it did not parse).
	Dose *Dose `json:"dose,omitempty"`
	// DoseWords is the dose as the patient will read it.
	DoseWords string `json:"doseWords,omitempty"`
}

// shownBack fills the dose as understood.
func (r *PrescribeResult) shownBack(m *record.Medication) {
	if d, err := ParseDose(m.Dose); err == nil {
		r.Dose = &d
	}
	r.DoseWords = DoseInWords(m.Dose, m.Unit)
}

// prescribable refuses a patient who has left or died.
func prescribable(p *record.Patient) error {
	switch p.Status {
	case record.PatientLeft:
		return record.Invalid("patient", p.ID, "left the practice on %s: cannot be prescribed for", p.Registration.LeftOn)
	case record.PatientDeceased:
		return record.Invalid("patient", p.ID, "died on %s: cannot be prescribed for", p.Registration.DeceasedOn)
	}
	return nil
}

// UnitOf is the unit a product is prescribed in: dm+d's unit dose form
// unit, else the pack's unit, else what the product name's form implies.
func UnitOf(p terminology.Product) string {
	if p.UnitOfMeasure != nil && p.UnitOfMeasure.Term != "" {
		return p.UnitOfMeasure.Term
	}
	if f := strings.Fields(p.Quantity); len(f) == 2 {
		return f[1]
	}
	return UnitFromName(p.Name)
}

// UnitFromName is the unit a product's name implies by its form ("tablets":
// tablet), "dose" when it names none.
func UnitFromName(name string) string {
	n := strings.ToLower(name)
	for _, f := range []struct{ suffix, unit string }{
		{"capsules", "capsule"}, {"tablets", "tablet"}, {"caplets", "tablet"}, {"oral solution", "ml"},
		{"oral suspension", "ml"}, {"liquid", "ml"}, {"syrup", "ml"}, {"elixir", "ml"}, {"linctus", "ml"},
		{"eye drops", "ml"}, {"ear drops", "ml"}, {"nasal spray", "spray"}, {"inhaler", "inhaler"},
		{"cream", "gram"}, {"ointment", "gram"}, {"gel", "gram"}, {"suppositories", "suppository"},
		{"pessaries", "pessary"}, {"patches", "patch"}, {"sachets", "sachet"}, {"granules", "sachet"},
		{"lozenges", "lozenge"}, {"injection", "ampoule"},
	} {
		if strings.Contains(n, f.suffix) {
			return f.unit
		}
	}
	return "dose"
}

// Prescribe writes a prescription after the safety checks: refused with an
// *AlertsError while any alert is unanswered. A repeat is authorised, not
// issued (med issue); an acute is issued as it is written.
func (s *Service) Prescribe(ctx context.Context, in PrescribeInput) (*PrescribeResult, error) {
	// The patient is resolved (and checked: not left or deceased) in the
	// prescribing transaction itself: one store access per prescription.
	if err := s.require(ctx, ActPrescribe, ""); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.PatientRef) == "" {
		return nil, record.Invalid("patient", in.PatientRef, "give a patient id or NHS number")
	}
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	code := strings.TrimSpace(in.Code)
	prod, err := rxProduct(drugs, code)
	if err != nil {
		return nil, err
	}
	if in.Issues < 0 {
		return nil, record.Invalid("issues", fmt.Sprint(in.Issues), "must not be negative")
	}
	if in.Repeat && in.Issues == 0 {
		in.Issues = 1
	}
	if !in.Repeat && in.Issues > 1 {
		return nil, record.Invalid("issues", fmt.Sprint(in.Issues), "an acute prescription is issued once: use --repeat")
	}
	if in.DurationDays < 0 {
		return nil, record.Invalid("duration", fmt.Sprint(in.DurationDays), "must not be negative")
	}
	now := s.p.now().UTC().Truncate(time.Millisecond)
	today := now.In(ukZone).Format(record.DateLayout)
	m := &record.Medication{Meta: record.Meta{PatientID: "resolved in the transaction"},
		Code: record.Code{System: record.SystemDMD, Code: prod.Code, Display: prod.Name},
		Type: "acute", Dose: strings.TrimSpace(in.Dose), Quantity: in.Quantity, Unit: UnitOf(prod),
		DurationDays: in.DurationDays, AuthorisedOn: today, Prescriber: s.user.Name}
	if in.Repeat {
		m.Type, m.IssuesAuthorised = "repeat", in.Issues
	}
	if in.Review != "" {
		d, err := record.ParseDate("review", in.Review)
		if err != nil {
			return nil, err
		}
		if d < today {
			return nil, record.Invalid("review", d, "is in the past (today is %s)", today)
		}
		m.ReviewDate = d
	}
	if !in.Repeat {
		// an acute is issued as it is written: nothing more to issue, so it is
		// "completed" at once (and current only within its course)
		m.Issues = []record.Issue{{At: now, By: s.user.Name, Quantity: in.Quantity}}
		m.Status = "completed"
	}
	s.stamp(&m.Meta)
	if !in.Check { // a check needs only the patient and the product
		if err := m.Validate(); err != nil {
			return nil, err
		}
	}
	res, err := s.checkedWrite(ctx, in.PatientRef, nil, prod, m, "", in.Answers, in.Check, nil, nil)
	if err != nil {
		return res, err
	}
	return res, nil
}

// checkedWrite runs the checks and, unless check-only, writes m (and any
// extra records) with their audit events, all in one transaction.
// prior are answers given before (the medication a dose change replaces):
// an alert with the same id (so the same facts) is not raised again.
func (s *Service) checkedWrite(ctx context.Context, ref string, p *record.Patient, prod terminology.Product, m *record.Medication,
	except string, ans Answers, checkOnly bool, prior []record.AlertAnswer, extra func(tx store.WTx) error) (*PrescribeResult, error) {
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	res := &PrescribeResult{Alerts: []SafetyAlert{}, Notes: []SafetyAlert{}}
	res.shownBack(m)
	var open []SafetyAlert
	var carried []record.AlertAnswer
	now := s.p.now().UTC().Truncate(time.Millisecond)
	// run reads the facts and the practice's rules in the action's own
	// transaction, so what was checked is what is written.
	run := func(tx store.Tx) ([]SafetyAlert, error) {
		if p == nil || p.ID == "" {
			pt, err := resolvePatient(tx, ref)
			if err != nil {
				return nil, err
			}
			if err := prescribable(pt); err != nil {
				return nil, err
			}
			p = pt
			m.PatientID = pt.ID
		}
		all, err := alertsFor(tx, drugs, p, prod, m, except, now)
		if err != nil {
			return nil, err
		}
		var alerts []SafetyAlert
		alerts, res.Notes = SplitNotes(all)
		alerts, carried = notAnswered(alerts, prior)
		return alerts, nil
	}
	if checkOnly {
		err := s.store().View(ctx, func(tx store.Tx) error {
			var err error
			res.Alerts, err = run(tx)
			return err
		})
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	err = s.store().Update(ctx, func(tx store.WTx) error {
		alerts, err := run(tx)
		if err != nil {
			return err
		}
		res.Alerts = alerts
		var recorded []record.AlertAnswer
		open, recorded, err = answerStep(alerts, ans, s.user.Name, now)
		if err != nil {
			return err
		}
		if len(open) > 0 {
			return &AlertsError{Alerts: open, Notes: res.Notes}
		}
		m.Answers = append(carried, recorded...)
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		m.ID, m.Version = "", 0
		if err := tx.Put(m); err != nil {
			return err
		}
		if err := tx.Append(s.event("create", record.KindMedication, m.ID, p.ID, m.Version)); err != nil {
			return err
		}
		return s.auditAnswers(tx, m, recorded)
	})
	if ae, ok := err.(*AlertsError); ok {
		// the refusal is audited: which alerts stopped whom
		s.auditBlocked(ctx, "prescribe", p.ID, ae.Alerts)
		res.Alerts = open
		return res, err
	}
	if err != nil {
		return nil, err
	}
	res.Medication = m
	return res, nil
}

// medForChange loads a medication of a patient for a prescriber's change,
// honouring --if-version (a stale one is a conflict naming who changed it and when).
func medForChange(tx store.Tx, p *record.Patient, id string, ifVersion int) (*record.Medication, error) {
	e, err := findEntry(tx, id, []record.Kind{record.KindMedication})
	if err != nil {
		return nil, err
	}
	m := e.(*record.Medication)
	if m.PatientID != p.ID {
		return nil, record.Invalid("medication", id, "is not a medication of patient %s", p.ID)
	}
	if ifVersion != 0 && ifVersion != m.Version {
		return nil, staleConflict(m, ifVersion)
	}
	if m.Status == record.StatusEnteredInError {
		return nil, record.Invalid("medication", id, "was entered in error")
	}
	return m, nil
}

// medAction is one change of one or more medications of a patient, by a prescriber, in one Update.
func (s *Service) medAction(ctx context.Context, ref string, fn func(tx store.WTx, p *record.Patient) error) (*record.Patient, error) {
	p, err := s.patientForWrite(ctx, ref, ActPrescribe)
	if err != nil {
		return nil, err
	}
	if err := prescribable(p); err != nil {
		return nil, err
	}
	return p, s.store().Update(ctx, func(tx store.WTx) error { return fn(tx, p) })
}

func (s *Service) putMed(tx store.WTx, m *record.Medication, verb, reason string) error {
	s.stamp(&m.Meta)
	if err := m.Validate(); err != nil {
		return err
	}
	if err := tx.Put(m); err != nil {
		return err
	}
	ev := s.event(verb, record.KindMedication, m.ID, m.PatientID, m.Version)
	ev.Reason = reason
	return tx.Append(ev)
}

// IssueResult is what an issue wrote, with warnings for the prescriber.
type IssueResult struct {
	Issued   []*record.Medication `json:"issued"`
	Warnings []string             `json:"warnings"`
	// Notes are checks that could not run, per medication issued.
	Notes []SafetyAlert `json:"notes"`
	// Answered are the alerts answered at this issue.
	Answered []record.AlertAnswer `json:"answered"`
}

// IssueInput is an issue of repeats: the ones named, or every one that is due.
type IssueInput struct {
	PatientRef string
	IDs        []string
	AllDue     bool
	Answers    Answers
	// Reason answers every early or duplicate issue alert raised (what the CLI's --reason gives).
	Reason string
}

// Issue issues repeats with no answers given: any alert refuses it.
func (s *Service) Issue(ctx context.Context, ref string, ids []string, allDue bool) (*IssueResult, error) {
	return s.IssueWith(ctx, IssueInput{PatientRef: ref, IDs: ids, AllDue: allDue})
}

// IssueWith issues repeats: the ones named, or (AllDue) every repeat that is
// due. Each runs every check again (allergies, interactions, rules, doses)
// against the record as it is now; an alert answered before with the same
// facts is not raised again, a new one needs its answer, and an issue the
// same day or before 75% of the last supply is used needs a reason. Any
// alert left unanswered refuses the whole issue (nothing is written). A
// medication with no issues left needs re-authorising first; an overdue
// review is issued with a warning.
func (s *Service) IssueWith(ctx context.Context, in IssueInput) (*IssueResult, error) {
	if len(in.IDs) == 0 && !in.AllDue {
		return nil, record.Invalid("medication", "", "name the medications to issue, or all that are due")
	}
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	res := &IssueResult{}
	now := s.p.now().UTC().Truncate(time.Millisecond)
	today := now.In(ukZone).Format(record.DateLayout)
	var open []SafetyAlert
	var blockedPatient string
	_, err = s.medAction(ctx, in.PatientRef, func(tx store.WTx, p *record.Patient) error {
		res.Issued, res.Warnings, res.Notes, res.Answered = []*record.Medication{}, []string{}, []SafetyAlert{}, []record.AlertAnswer{}
		open = nil
		var ms []*record.Medication
		if in.AllDue {
			es, err := tx.List(p.ID, record.KindMedication)
			if err != nil {
				return err
			}
			for _, e := range es {
				if m := e.(*record.Medication); dueOn(m, now) {
					ms = append(ms, m)
				}
			}
		}
		for _, id := range in.IDs {
			m, err := medForChange(tx, p, id, 0)
			if err != nil {
				return err
			}
			if !currentMed(m) {
				return record.Invalid("medication", id, "is %s: it cannot be issued", m.Status)
			}
			if err := ours(m); err != nil {
				return err
			}
			if m.Type == "acute" {
				return record.Invalid("medication", id, "is an acute prescription, issued when it was written: prescribe it again")
			}
			if m.IssuesLeft() == 0 {
				return record.Invalid("medication", id, "has no authorised issues left: re-authorise it first (med reauth)")
			}
			ms = append(ms, m)
		}
		seen := map[string]bool{}
		type pending struct {
			m      *record.Medication
			alerts []SafetyAlert
		}
		var todo []pending
		var all []SafetyAlert
		for _, m := range ms {
			if seen[m.ID] { // named twice, or named and due: one issue
				continue
			}
			seen[m.ID] = true
			alerts, notes, err := stepAlerts(tx, drugs, p, m, now)
			if err != nil {
				return err
			}
			alerts, _ = notAnswered(alerts, m.Answers)
			prod, _ := drugs.Product(m.Code.Code)
			if a := earlyIssue(m, prod, now); a != nil {
				alerts = append(alerts, *a)
			}
			res.Notes = append(res.Notes, notes...)
			todo = append(todo, pending{m, alerts})
			all = append(all, alerts...)
		}
		ans := in.Answers
		if strings.TrimSpace(in.Reason) != "" {
			if ans.Override == nil {
				ans.Override = map[string]string{}
			}
			for _, a := range all {
				if strings.HasPrefix(a.ID, "early-issue:") {
					if _, ok := ans.Override[a.ID]; !ok {
						ans.Override[a.ID] = strings.TrimSpace(in.Reason)
					}
				}
			}
		}
		var recorded []record.AlertAnswer
		open, recorded, err = answerStep(all, ans, s.user.Name, now)
		if err != nil {
			return err
		}
		if len(open) > 0 {
			blockedPatient = p.ID
			return &AlertsError{Alerts: open}
		}
		byID := map[string]record.AlertAnswer{}
		for _, a := range recorded {
			byID[a.AlertID] = a
		}
		for _, t := range todo {
			m := t.m
			var mine []record.AlertAnswer
			for _, a := range t.alerts {
				if x, ok := byID[a.ID]; ok {
					mine = append(mine, x)
				}
			}
			m.Answers = append(m.Answers, mine...)
			m.Issues = append(m.Issues, record.Issue{At: now, By: s.user.Name, Quantity: m.Quantity})
			if m.ReviewDate != "" && m.ReviewDate < today {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s (%s): review was due on %s", m.Code.Display, m.ID, m.ReviewDate))
			}
			if err := s.putMed(tx, m, "update", fmt.Sprintf("issue %d of %d", len(m.Issues), max(m.IssuesAuthorised, 1))); err != nil {
				return err
			}
			if err := s.auditAnswers(tx, m, mine); err != nil {
				return err
			}
			res.Answered = append(res.Answered, mine...)
			res.Issued = append(res.Issued, m)
		}
		return nil
	})
	if ae, ok := err.(*AlertsError); ok {
		s.auditBlocked(ctx, "issue", blockedPatient, ae.Alerts)
		return res, err
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// auditBlocked audits an action the alerts refused (outside the refused transaction).
func (s *Service) auditBlocked(ctx context.Context, verb, pid string, open []SafetyAlert) {
	ids := make([]string, len(open))
	for i, a := range open {
		ids[i] = a.ID
	}
	ev := s.event(verb, record.KindMedication, "", pid, 0)
	ev.Outcome = "blocked"
	ev.Reason = "unanswered alerts: " + strings.Join(ids, ", ")
	_ = s.audit(ctx, ev)
}

// ReauthInput re-authorises a repeat.
type ReauthInput struct {
	PatientRef, ID string
	Issues         int
	Review         string
	IfVersion      int
	Answers        Answers
}

// ReauthResult is what a re-authorisation wrote.
type ReauthResult struct {
	Medication *record.Medication   `json:"medication"`
	Notes      []SafetyAlert        `json:"notes"`
	Answered   []record.AlertAnswer `json:"answered"`
}

// Reauthorise re-authorises with no answers given: any alert refuses it.
func (s *Service) Reauthorise(ctx context.Context, ref, id string, issues int, review string, ifVersion int) (*record.Medication, error) {
	r, err := s.ReauthoriseWith(ctx, ReauthInput{PatientRef: ref, ID: id, Issues: issues, Review: review, IfVersion: ifVersion})
	if err != nil {
		return nil, err
	}
	return r.Medication, nil
}

// ReauthoriseWith authorises a repeat for Issues more issues from today, by
// the acting prescriber, after every check runs again (an alert answered
// before with the same facts is not raised again); a review date is set
// (given, or a year on when it had one).
func (s *Service) ReauthoriseWith(ctx context.Context, in ReauthInput) (*ReauthResult, error) {
	if in.Issues <= 0 {
		return nil, record.Invalid("issues", fmt.Sprint(in.Issues), "must be at least 1")
	}
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	now := s.p.now().UTC().Truncate(time.Millisecond)
	today := now.In(ukZone).Format(record.DateLayout)
	review := in.Review
	if review != "" {
		d, err := record.ParseDate("review", review)
		if err != nil {
			return nil, err
		}
		if d < today {
			return nil, record.Invalid("review", d, "is in the past (today is %s)", today)
		}
		review = d
	}
	out := &ReauthResult{}
	var open []SafetyAlert
	var pid string
	_, err = s.medAction(ctx, in.PatientRef, func(tx store.WTx, p *record.Patient) error {
		pid = p.ID
		m, err := medForChange(tx, p, in.ID, in.IfVersion)
		if err != nil {
			return err
		}
		if m.Type != "repeat" || !currentMed(m) {
			return record.Invalid("medication", in.ID, "only a current repeat can be re-authorised (this one is %s, %s)", m.Type, m.Status)
		}
		alerts, notes, err := stepAlerts(tx, drugs, p, m, now)
		if err != nil {
			return err
		}
		alerts, _ = notAnswered(alerts, m.Answers)
		var recorded []record.AlertAnswer
		open, recorded, err = answerStep(alerts, in.Answers, s.user.Name, now)
		if err != nil {
			return err
		}
		if len(open) > 0 {
			return &AlertsError{Alerts: open}
		}
		m.Answers = append(m.Answers, recorded...)
		m.IssuesAuthorised = len(m.Issues) + in.Issues
		m.AuthorisedOn, m.Prescriber = today, s.user.Name
		switch {
		case review != "":
			m.ReviewDate = review
		case m.ReviewDate != "":
			m.ReviewDate = now.In(ukZone).AddDate(1, 0, 0).Format(record.DateLayout)
		}
		out.Medication, out.Notes, out.Answered = m, notes, recorded
		if out.Answered == nil {
			out.Answered = []record.AlertAnswer{}
		}
		if err := s.putMed(tx, m, "update", fmt.Sprintf("re-authorised for %d issues", in.Issues)); err != nil {
			return err
		}
		return s.auditAnswers(tx, m, recorded)
	})
	if ae, ok := err.(*AlertsError); ok {
		s.auditBlocked(ctx, "reauthorise", pid, ae.Alerts)
		return out, err
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ChangeDose writes a new medication with the new dose that Replaces the old
// one, and stops the old one ("dose changed"); both are kept. The checks run
// again (leaving out the medication replaced) and need their answers.
func (s *Service) ChangeDose(ctx context.Context, ref, id, dose string, ifVersion int, ans Answers) (*PrescribeResult, error) {
	if strings.TrimSpace(dose) == "" {
		return nil, record.Invalid("dose", dose, "dose instructions are required")
	}
	p, err := s.patientForWrite(ctx, ref, ActPrescribe)
	if err != nil {
		return nil, err
	}
	if err := prescribable(p); err != nil {
		return nil, err
	}
	var old *record.Medication
	if err := s.store().View(ctx, func(tx store.Tx) error {
		old, err = medForChange(tx, p, id, ifVersion)
		return err
	}); err != nil {
		return nil, err
	}
	if err := ours(old); err != nil {
		return nil, err
	}
	if !currentOn(old, now0(s)) {
		return nil, record.Invalid("medication", id, "is %s: only a current medication's dose can be changed", old.Status)
	}
	drugs, err := s.p.drugs()
	if err != nil {
		return nil, err
	}
	prod, err := drugs.Product(old.Code.Code)
	if err != nil {
		return nil, record.Invalid("medication", id, "its product %s is not in the dm+d dictionary", old.Code.Code)
	}
	now := s.p.now().UTC().Truncate(time.Millisecond)
	today := now.In(ukZone).Format(record.DateLayout)
	m := &record.Medication{Meta: record.Meta{PatientID: p.ID}, Code: old.Code, Type: old.Type,
		Dose: strings.TrimSpace(dose), Quantity: old.Quantity, Unit: old.Unit, DurationDays: old.DurationDays,
		IssuesAuthorised: old.IssuesLeft(), ReviewDate: old.ReviewDate, AuthorisedOn: today,
		Prescriber: s.user.Name, Replaces: old.ID}
	if m.Type == "repeat" && m.IssuesAuthorised == 0 {
		m.IssuesAuthorised = 1
	}
	if m.Type == "acute" {
		m.IssuesAuthorised = 0
		m.Issues = []record.Issue{{At: now, By: s.user.Name, Quantity: m.Quantity}}
		m.Status = "completed"
	}
	s.stamp(&m.Meta)
	if err := m.Validate(); err != nil {
		return nil, err
	}
	// a change is a new authorisation: every alert is answered again (no carry-over)
	return s.checkedWrite(ctx, ref, p, prod, m, old.ID, ans, false, nil, func(tx store.WTx) error {
		cur, err := medForChange(tx, p, id, old.Version)
		if err != nil {
			return err
		}
		cur.Status, cur.StoppedOn, cur.StopReason = "stopped", today, "dose changed: "+m.Dose
		return s.putMed(tx, cur, "update", "dose changed")
	})
}

func now0(s *Service) time.Time { return s.p.now() }

// Stop stops a medication with a reason; it stays in the record.
func (s *Service) Stop(ctx context.Context, ref, id, reason string, ifVersion int) (*record.Medication, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, record.Invalid("reason", reason, "say why the medication is stopped")
	}
	p, err := s.patientForWrite(ctx, ref, ActPrescribe)
	if err != nil {
		return nil, err
	}
	var out *record.Medication
	// Stopping is allowed for a patient who has left or died (tidying the record).
	err = s.store().Update(ctx, func(tx store.WTx) error {
		m, err := medForChange(tx, p, id, ifVersion)
		if err != nil {
			return err
		}
		if m.Status == "stopped" {
			return &record.ConflictError{What: "medication " + m.ID, Msg: "already stopped on " + m.StoppedOn, By: m.RecordedBy, At: m.RecordedAt}
		}
		m.Status, m.StoppedOn, m.StopReason = "stopped", s.p.now().In(ukZone).Format(record.DateLayout), strings.TrimSpace(reason)
		out = m
		return s.putMed(tx, m, "update", "stopped: "+m.StopReason)
	})
	return out, err
}
