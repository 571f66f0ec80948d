package clinical

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
	"go.yaml.in/yaml/v3"
)

// Dose and supply checks (docs/rules.md, "Doses"): the most a dose allows in
// a day (or a week) against a cited maximum-dose table by age band,
// methotrexate once a week on a named day, and the length of supply against
// 3 months on a repeat and 30 days on an acute or a Schedule 2-4 controlled
// drug. What cannot be checked (no table entry, a dose the parser cannot
// count, an unknown strength, a child with no recent weight) is a "dose not
// checked" note on every prescription, never a silent pass.

// DoseTable is the maximum-dose table (clinical/rules/doses.yaml).
type DoseTable struct {
	Version          int              `yaml:"version" json:"version"`
	ReviewedBy       string           `yaml:"reviewedBy" json:"reviewedBy"`
	WeightMaxAgeDays int              `yaml:"weightMaxAgeDays" json:"weightMaxAgeDays"`
	Doses            []DoseLimit      `yaml:"doses" json:"doses"`
	Controlled       []ControlledList `yaml:"controlled" json:"controlled"`
	key              string
}

// DoseLimit is one medicine's maximum by age band.
type DoseLimit struct {
	ID       string       `yaml:"id" json:"id"`
	Drug     DrugSelector `yaml:"drug" json:"drug"`
	Per      string       `yaml:"per" json:"per"`                               // day | week
	NamedDay bool         `yaml:"namedDay,omitempty" json:"namedDay,omitempty"` // once a week, on a named day only
	Bands    []DoseBand   `yaml:"bands" json:"bands"`
}

// DoseBand is the maximum for an age band; a child band may give it per kg.
type DoseBand struct {
	Age      AgeRange `yaml:"age" json:"age"`
	Max      float64  `yaml:"max" json:"max"`
	MaxPerKg float64  `yaml:"maxPerKg,omitempty" json:"maxPerKg,omitempty"`
	Unit     string   `yaml:"unit" json:"unit"` // mg
	Source   string   `yaml:"source" json:"source"`
}

// ControlledList names the substances of one controlled drug schedule.
type ControlledList struct {
	Schedule int      `yaml:"schedule" json:"schedule"`
	Names    []string `yaml:"names" json:"names"`
	Source   string   `yaml:"source" json:"source"`
}

// Supply limits, in days.
const (
	maxRepeatSupplyDays = 91 // 3 months (13 weeks)
	maxAcuteSupplyDays  = 30
	maxCDSupplyDays     = 30
)

// WeightECL is what counts as a body weight for a child's dose by weight.
const WeightECL = "<< 27113001 |Body weight|"

var doseTable struct {
	once sync.Once
	t    *DoseTable
	err  error
}

// DefaultDoseTable is the embedded maximum-dose table.
func DefaultDoseTable() (*DoseTable, error) {
	doseTable.once.Do(func() {
		doseTable.t, doseTable.err = ParseDoseTable(DefaultRuleText("doses"))
	})
	return doseTable.t, doseTable.err
}

// ParseDoseTable reads and validates a dose table; errors name the field and value.
func ParseDoseTable(text []byte) (*DoseTable, error) {
	var t DoseTable
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, record.Invalid("file", "", "not a valid dose table: %v", err)
	}
	if t.Version != 1 {
		return nil, record.Invalid("version", fmt.Sprint(t.Version), "must be 1")
	}
	if t.WeightMaxAgeDays <= 0 {
		return nil, record.Invalid("weightMaxAgeDays", fmt.Sprint(t.WeightMaxAgeDays), "a weight older than this does not count: give a number of days")
	}
	seen := map[string]bool{}
	for i, d := range t.Doses {
		f := fmt.Sprintf("doses[%d]", i)
		if d.ID == "" || seen[d.ID] || strings.ContainsAny(d.ID, " :@") {
			return nil, record.Invalid(f+".id", d.ID, "a unique id without spaces, colons or @ is required")
		}
		seen[d.ID] = true
		if len(d.Drug.Names) == 0 && len(d.Drug.Codes) == 0 {
			return nil, record.Invalid(f+".drug", "", "give names or codes")
		}
		for j := range d.Drug.Names {
			d.Drug.Names[j] = strings.ToLower(strings.TrimSpace(d.Drug.Names[j]))
		}
		if d.Per != "day" && d.Per != "week" {
			return nil, record.Invalid(f+".per", d.Per, "must be day or week")
		}
		if len(d.Bands) == 0 {
			return nil, record.Invalid(f+".bands", "", "give at least one age band")
		}
		for j, b := range d.Bands {
			bf := fmt.Sprintf("%s.bands[%d]", f, j)
			if b.Max <= 0 {
				return nil, record.Invalid(bf+".max", fmt.Sprint(b.Max), "must be more than 0")
			}
			if b.Unit != "mg" {
				return nil, record.Invalid(bf+".unit", b.Unit, "must be mg")
			}
			if strings.TrimSpace(b.Source) == "" {
				return nil, record.Invalid(bf+".source", "", "every maximum cites its source (document, section, date)")
			}
		}
	}
	for i, c := range t.Controlled {
		if c.Schedule < 2 || c.Schedule > 5 {
			return nil, record.Invalid(fmt.Sprintf("controlled[%d].schedule", i), fmt.Sprint(c.Schedule), "must be 2 to 5")
		}
		if strings.TrimSpace(c.Source) == "" {
			return nil, record.Invalid(fmt.Sprintf("controlled[%d].source", i), "", "cite the schedule")
		}
	}
	t.key = fmt.Sprintf("%x", sha256.Sum256(text))[:12]
	return &t, nil
}

