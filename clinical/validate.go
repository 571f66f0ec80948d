package clinical

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// One validation, applied on every path (the single actions, the NDJSON and
// FHIR imports, the API): codes valid for their field, dates within the
// patient's life and the clock, and each observable's units and ranges from
// a cited table. The one difference between paths is what happens to an
// implausible value (ValueMode).

// ---- codes valid for their field ----

// Classifier places a concept in its terminology's hierarchies
// (terminology.Hierarchies): "finding", "disorder", "substance", "product",
// "observable entity"… An empty answer means the concept is not placed.
type Classifier interface {
	Hierarchies(system, code string) ([]string, error)
}

// Field rules: the hierarchies a code may come from, by what it records.
var (
	problemHierarchies     = []string{"finding", "disorder", "situation", "event", "procedure"}
	agentHierarchies       = []string{"substance", "product", "allergy finding"}
	observationHierarchies = []string{"observable entity", "procedure", "finding"}
)

// checkCodeFor refuses a code from the wrong hierarchy for its field ("Aspirin"
// as a problem, "Hypertension" as an allergy agent). Codes the terminology does
// not know are the code check's business (Service.Code); legacy Read and CTV3
// codes are not placed and pass; a SNOMED CT concept the terminology knows but
// cannot place is refused, since nothing can say it fits.
func (s *Service) checkCodeFor(field, what string, c record.Code, allowed []string) error {
	if c.Code == "" || (c.System != record.SystemSNOMED && c.System != record.SystemDMD) {
		return nil
	}
	cl, ok := s.p.terms.(Classifier)
	if !ok {
		return nil
	}
	tags, err := s.p.hierarchies(cl, c)
	if err != nil {
		return nil // unknown code: refused (or not) by the code check
	}
	for _, t := range tags {
		for _, a := range allowed {
			if t == a {
				return nil
			}
		}
	}
	name := c.Display
	if name == "" {
		if d, err := s.Code(field, c.System, c.Code); err == nil && d.Display != "" {
			name = d.Display
		} else {
			name = c.Code
		}
	}
	if len(tags) == 0 {
		return record.Invalid(field, c.Code, "the terminology does not place %s in a hierarchy, so it cannot be recorded as %s (which must be a %s)",
			name, what, orList(allowed))
	}
	return record.Invalid(field, c.Code, "%s is a %s, not something recorded as %s (which must be a %s)",
		name, mainTag(tags), what, orList(allowed))
}

// mainTag is the most telling of a concept's hierarchies ("disorder" rather
// than "finding").
func mainTag(tags []string) string {
	for _, t := range []string{"disorder", "allergy finding", "situation", "event", "finding"} {
		if containsStr(tags, t) {
			return t
		}
	}
	return tags[0]
}

// hierarchies is the classifier's answer, cached: codes repeat in bulk imports.
func (p *Practice) hierarchies(cl Classifier, c record.Code) ([]string, error) {
	key := c.System + "|" + c.Code
	if v, ok := p.tagCache.Load(key); ok {
		return v.([]string), nil
	}
	tags, err := cl.Hierarchies(c.System, c.Code)
	if err != nil {
		return nil, err
	}
	p.tagCache.Store(key, tags)
	return tags, nil
}

func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// ValidateEntry is the whole of this validation for one new record of a
// patient, as every write path applies it: its codes valid for their field,
// an observation's value by mode (its flags set, or refused), and its dates
// against the patient's life and the clock. The service actions call the
// same checks; a path that composes records itself (an import engine, a
// laboratory report in ValuesLabReport) calls this, so nothing escapes it.
// A laboratory report is held for its values, never for its dates: a result
// dated before the patient's birth belongs to someone else and is refused.
func (s *Service) ValidateEntry(p *record.Patient, e record.Entity, mode ValueMode) error {
	if err := s.checkCodes(e); err != nil {
		return err
	}
	if o, ok := e.(*record.Observation); ok {
		if err := CheckObservation(o, mode); err != nil {
			return err
		}
	}
	return CheckEntryDates(p, e, s.p.now())
}

