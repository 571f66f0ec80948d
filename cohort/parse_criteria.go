package cohort

import (
	"strconv"
	"strings"
)

func (p *parser) criterion(d *Def) (*Node, error) {
	from := p.i
	t := p.next()
	n := &Node{Pos: t.pos}
	var err error
	if t.kind != tWord {
		return nil, p.errf(t, "expected a criterion (has, latest, current, issued, registered, age, sex, left, died, in register, or a set's name), found %s", t)
	}
	switch t.s {
	case "registered":
		n.Op = OpRegistered
		if p.periodNext() {
			n.Op = OpRegisteredIn
			n.Period, err = p.period()
		}
	case "all":
		n.Op = OpAll
	case "left", "died":
		n.Op = OpLeft
		if t.s == "died" {
			n.Op = OpDied
		}
		if !p.periodNext() {
			return nil, p.errf(p.peek(), "expected a period after %s (ever, within 12 months, between DATE and DATE...), found %s", t.s, p.peek())
		}
		n.Period, err = p.period()
	case "age":
		n.Op = OpAge
		err = p.comparison(n, false)
	case "sex":
		n.Op = OpSex
		v := p.next()
		switch v.s {
		case "female", "male", "other", "unknown":
			n.Name = v.s
		default:
			return nil, p.errf(v, "expected female, male, other or unknown, found %s", v)
		}
	case "has":
		n.Op = OpHas
		if p.accept("no") {
			n.Negate = true
		}
		switch {
		case p.accept("first"):
			n.Which = "first"
		case p.accept("latest"):
			n.Which = "latest"
		}
		if _, err := p.expect("code", "\"code\""); err != nil {
			return nil, err
		}
		if p.accept("in") {
			n.Set, err = p.setRef(false)
		} else {
			c := p.next()
			if c.kind != tWord || !isCode(c.s) {
				return nil, p.errf(c, "expected \"in\" and a code set, or a SNOMED CT code, found %s", c)
			}
			n.Set = []SetTerm{{Kind: "code", Text: c.s, Pos: c.pos}}
		}
		for err == nil {
			if p.periodNext() && n.Period == nil {
				n.Period, err = p.period()
				continue
			}
			if p.is("resolved") && n.Resolved == nil {
				p.next()
				if _, err = p.expect("by", "\"by\""); err != nil {
					break
				}
				n.Resolved, err = p.setRef(false)
				continue
			}
			break
		}
	case "latest":
		n.Op = OpValue
		w := p.next()
		switch w.s {
		case "value", "bp", "systolic", "diastolic":
			n.Which = w.s
		default:
			return nil, p.errf(w, "expected value, bp, systolic or diastolic after latest, found %s", w)
		}
		if p.accept("in") {
			if n.Set, err = p.setRef(false); err != nil {
				return nil, err
			}
		} else if w.s == "value" {
			return nil, p.errf(p.peek(), "latest value needs \"in\" and a code set (the observable), found %s", p.peek())
		}
		if p.periodNext() && !(p.is("between") && !isDate(p.peekN(1).s)) {
			if n.Period, err = p.period(); err != nil {
				return nil, err
			}
		}
		if p.peek().kind == tEOL || p.peek().kind == tEOF || p.is(")") || p.is("and") || p.is("or") || p.is("+") {
			if d != nil && n.Which != "" && p.showContext(from, d) {
				break // a show column: no threshold
			}
			return nil, p.errf(p.peek(), "expected a comparison (<, <=, >, >=, =, != or between) after %s, found %s", p.textFrom(from), p.peek())
		}
		err = p.comparison(n, w.s == "bp")
		if err == nil && p.peek().kind == tWord && !keywords[p.peek().s] {
			n.Unit = p.next().s
		}
	case "current", "issued":
		n.Op = OpMedCurrent
		if t.s == "issued" {
			n.Op = OpMedIssued
		}
		if _, err := p.expect("medicine", "\"medicine\""); err != nil {
			return nil, err
		}
		if _, err := p.expect("in", "\"in\""); err != nil {
			return nil, err
		}
		if n.Set, err = p.setRef(true); err != nil {
			return nil, err
		}
		if t.s == "issued" {
			if !p.periodNext() {
				return nil, p.errf(p.peek(), "expected a period after issued medicine (within 6 months...), found %s", p.peek())
			}
			n.Period, err = p.period()
		}
	case "in":
		if _, err := p.expect("register", "\"register\""); err != nil {
			return nil, err
		}
		id := p.next()
		if id.kind != tWord || keywords[id.s] {
			return nil, p.errf(id, "expected a register id, found %s", id)
		}
		n.Op, n.Name = OpInRegister, id.s
	default:
		if keywords[t.s] {
			return nil, p.errf(t, "%q cannot start a criterion here", t.s)
		}
		if _, ok := d.names[t.s]; !ok {
			return nil, p.errf(t, "unknown criterion or set %q (sets are defined with set NAME = ... before they are used)", t.s)
		}
		n.Name = t.s
		n.Op = OpSetRef
		if p.peek().kind == tOp && p.peek().s != "(" && p.peek().s != ")" && p.peek().s != "|" && p.peek().s != "+" {
			if !contains(d.scores, t.s) {
				return nil, p.errf(p.peek(), "%q is a set, not a score: it cannot be compared", t.s)
			}
			n.Op = OpScore
			err = p.comparison(n, false)
		} else if contains(d.scores, t.s) {
			if !p.showContext(from, d) {
				return nil, p.errf(p.peek(), "score %q needs a comparison, e.g. %s >= 2", t.s, t.s)
			}
			n.Op = OpScore // show SCORE: its value, as a column
		}
	}
	if err != nil {
		return nil, err
	}
	n.Text = p.textFrom(from)
	return n, nil
}