// band is the band of a limit that holds for an age, or nil.
func (l *DoseLimit) band(age int) *DoseBand {
	for i := range l.Bands {
		b := &l.Bands[i]
		if (b.Age.Min == nil || age >= *b.Age.Min) && (b.Age.Max == nil || age <= *b.Age.Max) {
			return b
		}
	}
	return nil
}

// strengthMg is the mg of the named ingredient in one unit of the product
// (a tablet, a capsule; per ml for a liquid, perMl true). ok is false when
// dm+d gives no strength in a mass unit.
func strengthMg(prod terminology.Product, names []string) (mg float64, perMl bool, ok bool) {
	for _, in := range prod.Ingredients {
		n := strings.ToLower(in.Name)
		match := false
		for _, w := range names {
			if strings.Contains(n, w) {
				match = true
			}
		}
		if !match && len(prod.Ingredients) > 1 {
			continue
		}
		v, okc := convertMeasure(in.NumeratorValue, measureUnits[strings.ToLower(in.NumeratorUnit)], "mg")
		if !okc || v <= 0 {
			return 0, false, false
		}
		switch strings.ToLower(in.DenominatorUnit) {
		case "":
			return v, false, true
		case "ml":
			if in.DenominatorValue <= 0 {
				return 0, false, false
			}
			return v / in.DenominatorValue, true, true
		}
		return 0, false, false
	}
	return 0, false, false
}

// doseMg is an amount of the dose's unit in mg of the ingredient: a mass
// converts; a count multiplies by the strength of one unit; ml (or a 5 ml
// spoonful) by the strength per ml.
func doseMg(d Dose, amount float64, prod terminology.Product, names []string) (float64, bool) {
	switch d.Unit {
	case "mg", "g", "microgram":
		return convertMeasure(amount, d.Unit, "mg")
	case "unit":
		return 0, false
	}
	s, perMl, ok := strengthMg(prod, names)
	if !ok {
		return 0, false
	}
	ml := 0.0
	switch {
	case d.Unit == "ml":
		ml = amount
	case d.Form == "5ml spoonful":
		ml = amount * 5
	}
	if perMl {
		if ml == 0 {
			return 0, false // "2 qds" of a liquid: a count of what?
		}
		return s * ml, true
	}
	if ml != 0 {
		return 0, false
	}
	return s * amount, true
}

// supplyDays is how many days a quantity lasts at the dose; ok false when
// the dose cannot be counted in the product's unit.
func supplyDays(d Dose, quantity float64, prod terminology.Product, unit string) (float64, bool) {
	perDay, ok := d.UnitsPerDay()
	if !ok || perDay <= 0 || quantity <= 0 {
		return 0, false
	}
	switch {
	case d.Unit == "" && d.Form == "5ml spoonful" && unit == "ml":
		perDay *= 5
	case d.Unit == "":
		// a count of the product's unit
	case d.Unit == "ml" && unit == "ml":
	case d.Unit == "mg" || d.Unit == "g" || d.Unit == "microgram":
		mg, ok := convertMeasure(perDay, d.Unit, "mg")
		s, perMl, ok2 := strengthMg(prod, nil)
		if !ok || !ok2 || perMl != (unit == "ml") {
			return 0, false
		}
		perDay = mg / s
	default:
		return 0, false
	}
	return quantity / perDay, true
}

