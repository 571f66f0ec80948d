package cohort_test

// A brute-force reference for the shipped QOF registers and indicators
// (fixtures/embedded/registers), written straight in Go over the records from
// the business rules as docs/qof.md states them. It shares nothing with the
// engine but the record types, the cluster files and the medicines knowledge
// (drug class membership): no index, no parser, no code-set expansion. Dates
// are UK local calendar dates held as day numbers.

import (
	"encoding/csv"
	"io/fs"
	"math"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/fixtures/embedded"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/terminology"
)

var ukZone = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

// day is a calendar date as days since 1970-01-01.
type day int32

func dayOf(y int, m time.Month, d int) day {
	return day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ukDay is the UK calendar date of an instant.
func ukDay(t time.Time) day {
	y, m, d := t.In(ukZone).Date()
	return dayOf(y, m, d)
}

// parseDay reads YYYY-MM-DD; ok false when empty or malformed.
func parseDay(s string) (day, bool) {
	t, err := time.Parse(record.DateLayout, s)
	if err != nil {
		return 0, false
	}
	return dayOf(t.Date()), true
}

func (d day) time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d day) String() string { return d.time().Format(record.DateLayout) }

// minusMonths is d less n calendar months, the day clamped to the month's end
// (31 March less 1 month is the last day of February).
func (d day) minusMonths(n int) day {
	y, m, dd := d.time().Date()
	mi := int(m) - 1 - n
	y += mi / 12
	mi %= 12
	if mi < 0 {
		mi += 12
		y--
	}
	last := time.Date(y, time.Month(mi+2), 0, 0, 0, 0, 0, time.UTC).Day()
	return dayOf(y, time.Month(mi+1), min(dd, last))
}

// ---- the record, flattened ----

type refEntry struct {
	code string
	on   day
}

type refObs struct {
	code     string
	on       day
	at       time.Time // the instant, to order two results of one day
	value    *float64
	sys, dia *float64
	unit     string
}

type refMed struct {
	code    string
	acute   bool
	start   day // authorised (or recorded)
	stopped day // 0: not stopped
	issues  []day
}

type refPatient struct {
	id                      string
	birth                   day
	sex                     string
	reg, left, died         day // left, died 0 when none
	hasLeft, hasDied, noReg bool
	entries                 []refEntry
	obs                     []refObs
	meds                    []refMed
}

func eie(m record.Meta) bool { return m.Status == record.StatusEnteredInError }

// flatten reads one patient's records as the business rules see them.
func flatten(b *fixtures.Bundle) *refPatient {
	p := b.Patient
	rp := &refPatient{id: p.ID, sex: p.Sex}
	rp.birth, _ = parseDay(p.BirthDate)
	var ok bool
	if rp.reg, ok = parseDay(p.Registration.RegisteredOn); !ok {
		rp.noReg = true
	}
	rp.left, rp.hasLeft = parseDay(p.Registration.LeftOn)
	rp.died, rp.hasDied = parseDay(p.Registration.DeceasedOn)
	add := func(c record.Code, on day) {
		if c.Code != "" {
			rp.entries = append(rp.entries, refEntry{c.Code, on})
		}
	}
	for _, x := range b.Problems {
		if eie(x.Meta) {
			continue
		}
		on, ok := parseDay(x.Onset)
		if !ok {
			on = ukDay(x.RecordedAt)
		}
		add(x.Code, on)
	}
	for _, c := range b.Consultations {
		if eie(c.Meta) {
			continue
		}
		for _, e := range c.Entries {
			add(e.Code, ukDay(c.Start))
			if e.Mapped != nil {
				add(*e.Mapped, ukDay(c.Start))
			}
		}
	}
	for _, o := range b.Observations {
		if eie(o.Meta) {
			continue
		}
		on := ukDay(o.Effective)
		add(o.Code, on)
		if o.ValueCode != nil {
			add(*o.ValueCode, on)
		}
		rp.obs = append(rp.obs, refObs{code: o.Code.Code, on: on, at: o.Effective, value: o.Value, sys: o.Systolic, dia: o.Diastolic, unit: o.Unit})
	}
	for _, im := range b.Immunisations {
		if eie(im.Meta) {
			continue
		}
		on, ok := parseDay(im.Date)
		if !ok {
			on = ukDay(im.RecordedAt)
		}
		add(im.Code, on)
	}
	for _, a := range b.Allergies {
		if eie(a.Meta) {
			continue
		}
		on, ok := parseDay(a.Onset)
		if !ok {
			on = ukDay(a.RecordedAt)
		}
		add(a.Agent, on)
		if a.Finding != nil {
			add(*a.Finding, on)
		}
	}
	for _, m := range b.Medications {
		if eie(m.Meta) {
			continue
		}
		rm := refMed{code: m.Code.Code, acute: m.Type == "acute"}
		var ok bool
		if rm.start, ok = parseDay(m.AuthorisedOn); !ok {
			rm.start = ukDay(m.RecordedAt)
		}
		rm.stopped, _ = parseDay(m.StoppedOn)
		for _, is := range m.Issues {
			rm.issues = append(rm.issues, ukDay(is.At))
		}
		rp.meds = append(rp.meds, rm)
	}
	return rp
}

