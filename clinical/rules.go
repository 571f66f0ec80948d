package clinical

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/terminology"
	"go.yaml.in/yaml/v3"
)

// Prescribing rules (docs/rules.md): practice rules by age, sex, condition,
// latest result and pregnancy, and drug interaction pairs, both in one YAML
// schema. A practice's imported files live in its settings (so every
// clinician and the server apply the same rules); until a practice imports
// its own, the starter sets embedded from clinical/rules/ apply.

//go:embed rules/*.yaml
var rulesFS embed.FS

// Settings keys holding a practice's imported rule files (YAML text).
const (
	SettingRules        = "rules.contraindications"
	SettingInteractions = "rules.interactions"
)

// RuleFile is one rules YAML document.
type RuleFile struct {
	Version      int                      `yaml:"version" json:"version"`
	Rules        []Rule                   `yaml:"rules,omitempty" json:"rules,omitempty"`
	Interactions []Interaction            `yaml:"interactions,omitempty" json:"interactions,omitempty"`
	Classes      map[string]DrugClassSpec `yaml:"classes,omitempty" json:"classes,omitempty"`
	// Remove lists default rules or interactions the practice takes out, each
	// with its reason (imported only with --allow-remove; audited).
	Remove []RuleRemoval `yaml:"remove,omitempty" json:"remove,omitempty"`
}

// RuleRemoval takes a default rule or interaction out of force.
type RuleRemoval struct {
	ID     string `yaml:"id" json:"id"`
	Reason string `yaml:"reason" json:"reason"`
}

// DrugSelector picks products by their active ingredients: SNOMED CT
// substance codes (a code matches itself and every substance below it), names
// (matched, ignoring case, within the ingredient and VTM names), BNF chemical
// substance codes (brands included; the code carries the route), or a class:
// one defined under classes, else a curated class of the medicines model
// (fixtures/embedded/bnf/classes.yaml, `gpsoc rules list` shows them).
type DrugSelector struct {
	Codes []string `yaml:"codes,omitempty" json:"codes,omitempty"`
	Names []string `yaml:"names,omitempty" json:"names,omitempty"`
	BNF   []string `yaml:"bnf,omitempty" json:"bnf,omitempty"` // BNF chemical substance codes (9 characters)
	Class string   `yaml:"class,omitempty" json:"class,omitempty"`
}

// DrugClassSpec is a named class of drugs.
type DrugClassSpec struct {
	Codes  []string `yaml:"codes,omitempty" json:"codes,omitempty"`
	Names  []string `yaml:"names,omitempty" json:"names,omitempty"`
	BNF    []string `yaml:"bnf,omitempty" json:"bnf,omitempty"`
	Source string   `yaml:"source" json:"source"`
}

// Rule is a practice prescribing rule: a drug, conditions that must all hold, a severity.
type Rule struct {
	ID       string       `yaml:"id" json:"id"`
	Severity string       `yaml:"severity" json:"severity"`
	Drug     DrugSelector `yaml:"drug" json:"drug"`
	When     RuleWhen     `yaml:"when" json:"when"`
	Message  string       `yaml:"message" json:"message"`
	Source   string       `yaml:"source" json:"source"`
	From     string       `yaml:"-" json:"from,omitempty"` // default | practice
}

// RuleWhen are a rule's conditions; every one given must hold.
type RuleWhen struct {
	Sex      string      `yaml:"sex,omitempty" json:"sex,omitempty"` // female | male
	Age      *AgeRange   `yaml:"age,omitempty" json:"age,omitempty"`
	Problem  string      `yaml:"problem,omitempty" json:"problem,omitempty"` // ECL over active problems
	Result   *ResultCond `yaml:"result,omitempty" json:"result,omitempty"`
	Pregnant bool        `yaml:"pregnant,omitempty" json:"pregnant,omitempty"`
}

// AgeRange is inclusive, in whole years.
type AgeRange struct {
	Min *int `yaml:"min,omitempty" json:"min,omitempty"`
	Max *int `yaml:"max,omitempty" json:"max,omitempty"`
}

