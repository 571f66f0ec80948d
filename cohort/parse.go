package cohort

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Pos is a place in a definition file, 1-based.
type Pos struct {
	Line, Col int
}

// SyntaxError is a definition that does not parse or resolve; it names the
// file, line and column.
type SyntaxError struct {
	File string
	Pos  Pos
	Msg  string
}

func (e *SyntaxError) Error() string {
	f := e.File
	if f == "" {
		f = "search"
	}
	return fmt.Sprintf("%s:%d:%d: %s", f, e.Pos.Line, e.Pos.Col, e.Msg)
}

type tokKind int

const (
	tWord tokKind = iota
	tString
	tOp  // < <= > >= = != | + ( )
	tEOL // end of a logical line
	tEOF
)

type token struct {
	kind tokKind
	s    string
	pos  Pos
}

func (t token) String() string {
	switch t.kind {
	case tEOL:
		return "end of line"
	case tEOF:
		return "end of file"
	case tString:
		return strconv.Quote(t.s)
	}
	return fmt.Sprintf("%q", t.s)
}

func isWordRune(r rune) bool {
	return !unicode.IsSpace(r) && !strings.ContainsRune("()|\"#<>=!+\\", r)
}

// lex splits src into tokens; a newline ends a statement unless it follows a
// backslash or falls inside parentheses.
func lex(file, src string) ([]token, error) {
	var out []token
	line, col := 1, 1
	depth := 0
	rs := []rune(src)
	errAt := func(p Pos, f string, a ...any) error {
		return &SyntaxError{File: file, Pos: p, Msg: fmt.Sprintf(f, a...)}
	}
	for i := 0; i < len(rs); {
		r := rs[i]
		p := Pos{line, col}
		adv := func(n int) { i += n; col += n }
		switch {
		case r == '\n':
			if depth == 0 && len(out) > 0 && out[len(out)-1].kind != tEOL {
				out = append(out, token{tEOL, "", p})
			}
			i++
			line, col = line+1, 1
		case r == '\\':
			// a continuation: only spaces or a comment may follow on the line
			j := i + 1
			for j < len(rs) && (rs[j] == ' ' || rs[j] == '\t' || rs[j] == '\r') {
				j++
			}
			if j < len(rs) && rs[j] == '#' {
				for j < len(rs) && rs[j] != '\n' {
					j++
				}
			}
			if j < len(rs) && rs[j] != '\n' {
				return nil, errAt(p, "a backslash continues a line and must end it")
			}
			i = j + 1
			line, col = line+1, 1
		case unicode.IsSpace(r):
			adv(1)
		case r == '#':
			for i < len(rs) && rs[i] != '\n' {
				adv(1)
			}
		case r == '"':
			var b strings.Builder
			adv(1)
			closed := false
			for i < len(rs) && rs[i] != '\n' {
				c := rs[i]
				if c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\') {
					b.WriteRune(rs[i+1])
					adv(2)
					continue
				}
				adv(1)
				if c == '"' {
					closed = true
					break
				}
				b.WriteRune(c)
			}
			if !closed {
				return nil, errAt(p, "unterminated string")
			}
			out = append(out, token{tString, b.String(), p})
		case strings.ContainsRune("<>!=", r):
			s := string(r)
			if i+1 < len(rs) && rs[i+1] == '=' && r != '=' {
				s += "="
			}
			if s == "!" {
				return nil, errAt(p, "unexpected \"!\" (did you mean != ?)")
			}
			adv(len(s))
			out = append(out, token{tOp, s, p})
		case r == '(' || r == ')' || r == '|' || r == '+':
			if r == '(' {
				depth++
			} else if r == ')' {
				if depth == 0 {
					return nil, errAt(p, "unmatched \")\"")
				}
				depth--
			}
			adv(1)
			out = append(out, token{tOp, string(r), p})
		default:
			j := i
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			out = append(out, token{tWord, string(rs[i:j]), p})
			adv(j - i)
		}
	}
	end := Pos{line, col}
	if depth > 0 {
		return nil, errAt(end, "unclosed \"(\"")
	}
	if len(out) > 0 && out[len(out)-1].kind != tEOL {
		out = append(out, token{tEOL, "", end})
	}
	return append(out, token{tEOF, "", end}), nil
}

// keywords may not name a set or a score.
var keywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`search register indicator reference population set score select
		denominator numerator exceptions show note and or not has no first latest code codes in ecl
		codelist cluster class value bp systolic diastolic within between before after ever more than
		ago registered all age sex left died current issued medicine if resolved by today qof-year-end
		days day weeks week months month years year`) {
		keywords[k] = true
	}
}

