package clinical

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
)

// Prescribing safety checks. They run in clinical, inside the prescribing
// transaction, so the CLI, the TUI and the API get the same alerts on the
// same data. Each alert has a deterministic id (the same check on the same
// data gives the same id), a severity and a message.

// Drugs is what the checks need of the terminology; *terminology.Terminology has it.
type Drugs interface {
	Product(code string) (terminology.Product, error)
	Subsumes(a, b string) (bool, error)
	CompileECL(expr string) (*terminology.Matcher, error)
}

var drugsFor sync.Map // *Practice -> Drugs

// SetDrugs gives a practice the dm+d dictionary its prescribing needs (the
// CLI, TUI and server pass their open terminology). Needed only when the
// Terminology given in Options is not itself a Drugs.
func (p *Practice) SetDrugs(d Drugs) { drugsFor.Store(p, d) }

// DrugsProvider is a Terminology (given in Options) that can hand over the
// dm+d dictionary itself, so every face gets prescribing without SetDrugs.
type DrugsProvider interface {
	Drugs() Drugs
}

func (p *Practice) drugs() (Drugs, error) {
	if d, ok := p.terms.(Drugs); ok {
		return d, nil
	}
	if dp, ok := p.terms.(DrugsProvider); ok {
		if d := dp.Drugs(); d != nil {
			return d, nil
		}
	}
	if d, ok := drugsFor.Load(p); ok {
		return d.(Drugs), nil
	}
	return nil, fmt.Errorf("prescribing needs the dm+d dictionary: no terminology is open")
}

// SafetyAlert is one reason a prescription needs an answer before it is
// written, or (Kind "not-checked") a note: a check that could not be done
// completely, shown every time and needing no answer.
type SafetyAlert struct {
	ID       string `json:"id"`
	Kind     string `json:"kind,omitempty"` // "" an alert; KindNotChecked a note
	Severity string `json:"severity"`       // high | moderate | low
	Message  string `json:"message"`
}

// KindNotChecked marks a note: a check that could not run completely.
const KindNotChecked = "not-checked"

// IsNote reports whether a is a note (shown, never answered) rather than an alert.
func (a SafetyAlert) IsNote() bool { return a.Kind == KindNotChecked }

// AlertsError refuses an action until each of its alerts is answered.
type AlertsError struct {
	Alerts []SafetyAlert
	Notes  []SafetyAlert // what could not be checked: shown with the alerts, never answered
}

func (e *AlertsError) Error() string {
	ids := make([]string, len(e.Alerts))
	for i, a := range e.Alerts {
		ids[i] = a.ID
	}
	return fmt.Sprintf("%d safety alert(s) need an answer: %s", len(e.Alerts), strings.Join(ids, ", "))
}

// Answers are a clinician's answers to alerts: an override (with its reason)
// for any alert, an acknowledgement for moderate and low ones only.
type Answers struct {
	Override map[string]string // alert id -> reason
	Ack      []string
}

func sevRank(s string) int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return len(Severities)
}

// facts is what the checks read of a patient, loaded in the action's transaction.
type facts struct {
	patient   *record.Patient
	allergies []*record.Allergy     // active
	current   []*record.Medication  // current: active, not stopped
	problems  []*record.Problem     // active
	obs       []*record.Observation // not entered in error
	today     time.Time
}

func loadFacts(tx store.Tx, p *record.Patient, now time.Time) (*facts, error) {
	f := &facts{patient: p, today: now.In(ukZone)}
	es, err := tx.List(p.ID, record.KindAllergy)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if a := e.(*record.Allergy); a.Status == "active" {
			f.allergies = append(f.allergies, a)
		}
	}
	if es, err = tx.List(p.ID, record.KindMedication); err != nil {
		return nil, err
	}
	for _, e := range es {
		if m := e.(*record.Medication); currentOn(m, now) {
			f.current = append(f.current, m)
		}
	}
	if es, err = tx.List(p.ID, record.KindProblem); err != nil {
		return nil, err
	}
	for _, e := range es {
		if pr := e.(*record.Problem); pr.Status == "active" {
			f.problems = append(f.problems, pr)
		}
	}
	if es, err = tx.List(p.ID, record.KindObservation); err != nil {
		return nil, err
	}
	for _, e := range es {
		if o := e.(*record.Observation); o.Status != record.StatusEnteredInError {
			f.obs = append(f.obs, o)
		}
	}
	return f, nil
}

