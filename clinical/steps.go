package clinical

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
)

// Checks at every step (docs/rules.md, "Every step"): prescribe, each issue
// of a repeat, re-authorise and change run the same checks. Each alert id
// ends in a hash of the facts that raised it ("@" and 8 hex digits): the
// medicines, the allergies, the result's value and date, the rule's version
// and, for dose and supply alerts, the dose and quantity. An alert answered
// once is not raised again while its id is unchanged; when a fact changes,
// so does the id, and the alert is raised again.

// stepChecks adds the dose and supply checks to the checker's alerts and
// stamps each id with the hash of its facts.
func (c *checker) stepChecks(out []SafetyAlert, f *facts, d *drugFacts, prod terminology.Product, m *record.Medication) ([]SafetyAlert, error) {
	da, err := c.doseAlerts(f, d, prod, m)
	if err != nil {
		return nil, err
	}
	out = append(out, da...)
	out = append(out, c.staleResultNotes(f, d, prod)...)
	for i := range out {
		out[i].ID = out[i].ID + "@" + c.factsHash(out[i], f, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return sevRank(out[i].Severity) < sevRank(out[j].Severity) })
	return out, nil
}

// factsHash is the hash of the facts behind an alert.
func (c *checker) factsHash(a SafetyAlert, f *facts, m *record.Medication) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", a.ID, a.Severity, a.Message)
	kind, rest, _ := strings.Cut(a.ID, ":")
	switch {
	case strings.HasPrefix(kind, "allergy"):
		var as []string
		for _, x := range f.allergies {
			as = append(as, fmt.Sprintf("%s:%d", x.ID, x.Version))
		}
		sort.Strings(as)
		fmt.Fprint(h, strings.Join(as, ","))
	case kind == "rule":
		id, _, _ := strings.Cut(rest, ":")
		for _, r := range c.rules.Rules {
			if r.ID == id {
				b, _ := json.Marshal(r)
				h.Write(b)
				if r.When.Result != nil {
					if o := c.latestResult(r.When.Result, f); o != nil {
						fmt.Fprintf(h, "\x00%v\x00%s", *o.Value, o.Effective.UTC().Format(time.RFC3339))
					}
				}
			}
		}
	case kind == "interaction":
		id, _, _ := strings.Cut(rest, ":")
		for _, x := range c.rules.Interactions {
			if x.ID == id {
				b, _ := json.Marshal(x)
				h.Write(b)
			}
		}
	case strings.HasPrefix(kind, "dose") || strings.HasPrefix(kind, "supply") || strings.HasPrefix(a.ID, "not-checked:dose:"):
		if t, err := DefaultDoseTable(); err == nil {
			fmt.Fprint(h, t.key)
		}
		if m != nil {
			fmt.Fprintf(h, "\x00%s\x00%v\x00%s\x00%d", m.Dose, m.Quantity, m.Type, m.DurationDays)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:8]
}

// BaseAlertID is an alert id without its facts hash.
func BaseAlertID(id string) string {
	base, _, _ := strings.Cut(id, "@")
	return base
}

// resolveAnswers lets an answer name an alert by its id without the facts
// hash (what a script or a prescriber types after reading the alert), when
// exactly one alert raised has that base id.
func resolveAnswers(alerts []SafetyAlert, ans Answers) Answers {
	byBase := map[string][]string{}
	for _, a := range alerts {
		byBase[BaseAlertID(a.ID)] = append(byBase[BaseAlertID(a.ID)], a.ID)
	}
	full := func(id string) string {
		if strings.Contains(id, "@") {
			return id
		}
		if ids := byBase[id]; len(ids) == 1 {
			return ids[0]
		}
		return id
	}
	out := Answers{}
	if ans.Override != nil {
		out.Override = map[string]string{}
		for id, r := range ans.Override {
			out.Override[full(id)] = r
		}
	}
	for _, id := range ans.Ack {
		out.Ack = append(out.Ack, full(id))
	}
	return out
}

// notAnswered drops the alerts already answered (same id, so same facts).
func notAnswered(alerts []SafetyAlert, prior []record.AlertAnswer) (open []SafetyAlert, carried []record.AlertAnswer) {
	done := map[string]record.AlertAnswer{}
	for _, a := range prior {
		done[a.AlertID] = a
	}
	for _, a := range alerts {
		if x, ok := done[a.ID]; ok {
			carried = append(carried, x)
			continue
		}
		open = append(open, a)
	}
	return open, carried
}