// checkCodes applies the field rules to a record's codes.
func (s *Service) checkCodes(e record.Entity) error {
	switch x := e.(type) {
	case *record.Problem:
		return s.checkCodeFor("code", "a problem", x.Code, problemHierarchies)
	case *record.Allergy:
		if x.NKDA {
			return nil
		}
		if err := s.checkCodeFor("agent", "an allergy agent", x.Agent, agentHierarchies); err != nil {
			return err
		}
		if x.Finding != nil {
			return s.checkCodeFor("finding", "an allergy finding", *x.Finding, []string{"allergy finding", "finding"})
		}
	case *record.Observation:
		return s.checkCodeFor("code", "an observation", x.Code, observationHierarchies)
	}
	return nil
}

// ---- dates ----

// resultLeeway is how far after the server's clock a result may be dated
// (a lab's clock, a time zone): beyond it the date is an error.
const resultLeeway = 24 * time.Hour

// entryDate is one clinical date of a record. A time is a day in the UK and
// may be another in UTC (a date of birth or death from another system may
// have been cut from either): lo and hi are the earlier and later reading.
type entryDate struct {
	field, lo, hi string
}

// entryDates lists a record's clinical dates, and the latest instant among
// them (for the clock check). afterDeath is whether the record may be dated
// after the patient's death: a consultation or a coded note may be about the
// death (certification, the cause of death, a coroner's letter, bereavement);
// a measurement, a problem's onset, an immunisation or a prescription may not.
func entryDates(e record.Entity) (days []entryDate, latest time.Time, afterDeath bool) {
	day := func(field string, t time.Time) {
		if !t.IsZero() {
			a, b := t.In(ukZone).Format(record.DateLayout), t.UTC().Format(record.DateLayout)
			if b < a {
				a, b = b, a
			}
			days = append(days, entryDate{field, a, b})
			if t.After(latest) {
				latest = t
			}
		}
	}
	str := func(field, d string) {
		if d != "" {
			days = append(days, entryDate{field, d, d})
			if t := dayStart(d); t.After(latest) {
				latest = t
			}
		}
	}
	switch x := e.(type) {
	case *record.Observation:
		day("effective", x.Effective)
		afterDeath = !x.IsBP() && observables.Lookup(x.Code.System, x.Code.Code) == nil
	case *record.Consultation:
		day("start", x.Start)
		afterDeath = true
	case *record.Problem:
		str("onset", x.Onset)
		str("resolvedOn", x.ResolvedOn)
	case *record.Allergy:
		str("onset", x.Onset)
	case *record.Immunisation:
		str("date", x.Date)
	case *record.Medication:
		str("authorisedOn", x.AuthorisedOn)
		for i, is := range x.Issues {
			day("issues["+itoa(i)+"].at", is.At)
		}
	}
	return days, latest, afterDeath
}

// CheckEntryDates refuses a clinical record dated before the patient was
// born, more than 24 hours after now, or (for what only a living patient
// can have: a measurement, an onset, an immunisation, a prescription) after
// they died.
func CheckEntryDates(p *record.Patient, e record.Entity, now time.Time) error {
	if !record.ClinicalKinds[e.Kind()] || e.Head().Status == record.StatusEnteredInError {
		return nil
	}
	days, latest, afterDeath := entryDates(e)
	if latest.After(now.Add(resultLeeway)) {
		last := days[0]
		for _, x := range days {
			if x.hi > last.hi {
				last = x
			}
		}
		return record.Invalid(last.field, last.hi, "is in the future (more than 24 hours after %s)", now.UTC().Format(time.RFC3339))
	}
	if p == nil {
		return nil
	}
	for _, x := range days {
		if p.BirthDate != "" && x.hi < p.BirthDate {
			return record.Invalid(x.field, x.hi, "is before the patient's date of birth %s", p.BirthDate)
		}
		if dd := p.Registration.DeceasedOn; dd != "" && x.lo > dd && !afterDeath {
			return record.Invalid(x.field, x.lo, "is after the patient's death on %s", dd)
		}
	}
	return nil
}

