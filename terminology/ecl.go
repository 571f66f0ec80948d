package terminology

import (
	"fmt"
	"slices"
	"strings"
)

// ECL subset (standards.md §3.6): a concept id, `*`, `^refset` (or `^name` of an imported
// code list: its members), the hierarchy operators
// `<` `<<` `>` `>>` (and the child/parent forms `<!` `<<!` `>!` `>>!`), AND (or `,`), OR,
// MINUS, parentheses; `|term|` comments are ignored. Mixing AND and OR without parentheses is
// an error, as in the ECL specification. Refinements and filters are not supported and say so.

type eclKind int

const (
	eclCode eclKind = iota
	eclAny
	eclRefset
	eclHier
	eclBinary
)

type eclExpr struct {
	kind        eclKind
	code        string // eclCode, eclRefset
	op          string // eclHier: < << > >> <! <<! >! >>!; eclBinary: AND OR MINUS
	left, right *eclExpr
	// list holds the members of an imported code list named by ^name (set by compileECL),
	// listGen its generation (part of the cache key)
	list    []string
	listGen string
}

type eclParser struct {
	src  string
	pos  int
	toks []eclTok
	i    int
}

type eclTok struct {
	s   string
	pos int
}

func parseECL(src string) (*eclExpr, error) {
	p := &eclParser{src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return nil, p.errf(0, "empty expression")
	}
	e, err := p.compound()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errf(p.toks[p.i].pos, "unexpected %q", p.toks[p.i].s)
	}
	return e, nil
}

func (p *eclParser) errf(pos int, format string, args ...any) error {
	return &ValueError{Field: "ECL", Value: p.src, Reason: fmt.Sprintf("at %d: ", pos+1) + fmt.Sprintf(format, args...)}
}

func isCodeByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-'
}

func (p *eclParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '|':
			j := strings.IndexByte(s[i+1:], '|')
			if j < 0 {
				return p.errf(i, "unterminated |term|")
			}
			i += j + 2
		case c == '(' || c == ')' || c == '*' || c == '^' || c == ',':
			p.toks = append(p.toks, eclTok{string(c), i})
			i++
		case c == '<' || c == '>':
			j := i + 1
			if j < len(s) && s[j] == c {
				j++
			}
			if j < len(s) && s[j] == '!' {
				j++
			}
			p.toks = append(p.toks, eclTok{s[i:j], i})
			i = j
		case c == ':' || c == '{' || c == '}' || c == '=' || c == '#' || c == '[':
			return p.errf(i, "refinements, filters and cardinality are not supported by this ECL subset")
		case isCodeByte(c):
			j := i
			for j < len(s) && isCodeByte(s[j]) {
				j++
			}
			p.toks = append(p.toks, eclTok{s[i:j], i})
			i = j
		default:
			return p.errf(i, "unexpected character %q", c)
		}
	}
	return nil
}

func (p *eclParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].s
	}
	return ""
}

func (p *eclParser) binop() string {
	switch t := strings.ToUpper(p.peek()); t {
	case "AND", "OR", "MINUS":
		return t
	case ",":
		return "AND"
	}
	return ""
}

func (p *eclParser) compound() (*eclExpr, error) {
	left, err := p.sub()
	if err != nil {
		return nil, err
	}
	first := ""
	for {
		op := p.binop()
		if op == "" {
			return left, nil
		}
		pos := p.toks[p.i].pos
		if first != "" && op != first {
			return nil, p.errf(pos, "mixing %s and %s needs parentheses", first, op)
		}
		if first == "MINUS" {
			return nil, p.errf(pos, "chained MINUS needs parentheses")
		}
		first = op
		p.i++
		right, err := p.sub()
		if err != nil {
			return nil, err
		}
		left = &eclExpr{kind: eclBinary, op: op, left: left, right: right}
	}
}

func (p *eclParser) sub() (*eclExpr, error) {
	t := p.peek()
	if t == "" {
		return nil, p.errf(len(p.src), "expression ends early")
	}
	pos := p.toks[p.i].pos
	switch t {
	case "<", "<<", ">", ">>", "<!", "<<!", ">!", ">>!":
		p.i++
		inner, err := p.focus()
		if err != nil {
			return nil, err
		}
		return &eclExpr{kind: eclHier, op: t, left: inner}, nil
	case "<<<", ">>>":
		return nil, p.errf(pos, "unknown operator %q", t)
	}
	return p.focus()
}

