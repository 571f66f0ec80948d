package clinical

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

// The allergy, interaction and duplication checks (docs/prescribing-safety.md).
//
// A product is seen through the medicines model (terminology/medicines.go):
// its ingredients (SNOMED CT substances, with where they came from), its BNF
// chemical substance and the curated classes it belongs to. Brands share
// their generic's BNF substance and ingredients, so they behave exactly as
// the generic. Classes are by BNF substance, which carries the route: a
// topical NSAID is not a systemic NSAID for interactions and duplication,
// but its ingredient still meets an allergy.
//
// Fail closed: what cannot be checked completely (ingredients partly known
// or unknown, a current medicine the dictionary lacks, excipients) is a note
// (Kind not-checked) on every prescription; an allergy recorded as text or
// not mapped to an agent is a moderate alert on every prescription.

// Medicines is what the checks use of the medicines model beyond Drugs;
// *terminology.Terminology has it.
type Medicines interface {
	SubstanceClasses(code, name string) []string
	SubstanceName(code string) string
	AllClassesOf(p terminology.Product) []terminology.CodeTerm
}

// substance is an active ingredient as the checks see it.
type substance struct {
	code, name string // name lower-case
	base       string // terminology.IngredientBase: a salt counts as its base
}

// drugFacts is a product as the checks see it.
type drugFacts struct {
	code, name string
	vtm        *terminology.CodeTerm
	subs       []substance
	verified   bool   // the ingredient list is complete (dm+d or BNF)
	partial    bool   // filed under a substance that does not name all its ingredients
	from       string // where the ingredients came from (terminology.From*)
	bnf        string // BNF chemical substance code, "" when unlinked
	local      bool   // acts where it is put (skin, eye, ear)
	classes    map[string]bool
	allClasses map[string]bool // by every ingredient, whatever the route (allergy)
	names      []string
	// sides[i] is what matched interaction i's a, b and c selectors
	// ("" none): worked out once per drug and check.
	sides []string
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

func (c *checker) drug(p terminology.Product) *drugFacts {
	d := &drugFacts{code: p.Code, name: p.Name, vtm: p.VTM, verified: p.IngredientsVerified && !p.Partial,
		partial: p.Partial, from: p.IngredientsFrom, local: p.Local(), classes: map[string]bool{}, allClasses: map[string]bool{}}
	if p.BNF != nil {
		d.bnf = p.BNF.Substance.Code
	}
	for _, in := range p.Ingredients {
		d.subs = append(d.subs, substance{in.Code, strings.ToLower(in.Name), terminology.IngredientBase(in.Name)})
		d.names = append(d.names, strings.ToLower(in.Name))
	}
	for _, cl := range p.Classes {
		d.classes[cl.Code] = true
		d.allClasses[cl.Code] = true
	}
	if m, ok := c.drugs.(Medicines); ok {
		for _, cl := range m.AllClassesOf(p) {
			d.allClasses[cl.Code] = true
		}
	}
	if p.VTM != nil {
		d.names = append(d.names, strings.ToLower(p.VTM.Term))
	}
	d.names = append(d.names, strings.ToLower(p.Name))
	return d
}

// interactionSides matches a drug against the selectors of every interaction, once.
func (c *checker) interactionSides(d *drugFacts) []string {
	if d.sides == nil {
		d.sides = make([]string, 3*len(c.rules.Interactions))
		for i, x := range c.rules.Interactions {
			if ok, n := c.selects(x.A, d); ok {
				d.sides[3*i] = n
			}
			if ok, n := c.selects(x.B, d); ok {
				d.sides[3*i+1] = n
			}
			if x.C != nil {
				if ok, n := c.selects(*x.C, d); ok {
					d.sides[3*i+2] = n
				}
			}
		}
	}
	return d.sides
}

// selects reports whether a selector picks a drug, and what matched (an
// ingredient or the class's name).
func (c *checker) selects(sel DrugSelector, d *drugFacts) (bool, string) {
	if ok, n := c.selectsIn(sel.Codes, sel.Names, sel.BNF, d); ok {
		return ok, n
	}
	if sel.Class == "" {
		return false, ""
	}
	if cl, ok := c.rules.Classes[sel.Class]; ok { // a class the rule file defines
		return c.selectsIn(cl.Codes, cl.Names, cl.BNF, d)
	}
	if d.classes[sel.Class] { // a curated class of the medicines model
		return true, c.className(sel.Class, d)
	}
	return false, ""
}

// className names what put a drug in a class: its ingredient when it has one, else the class.
func (c *checker) className(class string, d *drugFacts) string {
	if len(d.subs) == 1 {
		return d.subs[0].name
	}
	return class
}

func (c *checker) selectsIn(codes, names, bnf []string, d *drugFacts) (bool, string) {
	for _, b := range bnf {
		if d.bnf == b {
			if len(d.subs) == 1 {
				return true, d.subs[0].name
			}
			return true, strings.ToLower(d.name)
		}
	}
	for _, want := range codes {
		for _, s := range d.subs {
			if s.code == want {
				return true, s.name
			}
			if ok, _ := c.subsumes(want, s.code); ok {
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

// subsumes asks the terminology once per pair and check.
func (c *checker) subsumes(a, b string) (bool, error) {
	k := a + ">" + b
	if v, ok := c.sub[k]; ok {
		return v, nil
	}
	v, err := c.drugs.Subsumes(a, b)
	c.sub[k] = v
	return v, err
}

// textOnlyAllergy: an allergy whose agent is no code the checks can use
// (a record transferred as text, or a code that is not a substance or
// product the terminology knows).
func (c *checker) textOnlyAllergy(a *record.Allergy) bool {
	k := agentKey{d: c.drugs, system: a.Agent.System, code: a.Agent.Code, purpose: "text-only"}
	if v, ok := agentCache.Load(k); ok {
		if e := v.(agentEntry); time.Since(e.at) < prodTTL {
			return e.ag == nil
		}
	}
	text := c.textOnlyAllergyUncached(a)
	var mark *allergyAgent
	if !text {
		mark = &allergyAgent{}
	}
	agentCache.Store(k, agentEntry{mark, time.Now()})
	return text
}

func (c *checker) textOnlyAllergyUncached(a *record.Allergy) bool {
	if TextOnlyAllergy(a) {
		return true
	}
	if a.Agent.System == record.SystemDMD {
		_, err := cachedProduct(c.drugs, a.Agent.Code)
		return err != nil
	}
	if _, ok := agentClasses[a.Agent.Code]; ok {
		return false
	}
	if m, ok := c.drugs.(Medicines); ok && len(m.SubstanceClasses(a.Agent.Code, a.Agent.Display)) > 0 {
		return false
	}
	ok, _ := c.subsumes("105590001", a.Agent.Code) // |Substance|
	if ok {
		return false
	}
	if _, err := cachedProduct(c.drugs, a.Agent.Code); err == nil {
		return false
	}
	return true
}

// TextOnlyAllergy reports an allergy the record holds as text only (an
// import of an uncoded entry) or under a code system the checks cannot
// compare; the record banner says "allergy recorded as text".
func TextOnlyAllergy(a *record.Allergy) bool {
	if a.NKDA {
		return false
	}
	return a.Agent.Code == "" || a.Agent.Code == SCTDegradedEntry ||
		(a.Agent.System != "" && a.Agent.System != record.SystemSNOMED && a.Agent.System != record.SystemDMD)
}

// SCTDegradedEntry is SNOMED CT 196411000000103 |Transfer-degraded record
// entry|: what an import keeps when a record came as text only.
const SCTDegradedEntry = "196411000000103"

// allergyAgent is what an allergy names, as the checks compare it.
type allergyAgent struct {
	codes   []string        // substances (and class substances) to test by subsumption
	bases   map[string]bool // base names of the agent substances
	classes map[string]bool // allergy classes the agent belongs to
	what    string
}

// agentOf is kept per agent (and rule set) like a product: it reads the terminology.
func (c *checker) agentOf(a *record.Allergy) *allergyAgent {
	k := agentKey{d: c.drugs, rules: c.rules.key, system: a.Agent.System, code: a.Agent.Code, display: a.Agent.Display}
	if a.Finding != nil {
		k.finding = a.Finding.Code
	}
	if v, ok := agentCache.Load(k); ok {
		if e := v.(agentEntry); time.Since(e.at) < prodTTL {
			return e.ag
		}
	}
	ag := c.agentOfUncached(a)
	agentCache.Store(k, agentEntry{ag, time.Now()})
	return ag
}

type agentKey struct {
	d                                              Drugs
	rules, system, code, display, finding, purpose string
}

type agentEntry struct {
	ag *allergyAgent
	at time.Time
}

var agentCache sync.Map // agentKey -> agentEntry

func (c *checker) agentOfUncached(a *record.Allergy) *allergyAgent {
	ag := &allergyAgent{codes: []string{a.Agent.Code}, bases: map[string]bool{}, classes: map[string]bool{}}
	ag.what = c.allergyWhat(a)
	if x, ok := agentClasses[a.Agent.Code]; ok {
		ag.codes = append(ag.codes, x)
	}
	if a.Finding != nil {
		if x, ok := agentClasses[a.Finding.Code]; ok {
			ag.codes = append(ag.codes, x)
		}
	}
	allergyClass := map[string]bool{}
	for _, cl := range c.rules.AllergyClasses {
		allergyClass[cl] = true
	}
	med, _ := c.drugs.(Medicines)
	addClasses := func(code, name string) {
		if med == nil {
			return
		}
		for _, cl := range med.SubstanceClasses(code, name) {
			if allergyClass[cl] {
				ag.classes[cl] = true
			}
		}
	}
	if ag.what != a.Agent.Code {
		ag.bases[terminology.IngredientBase(ag.what)] = true
	}
	for _, code := range ag.codes {
		addClasses(code, "")
	}
	addClasses(a.Agent.Code, ag.what)
	// An agent recorded as a product: its ingredients and classes.
	if p, err := cachedProduct(c.drugs, a.Agent.Code); err == nil {
		for _, in := range p.Ingredients {
			ag.codes = append(ag.codes, in.Code)
			ag.bases[terminology.IngredientBase(in.Name)] = true
			addClasses(in.Code, in.Name)
		}
	}
	return ag
}

// severeReaction: the recorded reaction or severity says anaphylaxis or severe.
func severeReaction(a *record.Allergy) bool {
	if a.Severity == "severe" {
		return true
	}
	r := strings.ToLower(a.Reaction)
	for _, w := range []string{"anaphyla", "angioedema", "angio-oedema", "stevens-johnson", "toxic epidermal", "severe", "bronchospasm"} {
		if strings.Contains(r, w) {
			return true
		}
	}
	return false
}

// latexOrFood: an allergy whose agent could be an excipient or a device material.
func latexOrFood(a *record.Allergy) bool {
	if a.Category == "food" {
		return true
	}
	t := strings.ToLower(a.Agent.Display)
	return strings.Contains(t, "latex") || a.Agent.Code == "111088007" || a.Agent.Code == "300916003"
}

// check runs every check for prescribing product d to the patient. except
// is a medication the new one replaces (a dose change), left out of the
// duplicate and interaction checks.
func (c *checker) check(f *facts, d *drugFacts, except string) ([]SafetyAlert, error) {
	var out []SafetyAlert
	add := func(id, sev, msg string) { out = append(out, SafetyAlert{ID: id, Severity: sev, Message: msg}) }
	note := func(id, msg string) {
		out = append(out, SafetyAlert{ID: id, Kind: KindNotChecked, Severity: "low", Message: msg})
	}

	// What could not be checked about the product itself.
	switch {
	case d.partial:
		note("not-checked:ingredients:"+d.code, fmt.Sprintf("Checks incomplete: %s is filed under a BNF substance that does not name all its ingredients; "+
			"checked for %s only. Check the other ingredients yourself.", d.name, strings.Join(d.subNames(), ", ")))
	case !d.verified:
		how := "not known"
		if len(d.subs) > 0 {
			how = "guessed from its name (" + strings.Join(d.subNames(), ", ") + ")"
		}
		note("not-checked:ingredients:"+d.code, fmt.Sprintf("Checks incomplete: %s's ingredients are %s, not from dm+d or the BNF; "+
			"allergy, interaction and duplication checks used only that. Check it yourself, or import the dm+d release.", d.name, how))
	}

	// Allergies.
	var drugAllergies, excipient []*record.Allergy
	nkda := false
	for _, a := range f.allergies {
		switch {
		case a.NKDA:
			nkda = true
		case DrugAllergy(a):
			drugAllergies = append(drugAllergies, a)
		case latexOrFood(a):
			excipient = append(excipient, a)
		}
	}
	if len(drugAllergies) == 0 && !nkda {
		add("allergy-status:not-recorded", "moderate",
			"Allergy status not recorded: ask about drug allergies and record them, or no known drug allergy")
	}
	if len(excipient) > 0 {
		var what []string
		for _, a := range excipient {
			what = append(what, c.allergyWhat(a))
		}
		note("not-checked:excipients", fmt.Sprintf("Excipients not checked: %s allergy recorded, and the embedded dictionary holds no excipients; "+
			"check the product's SPC (section 6.1) for %s.", strings.Join(what, ", "), strings.Join(what, ", ")))
	}
	for _, a := range drugAllergies {
		if c.textOnlyAllergy(a) {
			add("allergy-text:"+a.ID, "moderate", fmt.Sprintf("Allergy recorded as text, not checked: %q. Read it against %s, and code it "+
				"(gpsoc allergy add with the agent) so it is checked.", c.allergyWhat(a), d.name))
			continue
		}
		ag := c.agentOf(a)
		sev := "high"
		if a.Type == "intolerance" { // not an immune reaction: answered, but by acknowledgement
			sev = "moderate"
		}
		if hit := c.allergyHit(ag, d); hit != "" {
			msg := fmt.Sprintf("%s to %s recorded", capital(a.Type), ag.what)
			if a.Reaction != "" {
				msg += " (" + a.Reaction + ")"
			}
			add("allergy:"+a.Agent.Code+":"+d.code, sev, msg+fmt.Sprintf(": %s contains %s", d.name, hit))
			continue
		}
		for _, x := range c.rules.Cross {
			if !ag.classes[x.Allergy] || !d.allClasses[x.Drug] {
				continue
			}
			xs := x.Severity
			if severeReaction(a) {
				xs = x.SevereSeverity
			}
			if a.Type == "intolerance" && xs == "high" {
				xs = "moderate"
			}
			msg := fmt.Sprintf("%s to %s recorded", capital(a.Type), ag.what)
			if a.Reaction != "" {
				msg += " (" + a.Reaction + ")"
			}
			add("allergy-cross:"+a.Agent.Code+":"+d.code, xs, msg+fmt.Sprintf(": %s is %s; %s", d.name, x.DrugName, x.Advice))
			break
		}
	}

	// Duplicates and interactions with current medication.
	var others []*drugFacts
	var otherMeds []*record.Medication
	for _, m := range f.current {
		if m.ID == except {
			continue
		}
		od, err := c.productOf(m.Code.Code)
		if err != nil {
			note("not-checked:current:"+m.ID, fmt.Sprintf("Not checked against %s (%s): the product is not in the dictionary, "+
				"so interactions and duplication with it are unknown.", m.Code.Display, m.ID))
			continue
		}
		if !od.verified {
			note("not-checked:current:"+m.ID, fmt.Sprintf("Checked against %s (%s) only for %s: its ingredients are not fully known.",
				od.name, m.ID, or(strings.Join(od.subNames(), ", "), "nothing")))
		}
		others, otherMeds = append(others, od), append(otherMeds, m)
		c.duplicates(d, od, m, add)
		ds, os := c.interactionSides(d), c.interactionSides(od)
		for i, x := range c.rules.Interactions {
			if x.C != nil {
				continue // three-way: below
			}
			n1, n2 := ds[3*i], os[3*i+1]
			if n1 == "" || n2 == "" {
				n1, n2 = ds[3*i+1], os[3*i]
			}
			if n1 != "" && n2 != "" {
				add("interaction:"+x.ID+":"+m.ID, x.Severity, fmt.Sprintf("Interaction %s with %s (%s, %s): %s",
					n1, n2, od.name, m.ID, x.message()))
			}
		}
	}
	c.threeWay(d, others, otherMeds, add)

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
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].IsNote() != out[j].IsNote() {
			return !out[i].IsNote()
		}
		return sevRank(out[i].Severity) < sevRank(out[j].Severity)
	})
	return out, nil
}

// allergyWhat names an allergy's agent: its display, else the terminology's term.
func (c *checker) allergyWhat(a *record.Allergy) string {
	if a.Agent.Display == "" && a.Agent.Code != "" {
		if m, ok := c.drugs.(Medicines); ok {
			if n := m.SubstanceName(a.Agent.Code); n != "" {
				return n
			}
		}
	}
	return allergyWhat(a)
}

func allergyWhat(a *record.Allergy) string {
	w := a.Agent.Display
	if a.Agent.Code == SCTDegradedEntry {
		w = strings.TrimPrefix(w, "Transfer-degraded record entry: ")
		w = strings.TrimPrefix(w, "text ")
		w = strings.Trim(w, `"`)
	}
	if w == "" {
		w = a.Agent.Code
	}
	return w
}

func (d *drugFacts) subNames() []string {
	var out []string
	for _, s := range d.subs {
		out = append(out, s.name)
	}
	return out
}

// allergyHit is the ingredient of d the allergy agent covers: the same
// substance (or a salt of it), a substance under it, or a member of the
// same allergy class. "" when none.
func (c *checker) allergyHit(ag *allergyAgent, d *drugFacts) string {
	for _, s := range d.subs {
		if ag.bases[s.base] {
			return s.name
		}
		for _, code := range ag.codes {
			if code == s.code {
				return s.name
			}
			if ok, _ := c.subsumes(code, s.code); ok {
				return s.name
			}
		}
	}
	for cl := range ag.classes {
		if d.allClasses[cl] {
			name := cl
			if len(d.subs) > 0 {
				name = strings.Join(d.subNames(), " + ")
			}
			return fmt.Sprintf("%s (%s, the allergy's class)", name, c.rules.classLabel(cl))
		}
	}
	return ""
}

// duplicates: the same ingredient twice (a salt counts as its base; brands
// as their generic), or two members of a class marked duplicate. Routes
// differ (gel beside tablets): not a duplicate.
func (c *checker) duplicates(d, od *drugFacts, m *record.Medication, add func(id, sev, msg string)) {
	if d.local != od.local {
		return
	}
	for _, s := range d.subs {
		for _, t := range od.subs {
			if (s.code != "" && s.code == t.code) || s.base == t.base { // a code-less ingredient (BNF-named) matches by name only
				add("duplicate:"+s.code+":"+m.ID, "moderate", fmt.Sprintf("Duplicate %s: already on %s (%s)", s.base, od.name, m.ID))
				return
			}
		}
	}
	if d.vtm != nil && od.vtm != nil && d.vtm.Code == od.vtm.Code {
		add("duplicate:"+d.vtm.Code+":"+m.ID, "moderate", fmt.Sprintf("Duplicate %s: already on %s (%s)", strings.ToLower(d.vtm.Term), od.name, m.ID))
		return
	}
	for _, cl := range c.rules.DuplicateClasses {
		if d.classes[cl] && od.classes[cl] {
			add("duplicate-class:"+cl+":"+m.ID, "moderate", fmt.Sprintf("Two %s: %s with %s (%s), already taken; is one replacing the other?",
				c.rules.classLabel(cl), d.name, od.name, m.ID))
			return
		}
	}
}

// threeWay: rules of three (an ACE inhibitor or ARB, a diuretic and an
// NSAID): the new drug and two different current medicines cover the three
// sides between them.
func (c *checker) threeWay(d *drugFacts, others []*drugFacts, meds []*record.Medication, add func(id, sev, msg string)) {
	ds := c.interactionSides(d)
	for i, x := range c.rules.Interactions {
		if x.C == nil {
			continue
		}
		for side := 0; side < 3; side++ {
			if ds[3*i+side] == "" {
				continue
			}
			rest := []int{(side + 1) % 3, (side + 2) % 3}
			found := false
			for j, o1 := range others {
				if c.interactionSides(o1)[3*i+rest[0]] == "" {
					continue
				}
				for k, o2 := range others {
					if k == j || c.interactionSides(o2)[3*i+rest[1]] == "" {
						continue
					}
					ids := []string{meds[j].ID, meds[k].ID}
					sort.Strings(ids)
					add("interaction:"+x.ID+":"+strings.Join(ids, "+"), x.Severity, fmt.Sprintf("Interaction of three: %s with %s (%s) and %s (%s): %s",
						d.name, o1.name, meds[j].ID, o2.name, meds[k].ID, x.message()))
					found = true
					break
				}
				if found {
					break
				}
			}
			if found {
				return
			}
		}
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