// checkBirthDateChange refuses a new date of birth that would put existing
// entries before birth, naming them.
func checkBirthDateChange(tx store.Tx, old, p *record.Patient) error {
	if old == nil || old.BirthDate == p.BirthDate || p.BirthDate == "" || (old.BirthDate != "" && p.BirthDate < old.BirthDate) {
		return nil
	}
	var before []string
	for k := range record.ClinicalKinds {
		es, err := tx.List(p.ID, k)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.Head().Status == record.StatusEnteredInError {
				continue
			}
			days, _, _ := entryDates(e)
			for _, d := range days {
				if d.hi < p.BirthDate {
					before = append(before, fmt.Sprintf("%s %s (%s %s)", k, e.Head().ID, d.field, d.hi))
					break
				}
			}
		}
	}
	if len(before) == 0 {
		return nil
	}
	sort.Strings(before)
	more := ""
	if len(before) > 5 {
		more = fmt.Sprintf(" and %d more", len(before)-5)
		before = before[:5]
	}
	return record.Invalid("birthDate", p.BirthDate, "would put %s%s before birth: correct or retract them first",
		strings.Join(before, ", "), more)
}

// checkWrite is what every single write checks inside its transaction: the
// record's dates against the patient (as stored in tx), and a patient's
// date of birth against their entries.
func (s *Service) checkWrite(tx store.Tx, e record.Entity) error { return s.checkWriteIn(tx, e, nil) }

// checkWriteIn is checkWrite with a cache of the patients read (bulk paths:
// a patient is decoded once, not once per entry; nil: no cache).
func (s *Service) checkWriteIn(tx store.Tx, e record.Entity, pats map[string]*record.Patient) error {
	if p, ok := e.(*record.Patient); ok {
		if p.ID == "" {
			return nil
		}
		old, err := tx.Get(record.KindPatient, p.ID)
		if err != nil {
			return nil // a new patient has no entries
		}
		return checkBirthDateChange(tx, old.(*record.Patient), p)
	}
	if !record.ClinicalKinds[e.Kind()] {
		return nil
	}
	var p *record.Patient
	if pid := e.Head().PatientID; pid != "" && pid != "pending" {
		var ok bool
		if p, ok = pats[pid]; !ok {
			if pe, err := tx.Get(record.KindPatient, pid); err == nil {
				p = pe.(*record.Patient)
				if pats != nil {
					pats[pid] = p
				}
			}
		}
	}
	return CheckEntryDates(p, e, s.p.now())
}

// ---- observables: units and ranges ----

//go:embed observables/ranges.yaml
var rangesYAML []byte

// Bound is one side or both of a range; a nil side is open. Bounds are
// exclusive: a value equal to one is inside.
type Bound struct {
	Below *float64 `yaml:"below" json:"below,omitempty"`
	Above *float64 `yaml:"above" json:"above,omitempty"`
}

func (b Bound) outside(v float64) bool {
	return (b.Below != nil && v < *b.Below) || (b.Above != nil && v > *b.Above)
}

func (b Bound) String() string {
	f := func(p *float64) string { return strconv.FormatFloat(*p, 'f', -1, 64) }
	switch {
	case b.Below != nil && b.Above != nil:
		return f(b.Below) + "–" + f(b.Above)
	case b.Below != nil:
		return "at least " + f(b.Below)
	case b.Above != nil:
		return "at most " + f(b.Above)
	}
	return "any"
}

// UnitRange is one row of the table: an observable's unit (and component,
// for a blood pressure), its ranges and the source they rest on.
type UnitRange struct {
	Unit        string   `yaml:"unit" json:"unit"`
	Aliases     []string `yaml:"aliases" json:"aliases,omitempty"`
	Component   string   `yaml:"component" json:"component,omitempty"` // systolic | diastolic | pulse pressure
	Impossible  Bound    `yaml:"impossible" json:"impossible"`
	Implausible Bound    `yaml:"implausible" json:"implausible"`
	Source      string   `yaml:"source" json:"source"`
	Section     string   `yaml:"section" json:"section"`
	Date        string   `yaml:"date" json:"date"`
	Basis       string   `yaml:"basis" json:"basis,omitempty"`
	// Reference is the adult reference interval, where the source states one.
	Reference *TableReference `yaml:"reference" json:"reference,omitempty"`
}

// TableReference is a reference (normal) interval of the table, inclusive,
// with its own citation.
type TableReference struct {
	Low     *float64 `yaml:"low" json:"low,omitempty"`
	High    *float64 `yaml:"high" json:"high,omitempty"`
	Source  string   `yaml:"source" json:"source"`
	Section string   `yaml:"section" json:"section"`
	Date    string   `yaml:"date" json:"date"`
}