// ---- the clusters and drug classes ----

type codeSet map[string]bool

var clusterFiles = sync.OnceValue(func() map[string]codeSet {
	out := map[string]codeSet{}
	entries, err := fs.ReadDir(embedded.QOF, "qof")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		f, err := embedded.QOF.Open(path.Join("qof", name))
		if err != nil {
			panic(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			panic(err)
		}
		s := codeSet{}
		for _, r := range rows[1:] {
			s[r[0]] = true
		}
		id := strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(name, "nhsd-primary-care-domain-refsets-"), ".csv"))
		out[id] = s
	}
	return out
})

// clusters is the union of the named clusters.
func clusters(names ...string) codeSet {
	all := clusterFiles()
	out := codeSet{}
	for _, n := range names {
		s, ok := all[n]
		if !ok {
			panic("no cluster " + n)
		}
		for c := range s {
			out[c] = true
		}
	}
	return out
}

// drugClass is the medicines in a curated class, decided per product by the
// medicines knowledge (by ingredient), memoised.
type drugClass struct {
	t    *terminology.Terminology
	id   string
	mu   sync.Mutex
	memo map[string]bool
}

func (c *drugClass) has(code string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.memo[code]; ok {
		return v
	}
	in := false
	if p, err := c.t.Product(code); err == nil {
		for _, k := range c.t.AllClassesOf(p) {
			in = in || k.Code == c.id
		}
	}
	c.memo[code] = in
	return in
}

// ---- the criteria, on reference date R ----

type refCtx struct {
	R       day
	classes map[string]*drugClass
	t       *terminology.Terminology
}

func (x *refCtx) class(id string) *drugClass {
	if c := x.classes[id]; c != nil {
		return c
	}
	c := &drugClass{t: x.t, id: id, memo: map[string]bool{}}
	x.classes[id] = c
	return c
}

// registered: started on or before R, and not left or died by R.
func (x *refCtx) registered(p *refPatient) bool {
	return !p.noReg && p.reg <= x.R && !(p.hasLeft && p.left <= x.R) && !(p.hasDied && p.died <= x.R)
}

func (x *refCtx) age(p *refPatient) int {
	by, bm, bd := p.birth.time().Date()
	ry, rm, rd := x.R.time().Date()
	a := ry - by
	if rm < bm || rm == bm && rd < bd {
		a--
	}
	return a
}

// window is a period's first day (exclusive lower bound lo: dates > lo count) up to R.
type window struct{ after day }

func ever() window                                { return window{after: -1 << 30} }
func (x *refCtx) months(n int) window             { return window{after: x.R.minusMonths(n)} }
func afterDate(y int, m time.Month, d int) window { return window{after: dayOf(y, m, d)} }

func (x *refCtx) in(w window, d day) bool { return d > w.after && d <= x.R }

// latest is the latest date of an entry in s within w (ok false when none).
func (x *refCtx) latest(p *refPatient, s codeSet, w window) (day, bool) {
	var best day
	found := false
	for _, e := range p.entries {
		if s[e.code] && x.in(w, e.on) && (!found || e.on > best) {
			best, found = e.on, true
		}
	}
	return best, found
}

func (x *refCtx) first(p *refPatient, s codeSet) (day, bool) {
	var best day
	found := false
	for _, e := range p.entries {
		if s[e.code] && e.on <= x.R && (!found || e.on < best) {
			best, found = e.on, true
		}
	}
	return best, found
}

func (x *refCtx) has(p *refPatient, s codeSet, w window) bool {
	_, ok := x.latest(p, s, w)
	return ok
}