type parser struct {
	file string
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) errf(t token, f string, a ...any) error {
	return &SyntaxError{File: p.file, Pos: t.pos, Msg: fmt.Sprintf(f, a...)}
}
func (p *parser) is(s string) bool {
	t := p.peek()
	return (t.kind == tWord || t.kind == tOp) && t.s == s
}
func (p *parser) accept(s string) bool {
	if p.is(s) {
		p.i++
		return true
	}
	return false
}
func (p *parser) expect(s, what string) (token, error) {
	t := p.peek()
	if !p.is(s) {
		return t, p.errf(t, "expected %s, found %s", what, t)
	}
	return p.next(), nil
}

// ParseFile reads and parses a definition file.
func ParseFile(path string) (*Def, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read search %s: %w", path, err)
	}
	return Parse(filepath.Base(path), string(b))
}

// Parse parses one definition (file names it in errors).
func Parse(file, src string) (*Def, error) {
	toks, err := lex(file, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file, toks: toks}
	d := &Def{File: file, Source: src, names: map[string]Pos{}}
	for p.peek().kind != tEOF {
		if err := p.statement(d); err != nil {
			return nil, err
		}
	}
	end := p.peek()
	if d.Kind == "" {
		return nil, p.errf(end, "a definition starts with search \"TITLE\", register ID \"TITLE\" or indicator ID \"TITLE\"")
	}
	switch d.Kind {
	case KindSearch, KindRegister:
		if d.Select == nil {
			return nil, p.errf(end, "a %s needs a select line", d.Kind)
		}
	case KindIndicator:
		if d.Denominator == nil || d.Numerator == nil {
			return nil, p.errf(end, "an indicator needs a denominator line and a numerator line")
		}
	}
	if d.Population == nil {
		d.Population = &Node{Op: OpRegistered, Pos: Pos{1, 1}, Text: "registered"}
	}
	return d, nil
}

func (p *parser) endStmt() error {
	t := p.peek()
	if t.kind == tEOL {
		p.next()
		return nil
	}
	if t.kind == tEOF {
		return nil
	}
	return p.errf(t, "unexpected %s", t)
}

func (p *parser) statement(d *Def) error {
	t := p.next()
	if t.kind != tWord {
		return p.errf(t, "expected a statement (search, register, indicator, reference, population, set, score, select, denominator, numerator, exceptions, show, note), found %s", t)
	}
	header := t.s == "search" || t.s == "register" || t.s == "indicator"
	if d.Kind == "" && !header {
		return p.errf(t, "a definition starts with search \"TITLE\", register ID \"TITLE\" or indicator ID \"TITLE\", found %s", t)
	}
	if d.Kind != "" && header {
		return p.errf(t, "one definition a file: this file is already a %s", d.Kind)
	}
	once := func(n *Node, what string) error {
		if n != nil {
			return p.errf(t, "%s is given twice", what)
		}
		return nil
	}
	switch t.s {
	case "search", "register", "indicator":
		d.Kind = Kind(t.s)
		if t.s != "search" {
			id := p.next()
			if id.kind != tWord || keywords[id.s] {
				return p.errf(id, "expected the %s's id (e.g. DM), found %s", t.s, id)
			}
			d.ID = id.s
			d.IDPos = id.pos
		}
		title := p.next()
		if title.kind != tString {
			return p.errf(title, "expected the title in double quotes, found %s", title)
		}
		d.Title = title.s
		if d.ID == "" {
			d.ID = title.s
		}
	case "reference":
		v := p.next()
		switch {
		case v.kind == tWord && (v.s == "today" || v.s == "qof-year-end"):
			d.Reference = v.s
		case v.kind == tWord && isDate(v.s):
			d.Reference = v.s
		default:
			return p.errf(v, "expected a date (YYYY-MM-DD), today or qof-year-end, found %s", v)
		}
	case "population":
		if err := once(d.Population, "population"); err != nil {
			return err
		}
		n, err := p.expr(d)
		if err != nil {
			return err
		}
		d.Population = n
	case "set":
		name, err := p.newName(d)
		if err != nil {
			return err
		}
		if _, err := p.expect("=", "\"=\""); err != nil {
			return err
		}
		n, err := p.expr(d)
		if err != nil {
			return err
		}
		d.Sets = append(d.Sets, NamedSet{Name: name.s, Pos: name.pos, Expr: n})
		d.names[name.s] = name.pos
	case "score":
		name, err := p.newName(d)
		if err != nil {
			return err
		}
		if _, err := p.expect("=", "\"=\""); err != nil {
			return err
		}
		sc := Score{Name: name.s, Pos: name.pos}
		for {
			nt := p.next()
			pts, err := strconv.Atoi(nt.s)
			if nt.kind != tWord || err != nil {
				return p.errf(nt, "expected a whole number of points, found %s", nt)
			}
			if _, err := p.expect("if", "\"if\""); err != nil {
				return err
			}
			n, err := p.expr(d)
			if err != nil {
				return err
			}
			sc.Terms = append(sc.Terms, ScoreTerm{Points: pts, Expr: n})
			if !p.accept("+") {
				break
			}
		}
		d.Scores = append(d.Scores, sc)
		d.names[name.s] = name.pos
		d.scores = append(d.scores, name.s)
	case "select", "denominator", "numerator", "exceptions":
		if (t.s == "select") != (d.Kind != KindIndicator) {
			if t.s == "select" {
				return p.errf(t, "an indicator has denominator, numerator and exceptions, not select")
			}
			return p.errf(t, "%s belongs in an indicator; a %s has select", t.s, d.Kind)
		}
		n, err := p.expr(d)
		if err != nil {
			return err
		}
		slot := map[string]**Node{"select": &d.Select, "denominator": &d.Denominator,
			"numerator": &d.Numerator, "exceptions": &d.Exceptions}[t.s]
		if err := once(*slot, t.s); err != nil {
			return err
		}
		*slot = n
	case "show":
		n, err := p.criterion(d)
		if err != nil {
			return err
		}
		d.Shows = append(d.Shows, n)
	case "note":
		v := p.next()
		if v.kind != tString {
			return p.errf(v, "expected the note in double quotes, found %s", v)
		}
		d.Notes = append(d.Notes, v.s)
	default:
		return p.errf(t, "unknown statement %q (search, register, indicator, reference, population, set, score, select, denominator, numerator, exceptions, show, note)", t.s)
	}
	return p.endStmt()
}