// currentMed is a medication that may still be taken: a repeat that is
// active, or an acute (issued once, so "completed" when written) not stopped.
func currentMed(m *record.Medication) bool {
	if m.StoppedOn != "" {
		return false
	}
	return m.Status == "active" || (m.Type == "acute" && m.Status == "completed")
}

// currentOn is currentMed, and for an acute, within its course: issued no
// longer ago than its duration, or when none was given, the days its
// quantity lasts at its dose (CourseDays).
func currentOn(m *record.Medication, now time.Time) bool {
	if !currentMed(m) {
		return false
	}
	if m.Type == "repeat" || len(m.Issues) == 0 {
		return true
	}
	return m.Issues[len(m.Issues)-1].At.AddDate(0, 0, CourseDays(m)).After(now)
}

// checker runs the checks for one product against one patient's facts.
type checker struct {
	drugs Drugs
	rules *RuleSet
	prods map[string]*drugFacts // current medications' products, by code
	ecl   map[string]*terminology.Matcher
	sub   map[string]bool // subsumption answers of this check
}

func newChecker(d Drugs, rs *RuleSet) *checker {
	return &checker{drugs: d, rules: rs, prods: map[string]*drugFacts{}, ecl: map[string]*terminology.Matcher{}, sub: map[string]bool{}}
}

func (c *checker) productOf(code string) (*drugFacts, error) {
	if d, ok := c.prods[code]; ok {
		return d, nil
	}
	k := factsKey{c.drugs, c.rules.key, code}
	if v, ok := factsCache.Load(k); ok {
		if e := v.(factsEntry); time.Since(e.at) < prodTTL {
			c.prods[code] = e.d
			return e.d, nil
		}
	}
	p, err := cachedProduct(c.drugs, code)
	if err != nil {
		return nil, err
	}
	d := c.drug(p)
	c.interactionSides(d) // worked out now, so the cached facts are never written again
	factsCache.Store(k, factsEntry{d, time.Now()})
	c.prods[code] = d
	return d, nil
}

// A current medicine's facts (ingredients, classes, which side of each
// interaction it takes) depend only on the product and the rule set: they
// are kept like products, so a patient on 15 medicines costs 15 lookups.
type factsKey struct {
	d           Drugs
	rules, code string
}

type factsEntry struct {
	d  *drugFacts
	at time.Time
}

var factsCache sync.Map // factsKey -> factsEntry

// Products of current medication are read for every check; a short-lived
// cache keeps a prescription within its time budget while a dm+d import by
// another process is seen within minutes.
type prodKey struct {
	d    Drugs
	code string
}

type prodEntry struct {
	p  terminology.Product
	at time.Time
}

var prodCache sync.Map // prodKey -> prodEntry

const prodTTL = 5 * time.Minute

func cachedProduct(d Drugs, code string) (terminology.Product, error) {
	k := prodKey{d, code}
	if v, ok := prodCache.Load(k); ok {
		if e := v.(prodEntry); time.Since(e.at) < prodTTL {
			return e.p, nil
		}
	}
	p, err := d.Product(code)
	if err != nil {
		return p, err
	}
	prodCache.Store(k, prodEntry{p, time.Now()})
	return p, nil
}

func (c *checker) matcher(expr string) (*terminology.Matcher, error) {
	if m, ok := c.ecl[expr]; ok {
		return m, nil
	}
	m, err := eclCache(c.drugs, expr)
	if err != nil {
		return nil, err
	}
	c.ecl[expr] = m
	return m, nil
}

