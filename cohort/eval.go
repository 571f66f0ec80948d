package cohort

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Set is a set of patients (by their number in the index).
type Set []uint64

func newSet(n int) Set { return make(Set, (n+63)/64) }

// Has reports whether patient p is in the set.
func (s Set) Has(p int) bool { return s[p>>6]&(1<<(uint(p)&63)) != 0 }
func (s Set) add(p int32)    { s[p>>6] |= 1 << (uint(p) & 63) }

// Count is the number of patients in the set.
func (s Set) Count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// Each calls fn with each patient in order.
func (s Set) Each(fn func(p int)) {
	for i, w := range s {
		for w != 0 {
			fn(i*64 + bits.TrailingZeros64(w))
			w &= w - 1
		}
	}
}

func (s Set) and(t Set) Set {
	out := make(Set, len(s))
	for i := range s {
		out[i] = s[i] & t[i]
	}
	return out
}

func (s Set) or(t Set) Set {
	out := make(Set, len(s))
	for i := range s {
		out[i] = s[i] | t[i]
	}
	return out
}

func (s Set) minus(t Set) Set {
	out := make(Set, len(s))
	for i := range s {
		out[i] = s[i] &^ t[i]
	}
	return out
}

// not is the complement within n patients.
func (s Set) not(n int) Set {
	out := make(Set, len(s))
	for i := range s {
		out[i] = ^s[i]
	}
	if r := n & 63; r != 0 && len(out) > 0 {
		out[len(out)-1] &= (1 << uint(r)) - 1
	}
	return out
}

// Result is one definition evaluated on a reference date.
type Result struct {
	Def       *Def
	Reference string // YYYY-MM-DD
	// Members: a search's or register's patients; an indicator's denominator.
	Members     Set
	Numerator   Set // indicators
	Exceptions  Set // indicators
	Registered  int // patients registered on the reference date (for prevalence)
	ix          *Index
	run         *Run
	denominator Set
}

// Count is the number of members (an indicator's denominator).
func (r *Result) Count() int { return r.Members.Count() }

// Achievement is numerator over (denominator minus exceptions); ok false when that is 0.
func (r *Result) Achievement() (float64, bool) {
	d := r.Members.Count() - r.Exceptions.Count()
	if d <= 0 {
		return 0, false
	}
	return float64(r.Numerator.Count()) / float64(d), true
}

// Status is an indicator member's status: numerator, exception or denominator.
func (r *Result) Status(p int) string {
	switch {
	case r.Def.Kind != KindIndicator:
		return ""
	case r.Numerator.Has(p):
		return "numerator"
	case r.Exceptions.Has(p):
		return "exception"
	}
	return "denominator"
}

// Engine evaluates definitions over one index with one resolver; code sets
// are expanded once and kept.
type Engine struct {
	ix   *Index
	res  Resolver
	defs map[string]*Def // registers by id, for `in register`
	sets map[string][]bool
}

// NewEngine makes an engine; defs are the registers (and indicators) that
// `in register ID` may name.
func NewEngine(ix *Index, res Resolver, defs []*Def) *Engine {
	e := &Engine{ix: ix, res: res, defs: map[string]*Def{}, sets: map[string][]bool{}}
	for _, d := range defs {
		if d.Kind != KindSearch {
			e.defs[d.ID] = d
		}
	}
	return e
}

// Index is the engine's index.
func (e *Engine) Index() *Index { return e.ix }

// ReferenceDate resolves a definition's reference on today (override, when
// set, wins).
func ReferenceDate(d *Def, today time.Time, override string) (int32, error) {
	ref := d.Reference
	if override != "" {
		ref = override
	}
	switch ref {
	case "", "today":
		return Day(today), nil
	case "qof-year-end":
		y, m, _ := today.In(uk).Date()
		if m > time.March {
			y++
		}
		return civilDay(y, 3, 31), nil
	}
	day, ok := parseDay(ref)
	if !ok || !isDate(ref) {
		return 0, record.Invalid("--on", ref, "expected a date YYYY-MM-DD, today or qof-year-end")
	}
	return day, nil
}

// Run is the evaluation of definitions on one reference date; it caches
// each criterion, so registers and indicators that share one cost it once.
type Run struct {
	e       *Engine
	R       int32
	rYMD    int32
	leaves  map[string]Set
	named   map[string]Set
	scores  map[string][]int32
	regs    map[string]*Result
	stack   []string
	scratch Set
}