func (p *parser) newName(d *Def) (token, error) {
	name := p.next()
	if name.kind != tWord || !validName(name.s) {
		return name, p.errf(name, "expected a name (letters, digits, _ and -, starting with a letter), found %s", name)
	}
	if keywords[name.s] {
		return name, p.errf(name, "%q is a keyword and cannot name a set or score", name.s)
	}
	if prev, ok := d.names[name.s]; ok {
		return name, p.errf(name, "%q is already defined at line %d", name.s, prev.Line)
	}
	return name, nil
}

func validName(s string) bool {
	for i, r := range s {
		if !(unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || r == '_' || r == '-'))) {
			return false
		}
	}
	return s != ""
}

func isDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}

func (p *parser) expr(d *Def) (*Node, error) {
	start := p.peek()
	n, err := p.or(d)
	if err != nil {
		return nil, err
	}
	_ = start
	return n, nil
}

func (p *parser) or(d *Def) (*Node, error) {
	l, err := p.and(d)
	if err != nil {
		return nil, err
	}
	for p.is("or") {
		t := p.next()
		r, err := p.and(d)
		if err != nil {
			return nil, err
		}
		l = &Node{Op: OpOr, Pos: t.pos, L: l, R: r}
	}
	return l, nil
}

func (p *parser) and(d *Def) (*Node, error) {
	l, err := p.unary(d)
	if err != nil {
		return nil, err
	}
	for p.is("and") {
		t := p.next()
		r, err := p.unary(d)
		if err != nil {
			return nil, err
		}
		l = &Node{Op: OpAnd, Pos: t.pos, L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary(d *Def) (*Node, error) {
	t := p.peek()
	if p.accept("not") {
		n, err := p.unary(d)
		if err != nil {
			return nil, err
		}
		return &Node{Op: OpNot, Pos: t.pos, L: n}, nil
	}
	if p.accept("(") {
		n, err := p.expr(d)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(")", "\")\""); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.criterion(d)
}

// textFrom is the source text of tokens [from, p.i), for explanations.
func (p *parser) textFrom(from int) string {
	var b strings.Builder
	for i := from; i < p.i; i++ {
		t := p.toks[i]
		if t.kind == tEOL {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if t.kind == tString {
			b.WriteString(strconv.Quote(t.s))
		} else {
			b.WriteString(t.s)
		}
	}
	return b.String()
}