// ResultCond tests the latest observation whose code is in ECL, recorded
// within MaxAgeDays (required): an older result does not count.
type ResultCond struct {
	ECL        string   `yaml:"ecl" json:"ecl"`
	MaxAgeDays int      `yaml:"maxAgeDays" json:"maxAgeDays"`
	Below      *float64 `yaml:"below,omitempty" json:"below,omitempty"`
	Above      *float64 `yaml:"above,omitempty" json:"above,omitempty"`
}

// Interaction is a pair of drugs (or classes) that interact, or three with C
// (the "triple whammy": an ACE inhibitor or ARB, a diuretic and an NSAID).
// Effect and Advice are in our own words; Source, Section and Date cite the
// document they come from; ReviewedBy stays empty until a named clinician
// signs the rule off.
type Interaction struct {
	ID         string        `yaml:"id" json:"id"`
	Severity   string        `yaml:"severity" json:"severity"`
	A          DrugSelector  `yaml:"a" json:"a"`
	B          DrugSelector  `yaml:"b" json:"b"`
	C          *DrugSelector `yaml:"c,omitempty" json:"c,omitempty"`
	Effect     string        `yaml:"effect,omitempty" json:"effect,omitempty"`
	Advice     string        `yaml:"advice" json:"advice"`
	Source     string        `yaml:"source" json:"source"`
	Section    string        `yaml:"section,omitempty" json:"section,omitempty"`
	Date       string        `yaml:"date,omitempty" json:"date,omitempty"`
	ReviewedBy string        `yaml:"reviewedBy" json:"reviewedBy"`
	From       string        `yaml:"-" json:"from,omitempty"` // default | practice
}

// message is the effect and the advice, as an alert says them.
func (x Interaction) message() string {
	if x.Effect == "" {
		return x.Advice
	}
	return strings.TrimSuffix(x.Effect, ".") + ". " + x.Advice
}

// PregnancyECL is what counts as a recorded pregnancy: an active problem in it.
const PregnancyECL = "<< 77386006 |Pregnancy|"

// Severities of alerts and rules, highest first.
var Severities = []string{"high", "moderate", "low"}

// maxRuleFileBytes bounds a rules file (the shipped ones are a few KiB).
const maxRuleFileBytes = 4 << 20