// NewRun starts evaluations on reference day r.
func (e *Engine) NewRun(r int32) *Run {
	t := time.Unix(int64(r)*86400, 0).UTC()
	return &Run{e: e, R: r, rYMD: int32(t.Year()*10000 + int(t.Month())*100 + t.Day()),
		leaves: map[string]Set{}, named: map[string]Set{}, scores: map[string][]int32{}, regs: map[string]*Result{}}
}

// Check resolves every code set of d (and of the registers it names), so a
// definition with an unknown cluster fails before any patient is read.
func (e *Engine) Check(d *Def) error {
	return e.walk(d, map[string]bool{}, func(n *Node) error {
		if len(n.Set) > 0 {
			if _, err := e.codeSet(d, n.Set, n.Op == OpMedCurrent || n.Op == OpMedIssued); err != nil {
				return err
			}
		}
		if len(n.Resolved) > 0 {
			if _, err := e.codeSet(d, n.Resolved, false); err != nil {
				return err
			}
		}
		return nil
	})
}

// walk visits every node of d, following `in register` into other definitions.
func (e *Engine) walk(d *Def, seen map[string]bool, fn func(*Node) error) error {
	var visit func(*Def, *Node) error
	visit = func(d *Def, n *Node) error {
		if n == nil {
			return nil
		}
		if err := fn(n); err != nil {
			return err
		}
		if n.Op == OpInRegister {
			r, ok := e.defs[n.Name]
			if !ok {
				return &SyntaxError{File: d.File, Pos: n.Pos, Msg: fmt.Sprintf("unknown register %q (%s)", n.Name, e.knownRegisters())}
			}
			if !seen[r.ID] {
				seen[r.ID] = true
				if err := e.walk(r, seen, fn); err != nil {
					return err
				}
			}
		}
		if err := visit(d, n.L); err != nil {
			return err
		}
		return visit(d, n.R)
	}
	roots := []*Node{d.Population, d.Select, d.Denominator, d.Numerator, d.Exceptions}
	roots = append(roots, d.Shows...)
	for _, s := range d.Sets {
		roots = append(roots, s.Expr)
	}
	for _, s := range d.Scores {
		for _, t := range s.Terms {
			roots = append(roots, t.Expr)
		}
	}
	for _, n := range roots {
		if err := visit(d, n); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) knownRegisters() string {
	var ids []string
	for id, d := range e.defs {
		if d.Kind == KindRegister {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "no registers are loaded"
	}
	sortStrings(ids)
	return "known: " + strings.Join(ids, ", ")
}

// codeSet expands a set to membership over the index's codes, once.
func (e *Engine) codeSet(d *Def, terms []SetTerm, meds bool) ([]bool, error) {
	key := setText(terms)
	if meds {
		key = "med:" + key
	}
	if s, ok := e.sets[key]; ok {
		return s, nil
	}
	var tests []CodeSet
	for _, t := range terms {
		var cs CodeSet
		var err error
		switch {
		case t.Kind == "code":
			cs = exactCode(t.Text)
		case meds:
			cs, err = e.res.MedicineSet(t.Kind, t.Text)
		default:
			cs, err = e.res.CodeSet(t.Kind, t.Text)
		}
		if err != nil {
			return nil, &SyntaxError{File: d.File, Pos: t.Pos, Msg: err.Error()}
		}
		tests = append(tests, cs)
	}
	ix := e.ix
	in := make([]bool, len(ix.CodeSys))
	for c := range in {
		for _, cs := range tests {
			if cs.Contains(ix.CodeSys[c], ix.CodeVal[c]) {
				in[c] = true
				break
			}
		}
	}
	e.sets[key] = in
	return in, nil
}

// exactCode is `code CODE`: one SNOMED CT (or dm+d) concept, nothing below it.
type exactCode string

func (c exactCode) Contains(system, code string) bool {
	return code == string(c) && (system == sysSNOMED || system == sysDMD || system == "sct" || system == "dmd")
}

const (
	sysSNOMED = "http://snomed.info/sct"
	sysDMD    = "https://dmd.nhs.uk"
)

// Evaluate runs a definition.
func (r *Run) Evaluate(d *Def) (*Result, error) {
	if err := r.e.Check(d); err != nil {
		return nil, err
	}
	return r.eval(d)
}

func (r *Run) eval(d *Def) (*Result, error) {
	if d.Kind != KindSearch {
		if res, ok := r.regs[d.ID]; ok {
			return res, nil
		}
		for _, id := range r.stack {
			if id == d.ID {
				return nil, &SyntaxError{File: d.File, Pos: d.IDPos, Msg: fmt.Sprintf("definitions name each other in a cycle: %s -> %s", strings.Join(r.stack, " -> "), d.ID)}
			}
		}
		r.stack = append(r.stack, d.ID)
		defer func() { r.stack = r.stack[:len(r.stack)-1] }()
	}
	n := r.e.ix.Len()
	pop, err := r.node(d, d.Population)
	if err != nil {
		return nil, err
	}
	res := &Result{Def: d, Reference: DayString(r.R), ix: r.e.ix, run: r}
	reg, err := r.node(d, &Node{Op: OpRegistered, Text: "registered"})
	if err != nil {
		return nil, err
	}
	res.Registered = reg.Count()
	if d.Kind == KindIndicator {
		den, err := r.node(d, d.Denominator)
		if err != nil {
			return nil, err
		}
		num, err := r.node(d, d.Numerator)
		if err != nil {
			return nil, err
		}
		res.Members = pop.and(den)
		res.Numerator = res.Members.and(num)
		res.Exceptions = newSet(n)
		if d.Exceptions != nil {
			exc, err := r.node(d, d.Exceptions)
			if err != nil {
				return nil, err
			}
			res.Exceptions = res.Members.minus(res.Numerator).and(exc)
		}
	} else {
		sel, err := r.node(d, d.Select)
		if err != nil {
			return nil, err
		}
		res.Members = pop.and(sel)
		res.Numerator, res.Exceptions = newSet(n), newSet(n)
	}
	if d.Kind != KindSearch {
		r.regs[d.ID] = res
	}
	return res, nil
}

func (r *Run) node(d *Def, n *Node) (Set, error) {
	np := r.e.ix.Len()
	switch n.Op {
	case OpAnd, OpOr:
		l, err := r.node(d, n.L)
		if err != nil {
			return nil, err
		}
		rr, err := r.node(d, n.R)
		if err != nil {
			return nil, err
		}
		if n.Op == OpAnd {
			return l.and(rr), nil
		}
		return l.or(rr), nil
	case OpNot:
		l, err := r.node(d, n.L)
		if err != nil {
			return nil, err
		}
		return l.not(np), nil
	case OpSetRef:
		key := d.File + "\x00" + d.ID + "\x00" + n.Name
		if s, ok := r.named[key]; ok {
			return s, nil
		}
		for _, ns := range d.Sets {
			if ns.Name == n.Name {
				s, err := r.node(d, ns.Expr)
				if err != nil {
					return nil, err
				}
				r.named[key] = s
				return s, nil
			}
		}
		return nil, &SyntaxError{File: d.File, Pos: n.Pos, Msg: fmt.Sprintf("unknown set %q", n.Name)}
	case OpScore:
		sc, err := r.score(d, n.Name)
		if err != nil {
			return nil, err
		}
		out := newSet(np)
		for p, v := range sc {
			if compare(float64(v), n.Cmp, n.V1, n.V2) {
				out.add(int32(p))
			}
		}
		return out, nil
	case OpInRegister:
		rd, ok := r.e.defs[n.Name]
		if !ok {
			return nil, &SyntaxError{File: d.File, Pos: n.Pos, Msg: fmt.Sprintf("unknown register %q (%s)", n.Name, r.e.knownRegisters())}
		}
		res, err := r.eval(rd)
		if err != nil {
			return nil, err
		}
		return res.Members, nil
	}
	key := n.Text
	if s, ok := r.leaves[key]; ok {
		return s, nil
	}
	s, err := r.leaf(d, n)
	if err != nil {
		return nil, err
	}
	r.leaves[key] = s
	return s, nil
}

func (r *Run) score(d *Def, name string) ([]int32, error) {
	key := d.File + "\x00" + d.ID + "\x00" + name
	if sc, ok := r.scores[key]; ok {
		return sc, nil
	}
	for _, s := range d.Scores {
		if s.Name != name {
			continue
		}
		sc := make([]int32, r.e.ix.Len())
		for _, t := range s.Terms {
			set, err := r.node(d, t.Expr)
			if err != nil {
				return nil, err
			}
			set.Each(func(p int) { sc[p] += int32(t.Points) })
		}
		r.scores[key] = sc
		return sc, nil
	}
	return nil, fmt.Errorf("unknown score %q", name)
}

// leaf evaluates a criterion over every patient: population criteria over
// all, clinical ones over the candidates that hold any matching entry (found
// through the code-ordered postings), each decided by the same per-patient
// test an explanation uses.
func (r *Run) leaf(d *Def, n *Node) (Set, error) {
	ix := r.e.ix
	np := ix.Len()
	out := newSet(np)
	var cands []int32
	switch n.Op {
	case OpHas, OpValue:
		if n.Op == OpValue && len(n.Set) == 0 {
			cands = ix.bpPats
			break
		}
		cs, err := r.e.codeSet(d, n.Set, false)
		if err != nil {
			return nil, err
		}
		cands = r.candidates(cs, ix.byCode, ix.codeE, ix.ePat)
	case OpMedCurrent, OpMedIssued:
		cs, err := r.e.codeSet(d, n.Set, true)
		if err != nil {
			return nil, err
		}
		cands = r.candidates(cs, ix.byMedCode, ix.medCodeE, ix.mPat)
	default:
		for p := 0; p < np; p++ {
			if r.patientTest(n, int32(p)) {
				out.add(int32(p))
			}
		}
		return out, nil
	}
	c := &leafCtx{r: r, d: d, n: n}
	if err := c.prepare(); err != nil {
		return nil, err
	}
	for _, p := range cands {
		if c.positive(p, nil) {
			out.add(p)
		}
	}
	if n.Op == OpHas && n.Negate {
		return out.not(np), nil // has no code: everyone without a matching entry
	}
	return out, nil
}

// candidates are the patients with any posting of a code in cs, in order.
func (r *Run) candidates(cs []bool, rows, off, owner []int32) []int32 {
	np := r.e.ix.Len()
	if r.scratch == nil {
		r.scratch = newSet(np)
	}
	seen := r.scratch
	clear(seen)
	for c, in := range cs {
		if !in {
			continue
		}
		for _, i := range rows[off[c]:off[c+1]] {
			seen.add(owner[i])
		}
	}
	var out []int32
	seen.Each(func(p int) { out = append(out, int32(p)) })
	return out
}

// patientTest decides a population criterion for one patient.
func (r *Run) patientTest(n *Node, p int32) bool {
	row := &r.e.ix.Patients[p]
	switch n.Op {
	case OpAll:
		return row.Status != ""
	case OpRegistered:
		return row.Status != "" && row.regStart <= r.R && row.left > r.R && row.died > r.R
	case OpRegisteredIn:
		lo, hi := r.bounds(n.Period)
		return row.Status != "" && row.regStart != -noDay && row.regStart >= lo && row.regStart <= hi
	case OpLeft:
		lo, hi := r.bounds(n.Period)
		return row.left != noDay && row.left >= lo && row.left <= hi
	case OpDied:
		lo, hi := r.bounds(n.Period)
		return row.died != noDay && row.died >= lo && row.died <= hi
	case OpAge:
		a, ok := r.age(row)
		return ok && compare(float64(a), n.Cmp, n.V1, n.V2)
	case OpSex:
		if n.Name == "unknown" {
			return row.Sex == "" || row.Sex == "unknown"
		}
		return row.Sex == n.Name
	}
	return false
}

func (r *Run) age(row *PatientRow) (int, bool) {
	if row.birth == noDay {
		return 0, false
	}
	a := int(r.rYMD-row.birthYMD) / 10000
	return a, row.birth <= r.R
}

func compare(v float64, cmp string, a, b float64) bool {
	switch cmp {
	case "<":
		return v < a
	case "<=":
		return v <= a
	case ">":
		return v > a
	case ">=":
		return v >= a
	case "=":
		return v == a
	case "!=":
		return v != a
	case "between":
		return v >= a && v <= b
	}
	return false
}

// addUnits moves day d by n units; months and years clamp to the month's end.
func addUnits(d int32, n int, unit string) int32 {
	switch unit {
	case "day":
		return d + int32(n)
	case "week":
		return d + int32(7*n)
	}
	if unit == "year" {
		n *= 12
	}
	t := time.Unix(int64(d)*86400, 0).UTC()
	y, m, day := t.Year(), int(t.Month())-1+n, t.Day()
	y += m / 12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	last := time.Date(y, time.Month(m+2), 0, 0, 0, 0, 0, time.UTC).Day()
	if day > last {
		day = last
	}
	return civilDay(y, m+1, day)
}

// bounds is the inclusive day range a period allows (never after R).
func (r *Run) bounds(p *Period) (lo, hi int32) {
	lo, hi = -noDay, r.R
	if p == nil {
		return
	}
	switch p.Kind {
	case "within":
		lo = addUnits(r.R, -p.N, p.Unit) + 1
	case "ago":
		hi = min(hi, addUnits(r.R, -p.N, p.Unit))
	case "before":
		d, _ := parseDay(p.From)
		hi = min(hi, d-1)
	case "after":
		d, _ := parseDay(p.From)
		lo = d + 1
	case "between":
		a, _ := parseDay(p.From)
		b, _ := parseDay(p.To)
		lo, hi = a, min(hi, b)
	}
	return
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