// showContext reports whether the criterion being parsed follows a show keyword.
func (p *parser) showContext(from int, d *Def) bool {
	return from > 0 && p.toks[from-1].kind == tWord && p.toks[from-1].s == "show"
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func isCode(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

var cmpOps = map[string]bool{"<": true, "<=": true, ">": true, ">=": true, "=": true, "!=": true}

// comparison parses `OP NUMBER` or `between NUMBER and NUMBER`; bp thresholds are S/D.
func (p *parser) comparison(n *Node, bp bool) error {
	t := p.next()
	num := func() (float64, float64, error) {
		v := p.next()
		if bp {
			s, dia, ok := strings.Cut(v.s, "/")
			a, e1 := strconv.ParseFloat(s, 64)
			b, e2 := strconv.ParseFloat(dia, 64)
			if v.kind != tWord || !ok || e1 != nil || e2 != nil {
				return 0, 0, p.errf(v, "expected a blood pressure as SYSTOLIC/DIASTOLIC (e.g. 140/90), found %s", v)
			}
			return a, b, nil
		}
		f, err := strconv.ParseFloat(v.s, 64)
		if v.kind != tWord || err != nil {
			return 0, 0, p.errf(v, "expected a number, found %s", v)
		}
		return f, 0, nil
	}
	var err error
	switch {
	case t.kind == tOp && cmpOps[t.s]:
		n.Cmp = t.s
		n.V1, n.D1, err = num()
	case t.kind == tWord && t.s == "between":
		n.Cmp = "between"
		if n.V1, n.D1, err = num(); err != nil {
			return err
		}
		if _, err := p.expect("and", "\"and\""); err != nil {
			return err
		}
		n.V2, n.D2, err = num()
		if err == nil && (n.V2 < n.V1 || n.D2 < n.D1) {
			return p.errf(t, "between: the lower bound comes first")
		}
	default:
		return p.errf(t, "expected a comparison (<, <=, >, >=, =, != or between), found %s", t)
	}
	return err
}

func (p *parser) periodNext() bool {
	t := p.peek()
	if t.kind != tWord {
		return false
	}
	switch t.s {
	case "ever", "within", "before", "after", "more":
		return true
	case "between":
		return isDate(p.peekN(1).s)
	}
	return false
}

func (p *parser) period() (*Period, error) {
	t := p.next()
	per := &Period{Pos: t.pos}
	date := func() (string, error) {
		v := p.next()
		if v.kind != tWord || !isDate(v.s) {
			return "", p.errf(v, "expected a date (YYYY-MM-DD), found %s", v)
		}
		return v.s, nil
	}
	amount := func() error {
		v := p.next()
		n, err := strconv.Atoi(v.s)
		if v.kind != tWord || err != nil || n < 0 {
			return p.errf(v, "expected a whole number, found %s", v)
		}
		u := p.next()
		unit := strings.TrimSuffix(u.s, "s")
		switch unit {
		case "day", "week", "month", "year":
		default:
			return p.errf(u, "expected days, weeks, months or years, found %s", u)
		}
		per.N, per.Unit = n, unit
		return nil
	}
	var err error
	switch t.s {
	case "ever":
		per.Kind = "ever"
	case "within":
		per.Kind = "within"
		err = amount()
	case "before", "after":
		per.Kind = t.s
		per.From, err = date()
	case "between":
		per.Kind = "between"
		if per.From, err = date(); err != nil {
			return nil, err
		}
		if _, err := p.expect("and", "\"and\""); err != nil {
			return nil, err
		}
		if per.To, err = date(); err == nil && per.To < per.From {
			err = p.errf(t, "between %s and %s: the earlier date comes first", per.From, per.To)
		}
	case "more":
		per.Kind = "ago"
		if _, err := p.expect("than", "\"than\""); err != nil {
			return nil, err
		}
		if err := amount(); err != nil {
			return nil, err
		}
		_, err = p.expect("ago", "\"ago\"")
	}
	return per, err
}

// setRef parses a code set: TERM ('|' TERM)*; meds allow class.
func (p *parser) setRef(meds bool) ([]SetTerm, error) {
	var out []SetTerm
	for {
		t := p.next()
		st := SetTerm{Kind: t.s, Pos: t.pos}
		switch t.s {
		case "ecl":
			v := p.next()
			if v.kind != tString {
				return nil, p.errf(v, "expected the ECL expression in double quotes, found %s", v)
			}
			st.Text = v.s
		case "codelist", "cluster", "code", "class":
			if t.s == "class" && !meds {
				return nil, p.errf(t, "a drug class names medicines: use it with current medicine or issued medicine")
			}
			v := p.next()
			if v.kind != tWord || !isCode(v.s) {
				return nil, p.errf(v, "expected the %s's name, found %s", t.s, v)
			}
			st.Text = v.s
		default:
			want := "ecl \"...\", codelist NAME, cluster NAME or code CODE"
			if meds {
				want = "class NAME, " + want
			}
			return nil, p.errf(t, "expected a code set (%s), found %s", want, t)
		}
		out = append(out, st)
		if !p.accept("|") {
			return out, nil
		}
	}
}