func (p *eclParser) focus() (*eclExpr, error) {
	t := p.peek()
	if t == "" {
		return nil, p.errf(len(p.src), "expression ends early")
	}
	pos := p.toks[p.i].pos
	p.i++
	switch {
	case t == "*":
		return &eclExpr{kind: eclAny}, nil
	case t == "(":
		e, err := p.compound()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errf(pos, "unbalanced parenthesis")
		}
		p.i++
		return e, nil
	case t == "^":
		c := p.peek()
		if c == "" || !isCodeByte(c[0]) {
			return nil, p.errf(pos, "^ needs a refset id")
		}
		p.i++
		return &eclExpr{kind: eclRefset, code: c}, nil
	case isCodeByte(t[0]):
		switch strings.ToUpper(t) {
		case "AND", "OR", "MINUS":
			return nil, p.errf(pos, "%s needs a concept before it", t)
		}
		return &eclExpr{kind: eclCode, code: t}, nil
	}
	return nil, p.errf(pos, "unexpected %q", t)
}

// codes lists the concept and refset ids an expression names (to report unknown ones).
func (e *eclExpr) codes(out map[string]eclKind) {
	if e == nil {
		return
	}
	if e.kind == eclCode || e.kind == eclRefset {
		out[e.code] = e.kind
	}
	e.left.codes(out)
	e.right.codes(out)
}

// eval evaluates e over one source's ids.
func (s *source) eval(d *db, e *eclExpr) (bitset, error) {
	n := s.n()
	switch e.kind {
	case eclAny:
		b := newBitset(n)
		for i := range b {
			b[i] = 0xff
		}
		if n%8 != 0 {
			b[len(b)-1] = byte(1<<(n%8)) - 1
		}
		return b, nil
	case eclCode:
		b := newBitset(n)
		if id, ok := s.id(e.code); ok {
			b.set(id)
		}
		return b, nil
	case eclRefset:
		b := newBitset(n)
		if e.list != nil {
			for _, code := range e.list {
				if id, ok := s.id(code); ok {
					b.set(id)
				}
			}
			return b, nil
		}
		ids, _, err := s.refset(d, e.code)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			b.set(id)
		}
		return b, nil
	case eclHier:
		in, err := s.eval(d, e.left)
		if err != nil {
			return nil, err
		}
		seeds := s.members(in)
		out := newBitset(n)
		self := strings.HasPrefix(e.op, "<<") || strings.HasPrefix(e.op, ">>")
		g := s.children()
		if e.op[0] == '>' {
			g = s.par
		}
		if strings.HasSuffix(e.op, "!") {
			for _, x := range seeds {
				if self {
					out.set(x)
				}
				for _, y := range g.of(x) {
					out.set(y)
				}
			}
			return out, nil
		}
		walk(g, seeds, self, out)
		return out, nil
	case eclBinary:
		l, err := s.eval(d, e.left)
		if err != nil {
			return nil, err
		}
		r, err := s.eval(d, e.right)
		if err != nil {
			return nil, err
		}
		for i := range l {
			switch e.op {
			case "AND":
				l[i] &= r[i]
			case "OR":
				l[i] |= r[i]
			case "MINUS":
				l[i] &^= r[i]
			}
		}
		return l, nil
	}
	return nil, fmt.Errorf("ecl: bad node")
}

// evalCached evaluates an expression over a source, caching the bitset per source generation.
func (s *source) evalCached(d *db, key string, e *eclExpr) (bitset, error) {
	s.eclMu.Lock()
	b, ok := s.eclCache[key]
	s.eclMu.Unlock()
	if ok {
		return b, nil
	}
	b, err := s.eval(d, e)
	if err != nil {
		return nil, err
	}
	s.eclMu.Lock()
	if len(s.eclCache) > 64 {
		s.eclCache = map[string]bitset{}
	}
	s.eclCache[key] = b
	s.eclMu.Unlock()
	return b, nil
}

// Matcher is a compiled ECL expression: a membership test usable as a search filter.
type Matcher struct {
	sets map[*source]bitset
}

// Contains reports whether the code is in the expression's result.
func (m *Matcher) Contains(system, code string) bool {
	sys, _ := SystemURI(system)
	for s, b := range m.sets {
		if sys != "" && systemOfSource[s.name] != sys && !(sys == SystemSNOMED && s.name == SourceDMD) {
			continue
		}
		if id, ok := s.id(code); ok && b.has(id) {
			return true
		}
	}
	return false
}

func (m *Matcher) set(s *source) bitset { return m.sets[s] }

// CompileECL evaluates an expression over the SNOMED CT and dm+d sources (whose ids are
// SNOMED ids) and returns the membership test. A concept or refset id that no source knows is
// a *NotFoundError: a typo must not silently match nothing.
func (t *Terminology) CompileECL(expr string) (*Matcher, error) {
	return retry(func() (*Matcher, error) { return t.compileECLSnomed(expr) })
}

