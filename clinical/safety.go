package clinical

import (
	"fmt"
	"sort"
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

// SafetyAlert is one reason a prescription needs an answer before it is written.
type SafetyAlert struct {
	ID       string `json:"id"`
	Severity string `json:"severity"` // high | moderate | low
	Message  string `json:"message"`
	Kind     string `json:"kind,omitempty"` // empty: an alert that needs an answer; not-checked: a note
}

// AlertsError refuses an action until each of its alerts is answered.
type AlertsError struct {
	Alerts []SafetyAlert
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

// substance is an active ingredient as the checks see it.
type substance struct {
	code, name string // name lower-case
}

// drugFacts is a product's ingredients for the checks.
type drugFacts struct {
	code, name string
	vtm        *terminology.CodeTerm
	subs       []substance
	verified   bool // ingredients from dm+d (or a name that names them)
	fromName   bool // unverified, but the approved name of a combination names them
	names      []string
	// sides[i] is what matched interaction i's a (sides[2i]) and b
	// (sides[2i+1]) selectors ("" none): worked out once per drug and check.
	sides []string
}

// interactionSides matches a drug against both selectors of every interaction, once.
func (c *checker) interactionSides(d *drugFacts) []string {
	if d.sides == nil {
		d.sides = make([]string, 2*len(c.rules.Interactions))
		for i, x := range c.rules.Interactions {
			if ok, n := c.selects(x.A, d); ok {
				d.sides[2*i] = n
			}
			if ok, n := c.selects(x.B, d); ok {
				d.sides[2*i+1] = n
			}
		}
	}
	return d.sides
}

// agentClasses maps allergy agents and findings that sit outside the
// substance hierarchy to the substance class the checks test by subsumption:
// 764146007 |Penicillin (substance)| and the finding 91936005 |Allergy to
// penicillin| to 373270004 |Substance with penicillin structure and
// antibacterial mechanism of action|, under which the embedded terminology
// places the penicillins (fixtures/embedded/supplement.csv).
var agentClasses = map[string]string{
	"764146007": "373270004",
	"91936005":  "373270004",
	"294505008": "372687004", // Allergy to amoxicillin -> Amoxicillin
}

// combinations are the British Approved Names of common co- products and
// their ingredients (SNOMED CT substances), used only when dm+d's own
// ingredients are not available: the product stays "unverified".
// Source: BNF, "Approved names" of compound preparations (co-amoxiclav =
// amoxicillin + clavulanic acid, etc.); substance ids (ISID) from dm+d f_ingredient2 3010419 (NHSBSA, OGL).
var combinations = map[string][]substance{
	"co-amoxiclav":   {{"372687004", "amoxicillin"}, {"395939008", "clavulanic acid"}},
	"co-codamol":     {{"387494007", "codeine"}, {"387517004", "paracetamol"}},
	"co-dydramol":    {{"322538006", "dihydrocodeine tartrate"}, {"387517004", "paracetamol"}},
	"co-trimoxazole": {{"387179001", "trimethoprim"}, {"363528007", "sulfamethoxazole"}},
	"co-careldopa":   {{"73579000", "carbidopa"}, {"387086006", "levodopa"}},
	"co-beneldopa":   {{"391822003", "benserazide hydrochloride"}, {"387086006", "levodopa"}},
	"co-fluampicil":  {{"387170002", "ampicillin"}, {"387544009", "flucloxacillin"}},
	"co-tenidone":    {{"387506000", "atenolol"}, {"387324004", "chlortalidone"}},
	"co-amilofruse":  {{"387516008", "amiloride hydrochloride"}, {"387475002", "furosemide"}},
	"co-amilozide":   {{"387516008", "amiloride hydrochloride"}, {"387525002", "hydrochlorothiazide"}},
}

func (c *checker) drug(p terminology.Product) *drugFacts {
	d := &drugFacts{code: p.Code, name: p.Name, vtm: p.VTM, verified: p.IngredientsVerified}
	if d.verified {
		for _, in := range p.Ingredients {
			d.subs = append(d.subs, substance{in.Code, strings.ToLower(in.Name)})
		}
	} else {
		key := strings.ToLower(p.Name)
		if p.VTM != nil {
			key = strings.ToLower(p.VTM.Term)
		}
		for name, subs := range combinations {
			if strings.HasPrefix(key, name) {
				d.subs, d.fromName = subs, true
			}
		}
	}
	for _, s := range d.subs {
		d.names = append(d.names, s.name)
	}
	if p.VTM != nil {
		d.names = append(d.names, strings.ToLower(p.VTM.Term))
	}
	d.names = append(d.names, strings.ToLower(p.Name))
	return d
}

// checker runs the checks for one product against one patient's facts.
type checker struct {
	drugs Drugs
	rules *RuleSet
	prods map[string]*drugFacts // current medications' products, by code
	ecl   map[string]*terminology.Matcher
}

func newChecker(d Drugs, rs *RuleSet) *checker {
	return &checker{drugs: d, rules: rs, prods: map[string]*drugFacts{}, ecl: map[string]*terminology.Matcher{}}
}

func (c *checker) productOf(code string) (*drugFacts, error) {
	if d, ok := c.prods[code]; ok {
		return d, nil
	}
	p, err := cachedProduct(c.drugs, code)
	if err != nil {
		return nil, err
	}
	d := c.drug(p)
	c.prods[code] = d
	return d, nil
}

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

// selects reports whether a selector picks a drug, and the ingredient (or name) that matched.
func (c *checker) selects(sel DrugSelector, d *drugFacts) (bool, string) {
	if ok, n := c.selectsIn(sel.Codes, sel.Names, d); ok {
		return ok, n
	}
	if sel.Class != "" {
		cl := c.rules.Classes[sel.Class]
		return c.selectsIn(cl.Codes, cl.Names, d)
	}
	return false, ""
}

func (c *checker) selectsIn(codes, names []string, d *drugFacts) (bool, string) {
	for _, want := range codes {
		for _, s := range d.subs {
			if s.code == want {
				return true, s.name
			}
			if ok, _ := c.drugs.Subsumes(want, s.code); ok {
				return true, s.name
			}
		}
	}
	for _, w := range names { // lower-cased when the rule set was built
		for _, n := range d.names {
			if strings.Contains(n, w) {
				return true, w
			}
		}
	}
	return false, ""
}

// check runs every check for prescribing product d to the patient. except
// is a medication the new one replaces (a dose change), left out of the
// duplicate and interaction checks.
func (c *checker) check(f *facts, d *drugFacts, except string) ([]SafetyAlert, error) {
	var out []SafetyAlert
	add := func(id, sev, msg string) { out = append(out, SafetyAlert{ID: id, Severity: sev, Message: msg}) }

	// Allergies.
	var drugAllergies []*record.Allergy
	nkda := false
	for _, a := range f.allergies {
		if a.NKDA {
			nkda = true
			continue
		}
		drugAllergies = append(drugAllergies, a)
	}
	if len(drugAllergies) == 0 && !nkda {
		add("allergy-status:not-recorded", "moderate",
			"Allergy status not recorded: ask about drug allergies and record them, or no known drug allergy")
	}
	for _, a := range drugAllergies {
		hit := ""
		agents := []string{a.Agent.Code}
		if x, ok := agentClasses[a.Agent.Code]; ok {
			agents = append(agents, x)
		}
		if a.Finding != nil {
			if x, ok := agentClasses[a.Finding.Code]; ok {
				agents = append(agents, x)
			}
		}
	subs:
		for _, s := range d.subs {
			for _, ag := range agents {
				if ag == s.code {
					hit = s.name
					break subs
				}
				if ok, _ := c.drugs.Subsumes(ag, s.code); ok {
					hit = s.name
					break subs
				}
			}
		}
		if hit == "" && (a.Agent.Code == d.code || (d.vtm != nil && a.Agent.Code == d.vtm.Code)) {
			hit = d.name
		}
		if hit == "" {
			continue
		}
		what := a.Agent.Display
		if what == "" {
			what = a.Agent.Code
		}
		msg := fmt.Sprintf("%s to %s recorded", capital(a.Type), what)
		if a.Reaction != "" {
			msg += " (" + a.Reaction + ")"
		}
		msg += fmt.Sprintf(": %s contains %s", d.name, hit)
		if d.fromName {
			msg += " (by its approved name; dm+d ingredients not verified)"
		}
		sev := "high"
		if a.Type == "intolerance" { // an intolerance is not an immune reaction: answered, but by acknowledgement
			sev = "moderate"
		}
		add("allergy:"+a.Agent.Code+":"+d.code, sev, msg)
	}
	if !d.verified && len(drugAllergies) > 0 {
		var agents []string
		for _, a := range drugAllergies {
			agents = append(agents, a.Agent.Display)
		}
		sev, how := "high", "its ingredients are not known"
		if d.fromName {
			sev, how = "moderate", "its ingredients are known only from its approved name"
		}
		add("allergy-incomplete:"+d.code, sev, fmt.Sprintf("Allergy check incomplete: %s could not be fully checked against %s (%s in dm+d); check it yourself",
			d.name, strings.Join(agents, ", "), how))
	}

	// Duplicate active ingredient; interactions with current medication.
	for _, m := range f.current {
		if m.ID == except {
			continue
		}
		od, err := c.productOf(m.Code.Code)
		if err != nil {
			continue // a medication whose product is unknown to this dictionary cannot be compared
		}
		dup := ""
		for _, s := range d.subs {
			for _, t := range od.subs {
				if s.code == t.code && dup == "" {
					dup = s.code
					add("duplicate:"+s.code+":"+m.ID, "moderate", fmt.Sprintf("Duplicate %s: already on %s (%s)", s.name, od.name, m.ID))
				}
			}
		}
		if dup == "" && d.vtm != nil && od.vtm != nil && d.vtm.Code == od.vtm.Code {
			add("duplicate:"+d.vtm.Code+":"+m.ID, "moderate", fmt.Sprintf("Duplicate %s: already on %s (%s)", strings.ToLower(d.vtm.Term), od.name, m.ID))
		}
		ds, os := c.interactionSides(d), c.interactionSides(od)
		for i, x := range c.rules.Interactions {
			n1, n2 := ds[2*i], os[2*i+1]
			if n1 == "" || n2 == "" {
				n1, n2 = ds[2*i+1], os[2*i]
			}
			if n1 != "" && n2 != "" {
				add("interaction:"+x.ID+":"+m.ID, x.Severity, fmt.Sprintf("Interaction %s with %s (%s, %s): %s",
					n1, n2, od.name, m.ID, x.Advice))
			}
		}
	}

	// Practice rules.
	for _, r := range c.rules.Rules {
		ok, _ := c.selects(r.Drug, d)
		if !ok {
			continue
		}
		hold, err := c.ruleHolds(r.When, f)
		if err != nil {
			return nil, err
		}
		if hold {
			add("rule:"+r.ID+":"+d.code, r.Severity, r.Message)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return sevRank(out[i].Severity) < sevRank(out[j].Severity) })
	return out, nil
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

// answer matches answers to alerts: it returns the alerts still unanswered,
// and the answers to record. An acknowledgement of a high alert, or an answer
// naming no alert raised, is refused.
func answer(alerts []SafetyAlert, ans Answers, by string, at time.Time) ([]SafetyAlert, []record.AlertAnswer, error) {
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