// needsReason are alerts answered only by an override with a reason.
func needsReason(a SafetyAlert) bool {
	return a.Severity == "high" || strings.HasPrefix(a.ID, "early-issue:")
}

// answerStep answers the alerts of one step: an acknowledgement of an alert
// that needs a reason is refused, then answer (safety.go) does the rest.
func answerStep(alerts []SafetyAlert, ans Answers, by string, at time.Time) ([]SafetyAlert, []record.AlertAnswer, error) {
	ans = resolveAnswers(alerts, ans)
	for _, id := range ans.Ack {
		for _, a := range alerts {
			if a.ID == id && needsReason(a) && a.Severity != "high" {
				return nil, nil, record.Invalid("ack", id, "an early or duplicate issue needs a reason: --override %s=REASON (or --reason)", id)
			}
		}
	}
	return answer(alerts, ans, by, at)
}

// earlyIssue is the alert for issuing m at now: a second issue the same
// day, or before 75% of the last issue's supply is used.
func earlyIssue(m *record.Medication, prod terminology.Product, now time.Time) *SafetyAlert {
	if len(m.Issues) == 0 {
		return nil
	}
	last := m.Issues[len(m.Issues)-1]
	day := func(t time.Time) string { return t.In(ukZone).Format(record.DateLayout) }
	id := fmt.Sprintf("early-issue:%s@%s", m.ID, fmt.Sprintf("%x", sha256.Sum256([]byte(last.At.UTC().Format(time.RFC3339Nano)+"\x00"+fmtNum(last.Quantity))))[:8])
	if day(last.At) == day(now) {
		return &SafetyAlert{ID: id, Severity: "moderate", Message: fmt.Sprintf("Duplicate issue: %s was already issued today (%s %s at %s by %s). Give a reason to issue it again.",
			m.Code.Display, fmtNum(last.Quantity), m.Unit, last.At.In(ukZone).Format("15:04"), last.By)}
	}
	lm := *m
	lm.Quantity = last.Quantity
	days := 0.0
	if d, err := ParseDose(m.Dose); err == nil {
		if x, ok := supplyDays(d, last.Quantity, prod, m.Unit); ok {
			days = x
		}
	}
	if days == 0 {
		days = float64(CourseDays(&lm))
	}
	due := last.At.Add(time.Duration(math.Round(days*0.75*24)) * time.Hour)
	if now.Before(due) {
		return &SafetyAlert{ID: id, Severity: "moderate", Message: fmt.Sprintf("Early issue: the last issue of %s (%s %s on %s) lasts about %s days and is 75%% used on %s. Give a reason to issue it early.",
			m.Code.Display, fmtNum(last.Quantity), m.Unit, day(last.At), fmtNum(math.Round(days)), day(due))}
	}
	return nil
}

// stepAlerts are the alerts and notes for one step on an existing
// medication m (issue, re-authorise, re-check): every check, with m itself
// left out of the duplicate and interaction checks.
func stepAlerts(tx store.Tx, drugs Drugs, p *record.Patient, m *record.Medication, now time.Time) (alerts, notes []SafetyAlert, err error) {
	prod, perr := drugs.Product(m.Code.Code)
	if perr != nil {
		return []SafetyAlert{}, []SafetyAlert{{ID: "product-unknown:" + m.Code.Code, Severity: "low", Kind: KindNotChecked,
			Message: fmt.Sprintf("Not checked: %s (%s) is not in the dm+d dictionary in use", m.Code.Display, m.Code.Code)}}, nil
	}
	all, err := alertsFor(tx, drugs, p, prod, m, m.ID, now)
	if err != nil {
		return nil, nil, err
	}
	alerts, notes = SplitNotes(all)
	return alerts, notes, nil
}

// auditAnswers appends the audit event of each answer.
func (s *Service) auditAnswers(tx store.WTx, m *record.Medication, recorded []record.AlertAnswer) error {
	for _, a := range recorded {
		ev := s.event("alert-"+a.Answer, record.KindMedication, m.ID, m.PatientID, m.Version)
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

// NewAnswers are the answers a client sent (sent) that the medication did
// not hold before (before): what a PUT of an issue or a re-authorisation
// answers. Each is an override with a reason or an acknowledgement.
func NewAnswers(before, sent []record.AlertAnswer) (Answers, error) {
	had := map[string]bool{}
	for _, a := range before {
		had[a.AlertID] = true
	}
	var fresh []record.AlertAnswer
	for _, a := range sent {
		if !had[a.AlertID] {
			fresh = append(fresh, a)
		}
	}
	return AnswersOf(fresh)
}
