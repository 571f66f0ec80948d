package clinical

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
)

// A client's transaction (the API: a transaction Bundle, or a create sent as
// one) that writes a new current medication is prescribing: the same checks
// as Prescribe run in the write's own transaction (H30). A bulk import of
// history (not Transaction) writes what the other system recorded, unchecked.

// rxProduct is the dm+d product a prescription names: a VMP or AMP, valid.
func rxProduct(drugs Drugs, code string) (terminology.Product, error) {
	prod, err := drugs.Product(code)
	if err != nil {
		return prod, record.Invalid("code", code, "not a dm+d product (search with gpsoc codes search TEXT --system dmd)")
	}
	if prod.Kind != "VMP" && prod.Kind != "AMP" {
		return prod, record.Invalid("code", code, "is a dm+d %s: prescribe a VMP or AMP (%s)", prod.Kind, prod.Name)
	}
	if prod.Invalid {
		return prod, record.Invalid("code", code, "is marked invalid in dm+d")
	}
	return prod, nil
}

// alertsFor runs every prescribing check for product prod and patient p on
// what tx holds, with the practice's rule set: Prescribe's and the API's one
// way to compute alerts. except is a medication the new one replaces.
func alertsFor(tx store.Tx, drugs Drugs, p *record.Patient, prod terminology.Product, except string, now time.Time) ([]SafetyAlert, error) {
	pr, err := tx.Practice()
	if err != nil {
		return nil, err
	}
	rs, err := ruleSetOf(pr.Settings)
	if err != nil {
		return nil, err
	}
	f, err := loadFacts(tx, p, now)
	if err != nil {
		return nil, err
	}
	c := newChecker(drugs, rs)
	return c.check(f, c.drug(prod), except)
}

// prescribedNow is a medication that, written by a client's transaction, is
// a prescription to check: current (an active authorisation, or an acute
// not stopped) and, for an acute issued once, within its course from its
// last issue or else its authorisation date (28 days when no duration is
// given). A stopped, cancelled or completed-long-ago one is history.
func prescribedNow(m *record.Medication, now time.Time) bool {
	if !currentMed(m) {
		return false
	}
	if m.Status == "active" {
		return true
	}
	days := m.DurationDays
	if days == 0 {
		days = 28
	}
	var from time.Time
	switch {
	case len(m.Issues) > 0:
		from = m.Issues[len(m.Issues)-1].At
	case m.AuthorisedOn == "":
		return true // undated: checked
	default:
		d, err := time.ParseInLocation(record.DateLayout, m.AuthorisedOn, ukZone)
		if err != nil {
			return false // a partial date: history
		}
		from = d
	}
	return from.AddDate(0, 0, days).After(now)
}

// AnswersOf reads the answers a client sent with a prescription (the
// api-record extension's alertAnswers) as the answers Prescribe takes.
func AnswersOf(rec []record.AlertAnswer) (Answers, error) {
	var a Answers
	for _, x := range rec {
		switch x.Answer {
		case "override":
			if a.Override == nil {
				a.Override = map[string]string{}
			}
			a.Override[x.AlertID] = x.Reason
		case "ack":
			a.Ack = append(a.Ack, x.AlertID)
		default:
			return a, record.Invalid("alertAnswers.answer", x.Answer, "answer %s with override (and a reason) or ack", x.AlertID)
		}
	}
	return a, nil
}

// rxCheck is whether target t is a new medication this transaction must
// check as a prescription.
func (im *importer) rxCheck(tx store.Tx, t *ftarget) bool {
	m, ok := t.e.(*record.Medication)
	if !ok || !im.o.Transaction || m.ID == "" {
		return false
	}
	if _, err := tx.Get(record.KindMedication, m.ID); err == nil {
		return false // written before: the same again, or refused as a change
	}
	return prescribedNow(m, im.s.p.now())
}

// rxWrite checks a new prescription of a client's transaction as Prescribe
// does and writes it with its answers and their audit events. Open alerts
// reject the unit: the rejection carries them (and the patient, for the
// audit of the blocked attempt).
func (im *importer) rxWrite(tx store.WTx, u *funit, t *ftarget, reason string) error {
	m := t.e.(*record.Medication)
	it := t.first
	reject := func(rj FHIRRejection) error {
		rj.File, rj.Entry = it.file, it.entry
		if rj.Path == "" {
			rj.Path = it.typ
		}
		u.rejs = append(u.rejs, rj)
		return errUnitRejected
	}
	invalid := func(err error) error {
		rj := FHIRRejection{Reason: err.Error()}
		var ve *record.ValidationError
		if errors.As(err, &ve) {
			rj.Path = it.typ + "(" + ve.Field + ")"
			rj.Reason = fmt.Sprintf("%q: %s", ve.Value, ve.Reason)
		}
		return reject(rj)
	}
	drugs, err := im.s.p.drugs()
	if err != nil {
		return invalid(err)
	}
	prod, err := rxProduct(drugs, m.Code.Code)
	if err != nil {
		return invalid(err)
	}
	pe, err := tx.Get(record.KindPatient, m.PatientID)
	if err != nil {
		return invalid(err)
	}
	p := pe.(*record.Patient)
	if err := prescribable(p); err != nil {
		return invalid(err)
	}
	// The prescriber is who is prescribing: the token's user, as in
	// Prescribe. A requester naming someone else is refused, not rewritten.
	switch m.Prescriber {
	case "", im.s.user.Name, fhir.ClinicianNotRecorded:
		m.Prescriber = im.s.user.Name
	default:
		return invalid(record.Invalid("requester", m.Prescriber, "a prescription sent with %s's token is prescribed by %s", im.s.user.Name, im.s.user.Name))
	}
	ans, err := AnswersOf(m.Answers)
	if err != nil {
		return invalid(err)
	}
	now := im.s.p.now().UTC().Truncate(time.Millisecond)
	alerts, err := alertsFor(tx, drugs, p, prod, m.Replaces, now)
	if err != nil {
		return err
	}
	open, recorded, err := answer(alerts, ans, im.s.user.Name, now)
	if err != nil {
		return invalid(err)
	}
	if len(open) > 0 {
		ae := &AlertsError{Alerts: open}
		return reject(FHIRRejection{Reason: ae.Error(), Alerts: open, patientID: p.ID})
	}
	m.Answers = recorded
	if err := im.write(tx, t, reason); err != nil {
		return invalid(err)
	}
	for _, a := range recorded {
		ev := im.s.event("alert-"+a.Answer, record.KindMedication, m.ID, p.ID, m.Version)
		ev.Reason = a.AlertID
		if a.Reason != "" {
			ev.Reason += ": " + a.Reason
		}
		if err := tx.Append(ev); err != nil {
			return err
		}
	}
	return nil
}

// auditBlocked audits a prescription the checks refused, as Prescribe does:
// which alerts stopped whom.
func (im *importer) auditBlocked(ctx context.Context, rj FHIRRejection) {
	ids := make([]string, len(rj.Alerts))
	for i, a := range rj.Alerts {
		ids[i] = a.ID
	}
	ev := im.s.event("prescribe", record.KindMedication, "", rj.patientID, 0)
	ev.Outcome = "blocked"
	ev.Reason = "unanswered alerts: " + strings.Join(ids, ", ")
	_ = im.s.audit(ctx, ev)
}