// ParseRuleFile reads and validates a rules YAML document; errors name the
// field (e.g. rules[2].severity) and the value.
func ParseRuleFile(text []byte) (*RuleFile, error) {
	if len(text) > maxRuleFileBytes {
		return nil, record.Invalid("file", fmt.Sprintf("%d bytes", len(text)), "a rules file may be at most %d MiB", maxRuleFileBytes>>20)
	}
	var rf RuleFile
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		return nil, record.Invalid("file", "", "not a valid rules file: %v", err)
	}
	if rf.Version != 1 {
		return nil, record.Invalid("version", fmt.Sprint(rf.Version), "must be 1")
	}
	if len(rf.Rules) == 0 && len(rf.Interactions) == 0 && len(rf.Remove) == 0 {
		return nil, record.Invalid("file", "", "holds no rules, no interactions and no removals")
	}
	for i, r := range rf.Remove {
		if strings.TrimSpace(r.ID) == "" {
			return nil, record.Invalid(fmt.Sprintf("remove[%d].id", i), r.ID, "name the default rule or interaction to remove")
		}
		if strings.TrimSpace(r.Reason) == "" {
			return nil, record.Invalid(fmt.Sprintf("remove[%d].reason", i), "", "removing default %s needs a reason", r.ID)
		}
	}
	for name, c := range rf.Classes {
		if len(c.Codes) == 0 && len(c.Names) == 0 && len(c.BNF) == 0 {
			return nil, record.Invalid("classes."+name, "", "a class needs codes, names or bnf")
		}
		if strings.TrimSpace(c.Source) == "" {
			return nil, record.Invalid("classes."+name+".source", "", "every class cites its source")
		}
	}
	sel := func(field string, d DrugSelector) error {
		if len(d.Codes) == 0 && len(d.Names) == 0 && len(d.BNF) == 0 && d.Class == "" {
			return record.Invalid(field, "", "give codes, names, bnf or class")
		}
		if d.Class != "" {
			if _, ok := rf.Classes[d.Class]; !ok && !curatedClass(d.Class) {
				return record.Invalid(field+".class", d.Class, "no such class under classes nor among the curated classes (gpsoc rules list --classes)")
			}
		}
		for _, b := range d.BNF {
			if !bnfSubstanceCode.MatchString(b) {
				return record.Invalid(field+".bnf", b, "not a 9-character BNF chemical substance code")
			}
		}
		for _, c := range d.Codes {
			if !record.ValidSCTID(c) {
				return record.Invalid(field+".codes", c, "not a SNOMED CT identifier")
			}
		}
		return nil
	}
	common := func(field, id, sev, source string, seen map[string]bool) error {
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, " :") {
			return record.Invalid(field+".id", id, "an id is required, without spaces or colons")
		}
		if seen[id] {
			return record.Invalid(field+".id", id, "used twice")
		}
		seen[id] = true
		if !oneOfStr(sev, Severities...) {
			return record.Invalid(field+".severity", sev, "must be high, moderate or low")
		}
		if strings.TrimSpace(source) == "" {
			return record.Invalid(field+".source", "", "every rule cites its source")
		}
		return nil
	}
	seen := map[string]bool{}
	for i, r := range rf.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if err := common(f, r.ID, r.Severity, r.Source, seen); err != nil {
			return nil, err
		}
		if err := sel(f+".drug", r.Drug); err != nil {
			return nil, err
		}
		if strings.TrimSpace(r.Message) == "" {
			return nil, record.Invalid(f+".message", "", "a message is required")
		}
		w := r.When
		if w.Sex != "" && !oneOfStr(w.Sex, "female", "male") {
			return nil, record.Invalid(f+".when.sex", w.Sex, "must be female (anyone who may become pregnant: female, other or unknown) or male")
		}
		if w.Age != nil && w.Age.Min == nil && w.Age.Max == nil {
			return nil, record.Invalid(f+".when.age", "", "give min or max")
		}
		if w.Result != nil {
			if strings.TrimSpace(w.Result.ECL) == "" {
				return nil, record.Invalid(f+".when.result.ecl", "", "an ECL expression is required")
			}
			if w.Result.Below == nil && w.Result.Above == nil {
				return nil, record.Invalid(f+".when.result", "", "give below or above")
			}
			if w.Result.MaxAgeDays <= 0 {
				return nil, record.Invalid(f+".when.result.maxAgeDays", fmt.Sprint(w.Result.MaxAgeDays), "required: how many days old a result may be and still count")
			}
		}
	}
	seen = map[string]bool{}
	for i, x := range rf.Interactions {
		f := fmt.Sprintf("interactions[%d]", i)
		if err := common(f, x.ID, x.Severity, x.Source, seen); err != nil {
			return nil, err
		}
		if err := sel(f+".a", x.A); err != nil {
			return nil, err
		}
		if err := sel(f+".b", x.B); err != nil {
			return nil, err
		}
		if x.C != nil {
			if err := sel(f+".c", *x.C); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(x.Advice) == "" {
			return nil, record.Invalid(f+".advice", "", "advice is required")
		}
		if x.Date != "" {
			if _, err := time.Parse("2006-01-02", x.Date); err != nil {
				if _, err := time.Parse("2006-01", x.Date); err != nil {
					return nil, record.Invalid(f+".date", x.Date, "want YYYY-MM or YYYY-MM-DD")
				}
			}
		}
	}
	return &rf, nil
}

var bnfSubstanceCode = regexp.MustCompile(`^[0-9]{7}[0-9A-Z]{2}$`)

// curatedClass: a class of the medicines model compiled in.
func curatedClass(id string) bool {
	cls, err := terminology.EmbeddedDrugClasses()
	if err != nil {
		return false
	}
	for _, c := range cls {
		if c.ID == id {
			return true
		}
	}
	return false
}