// Observable is a measured quantity: its codes and the units it is recorded in.
type Observable struct {
	Name  string      `yaml:"name" json:"name"`
	Codes []string    `yaml:"codes" json:"codes"`
	BP    bool        `yaml:"bp" json:"bp,omitempty"` // recorded as systolic/diastolic
	Units []UnitRange `yaml:"units" json:"units"`
}

// Units lists the accepted unit spellings (the first is the one to use).
func (o *Observable) unitNames() []string {
	var out []string
	for _, u := range o.Units {
		if !containsStr(out, u.Unit) {
			out = append(out, u.Unit)
		}
	}
	return out
}

// row is the range for a unit (as written or an alias) and component; an
// empty unit means the first unit, as a value typed without one.
func (o *Observable) row(unit, component string) *UnitRange {
	for i := range o.Units {
		u := &o.Units[i]
		if u.Component != component {
			continue
		}
		if unit == "" || u.Unit == unit || containsStr(u.Aliases, unit) {
			return u
		}
	}
	return nil
}

// ObservableTable is the loaded table.
type ObservableTable struct {
	Reviewed    string       `yaml:"reviewed" json:"reviewed"`
	Observables []Observable `yaml:"observables" json:"observables"`
	byCode      map[string]*Observable
}

// LoadObservables reads and checks a table: every row has a unit, a
// non-empty impossible range containing its implausible range, and a
// citation (source, section, date YYYY-MM-DD); no code appears twice.
func LoadObservables(b []byte) (*ObservableTable, error) {
	t := &ObservableTable{}
	if err := yaml.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("observable ranges: %w", err)
	}
	t.byCode = map[string]*Observable{}
	for i := range t.Observables {
		o := &t.Observables[i]
		at := fmt.Sprintf("observable ranges: %q", o.Name)
		if o.Name == "" || len(o.Codes) == 0 || len(o.Units) == 0 {
			return nil, fmt.Errorf("%s: name, codes and units are required", at)
		}
		for _, c := range o.Codes {
			if !record.ValidSCTID(c) {
				return nil, fmt.Errorf("%s: %q is not a SNOMED CT identifier", at, c)
			}
			if t.byCode[c] != nil {
				return nil, fmt.Errorf("%s: code %s is also under %q", at, c, t.byCode[c].Name)
			}
			t.byCode[c] = o
		}
		for j, u := range o.Units {
			rat := fmt.Sprintf("%s unit %q", at, u.Unit)
			if u.Unit == "" {
				return nil, fmt.Errorf("%s row %d: a unit is required", at, j+1)
			}
			if strings.TrimSpace(u.Source) == "" || strings.TrimSpace(u.Section) == "" {
				return nil, fmt.Errorf("%s: every row cites its source document and section", rat)
			}
			if _, err := time.Parse(record.DateLayout, u.Date); err != nil {
				return nil, fmt.Errorf("%s: date %q must be YYYY-MM-DD", rat, u.Date)
			}
			if u.Impossible.Below == nil && u.Impossible.Above == nil {
				return nil, fmt.Errorf("%s: an impossible range is required", rat)
			}
			in := func(x, lo, hi *float64) bool {
				return x == nil || ((lo == nil || *x >= *lo) && (hi == nil || *x <= *hi))
			}
			if !in(u.Implausible.Below, u.Impossible.Below, u.Impossible.Above) || !in(u.Implausible.Above, u.Impossible.Below, u.Impossible.Above) {
				return nil, fmt.Errorf("%s: the implausible range must lie inside the impossible one", rat)
			}
			if r := u.Reference; r != nil {
				if err := checkReference(r, &u); err != nil {
					return nil, fmt.Errorf("%s: reference: %w", rat, err)
				}
			}
			if o.BP != (u.Component != "") {
				return nil, fmt.Errorf("%s: a blood pressure's rows name their component, other rows do not", rat)
			}
		}
		if o.BP {
			for _, c := range []string{"systolic", "diastolic", "pulse pressure"} {
				if o.row("", c) == nil {
					return nil, fmt.Errorf("%s: a blood pressure needs a %s row", at, c)
				}
			}
		}
	}
	return t, nil
}