type eclKey struct {
	d    Drugs
	expr string
}

var eclMatchers sync.Map // eclKey -> *terminology.Matcher

func eclCache(d Drugs, expr string) (*terminology.Matcher, error) {
	k := eclKey{d, expr}
	if m, ok := eclMatchers.Load(k); ok {
		return m.(*terminology.Matcher), nil
	}
	m, err := d.CompileECL(expr)
	if err != nil {
		return nil, fmt.Errorf("rule ECL %q: %w", expr, err)
	}
	eclMatchers.Store(k, m)
	return m, nil
}

func capital(s string) string {
	if s == "" {
		return "Allergy"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ageOn is the age in whole years on a day.
func ageOn(birth string, on time.Time) (int, bool) {
	b, err := time.Parse(record.DateLayout, birth)
	if err != nil {
		return 0, false
	}
	y := on.Year() - b.Year()
	if on.Month() < b.Month() || (on.Month() == b.Month() && on.Day() < b.Day()) {
		y--
	}
	return y, true
}

func anyProblem(f *facts, m *terminology.Matcher) bool {
	for _, pr := range f.problems {
		if m.Contains(pr.Code.System, pr.Code.Code) {
			return true
		}
	}
	return false
}

// SplitNotes separates the alerts (which need an answer) from the notes
// (checks that could not run completely) of one check, keeping their order.
func SplitNotes(all []SafetyAlert) (alerts, notes []SafetyAlert) {
	alerts, notes = []SafetyAlert{}, []SafetyAlert{}
	for _, a := range all {
		if a.IsNote() {
			notes = append(notes, a)
		} else {
			alerts = append(alerts, a)
		}
	}
	return alerts, notes
}

// answer matches answers to alerts: it returns the alerts still unanswered,
// and the answers to record. An acknowledgement of a high alert, or an answer
// naming no alert raised, is refused.
func answer(alerts []SafetyAlert, ans Answers, by string, at time.Time) ([]SafetyAlert, []record.AlertAnswer, error) {
	// Notes need no answer: they are shown, never answered or recorded.
	alerts, _ = SplitNotes(alerts)
	raised := map[string]SafetyAlert{}
	for _, a := range alerts {
		raised[a.ID] = a
	}
	for id := range ans.Override {
		if _, ok := raised[id]; !ok {
			return nil, nil, record.Invalid("override", id, "no such alert for this prescription (list them with --check)")
		}
	}
	acked := map[string]bool{}
	for _, id := range ans.Ack {
		a, ok := raised[id]
		if !ok {
			return nil, nil, record.Invalid("ack", id, "no such alert for this prescription (list them with --check)")
		}
		if a.Severity == "high" {
			return nil, nil, record.Invalid("ack", id, "a high-severity alert needs --override %s=REASON", id)
		}
		acked[id] = true
	}
	var open []SafetyAlert
	var rec []record.AlertAnswer
	for _, a := range alerts {
		if reason, ok := ans.Override[a.ID]; ok {
			if strings.TrimSpace(reason) == "" {
				return nil, nil, record.Invalid("override", a.ID+"=", "an override needs a reason")
			}
			rec = append(rec, record.AlertAnswer{AlertID: a.ID, Severity: a.Severity, Message: a.Message,
				Answer: "override", Reason: strings.TrimSpace(reason), By: by, At: at})
			continue
		}
		if acked[a.ID] {
			rec = append(rec, record.AlertAnswer{AlertID: a.ID, Severity: a.Severity, Message: a.Message,
				Answer: "ack", By: by, At: at})
			continue
		}
		open = append(open, a)
	}
	return open, rec, nil
}

// IsCurrent reports whether a medication is one the patient is taking on a
// day: a repeat that is active and not stopped, or an acute within its
// course. The record summary, the workstation and the API can share it.
func IsCurrent(m *record.Medication, now time.Time) bool { return currentOn(m, now) }