func oneOfStr(v string, xs ...string) bool {
	for _, x := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// DefaultRuleText is the embedded starter set of a kind ("contraindications" or "interactions").
func DefaultRuleText(kind string) []byte {
	b, err := rulesFS.ReadFile("rules/" + kind + ".yaml")
	if err != nil {
		panic(err)
	}
	return b
}

// RuleSet is the rules in force: the defaults merged with the practice's by id.
type RuleSet struct {
	Rules        []Rule                   `json:"rules"`
	Interactions []Interaction            `json:"interactions"`
	Classes      map[string]DrugClassSpec `json:"classes"`
	// RulesFrom and InteractionsFrom say where each part came from: default, or
	// default+practice when the practice has merged its own.
	RulesFrom        string `json:"rulesFrom"`
	InteractionsFrom string `json:"interactionsFrom"`
	// Removed are the defaults the practice took out, with its reasons.
	Removed []RuleRemoval `json:"removed"`
	// Version is a hash of everything in force: it changes when any rule does.
	Version string `json:"version"`
	// The allergy classes and cross-sensitivities (clinical/rules/allergies.yaml)
	// and the curated classes whose two members are a duplication.
	AllergyClasses   []string           `json:"allergyClasses"`
	Cross            []CrossSensitivity `json:"crossSensitivity"`
	DuplicateClasses []string           `json:"duplicateClasses"`
	labels           map[string]string
	key              string
}

// classLabel is a class's name (its id when unknown).
func (rs *RuleSet) classLabel(id string) string {
	if l, ok := rs.labels[id]; ok {
		return strings.ToLower(l)
	}
	return id
}

var ruleCache sync.Map // hash of the texts -> *RuleSet

// ruleSetOf builds the rule set in force for a practice's settings (cached
// by content): the embedded defaults, then the practice's rules and
// interactions by id (same id: the practice's replaces the default), less
// the defaults the practice removed.
func ruleSetOf(settings map[string]string) (*RuleSet, error) {
	rt, it := []byte(settings[SettingRules]), []byte(settings[SettingInteractions])
	dr, di := DefaultRuleText("contraindications"), DefaultRuleText("interactions")
	h := sha256.New()
	for _, b := range [][]byte{dr, di, rt, it} {
		h.Write(b)
		h.Write([]byte{0})
	}
	key := fmt.Sprintf("%x", h.Sum(nil))
	if v, ok := ruleCache.Load(key); ok {
		return v.(*RuleSet), nil
	}
	defR, err := ParseRuleFile(dr)
	if err != nil {
		return nil, fmt.Errorf("default rules: %w", err)
	}
	defI, err := ParseRuleFile(di)
	if err != nil {
		return nil, fmt.Errorf("default interactions: %w", err)
	}
	rs := &RuleSet{Rules: []Rule{}, Interactions: []Interaction{}, Classes: map[string]DrugClassSpec{},
		RulesFrom: "default", InteractionsFrom: "default", Removed: []RuleRemoval{}, key: key, Version: key[:12]}
	for k, v := range defI.Classes {
		rs.Classes[k] = v
	}
	for k, v := range defR.Classes {
		rs.Classes[k] = v
	}
	for _, r := range defR.Rules {
		r.From = "default"
		rs.Rules = append(rs.Rules, r)
	}
	for _, x := range defI.Interactions {
		x.From = "default"
		rs.Interactions = append(rs.Interactions, x)
	}
	removed := map[string]string{}
	for _, part := range []struct {
		text  []byte
		what  string
		rules bool
	}{{rt, "practice rules", true}, {it, "practice interactions", false}} {
		if len(part.text) == 0 {
			continue
		}
		pf, err := ParseRuleFile(part.text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", part.what, err)
		}
		for k, v := range pf.Classes {
			rs.Classes[k] = v
		}
		for _, r := range pf.Remove {
			removed[r.ID] = r.Reason
		}
		if part.rules {
			rs.RulesFrom = "default+practice"
			for _, r := range pf.Rules {
				r.From = "practice"
				rs.Rules = mergeByID(rs.Rules, r, func(x Rule) string { return x.ID })
			}
		} else {
			rs.InteractionsFrom = "default+practice"
			for _, x := range pf.Interactions {
				x.From = "practice"
				rs.Interactions = mergeByID(rs.Interactions, x, func(y Interaction) string { return y.ID })
			}
		}
	}
	if len(removed) > 0 {
		keepR := rs.Rules[:0]
		for _, r := range rs.Rules {
			if why, ok := removed[r.ID]; ok && r.From == "default" {
				rs.Removed = append(rs.Removed, RuleRemoval{ID: r.ID, Reason: why})
				continue
			}
			keepR = append(keepR, r)
		}
		rs.Rules = keepR
		keepI := rs.Interactions[:0]
		for _, x := range rs.Interactions {
			if why, ok := removed[x.ID]; ok && x.From == "default" {
				rs.Removed = append(rs.Removed, RuleRemoval{ID: x.ID, Reason: why})
				continue
			}
			keepI = append(keepI, x)
		}
		rs.Interactions = keepI
	}
	// Names match lower-cased; done once here, not on every check.
	lower := func(ns []string) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = strings.ToLower(strings.TrimSpace(n))
		}
		return out
	}
	for k, v := range rs.Classes {
		v.Names = lower(v.Names)
		rs.Classes[k] = v
	}
	for i := range rs.Rules {
		rs.Rules[i].Drug.Names = lower(rs.Rules[i].Drug.Names)
	}
	for i := range rs.Interactions {
		rs.Interactions[i].A.Names = lower(rs.Interactions[i].A.Names)
		rs.Interactions[i].B.Names = lower(rs.Interactions[i].B.Names)
	}
	al, err := allergyRules()
	if err != nil {
		return nil, err
	}
	rs.AllergyClasses, rs.Cross = al.AllergyClasses, al.Cross
	rs.labels = map[string]string{}
	cls, err := terminology.EmbeddedDrugClasses()
	if err != nil {
		return nil, fmt.Errorf("medicines classes: %w", err)
	}
	for _, c := range cls {
		rs.labels[c.ID] = c.Name
		if c.Duplicate {
			rs.DuplicateClasses = append(rs.DuplicateClasses, c.ID)
		}
	}
	ruleCache.Store(key, rs)
	return rs, nil
}

