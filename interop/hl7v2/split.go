package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a message refused: where (line, segment, field) and why. Field
// uses HL7's own notation: OBX-5, PID-3.1, MSH-9.2.
type Error struct {
	Line    int    // 1-based segment line in the file, 0 when not known
	Segment string // MSH, OBX...
	Field   string // OBX-5, PID-3.1; empty for a whole segment
	Value   string // as found (cut when long)
	Reason  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	switch {
	case e.Field != "":
		b.WriteString(e.Field)
	case e.Segment != "":
		b.WriteString("segment " + e.Segment)
	default:
		b.WriteString("message")
	}
	if e.Value != "" || e.Field != "" {
		b.WriteString(" " + strconv.Quote(cut(e.Value)))
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

func cut(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// Encoding holds a message's delimiters, read from MSH-1 and MSH-2.
type Encoding struct {
	Field, Component, Repetition, Escape, Subcomponent byte
}

// Segment is one segment split into fields. Fields[n] is field n as HL7
// numbers it (Fields[0] is the segment name), so for MSH Fields[1] is the
// field separator and Fields[2] the encoding characters, both kept literally.
type Segment struct {
	Name   string
	Line   int
	Fields []Field
	raw    []string // each field's text before splitting, for errors
}

// Field is a field's repetitions; a repetition's components; a component's
// subcomponents, escapes decoded.
type Field [][][]string

// Raw is field n as it was written, escapes and all; "" when absent.
func (s *Segment) Raw(n int) string {
	if n < 0 || n >= len(s.raw) {
		return ""
	}
	return s.raw[n]
}

// Field returns field n, nil when absent.
func (s *Segment) Field(n int) Field {
	if n < 0 || n >= len(s.Fields) {
		return nil
	}
	return s.Fields[n]
}

// Get returns one subcomponent (all 1-based: field, repetition, component,
// subcomponent), "" when absent.
func (s *Segment) Get(field, rep, comp, sub int) string {
	f := s.Field(field)
	if rep < 1 || rep > len(f) {
		return ""
	}
	r := f[rep-1]
	if comp < 1 || comp > len(r) {
		return ""
	}
	c := r[comp-1]
	if sub < 1 || sub > len(c) {
		return ""
	}
	return c[sub-1]
}

// Str is the first repetition's first component's first subcomponent of a
// field: the whole value of a simple field.
func (s *Segment) Str(field int) string { return s.Get(field, 1, 1, 1) }

// Comp is component comp of the first repetition, first subcomponent.
func (s *Segment) Comp(field, comp int) string { return s.Get(field, 1, comp, 1) }

// errf is an error about field n (and component c when c > 0) of s.
func (s *Segment) errf(n, c int, value, format string, args ...any) *Error {
	name := s.Name + "-" + strconv.Itoa(n)
	if c > 0 {
		name += "." + strconv.Itoa(c)
	}
	return &Error{Line: s.Line, Segment: s.Name, Field: name, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// Split reads ER7 text into messages, each a list of segments. Segments end
// with a carriage return, as the standard says; a line feed or CR LF is
// accepted too, because a message saved to a file or passed through a mail
// or file-transfer system often has them. Blank lines are skipped. Each
// message starts with MSH and carries its own encoding characters; batch
// envelope segments (FHS, BHS, BTS, FTS) are read and dropped.
func Split(text []byte) ([][]Segment, error) {
	if !utf8.Valid(text) {
		return nil, &Error{Reason: "not valid UTF-8 text (a message in another character set must be converted first)"}
	}
	if len(text) >= 3 && text[0] == 0xEF && text[1] == 0xBB && text[2] == 0xBF {
		text = text[3:] // a byte-order mark some editors write
	}
	var msgs [][]Segment
	var enc *Encoding
	line := 0
	rest := string(text)
	for len(rest) > 0 {
		i := strings.IndexAny(rest, "\r\n")
		var seg string
		if i < 0 {
			seg, rest = rest, ""
		} else {
			seg = rest[:i]
			if rest[i] == '\r' && i+1 < len(rest) && rest[i+1] == '\n' {
				rest = rest[i+2:]
			} else {
				rest = rest[i+1:]
			}
		}
		line++
		if strings.TrimSpace(seg) == "" {
			continue
		}
		// MLLP framing bytes (VT at the start, FS at the end) when a
		// captured stream is saved as it came off the wire.
		seg = strings.TrimPrefix(seg, "\x0b")
		seg = strings.TrimSuffix(seg, "\x1c")
		if seg == "" {
			continue
		}
		if enc == nil && !strings.HasPrefix(seg, "MSH") && !strings.HasPrefix(seg, "FHS") && !strings.HasPrefix(seg, "BHS") {
			return nil, &Error{Line: line, Value: cut(seg), Reason: "an HL7 v2 message starts with MSH"}
		}
		if len(seg) < 3 {
			return nil, &Error{Line: line, Value: seg, Reason: "a segment starts with a three-character name"}
		}
		name := seg[:3]
		if !validName(name) {
			return nil, &Error{Line: line, Value: cut(seg), Reason: "a segment starts with a three-character name of capital letters and digits"}
		}
		switch name {
		case "FHS", "BHS":
			// Batch headers carry their own encoding characters, which
			// may differ from the messages'; nothing in them is clinical.
			continue
		case "BTS", "FTS":
			continue
		case "MSH":
			e, err := readEncoding(seg, line)
			if err != nil {
				return nil, err
			}
			enc = e
			msgs = append(msgs, nil)
		}
		if enc == nil {
			return nil, &Error{Line: line, Segment: name, Reason: "a message starts with MSH"}
		}
		s, err := splitSegment(seg, line, enc)
		if err != nil {
			return nil, err
		}
		msgs[len(msgs)-1] = append(msgs[len(msgs)-1], s)
	}
	if len(msgs) == 0 {
		return nil, &Error{Reason: "no HL7 message (the text has no MSH segment)"}
	}
	return msgs, nil
}

func validName(n string) bool {
	if len(n) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := n[i]
		if !(c >= 'A' && c <= 'Z') && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// readEncoding reads MSH-1 (the field separator) and MSH-2 (component,
// repetition, escape and subcomponent characters, in that order).
func readEncoding(seg string, line int) (*Encoding, error) {
	if len(seg) < 8 {
		return nil, &Error{Line: line, Segment: "MSH", Field: "MSH-2", Value: seg, Reason: "MSH must give the field separator and four encoding characters (MSH|^~\\&|)"}
	}
	e := &Encoding{Field: seg[3], Component: seg[4], Repetition: seg[5], Escape: seg[6], Subcomponent: seg[7]}
	if len(seg) > 8 && seg[8] != e.Field {
		// HL7 2.7 adds a fifth (truncation) character; 2.4 and 2.5.1 have four.
		end := strings.IndexByte(seg[4:], e.Field)
		v := seg[4:]
		if end >= 0 {
			v = seg[4 : 4+end]
		}
		return nil, &Error{Line: line, Segment: "MSH", Field: "MSH-2", Value: v, Reason: "must be exactly four encoding characters (component, repetition, escape, subcomponent) at versions 2.4 and 2.5.1"}
	}
	chars := []byte{e.Field, e.Component, e.Repetition, e.Escape, e.Subcomponent}
	for i, c := range chars {
		if c < 0x21 || c > 0x7e || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
			f := "MSH-2"
			if i == 0 {
				f = "MSH-1"
			}
			return nil, &Error{Line: line, Segment: "MSH", Field: f, Value: string(c), Reason: "a delimiter must be a printable character that is not a letter or a digit"}
		}
		for _, d := range chars[:i] {
			if c == d {
				return nil, &Error{Line: line, Segment: "MSH", Field: "MSH-2", Value: seg[3:8], Reason: "the field separator and the four encoding characters must all differ"}
			}
		}
	}
	return e, nil
}

func splitSegment(seg string, line int, e *Encoding) (Segment, error) {
	s := Segment{Name: seg[:3], Line: line}
	var raws []string
	if s.Name == "MSH" {
		// MSH-1 is the field separator itself and MSH-2 the encoding
		// characters: neither is split nor unescaped.
		raws = []string{"MSH", string(e.Field), seg[4:8]}
		if len(seg) > 8 {
			raws = append(raws, strings.Split(seg[9:], string(e.Field))...)
		}
	} else {
		if len(seg) > 3 && seg[3] != e.Field {
			return s, &Error{Line: line, Segment: s.Name, Value: cut(seg), Reason: fmt.Sprintf("the segment name must be followed by the field separator %q", string(e.Field))}
		}
		raws = strings.Split(seg, string(e.Field))
	}
	s.raw = raws
	s.Fields = make([]Field, len(raws))
	for n, raw := range raws {
		if n == 0 || (s.Name == "MSH" && n <= 2) {
			s.Fields[n] = Field{{{raw}}}
			continue
		}
		f, err := splitField(raw, e)
		if err != nil {
			return s, &Error{Line: line, Segment: s.Name, Field: s.Name + "-" + strconv.Itoa(n), Value: raw, Reason: err.Error()}
		}
		s.Fields[n] = f
	}
	return s, nil
}

func splitField(raw string, e *Encoding) (Field, error) {
	if raw == "" {
		return nil, nil
	}
	reps := splitUnescaped(raw, e.Repetition, e.Escape)
	f := make(Field, len(reps))
	for i, r := range reps {
		comps := splitUnescaped(r, e.Component, e.Escape)
		f[i] = make([][]string, len(comps))
		for j, c := range comps {
			subs := splitUnescaped(c, e.Subcomponent, e.Escape)
			f[i][j] = make([]string, len(subs))
			for k, sub := range subs {
				v, err := unescape(sub, e)
				if err != nil {
					return nil, err
				}
				f[i][j][k] = v
			}
		}
	}
	return f, nil
}

// splitUnescaped splits s at sep, but not inside an escape sequence (a
// delimiter never appears raw inside one, but \X..\ hex could hold the
// same byte values as text; splitting first and unescaping after is what
// the standard describes).
func splitUnescaped(s string, sep, esc byte) []string {
	if strings.IndexByte(s, sep) < 0 {
		return []string{s}
	}
	var out []string
	start := 0
	in := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case esc:
			in = !in
		case sep:
			if !in {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// unescape decodes the escape sequences of one subcomponent. Highlighting
// (\H\ \N\) is dropped; a line break (\.br\, \.sp\) becomes a newline;
// character-set switches (\C..\ \M..\) and locally defined escapes (\Z..\)
// are refused rather than guessed at.
func unescape(s string, e *Encoding) (string, error) {
	if strings.IndexByte(s, e.Escape) < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != e.Escape {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], e.Escape)
		if end < 0 {
			return "", fmt.Errorf("escape sequence at %q is not closed by %q", cut(s[i:]), string(e.Escape))
		}
		seq := s[i+1 : i+1+end]
		i += end + 1
		switch {
		case seq == "F":
			b.WriteByte(e.Field)
		case seq == "S":
			b.WriteByte(e.Component)
		case seq == "T":
			b.WriteByte(e.Subcomponent)
		case seq == "R":
			b.WriteByte(e.Repetition)
		case seq == "E":
			b.WriteByte(e.Escape)
		case seq == "H" || seq == "N":
			// start and end of highlighting: no plain-text equivalent
		case seq == ".br" || seq == ".sp":
			b.WriteByte('\n')
		case len(seq) > 1 && seq[0] == 'X':
			hex := seq[1:]
			if len(hex)%2 != 0 {
				return "", fmt.Errorf("escape \\%s\\ must hold an even number of hexadecimal digits", seq)
			}
			for j := 0; j < len(hex); j += 2 {
				v, err := strconv.ParseUint(hex[j:j+2], 16, 8)
				if err != nil {
					return "", fmt.Errorf("escape \\%s\\ must hold hexadecimal digits", seq)
				}
				b.WriteByte(byte(v))
			}
		case seq == "":
			return "", fmt.Errorf("empty escape sequence %q", string(e.Escape)+string(e.Escape))
		default:
			return "", fmt.Errorf("escape sequence \\%s\\ is not supported (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\X..\\ \\.br\\ \\H\\ \\N\\ are)", cut(seq))
		}
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", fmt.Errorf("a \\X..\\ escape decodes to bytes that are not UTF-8 text")
	}
	if strings.ContainsRune(out, 0) {
		return "", fmt.Errorf("a \\X..\\ escape decodes to a NUL character")
	}
	return out, nil
}