// resolved is the QOF register rule: the latest diagnosis entry (in w) not
// followed by a resolving entry on or after its date (up to R).
func (x *refCtx) unresolved(p *refPatient, dx, res codeSet, w window) bool {
	last, ok := x.latest(p, dx, w)
	if !ok {
		return false
	}
	for _, e := range p.entries {
		if res[e.code] && e.on >= last && e.on <= x.R {
			return false
		}
	}
	return true
}

// firstWithin3: the earliest entry in s lies in the last 3 months.
func (x *refCtx) firstWithin3(p *refPatient, s codeSet) bool {
	f, ok := x.first(p, s)
	return ok && x.in(x.months(3), f)
}

func (x *refCtx) registeredWithin3(p *refPatient) bool {
	return !p.noReg && x.in(x.months(3), p.reg)
}

// latestValue: the latest observation in s within w has a number in unit that ok accepts.
func (x *refCtx) latestValue(p *refPatient, s codeSet, w window, unit string, ok func(float64) bool) bool {
	var best *refObs
	for i := range p.obs {
		o := &p.obs[i]
		if s[o.code] && x.in(w, o.on) && (best == nil || o.on > best.on || o.on == best.on && o.at.After(best.at)) {
			best = o
		}
	}
	if best == nil || best.value == nil {
		return false
	}
	norm := func(u string) string { return strings.ToLower(strings.ReplaceAll(u, " ", "")) }
	if unit != "" && norm(best.unit) != norm(unit) {
		return false
	}
	return ok(*best.value)
}

// latestBP: on the latest day within w with a blood pressure (an observation with either
// value), the lowest systolic and the lowest diastolic recorded that day (QOF's rule) are at or
// below sys/dia; a day whose readings lack either value fails.
func (x *refCtx) latestBP(p *refPatient, w window, sys, dia float64) bool {
	last, found := day(0), false
	for _, o := range p.obs {
		if (o.sys != nil || o.dia != nil) && x.in(w, o.on) && (!found || o.on > last) {
			last, found = o.on, true
		}
	}
	if !found {
		return false
	}
	lowS, lowD := math.Inf(1), math.Inf(1)
	for _, o := range p.obs {
		if o.on != last || (o.sys == nil && o.dia == nil) {
			continue
		}
		if o.sys != nil {
			lowS = min(lowS, *o.sys)
		}
		if o.dia != nil {
			lowD = min(lowD, *o.dia)
		}
	}
	return lowS <= sys && lowD <= dia
}

// current: a medicine in the class is current on R (authorised by R, not
// stopped by R; an acute one for 3 months after its last issue or authorisation).
func (x *refCtx) current(p *refPatient, class string) bool {
	c := x.class(class)
	for _, m := range p.meds {
		if m.start > x.R || (m.stopped != 0 && m.stopped <= x.R) || !c.has(m.code) {
			continue
		}
		if m.acute {
			last := m.start
			for _, d := range m.issues {
				if d <= x.R && d > last {
					last = d
				}
			}
			if last <= x.R.minusMonths(3) {
				continue
			}
		}
		return true
	}
	return false
}

// issued: an issue of a medicine in the class dated within w.
func (x *refCtx) issued(p *refPatient, class string, w window) bool {
	c := x.class(class)
	for _, m := range p.meds {
		for _, d := range m.issues {
			if x.in(w, d) && c.has(m.code) {
				return true
			}
		}
	}
	return false
}

// ---- registers and indicators ----

type refRegister struct {
	id string
	in func(x *refCtx, p *refPatient) bool
}

type refIndicator struct {
	id                     string
	denominator, numerator func(x *refCtx, p *refPatient) bool
	exception              func(x *refCtx, p *refPatient) bool
}

var (
	cDM, cDMRES     = clusters("DM_COD"), clusters("DMRES_COD")
	cHYP, cHYPRES   = clusters("HYP_COD"), clusters("HYPRES_COD")
	cAST, cASTRES   = clusters("AST_COD"), clusters("ASTRES_COD")
	cCOPD, cCOPDRES = clusters("COPD_COD"), clusters("COPDRES_COD")
	cCKD, cCKDRES   = clusters("CKD_COD"), clusters("CKDRES_COD", "CKD1AND2_COD")
	cAF             = clusters("AFIB_COD")
	cCHD            = clusters("CHD_COD")
	cSTIA           = clusters("STRK_COD", "TIA_COD")
	cHF, cHFRES     = clusters("HF_COD"), clusters("HFRES_COD")
	cDEM            = clusters("DEM_COD")
	cDEP, cDEPRES   = clusters("DEPR_COD"), clusters("DEPRES_COD")
	cMH             = clusters("MH_COD")
	cEP, cEPRES     = clusters("EPIL_COD"), clusters("EPILRES_COD")
	cLD             = clusters("LD_COD")
	cOST            = clusters("OSTEO_COD")
	cRA             = clusters("RARTH_COD")
	cPAD            = clusters("PAD_COD")
	cPC             = clusters("PALCARE_COD")
	cHbA1c          = clusters("IFCCHBAM_COD")
	cVascular       = clusters("CHD_COD", "PAD_COD")
	cCVD            = clusters("CHD_COD", "STRK_COD", "TIA_COD", "PAD_COD")
)