// mergeByID replaces the item with x's id, or appends x.
func mergeByID[T any](xs []T, x T, id func(T) string) []T {
	for i := range xs {
		if id(xs[i]) == id(x) {
			xs[i] = x
			return xs
		}
	}
	return append(xs, x)
}

// CrossSensitivity: an allergy to a member of class Allergy makes a member of
// class Drug an alert, of Severity, or SevereSeverity when the recorded
// reaction was anaphylaxis or otherwise severe.
type CrossSensitivity struct {
	Allergy        string `yaml:"allergy" json:"allergy"`
	Drug           string `yaml:"drug" json:"drug"`
	DrugName       string `yaml:"drugName" json:"drugName"`
	Severity       string `yaml:"severity" json:"severity"`
	SevereSeverity string `yaml:"severeSeverity" json:"severeSeverity"`
	Advice         string `yaml:"advice" json:"advice"`
	Source         string `yaml:"source" json:"source"`
}

// AllergyRules is clinical/rules/allergies.yaml: the classes an allergy
// extends to (an allergy to one penicillin is an allergy to all), and the
// cross-sensitivities between classes.
type AllergyRules struct {
	Version        int                `yaml:"version"`
	ReviewedBy     string             `yaml:"reviewedBy"`
	AllergyClasses []string           `yaml:"allergyClasses"`
	Cross          []CrossSensitivity `yaml:"cross"`
}

var allergyRules = sync.OnceValues(func() (*AllergyRules, error) {
	var ar AllergyRules
	dec := yaml.NewDecoder(bytes.NewReader(DefaultRuleText("allergies")))
	dec.KnownFields(true)
	if err := dec.Decode(&ar); err != nil {
		return nil, fmt.Errorf("clinical/rules/allergies.yaml: %w", err)
	}
	for i, c := range ar.AllergyClasses {
		if !curatedClass(c) {
			return nil, fmt.Errorf("clinical/rules/allergies.yaml: allergyClasses[%d]: %q is no curated class", i, c)
		}
	}
	for i, x := range ar.Cross {
		if !curatedClass(x.Allergy) || !curatedClass(x.Drug) || !oneOfStr(x.Severity, Severities...) ||
			!oneOfStr(x.SevereSeverity, Severities...) || x.Source == "" || x.Advice == "" || x.DrugName == "" {
			return nil, fmt.Errorf("clinical/rules/allergies.yaml: cross[%d]: needs curated classes, severities, drugName, advice and source", i)
		}
	}
	return &ar, nil
})

