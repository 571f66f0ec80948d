package record

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Text safety. Names and other single-line fields are printed in tables,
// piped into scripts and shown on terminals: a control character in one can
// clear a screen, rewrite what a clinician reads (escape sequences), or
// split one patient into two rows of a pipe (a newline). So the record
// refuses them where they are written, on every path (CLI, imports, API):
//   - single-line fields (names, address lines, postcode, flags, reasons,
//     codes...): no control characters at all, no line or paragraph
//     separators, no bidirectional overrides (they reorder what is shown);
//   - free-text fields (consultation notes, comments, report text): the
//     same, except newlines and tabs (and a carriage return before a newline).
// Both must be valid UTF-8 and have a size limit.

// Size limits of one field, in bytes: far beyond any real name, address or
// note, small enough that one field cannot exhaust memory or a terminal.
const (
	MaxLineBytes = 4 << 10
	MaxTextBytes = 1 << 20
)

// CheckLine refuses what a single-line field may not hold.
func CheckLine(field, s string) error { return checkText(field, s, false) }

// CheckText refuses what a free-text field may not hold (it may hold
// newlines and tabs).
func CheckText(field, s string) error { return checkText(field, s, true) }

func checkText(field, s string, multi bool) error {
	limit := MaxLineBytes
	if multi {
		limit = MaxTextBytes
	}
	if len(s) > limit {
		return Invalid(field, ShowControls(s[:40])+"…", "is %d bytes long; at most %d are allowed", len(s), limit)
	}
	// Fast path: printable ASCII, what nearly every field is.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return nil
	}
	for j, r := range s[i:] {
		j += i
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[j:]); n <= 1 {
				return Invalid(field, ShowControls(s), "is not valid UTF-8 text")
			}
		}
		if !unsafeRune(r) {
			continue
		}
		if multi && (r == '\n' || r == '\t' || (r == '\r' && j+1 < len(s) && s[j+1] == '\n')) {
			continue
		}
		what := "control characters"
		switch {
		case r == '\n' || r == '\r' || r == 0x2028 || r == 0x2029:
			what = "line breaks (it is a single-line field)"
		case isBidiControl(r):
			what = "bidirectional text controls"
		case r == 0x1b:
			what = "terminal escape sequences"
		}
		return Invalid(field, ShowControls(s), "may not contain %s (%s at byte %d)", what, escapeRune(r), j)
	}
	return nil
}

// unsafeRune reports whether r is a control character, a line or paragraph
// separator or a bidirectional control.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == 0x2028 || r == 0x2029 || isBidiControl(r)
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x100 {
		return `\x` + hex2(byte(r))
	}
	return `\u` + strconv.FormatInt(int64(r)|0x10000, 16)[1:]
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// ShowControls makes a value safe to print on one line of a terminal or a
// tab-separated pipe: control characters, line breaks and bidirectional
// controls are shown as escapes (ESC as \x1b, a newline as \n, a tab as
// \t) and invalid UTF-8 bytes as \xNN. A value without them is returned as is.
func ShowControls(s string) string { return showControls(s, false) }

// ShowControlsText is ShowControls for free text printed on a terminal:
// newlines and tabs are kept.
func ShowControlsText(s string) string { return showControls(s, true) }