var refRegisters = []refRegister{
	{"DM", func(x *refCtx, p *refPatient) bool { return x.age(p) >= 17 && x.unresolved(p, cDM, cDMRES, ever()) }},
	{"HYP", func(x *refCtx, p *refPatient) bool { return x.unresolved(p, cHYP, cHYPRES, ever()) }},
	{"AST", func(x *refCtx, p *refPatient) bool {
		return x.age(p) >= 6 && x.unresolved(p, cAST, cASTRES, ever()) && x.issued(p, "asthma-treatment", x.months(12))
	}},
	{"COPD", func(x *refCtx, p *refPatient) bool { return x.unresolved(p, cCOPD, cCOPDRES, ever()) }},
	{"CKD", func(x *refCtx, p *refPatient) bool { return x.age(p) >= 18 && x.unresolved(p, cCKD, cCKDRES, ever()) }},
	{"AF", func(x *refCtx, p *refPatient) bool { return x.has(p, cAF, ever()) }},
	{"CHD", func(x *refCtx, p *refPatient) bool { return x.has(p, cCHD, ever()) }},
	{"STIA", func(x *refCtx, p *refPatient) bool { return x.has(p, cSTIA, ever()) }},
	{"HF", func(x *refCtx, p *refPatient) bool { return x.unresolved(p, cHF, cHFRES, ever()) }},
	{"DEM", func(x *refCtx, p *refPatient) bool { return x.has(p, cDEM, ever()) }},
	{"DEP", func(x *refCtx, p *refPatient) bool {
		return x.age(p) >= 18 && x.unresolved(p, cDEP, cDEPRES, afterDate(2006, 3, 31))
	}},
	{"MH", func(x *refCtx, p *refPatient) bool {
		return x.has(p, cMH, ever()) || x.issued(p, "lithium", x.months(6))
	}},
	{"EP", func(x *refCtx, p *refPatient) bool {
		return x.age(p) >= 18 && x.unresolved(p, cEP, cEPRES, ever()) && x.issued(p, "antiepileptics", x.months(6))
	}},
	{"LD", func(x *refCtx, p *refPatient) bool { return x.has(p, cLD, ever()) }},
	{"OST", func(x *refCtx, p *refPatient) bool { return x.age(p) >= 50 && x.has(p, cOST, afterDate(2012, 3, 31)) }},
	{"RA", func(x *refCtx, p *refPatient) bool { return x.age(p) >= 16 && x.has(p, cRA, ever()) }},
	{"PAD", func(x *refCtx, p *refPatient) bool { return x.has(p, cPAD, ever()) }},
	{"PC", func(x *refCtx, p *refPatient) bool { return x.has(p, cPC, afterDate(2008, 3, 31)) }},
}

func refOn(id string) func(x *refCtx, p *refPatient) bool {
	for _, r := range refRegisters {
		if r.id == id {
			return r.in
		}
	}
	panic("no register " + id)
}

// newlyOn: the simplified QOF exceptions, diagnosed (first code) or registered in the last 3 months.
func newlyOn(s codeSet) func(x *refCtx, p *refPatient) bool {
	return func(x *refCtx, p *refPatient) bool { return x.firstWithin3(p, s) || x.registeredWithin3(p) }
}

func and(fs ...func(x *refCtx, p *refPatient) bool) func(x *refCtx, p *refPatient) bool {
	return func(x *refCtx, p *refPatient) bool {
		for _, f := range fs {
			if !f(x, p) {
				return false
			}
		}
		return true
	}
}

func ageAtMost(n int) func(x *refCtx, p *refPatient) bool {
	return func(x *refCtx, p *refPatient) bool { return x.age(p) <= n }
}

