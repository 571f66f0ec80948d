package cohort

import (
	"fmt"
	"strconv"
	"strings"
)

// Line is one rule of an explanation.
type Line struct {
	Depth    int        `json:"depth"`
	Rule     string     `json:"rule"` // population, select, set NAME, denominator...
	Text     string     `json:"text"`
	Holds    bool       `json:"holds"`
	Evidence []Evidence `json:"evidence,omitempty"`
}

// Explanation says why a patient is in or out of a definition's result.
type Explanation struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Kind      Kind     `json:"kind"`
	Reference string   `json:"reference"`
	PatientID string   `json:"patientId"`
	Name      string   `json:"name"`
	NHSNumber string   `json:"nhsNumber,omitempty"`
	In        bool     `json:"in"`
	Status    string   `json:"status,omitempty"` // indicators: numerator, exception, denominator, not in denominator
	Lines     []Line   `json:"rules"`
	Notes     []string `json:"notes,omitempty"`
	// Withheld is set when the record is sensitive and no reason was given:
	// the rules say yes or no without the entries that decided them.
	Withheld bool `json:"withheld,omitempty"`
}

// Explain evaluates d for one patient (by number in the run's index), rule
// by rule, with the entries that decided each rule.
func (r *Run) Explain(d *Def, p int) (*Explanation, error) {
	if err := r.e.Check(d); err != nil {
		return nil, err
	}
	row := r.e.ix.Patients[p]
	x := &Explanation{ID: d.ID, Title: d.Title, Kind: d.Kind, Reference: DayString(r.R), PatientID: row.ID,
		Name: row.Name, NHSNumber: row.NHSNumber, Notes: d.Notes}
	ex := &explainer{r: r, p: int32(p), x: x, seen: map[string]bool{}}
	in, status, err := ex.def(d, 0)
	if err != nil {
		return nil, err
	}
	x.In, x.Status = in, status
	return x, nil
}

type explainer struct {
	r    *Run
	p    int32
	x    *Explanation
	seen map[string]bool
}

func (ex *explainer) def(d *Def, depth int) (bool, string, error) {
	pop, err := ex.rule(d, "population", d.Population, depth)
	if err != nil {
		return false, "", err
	}
	if d.Kind != KindIndicator {
		sel, err := ex.rule(d, "select", d.Select, depth)
		return pop && sel, "", err
	}
	den, err := ex.rule(d, "denominator", d.Denominator, depth)
	if err != nil {
		return false, "", err
	}
	num, err := ex.rule(d, "numerator", d.Numerator, depth)
	if err != nil {
		return false, "", err
	}
	exc := false
	if d.Exceptions != nil {
		if exc, err = ex.rule(d, "exceptions", d.Exceptions, depth); err != nil {
			return false, "", err
		}
	}
	switch {
	case !pop || !den:
		return false, "not in denominator", nil
	case num:
		return true, "numerator", nil
	case exc:
		return true, "exception", nil
	}
	return true, "denominator", nil
}

func (ex *explainer) rule(d *Def, rule string, n *Node, depth int) (bool, error) {
	i := len(ex.x.Lines)
	ex.x.Lines = append(ex.x.Lines, Line{Depth: depth, Rule: rule, Text: n.String()})
	v, err := ex.truth(d, n, depth+1, true)
	ex.x.Lines[i].Holds = v
	return v, err
}

// truth decides n for the patient, adding a line per criterion.
func (ex *explainer) truth(d *Def, n *Node, depth int, lines bool) (bool, error) {
	r := ex.r
	switch n.Op {
	case OpAnd, OpOr:
		l, err := ex.truth(d, n.L, depth, lines)
		if err != nil {
			return false, err
		}
		rr, err := ex.truth(d, n.R, depth, lines)
		if err != nil {
			return false, err
		}
		if n.Op == OpAnd {
			return l && rr, nil
		}
		return l || rr, nil
	case OpNot:
		at := len(ex.x.Lines)
		if lines {
			ex.x.Lines = append(ex.x.Lines, Line{Depth: depth, Rule: "not", Text: n.L.String()})
		}
		v, err := ex.truth(d, n.L, depth+1, lines)
		if lines {
			ex.x.Lines[at].Holds = !v
		}
		return !v, err
	}
	line := Line{Depth: depth, Rule: "", Text: n.Text}
	at := len(ex.x.Lines)
	if lines {
		ex.x.Lines = append(ex.x.Lines, line)
	}
	var v bool
	var evs []Evidence
	var err error
	switch n.Op {
	case OpSetRef:
		ns := findSet(d, n.Name)
		if ns == nil {
			return false, fmt.Errorf("unknown set %q", n.Name)
		}
		key := d.ID + "\x00set " + n.Name
		first := !ex.seen[key]
		ex.seen[key] = true
		if lines {
			ex.x.Lines[at].Rule = "set " + n.Name
			ex.x.Lines[at].Text = ns.Expr.String()
		}
		v, err = ex.truth(d, ns.Expr, depth+1, lines && first)
		// a set of one criterion: one line, with its entries
		if lines && len(ex.x.Lines) == at+2 && ex.x.Lines[at+1].Rule == "" && ex.x.Lines[at+1].Text == ns.Expr.Text {
			evs = ex.x.Lines[at+1].Evidence
			ex.x.Lines = ex.x.Lines[:at+1]
		}
	case OpScore:
		sc := findScore(d, n.Name)
		total := 0
		var parts []string
		for _, t := range sc.Terms {
			tv, err := ex.truth(d, t.Expr, depth+1, lines)
			if err != nil {
				return false, err
			}
			if tv {
				total += t.Points
				parts = append(parts, fmt.Sprintf("%d (%s)", t.Points, t.Expr.String()))
			}
		}
		v = compare(float64(total), n.Cmp, n.V1, n.V2)
		if lines {
			ex.x.Lines[at].Rule = "score " + n.Name
			ex.x.Lines[at].Text = fmt.Sprintf("%s: %d = %s", n.Text, total, strings.Join(append([]string{"0"}, parts...), " + "))
		}
	case OpInRegister:
		rd, ok := r.e.defs[n.Name]
		if !ok {
			return false, fmt.Errorf("unknown register %q", n.Name)
		}
		if lines {
			ex.x.Lines[at].Rule = "register " + rd.ID
		}
		if lines && !ex.seen["reg "+rd.ID] {
			ex.seen["reg "+rd.ID] = true
			v, _, err = ex.def(rd, depth+1)
		} else {
			res, e2 := r.eval(rd)
			v, err = e2 == nil && res.Members.Has(int(ex.p)), e2
		}
	case OpHas, OpValue, OpMedCurrent, OpMedIssued:
		c := &leafCtx{r: r, d: d, n: n}
		if err := c.prepare(); err != nil {
			return false, err
		}
		v = c.positive(ex.p, &evs)
		if n.Op == OpHas && n.Negate {
			v = !v
		}
		if n.Op == OpValue && len(evs) == 0 {
			// Not met for want of a value, not for a value off target:
			// say so (a clinician reads "no latest bp" as either).
			note := "none recorded"
			if n.Period != nil && n.Period.Kind != "ever" {
				note += " in the period"
			}
			evs = []Evidence{{Role: "latest " + n.Which, Note: note}}
		}
	default:
		v = r.patientTest(n, ex.p)
		evs = ex.patientEvidence(n)
	}
	if err != nil {
		return false, err
	}
	if lines {
		ex.x.Lines[at].Holds = v
		ex.x.Lines[at].Evidence = evs
	}
	return v, nil
}