// CourseDays is how long a prescription lasts: its duration when given,
// else its quantity at its dose, else (a dose that cannot be counted) its
// quantity as days — the longest reading, so a course is never shorter than it may be.
func CourseDays(m *record.Medication) int {
	if m.DurationDays > 0 {
		return m.DurationDays
	}
	if d, err := ParseDose(m.Dose); err == nil {
		if per, ok := d.UnitsPerDay(); ok && per > 0 && d.Unit == "" && m.Quantity > 0 {
			return int(math.Ceil(m.Quantity / per))
		}
		if per, ok := d.UnitsPerDay(); ok && per > 0 && d.Unit == "ml" && m.Unit == "ml" && m.Quantity > 0 {
			return int(math.Ceil(m.Quantity / per))
		}
	}
	if m.Quantity >= 1 {
		return int(math.Ceil(m.Quantity))
	}
	return 28
}

// controlledSchedule is the product's controlled drug schedule (0: none):
// dm+d's category when given, else the table's lists.
func (t *DoseTable) controlledSchedule(prod terminology.Product, d *drugFacts) (int, string) {
	if prod.Controlled != nil {
		for _, s := range []int{2, 3, 4, 5} {
			if strings.Contains(prod.Controlled.Term, fmt.Sprintf("Schedule %d", s)) {
				return s, "dm+d controlled drug category: " + prod.Controlled.Term
			}
		}
	}
	for _, c := range t.Controlled {
		for _, w := range c.Names {
			for _, n := range d.names {
				if strings.Contains(n, w) {
					return c.Schedule, c.Source
				}
			}
		}
	}
	return 0, ""
}