// DefaultAllergyRules are the allergy classes and cross-sensitivities in force.
func DefaultAllergyRules() (*AllergyRules, error) { return allergyRules() }

// Rules is the rule set in force for the practice (any user may read it: it
// holds no patient data).
func (s *Service) Rules(ctx context.Context) (*RuleSet, error) {
	var pr *record.Practice
	if err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		pr, err = tx.Practice()
		return err
	}); err != nil {
		return nil, err
	}
	return ruleSetOf(pr.Settings)
}

// RulesImport is what `rules import` stored.
type RulesImport struct {
	Rules        int           `json:"rules"`        // rules imported (0: the practice's rules were left as they were)
	Interactions int           `json:"interactions"` // interactions imported (likewise)
	Removed      []RuleRemoval `json:"removed"`      // defaults taken out, with their reasons
}

// ImportRulesOptions are the switches of a rules import.
type ImportRulesOptions struct {
	// AllowRemove lets the file's remove: entries take defaults out of force.
	AllowRemove bool
}

// ImportRules stores a rules file without removals.
func (s *Service) ImportRules(ctx context.Context, text []byte) (*RulesImport, error) {
	return s.ImportRulesWith(ctx, text, ImportRulesOptions{})
}

// ImportRulesWith stores a rules file in the practice (admins only). Its
// rules and interactions merge with the defaults by id: a file with rules
// replaces the practice's earlier rules file, one with interactions its
// interactions file, and the defaults stay in force either way. A default
// is taken out only by a remove: entry with a reason and AllowRemove; each
// removal is audited with its reason. Nothing is stored unless the whole file is valid.
func (s *Service) ImportRulesWith(ctx context.Context, text []byte, o ImportRulesOptions) (*RulesImport, error) {
	if err := s.require(ctx, ActAdmin, ""); err != nil {
		return nil, err
	}
	rf, err := ParseRuleFile(text)
	if err != nil {
		return nil, err
	}
	if len(rf.Remove) > 0 {
		if !o.AllowRemove {
			return nil, record.Invalid("remove", rf.Remove[0].ID, "removing a default rule takes it out of every prescription's checks: import with --allow-remove")
		}
		defR, _ := ParseRuleFile(DefaultRuleText("contraindications"))
		defI, _ := ParseRuleFile(DefaultRuleText("interactions"))
		known := map[string]bool{}
		for _, r := range defR.Rules {
			known[r.ID] = true
		}
		for _, x := range defI.Interactions {
			known[x.ID] = true
		}
		for i, r := range rf.Remove {
			if !known[r.ID] {
				return nil, record.Invalid(fmt.Sprintf("remove[%d].id", i), r.ID, "not a default rule or interaction (gpsoc rules list)")
			}
		}
	}
	var out *record.Practice
	err = s.store().Update(ctx, func(tx store.WTx) error {
		pr, err := tx.Practice()
		if err != nil {
			return err
		}
		settings := map[string]string{}
		for k, v := range pr.Settings {
			settings[k] = v
		}
		if len(rf.Rules) > 0 || (len(rf.Remove) > 0 && len(rf.Interactions) == 0) {
			settings[SettingRules] = string(text)
		}
		if len(rf.Interactions) > 0 {
			settings[SettingInteractions] = string(text)
		}
		// the merged set must hold together (a class a rule names must exist)
		if _, err := ruleSetOf(settings); err != nil {
			return err
		}
		pr.Settings = settings
		pr.RecordedAt = s.p.now().UTC()
		pr.RecordedBy = s.user.Name
		if err := tx.PutPractice(pr); err != nil {
			return err
		}
		out = pr
		ev := s.event("update", "practice", "rules", "", pr.Version)
		ev.Reason = fmt.Sprintf("rules import: %d rules, %d interactions, %d defaults removed", len(rf.Rules), len(rf.Interactions), len(rf.Remove))
		if err := tx.Append(ev); err != nil {
			return err
		}
		for _, r := range rf.Remove {
			ev := s.event("remove-default-rule", "practice", "rules", "", pr.Version)
			ev.Reason = r.ID + ": " + r.Reason
			if err := tx.Append(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.practice = *out
	removed := rf.Remove
	if removed == nil {
		removed = []RuleRemoval{}
	}
	return &RulesImport{Rules: len(rf.Rules), Interactions: len(rf.Interactions), Removed: removed}, nil
}

// mayBecomePregnant: a rule on female sex is a rule on who may become
// pregnant (teratogens), so it holds for a patient whose recorded sex is
// other or unknown, or not recorded, as well as female.
func mayBecomePregnant(sex string) bool {
	return sex != "male"
}

func (c *checker) ruleHolds(w RuleWhen, f *facts) (bool, error) {
	p := f.patient
	switch w.Sex {
	case "":
	case "female":
		if !mayBecomePregnant(p.Sex) {
			return false, nil
		}
	default:
		if p.Sex != w.Sex {
			return false, nil
		}
	}
	if w.Age != nil {
		age, ok := ageOn(p.BirthDate, f.today)
		if !ok {
			return false, nil
		}
		if (w.Age.Min != nil && age < *w.Age.Min) || (w.Age.Max != nil && age > *w.Age.Max) {
			return false, nil
		}
	}
	if w.Problem != "" {
		m, err := c.matcher(w.Problem)
		if err != nil {
			return false, err
		}
		if !anyProblem(f, m) {
			return false, nil
		}
	}
	if w.Pregnant {
		m, err := c.matcher(PregnancyECL)
		if err != nil {
			return false, err
		}
		if !anyProblem(f, m) {
			return false, nil
		}
	}
	if w.Result != nil {
		if _, err := c.matcher(w.Result.ECL); err != nil {
			return false, err
		}
		latest := c.latestResult(w.Result, f)
		if latest == nil {
			return false, nil
		}
		v := *latest.Value
		if (w.Result.Below != nil && !(v < *w.Result.Below)) || (w.Result.Above != nil && !(v > *w.Result.Above)) {
			return false, nil
		}
	}
	return true, nil
}

// latestResult is the latest value of a result condition's code recorded
// within its maxAgeDays; an older result does not count.
func (c *checker) latestResult(rc *ResultCond, f *facts) *record.Observation {
	o, fresh := c.lastResult(rc, f)
	if !fresh {
		return nil
	}
	return o
}

// lastResult is the latest value of a result condition's code of any age,
// and whether it is recent enough to count.
func (c *checker) lastResult(rc *ResultCond, f *facts) (*record.Observation, bool) {
	m, err := c.matcher(rc.ECL)
	if err != nil {
		return nil, false
	}
	var latest *record.Observation
	for _, o := range f.obs {
		if o.Value != nil && m.Contains(o.Code.System, o.Code.Code) && (latest == nil || o.Effective.After(latest.Effective)) {
			latest = o
		}
	}
	if latest == nil {
		return nil, false
	}
	return latest, f.today.Sub(latest.Effective) <= time.Duration(rc.MaxAgeDays)*24*time.Hour
}

// staleResultNotes are notes for the rules on this drug whose result
// condition could not be tested because the latest result is too old.
func (c *checker) staleResultNotes(f *facts, d *drugFacts, prod terminology.Product) []SafetyAlert {
	var out []SafetyAlert
	t, err := DefaultDoseTable()
	if err != nil {
		return nil
	}
	for _, ri := range c.doseMatchesOf(t, prod, d).resultRules {
		r := c.rules.Rules[ri]
		o, fresh := c.lastResult(r.When.Result, f)
		if o == nil || fresh {
			continue
		}
		out = append(out, SafetyAlert{ID: "not-checked:result:" + r.ID + ":" + d.code, Severity: "low", Kind: KindNotChecked,
			Message: fmt.Sprintf("Not checked: rule %s needs a result newer than %d days; the latest %s (%s on %s) is too old to count. Record a new one.",
				r.ID, r.When.Result.MaxAgeDays, o.Code.Display, fmtNum(*o.Value), o.Effective.In(ukZone).Format(record.DateLayout))})
	}
	return out
}