func showControls(s string, multi bool) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x` + hex2(s[i]))
		case multi && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case unsafeRune(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// freeText names, per record type, the JSON fields that may hold several
// lines; every other string field of a record is single-line.
var freeText = map[reflect.Type]map[string]bool{
	reflect.TypeOf(Consultation{}): {"history": true, "examination": true, "plan": true, "text": true},
	reflect.TypeOf(CodedEntry{}):   {"text": true},
	reflect.TypeOf(Observation{}):  {"valueText": true, "comment": true},
	reflect.TypeOf(Task{}):         {"text": true},
	// A laboratory's comments and text results run over lines.
	reflect.TypeOf(Report{}):     {"comments": true},
	reflect.TypeOf(ReportTest{}): {"comments": true, "valueText": true},
	reflect.TypeOf(Filing{}):     {"comment": true},
}

type textField struct {
	index []int
	name  string
	multi bool
	kind  reflect.Kind // String, Slice (of string or struct), Struct, Pointer (to struct)
}

var textPlans sync.Map // reflect.Type -> []textField

// textPlan lists the fields of a struct type that hold text, once per type.
func textPlan(t reflect.Type) []textField {
	if p, ok := textPlans.Load(t); ok {
		return p.([]textField)
	}
	var plan []textField
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			ft := f.Type
			k := ft.Kind()
			switch {
			case k == reflect.String:
			case k == reflect.Slice && (ft.Elem().Kind() == reflect.String || ft.Elem().Kind() == reflect.Struct):
			case k == reflect.Struct && ft.PkgPath() == t.PkgPath():
			case k == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && ft.Elem().PkgPath() == t.PkgPath():
			default:
				continue // numbers, times, raw JSON
			}
			plan = append(plan, textField{index: idx, name: name, multi: freeText[t][name], kind: k})
		}
	}
	walk(t, nil)
	textPlans.Store(t, plan)
	return plan
}

// CheckStrings checks every string of a record (a pointer to a struct of
// this package), nested structs and lists included: free-text fields with
// CheckText, the rest with CheckLine. The error names the field by its JSON
// path ("address.lines", "entries[2].text").
func CheckStrings(v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	return checkStruct(rv, "")
}

func checkStruct(v reflect.Value, prefix string) error {
	// Names are built only for an error: this runs on every record of a
	// bulk import, and nearly every value is plain printable ASCII.
	for _, f := range textPlan(v.Type()) {
		fv := v.FieldByIndex(f.index)
		switch f.kind {
		case reflect.String:
			if s := fv.String(); !plainASCII(s, f.multi) {
				if err := checkText(prefix+f.name, s, f.multi); err != nil {
					return err
				}
			}
		case reflect.Slice:
			for i := 0; i < fv.Len(); i++ {
				el := fv.Index(i)
				if el.Kind() == reflect.String {
					if s := el.String(); !plainASCII(s, f.multi) {
						if err := checkText(prefix+f.name, s, f.multi); err != nil {
							return err
						}
					}
				} else if err := checkStruct(el, prefix+f.name+"["+strconv.Itoa(i)+"]."); err != nil {
					return err
				}
			}
		case reflect.Pointer:
			if !fv.IsNil() {
				if err := checkStruct(fv.Elem(), prefix+f.name+"."); err != nil {
					return err
				}
			}
		case reflect.Struct:
			if err := checkStruct(fv, prefix+f.name+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// plainASCII reports whether s is printable ASCII within the size limit
// (so needs no further check).
func plainASCII(s string, multi bool) bool {
	if len(s) > MaxLineBytes && (!multi || len(s) > MaxTextBytes) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// MakeSafe rewrites, in place, every string of a record (a pointer to a
// struct of this package) that CheckStrings would refuse into one it
// accepts: control characters and invalid UTF-8 shown as visible escapes
// (ShowControls), an over-long value cut with a note. For what must never
// be refused for its text (a laboratory's report): what was sent stays
// readable, and nothing is dropped silently.
func MakeSafe(v any) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Struct {
		safeStruct(rv)
	}
}

func safeString(v reflect.Value, multi bool) {
	s := v.String()
	if plainASCII(s, multi) || checkText("", s, multi) == nil {
		return
	}
	s = showControls(s, multi)
	limit := MaxLineBytes
	if multi {
		limit = MaxTextBytes
	}
	if len(s) > limit {
		note := fmt.Sprintf(" … (cut: %d bytes sent)", len(s))
		cut := limit - len(note)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + note
	}
	v.SetString(s)
}

func safeStruct(v reflect.Value) {
	for _, f := range textPlan(v.Type()) {
		fv := v.FieldByIndex(f.index)
		switch f.kind {
		case reflect.String:
			safeString(fv, f.multi)
		case reflect.Slice:
			for i := 0; i < fv.Len(); i++ {
				if el := fv.Index(i); el.Kind() == reflect.String {
					safeString(el, f.multi)
				} else {
					safeStruct(el)
				}
			}
		case reflect.Pointer:
			if !fv.IsNil() {
				safeStruct(fv.Elem())
			}
		case reflect.Struct:
			safeStruct(fv)
		}
	}
}