// doseAlerts are the dose and supply checks of prescription m of product prod.
func (c *checker) doseAlerts(f *facts, d *drugFacts, prod terminology.Product, m *record.Medication) ([]SafetyAlert, error) {
	if m == nil {
		return nil, nil
	}
	t, err := DefaultDoseTable()
	if err != nil {
		return nil, err
	}
	var out []SafetyAlert
	alert := func(id, sev, msg string) {
		out = append(out, SafetyAlert{ID: id + ":" + d.code, Severity: sev, Message: msg})
	}
	var notChecked []string
	dose, derr := ParseDose(m.Dose)
	countable := derr == nil && dose.Amount > 0
	if derr != nil {
		notChecked = append(notChecked, fmt.Sprintf("the dose %q was not understood (%s)", m.Dose, derr.(*DoseError).Reason))
	} else if dose.Amount == 0 {
		notChecked = append(notChecked, fmt.Sprintf("the dose %q gives no amount", m.Dose))
	}
	age, hasAge := ageOn(f.patient.BirthDate, f.today)
	dm := c.doseMatchesOf(t, prod, d)
	limits := len(dm.limits)
	for _, li := range dm.limits {
		l := &t.Doses[li]
		name := l.Drug.Names[0]
		if l.NamedDay && derr == nil {
			switch {
			case dose.PeriodDays != 7:
				alert("dose-weekly:"+l.ID, "high", fmt.Sprintf("%s is taken once a week: %q is not a weekly dose. Write it as once a week on a named day (e.g. \"4 tablets on Monday\").", capital(name), m.Dose))
			case len(dose.Days) != 1:
				alert("dose-day:"+l.ID, "high", fmt.Sprintf("%s once a week must name the day of the week: %q names %d days.", capital(name), m.Dose, len(dose.Days)))
			}
		}
		if !countable {
			continue
		}
		if !hasAge {
			notChecked = append(notChecked, "no date of birth to choose the "+name+" age band")
			continue
		}
		b := l.band(age)
		if b == nil {
			notChecked = append(notChecked, fmt.Sprintf("no %s maximum for age %d in the dose table", name, age))
			continue
		}
		var amount float64
		per := "a day"
		if l.Per == "week" {
			amount, _ = dose.PerWeekMax()
			per = "a week"
		} else {
			amount, _ = dose.PerDayMax()
		}
		mg, ok := doseMg(dose, amount, prod, l.Drug.Names)
		if !ok {
			notChecked = append(notChecked, fmt.Sprintf("the %s strength of %s is not known in mg for the dose %q", name, prod.Name, m.Dose))
			continue
		}
		limit, basis := b.Max, fmt.Sprintf("for age %d", age)
		if b.MaxPerKg > 0 {
			w, when, ok := c.latestWeight(f, t.WeightMaxAgeDays)
			if !ok {
				notChecked = append(notChecked, fmt.Sprintf("a child's %s dose is by weight: no weight recorded in the last %d days", name, t.WeightMaxAgeDays))
				continue
			}
			limit = math.Min(b.MaxPerKg*w, b.Max)
			basis = fmt.Sprintf("for age %d, %s kg on %s (%s mg/kg %s, not more than %s mg)", age, fmtNum(w), when, fmtNum(b.MaxPerKg), per, fmtNum(b.Max))
		}
		if mg > limit+1e-9 {
			alert("dose-max:"+l.ID, "high", fmt.Sprintf("Dose above the maximum: %q of %s is up to %s mg of %s %s; the maximum %s is %s mg %s (%s).",
				m.Dose, prod.Name, fmtNum(round3(mg)), name, per, basis, fmtNum(round3(limit)), per, b.Source))
		}
	}
	if limits == 0 {
		notChecked = append(notChecked, "no maximum-dose entry for "+d.name)
	}
	// Supply length.
	days, ok := 0.0, false
	if countable {
		days, ok = supplyDays(dose, m.Quantity, prod, m.Unit)
	}
	if !ok && m.DurationDays > 0 {
		days, ok = float64(m.DurationDays), true
	}
	if !ok {
		notChecked = append(notChecked, "the length of supply could not be worked out from the dose and quantity")
	} else {
		what := fmt.Sprintf("%s %s at %q lasts %s days", fmtNum(m.Quantity), m.Unit, m.Dose, fmtNum(math.Round(days)))
		sched, src := dm.sched, dm.schedSrc
		switch {
		case sched >= 2 && sched <= 4 && days > maxCDSupplyDays:
			alert("supply-cd", "moderate", fmt.Sprintf("More than %d days of a Schedule %d controlled drug: %s (%s; DHSC Safer management of controlled drugs: no more than 30 days).", maxCDSupplyDays, sched, what, src))
		case m.Type == "repeat" && days > maxRepeatSupplyDays:
			alert("supply-repeat", "moderate", fmt.Sprintf("More than 3 months' supply on one issue of a repeat: %s.", what))
		case m.Type != "repeat" && days > maxAcuteSupplyDays:
			alert("supply-acute", "moderate", fmt.Sprintf("More than %d days' supply on an acute prescription: %s.", maxAcuteSupplyDays, what))
		}
	}
	if len(notChecked) > 0 {
		out = append(out, SafetyAlert{ID: "not-checked:dose:" + d.code, Severity: "low", Kind: KindNotChecked,
			Message: "Dose not checked: " + strings.Join(notChecked, "; ") + "."})
	}
	return out, nil
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// latestWeight is the latest body weight in kg recorded within maxAge days.
func (c *checker) latestWeight(f *facts, maxAge int) (float64, string, bool) {
	m, err := c.matcher(WeightECL)
	if err != nil {
		return 0, "", false
	}
	var latest *record.Observation
	for _, o := range f.obs {
		if o.Value == nil || !m.Contains(o.Code.System, o.Code.Code) {
			continue
		}
		if u := strings.ToLower(o.Unit); u != "" && u != "kg" {
			continue
		}
		if latest == nil || o.Effective.After(latest.Effective) {
			latest = o
		}
	}
	if latest == nil || f.today.Sub(latest.Effective).Hours() > float64(maxAge)*24 {
		return 0, "", false
	}
	return *latest.Value, latest.Effective.In(ukZone).Format(record.DateLayout), true
}

// doseMatches is what of the dose table applies to a product: worked out
// once per product and rule set, not for every check (a practice-wide
// re-check meets the same few hundred products again and again).
type doseMatches struct {
	limits      []int // indexes into DoseTable.Doses
	sched       int
	schedSrc    string
	resultRules []int // indexes into RuleSet.Rules with a result condition that select the product
	at          time.Time
}

type doseMatchKey struct {
	rs   *RuleSet
	t    *DoseTable
	code string
}

var doseMatchCache sync.Map // doseMatchKey -> *doseMatches

func (c *checker) doseMatchesOf(t *DoseTable, prod terminology.Product, d *drugFacts) *doseMatches {
	k := doseMatchKey{c.rules, t, d.code}
	if v, ok := doseMatchCache.Load(k); ok {
		if dm := v.(*doseMatches); time.Since(dm.at) < prodTTL { // as products: a dm+d import is seen within minutes
			return dm
		}
	}
	dm := &doseMatches{at: time.Now()}
	for i := range t.Doses {
		l := &t.Doses[i]
		if ok, _ := c.selectsIn(l.Drug.Codes, l.Drug.Names, l.Drug.BNF, d); ok {
			dm.limits = append(dm.limits, i)
		}
	}
	dm.sched, dm.schedSrc = t.controlledSchedule(prod, d)
	for i, r := range c.rules.Rules {
		if r.When.Result == nil {
			continue
		}
		if ok, _ := c.selects(r.Drug, d); ok {
			dm.resultRules = append(dm.resultRules, i)
		}
	}
	doseMatchCache.Store(k, dm)
	return dm
}