var observables = func() *ObservableTable {
	t, err := LoadObservables(rangesYAML)
	if err != nil {
		panic(err) // the embedded table is checked by the tests
	}
	return t
}()

// Observables is the embedded table (for documentation and tests).
func Observables() *ObservableTable { return observables }

// Lookup is the observable of a SNOMED CT code, or nil.
func (t *ObservableTable) Lookup(system, code string) *Observable {
	if system != record.SystemSNOMED {
		return nil
	}
	return t.byCode[code]
}

// ValueMode says what happens to a value the table does not accept.
type ValueMode int

const (
	// ValuesTyped: typed at the keyboard. Impossible values and wrong units
	// are refused; implausible ones are refused with Confirm set, so the
	// face can ask (--confirm on the CLI, a prompt in the TUI).
	ValuesTyped ValueMode = iota
	// ValuesConfirmed: typed and confirmed. An implausible value is stored, flagged.
	ValuesConfirmed
	// ValuesImported: an import or an API client, who cannot be asked:
	// implausible values are stored and flagged, impossible ones refused.
	ValuesImported
	// ValuesLabReport: a laboratory's report is never refused for its values:
	// a value or unit that fails is kept as given, flagged and held for review.
	ValuesLabReport
)

// Flag kinds on an observation (record.ValueFlag.Kind).
const (
	FlagImplausible = "implausible"
	FlagImpossible  = "impossible"
	FlagUnit        = "unit"
	FlagUnparsed    = "unparsed"
)

var decimalComma = regexp.MustCompile(`^\s*[-+]?\d+,\d+\s*\S*$`)

// hugeValue: no measurement of a GP record reaches this (a viral load in
// copies/mL stays below 1e10); 1e308 is a parsing accident, whatever the code.
const hugeValue = 1e15

// CheckObservation checks an observation's value against its observable's
// unit and ranges, and sets its flags (replacing any it came with) by mode.
// The error, when there is one, is a *record.ValidationError naming the
// field, the value with its unit, and the range or the units accepted.
func CheckObservation(o *record.Observation, mode ValueMode) (err error) {
	o.Flags, o.Review = nil, false
	// An impossible value or a wrong unit wins over an implausible one: only
	// the latter may be confirmed.
	var firstErr, confirmErr error
	fail := func(kind string, err *record.ValidationError) {
		switch {
		case mode == ValuesLabReport:
			o.Flags = append(o.Flags, record.ValueFlag{Kind: kind, Reason: err.Field + " " + strconv.Quote(err.Value) + ": " + err.Reason})
			o.Review = true
		case kind != FlagImplausible:
			if firstErr == nil {
				firstErr = err
			}
		case mode == ValuesTyped:
			err.Confirm = true
			if confirmErr == nil {
				confirmErr = err
			}
		default:
			reason := err.Field + " " + strconv.Quote(err.Value) + ": " + err.Reason
			if mode == ValuesConfirmed {
				reason += " (confirmed when entered)"
			}
			o.Flags = append(o.Flags, record.ValueFlag{Kind: kind, Reason: reason})
		}
	}
	defer func() {
		if err == nil && confirmErr != nil {
			err = confirmErr
		}
	}()
	vals := []*float64{o.Value, o.Systolic, o.Diastolic}
	for _, v := range vals {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || math.Abs(*v) >= hugeValue) {
			fail(FlagImpossible, &record.ValidationError{Field: "value", Value: withUnit(*v, o.Unit), Reason: "is not a measurement (too large, or not a number)"})
			return firstErr
		}
	}
	ob := observables.Lookup(o.Code.System, o.Code.Code)
	if o.ValueText != "" && o.Value == nil && decimalComma.MatchString(o.ValueText) {
		fail(FlagUnparsed, &record.ValidationError{Field: "value", Value: o.ValueText, Reason: "use a decimal point, not a comma"})
		return firstErr
	}
	if ob == nil {
		return firstErr
	}
	what := ob.Name
	switch {
	case o.IsBP() && !ob.BP:
		fail(FlagImpossible, &record.ValidationError{Field: "bp", Value: bpText(o), Reason: what + " (" + o.Code.Code + ") does not take a blood pressure"})
		return firstErr
	case ob.BP && !o.IsBP() && o.Value != nil:
		fail(FlagImpossible, &record.ValidationError{Field: "value", Value: withUnit(*o.Value, o.Unit), Reason: "a blood pressure is systolic/diastolic (e.g. --bp 140/90), not one number"})
		return firstErr
	}
	judge := func(field, component string, v float64) {
		r := ob.row(o.Unit, component)
		if r == nil {
			fail(FlagUnit, &record.ValidationError{Field: "unit", Value: o.Unit, Reason: fmt.Sprintf("is not a unit of %s (use %s)", what, strings.Join(ob.unitNames(), " or "))})
			return
		}
		unit := o.Unit
		if unit == "" {
			unit = r.Unit
		}
		name, value, is := what, withUnit(v, unit), "is"
		switch component {
		case "":
		case "pulse pressure":
			// Neither number alone is wrong: the pair is.
			name, value, is = strings.ToLower(what), bpText(o), "has a pulse pressure (systolic − diastolic) of "+withUnit(v, unit)+", which is"
		default:
			name = component + " " + strings.ToLower(what)
		}
		switch {
		case r.Impossible.outside(v):
			reason := fmt.Sprintf("%s impossible for %s (possible range %s %s; %s, %s)", is, name, r.Impossible, unit, r.Source, r.Date)
			if hint := unitHint(ob, v); hint != "" {
				reason += "; " + hint
			}
			fail(FlagImpossible, &record.ValidationError{Field: field, Value: value, Reason: reason})
		case r.Implausible.outside(v):
			fail(FlagImplausible, &record.ValidationError{Field: field, Value: value,
				Reason: fmt.Sprintf("%s implausible for %s (plausible range %s %s; %s, %s)", is, name, r.Implausible, unit, r.Source, r.Date)})
		}
	}
	if o.IsBP() {
		if o.Systolic == nil || o.Diastolic == nil {
			return firstErr // record.Validate names it
		}
		judge("systolic", "systolic", *o.Systolic)
		judge("diastolic", "diastolic", *o.Diastolic)
		if firstErr == nil {
			judge("bp", "pulse pressure", *o.Systolic-*o.Diastolic)
		}
		return firstErr
	}
	if o.Value != nil {
		judge("value", "", *o.Value)
	} else if o.Unit != "" && ob.row(o.Unit, "") == nil {
		judge("value", "", 0)
	}
	return firstErr
}