// patientEvidence shows the demographic fact a population criterion read.
func (ex *explainer) patientEvidence(n *Node) []Evidence {
	row := &ex.r.e.ix.Patients[ex.p]
	var e Evidence
	switch n.Op {
	case OpAge:
		a, ok := ex.r.age(row)
		if !ok {
			e = Evidence{Role: "age", Note: "no date of birth"}
		} else {
			e = Evidence{Role: "age", Value: fmt.Sprint(a), Date: row.BirthDate, Note: "date of birth"}
		}
	case OpSex:
		e = Evidence{Role: "sex", Value: row.Sex}
	case OpRegistered, OpRegisteredIn:
		e = Evidence{Role: "registered", Date: DayString(max(row.regStart, -noDay+2)), Value: row.Status}
		if row.left != noDay {
			e.Note = "left " + DayString(row.left)
		}
		if row.died != noDay {
			e.Note = strings.TrimSpace(e.Note + " died " + DayString(row.died))
		}
	case OpLeft:
		e = Evidence{Role: "left", Date: DayString(row.left), Value: row.Status}
	case OpDied:
		e = Evidence{Role: "died", Date: DayString(row.died), Value: row.Status}
	default:
		return nil
	}
	return []Evidence{e}
}

func findSet(d *Def, name string) *NamedSet {
	for i := range d.Sets {
		if d.Sets[i].Name == name {
			return &d.Sets[i]
		}
	}
	return nil
}

func findScore(d *Def, name string) *Score {
	for i := range d.Scores {
		if d.Scores[i].Name == name {
			return &d.Scores[i]
		}
	}
	return &Score{}
}

// Matched is what a result row shows for patient p: the entries of the
// criteria that hold (not under a not), then the show columns.
func (r *Run) Matched(res *Result, p int) []Evidence {
	d := res.Def
	var out []Evidence
	var walk func(n *Node)
	walk = func(n *Node) {
		if n == nil {
			return
		}
		switch n.Op {
		case OpAnd, OpOr:
			walk(n.L)
			walk(n.R)
			return
		case OpNot:
			return
		case OpSetRef:
			if ns := findSet(d, n.Name); ns != nil {
				walk(ns.Expr)
			}
			return
		case OpHas, OpValue, OpMedCurrent, OpMedIssued:
			if n.Negate {
				return
			}
			c := &leafCtx{r: r, d: d, n: n}
			if c.prepare() != nil {
				return
			}
			var evs []Evidence
			if c.positive(int32(p), &evs) {
				for i := range evs {
					if evs[i].Role != "resolved by" {
						evs[i].Role = n.Text
						out = append(out, evs[i])
					}
				}
			}
		}
	}
	if d.Kind == KindIndicator {
		walk(d.Denominator)
		walk(d.Numerator)
	} else {
		walk(d.Select)
	}
	for _, n := range d.Shows {
		if n.Op == OpScore {
			if sc, err := r.score(d, n.Name); err == nil {
				out = append(out, Evidence{Role: "score " + n.Name, Value: strconv.Itoa(int(sc[p]))})
			}
			continue
		}
		c := &leafCtx{r: r, d: d, n: n}
		if c.prepare() != nil {
			continue
		}
		var evs []Evidence
		c.positive(int32(p), &evs)
		for i := range evs {
			evs[i].Role = n.Text
		}
		out = append(out, evs...)
	}
	// one entry once: a show column and a criterion often name the same one
	seen := map[string]bool{}
	kept := out[:0]
	for _, e := range out {
		k := e.Code.System + "|" + e.Code.Code + "|" + e.Date + "|" + e.Value + "|" + e.ID + "|" + string(e.Kind)
		if e.Code.Code != "" && seen[k] {
			continue
		}
		seen[k] = true
		kept = append(kept, e)
	}
	return kept
}