func (t *Terminology) compileECLSnomed(expr string) (*Matcher, error) {
	return t.compileECL(SystemSNOMED, expr)
}

func (t *Terminology) compileECL(system, expr string) (*Matcher, error) {
	e, err := parseECL(expr)
	if err != nil {
		return nil, err
	}
	var srcs []*source
	if system == SystemSNOMED || system == SystemDMD {
		srcs = t.sourcesFor(SystemSNOMED)
		srcs = append(srcs, t.sourcesFor(SystemDMD)...)
	} else {
		srcs = t.sourcesFor(system)
	}
	named := map[string]eclKind{}
	e.codes(named)
	for code, kind := range named {
		found := false
		if kind == eclRefset {
			if cl := t.source(codelistPrefix + code); cl != nil {
				e.attachList(code, cl.codes, cl.gen)
				continue
			}
		}
		for _, s := range srcs {
			if kind == eclCode {
				_, found = s.id(code)
			} else {
				_, found, err = s.refset(t.db, code)
				if err != nil {
					return nil, err
				}
			}
			if found {
				break
			}
		}
		if !found {
			return nil, &NotFoundError{System: system, Code: code}
		}
	}
	key := canonicalECL(e)
	m := &Matcher{sets: map[*source]bitset{}}
	for _, s := range srcs {
		b, err := s.evalCached(t.db, key, e)
		if err != nil {
			return nil, err
		}
		m.sets[s] = b
	}
	return m, nil
}

// attachList makes every ^name in e stand for the members of the code list name.
func (e *eclExpr) attachList(name string, codes []string, gen string) {
	if e == nil {
		return
	}
	if e.kind == eclRefset && e.code == name {
		e.list = codes
		if e.list == nil {
			e.list = []string{}
		}
		e.listGen = gen
	}
	e.left.attachList(name, codes, gen)
	e.right.attachList(name, codes, gen)
}

func canonicalECL(e *eclExpr) string {
	if e == nil {
		return ""
	}
	switch e.kind {
	case eclAny:
		return "*"
	case eclCode:
		return e.code
	case eclRefset:
		if e.list != nil {
			return "^" + e.code + "@" + e.listGen
		}
		return "^" + e.code
	case eclHier:
		return e.op + "(" + canonicalECL(e.left) + ")"
	}
	return "(" + canonicalECL(e.left) + " " + e.op + " " + canonicalECL(e.right) + ")"
}

// Concept is one member of an ECL result or a hierarchy listing.
type Concept struct {
	System string `json:"system"`
	Code   string `json:"code"`
	Term   string `json:"term"`
	Active bool   `json:"active"`
}

// ECL evaluates an expression over SNOMED CT (and dm+d, whose ids are SNOMED ids).
func (t *Terminology) ECL(expr string) ([]Concept, error) {
	return t.ECLIn(SystemSNOMED, expr)
}

// ECLIn evaluates an expression over the hierarchy of another system (CTV3, Read v2).
func (t *Terminology) ECLIn(system, expr string) ([]Concept, error) {
	return retry(func() ([]Concept, error) { return t.eclIn(system, expr) })
}

func (t *Terminology) eclIn(system, expr string) ([]Concept, error) {
	sys, err := SystemURI(system)
	if err != nil {
		return nil, err
	}
	if sys == "" {
		sys = SystemSNOMED
	}
	m, err := t.compileECL(sys, expr)
	if err != nil {
		return nil, err
	}
	var out []Concept
	var seen map[string]bool // only needed when a code can be in two sources (SNOMED and dm+d)
	srcs := t.orderedSources(m)
	for i, s := range srcs {
		ids := s.members(m.sets[s])
		if len(ids) == 0 {
			continue
		}
		if i > 0 && len(out) > 0 && seen == nil {
			seen = make(map[string]bool, len(out))
			for _, c := range out {
				seen[c.Code] = true
			}
		}
		pts, _ := s.preferredTerms(t.db)
		sys := systemOfSource[s.name]
		out = slices.Grow(out, len(ids))
		for _, id := range ids {
			code := s.codes[id]
			if seen != nil && seen[code] {
				continue
			}
			term := ""
			if int(id) < len(pts) {
				term = pts[id]
			}
			out = append(out, Concept{System: sys, Code: code, Term: term, Active: s.active.has(id)})
		}
	}
	return out, nil
}

func (t *Terminology) orderedSources(m *Matcher) []*source {
	var out []*source
	for _, name := range []string{SourceSNOMED, SourceDMD, SourceCTV3, SourceRead2} {
		for s := range m.sets {
			if s.name == name {
				out = append(out, s)
			}
		}
	}
	return out
}
