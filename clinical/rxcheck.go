package clinical

import (
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The prescribing checks' entry points, shared by every prescribing action
// (Prescribe, a dose change). An API transaction's prescription is applied
// by Prescribe itself (server/transaction.go), so there is no second copy of
// these checks; a bulk import of history writes what the other system
// recorded, and a medicine it says the patient takes is history recorded
// elsewhere (record.MedElsewhere), never a prescription of ours.

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
func alertsFor(tx store.Tx, drugs Drugs, p *record.Patient, prod terminology.Product, m *record.Medication, except string, now time.Time) ([]SafetyAlert, error) {
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
	d := c.drug(prod)
	out, err := c.check(f, d, except)
	if err != nil {
		return nil, err
	}
	return c.stepChecks(out, f, d, prod, m) // doses, supply and the facts in each id (steps.go)
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