// unitHint names the likely slip behind an impossible value: an HbA1c in
// DCCT % under the IFCC mmol/mol code.
func unitHint(ob *Observable, v float64) string {
	if containsStr(ob.Codes, "999791000000106") && v >= 2 && v <= 25 {
		return fmt.Sprintf("this looks like a DCCT %% value: %.3g%% is %.0f mmol/mol", v, (v-2.15)*10.929)
	}
	return ""
}

func withUnit(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

func bpText(o *record.Observation) string {
	f := func(p *float64) string {
		if p == nil {
			return "?"
		}
		return strconv.FormatFloat(*p, 'g', -1, 64)
	}
	return f(o.Systolic) + "/" + f(o.Diastolic)
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// FlagText is how a flagged value is marked wherever it is listed
// (" [implausible]", " [held for review: unit]"); "" when not flagged.
//
// A laboratory result also shows its abnormal flag and whether it is still
// unreviewed (" [H, unreviewed]").
func FlagText(o *record.Observation) string {
	var parts []string
	if len(o.Flags) > 0 {
		ks := make([]string, 0, len(o.Flags))
		for _, f := range o.Flags {
			ks = append(ks, f.Kind)
		}
		tag := strings.Join(ks, ", ")
		if o.Review {
			tag = "held for review: " + tag
		}
		parts = append(parts, tag)
	}
	if o.Abnormal() {
		flag := strings.TrimSpace(o.Interpretation)
		if record.NormalFlags[strings.ToUpper(flag)] {
			flag = "outside range " + o.ReferenceRange.String()
		}
		parts = append(parts, flag)
	}
	if o.Unreviewed {
		parts = append(parts, "unreviewed")
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, ", ") + "]"
}

// IsConfirmable reports whether err is an implausible value a clinician may confirm.
func IsConfirmable(err error) bool {
	var ve *record.ValidationError
	return errors.As(err, &ve) && ve.Confirm
}