func ageAtLeast(n int) func(x *refCtx, p *refPatient) bool {
	return func(x *refCtx, p *refPatient) bool { return x.age(p) >= n }
}

func bpAtMost(sys, dia float64) func(x *refCtx, p *refPatient) bool {
	return func(x *refCtx, p *refPatient) bool { return x.latestBP(p, x.months(12), sys, dia) }
}

func hba1cAtMost(v float64) func(x *refCtx, p *refPatient) bool {
	return func(x *refCtx, p *refPatient) bool {
		return x.latestValue(p, cHbA1c, x.months(12), "mmol/mol", func(f float64) bool { return f <= v })
	}
}

// chadsvasc is the CHA2DS2-VASc score computed from the record.
func chadsvasc(x *refCtx, p *refPatient) int {
	s := 0
	if x.unresolved(p, cHF, cHFRES, ever()) {
		s++
	}
	if x.unresolved(p, cHYP, cHYPRES, ever()) {
		s++
	}
	switch a := x.age(p); {
	case a >= 75:
		s += 2
	case a >= 65:
		s++
	}
	if x.unresolved(p, cDM, cDMRES, ever()) {
		s++
	}
	if x.has(p, cSTIA, ever()) {
		s += 2
	}
	if x.has(p, cVascular, ever()) {
		s++
	}
	if p.sex == "female" {
		s++
	}
	return s
}

var refIndicators = []refIndicator{
	{"DM006", refOn("DM"), hba1cAtMost(58), newlyOn(cDM)},
	{"DM012", refOn("DM"), hba1cAtMost(75), newlyOn(cDM)},
	{"DM036", and(refOn("DM"), ageAtMost(79)), bpAtMost(140, 90), newlyOn(cDM)},
	{"HYP008", and(refOn("HYP"), ageAtMost(79)), bpAtMost(140, 90), newlyOn(cHYP)},
	{"HYP009", and(refOn("HYP"), ageAtLeast(80)), bpAtMost(150, 90), newlyOn(cHYP)},
	{"CHD015", and(refOn("CHD"), ageAtMost(79)), bpAtMost(140, 90), newlyOn(cCHD)},
	{"CHD016", and(refOn("CHD"), ageAtLeast(80)), bpAtMost(150, 90), newlyOn(cCHD)},
	{"STIA014", and(refOn("STIA"), ageAtMost(79)), bpAtMost(140, 90), newlyOn(cSTIA)},
	{"AF008", and(refOn("AF"), func(x *refCtx, p *refPatient) bool { return chadsvasc(x, p) >= 2 }),
		func(x *refCtx, p *refPatient) bool { return x.current(p, "anticoagulants-oral") }, newlyOn(cAF)},
	{"CHOL003", func(x *refCtx, p *refPatient) bool {
		return refOn("CHD")(x, p) || refOn("STIA")(x, p) || refOn("PAD")(x, p)
	},
		func(x *refCtx, p *refPatient) bool { return x.current(p, "statins") }, newlyOn(cCVD)},
	{"OST008", and(refOn("OST"), ageAtMost(74)), func(x *refCtx, p *refPatient) bool { return x.current(p, "bisphosphonates") }, newlyOn(cOST)},
}

// refResult is a register's members, or an indicator's denominator,
// numerator and exceptions, as patient ids.
type refResult struct {
	members, numerator, exceptions map[string]bool
}

// evaluateRef runs every register and indicator over the patients on R.
func evaluateRef(t testing.TB, tm *terminology.Terminology, ps []*refPatient, R day) map[string]refResult {
	t.Helper()
	x := &refCtx{R: R, classes: map[string]*drugClass{}, t: tm}
	out := map[string]refResult{}
	for _, r := range refRegisters {
		res := refResult{members: map[string]bool{}}
		for _, p := range ps {
			if x.registered(p) && r.in(x, p) {
				res.members[p.id] = true
			}
		}
		out[r.id] = res
	}
	for _, ind := range refIndicators {
		res := refResult{members: map[string]bool{}, numerator: map[string]bool{}, exceptions: map[string]bool{}}
		for _, p := range ps {
			if !x.registered(p) || !ind.denominator(x, p) {
				continue
			}
			res.members[p.id] = true
			switch {
			case ind.numerator(x, p):
				res.numerator[p.id] = true
			case ind.exception(x, p):
				res.exceptions[p.id] = true
			}
		}
		out[ind.id] = res
	}
	return out
}
