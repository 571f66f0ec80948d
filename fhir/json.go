// Package fhir is the FHIR R4 (UK Core) mapping of the record: hand-written
// structs for the subset we use (reference/standards.md §7), and mapping
// functions record <-> FHIR in both directions. It imports only record and
// the standard library.
//
// Every struct keeps the JSON members it does not know (unknown elements,
// primitive extensions such as "_birthDate") in Extra and writes them back on
// marshal, so a resource read and written again loses nothing.
package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Extra holds the JSON members a struct does not model, verbatim.
type Extra map[string]json.RawMessage

// Unmarshal reads FHIR JSON into v (a pointer to a struct of this package),
// keeping every member it does not model, at any depth, in the Extra of the
// struct it belongs to. json.Unmarshal alone would drop them.
func Unmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	fillExtra(reflect.ValueOf(v).Elem(), b)
	return nil
}

type structInfo struct {
	fields map[string]int // JSON name -> field index
	extra  int            // index of the Extra field, -1 if none
}

var infoCache sync.Map // reflect.Type -> *structInfo

func infoOf(t reflect.Type) *structInfo {
	if v, ok := infoCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{fields: map[string]int{}, extra: -1}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "Extra" && f.Type == reflect.TypeOf(Extra(nil)) {
			si.extra = i
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name != "" && name != "-" {
			si.fields[name] = i
		}
	}
	infoCache.Store(t, si)
	return si
}

var rawType = reflect.TypeOf(json.RawMessage(nil))

// fillExtra walks b beside v (already decoded from b) and keeps unknown members.
func fillExtra(v reflect.Value, b []byte) { fillAt(v, b, skipWS(b, 0)) }

// fillAt handles the value starting at b[i] and returns the index after it:
// one pass over the bytes, however deep the structs nest.
func fillAt(v reflect.Value, b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || b[i] == 'n' {
			return skipValue(b, i)
		}
		return fillAt(v.Elem(), b, i)
	case reflect.Slice:
		if b[i] != '[' || v.Type() == rawType || v.Type().Elem().Kind() == reflect.String {
			return skipValue(b, i)
		}
		i++
		n := 0
		for {
			i = skipWS(b, i)
			if i >= len(b) {
				return i
			}
			switch b[i] {
			case ']':
				return i + 1
			case ',':
				i++
				continue
			}
			if n < v.Len() {
				i = fillAt(v.Index(n), b, i)
			} else {
				i = skipValue(b, i)
			}
			n++
		}
	case reflect.Struct:
		if b[i] != '{' {
			return skipValue(b, i)
		}
		si := infoOf(v.Type())
		i++
		for {
			i = skipWS(b, i)
			if i >= len(b) {
				return i
			}
			switch b[i] {
			case '}':
				return i + 1
			case ',':
				i++
				continue
			}
			ks := i + 1
			ke := skipString(b, i)
			key := b[ks : ke-1]
			i = skipWS(b, ke)
			if i < len(b) && b[i] == ':' {
				i++
			}
			i = skipWS(b, i)
			if fi, ok := si.fields[string(key)]; ok {
				f := v.Field(fi)
				switch f.Kind() {
				case reflect.Struct, reflect.Pointer, reflect.Slice:
					i = fillAt(f, b, i)
				default:
					i = skipValue(b, i)
				}
				continue
			}
			vs := i
			i = skipValue(b, i)
			if si.extra < 0 {
				continue
			}
			ef := v.Field(si.extra)
			if ef.IsNil() {
				ef.Set(reflect.ValueOf(Extra{}))
			}
			ef.Interface().(Extra)[string(key)] = append(json.RawMessage(nil), b[vs:i]...)
		}
	}
	return skipValue(b, i)
}

// arrayElems calls fn with each element of a JSON array.
func arrayElems(b []byte, fn func(el []byte)) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] == ']' {
			return
		}
		if b[i] == ',' {
			i++
			continue
		}
		s := i
		i = skipValue(b, i)
		fn(b[s:i])
	}
}

// probeMembers calls fn with the members of a JSON object until fn returns false.
func probeMembers(b []byte, fn func(key, val []byte) bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] == '}' {
			return
		}
		if b[i] == ',' {
			i++
			continue
		}
		ks := i + 1
		ke := skipString(b, i)
		if ke-1 < ks {
			return
		}
		key := b[ks : ke-1]
		i = skipWS(b, ke)
		if i < len(b) && b[i] == ':' {
			i++
		}
		i = skipWS(b, i)
		vs := i
		i = skipValue(b, i)
		if !fn(key, b[vs:i]) {
			return
		}
	}
}

// topMembers calls fn with each member of a JSON object (already known to be
// valid): its key (without quotes; keys with escapes are rare in FHIR and
// passed as written) and its raw value.
func topMembers(b []byte, fn func(key, val []byte)) {
	probeMembers(b, func(k, v []byte) bool { fn(k, v); return true })
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a quote).
func skipString(b []byte, i int) int {
	j, _ := scanString(b, i)
	return j
}

// scanString is skipString that also says whether the string was closed.
func scanString(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		c := b[i]
		if c == '"' {
			return i + 1, true
		}
		if c == '\\' {
			i += 2
			continue
		}
		i++
	}
	return len(b), false // a backslash at the very end must not step past it
}

var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			for i < len(b) && !structural[b[i]] {
				i++
			}
			if i >= len(b) {
				return i
			}
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	s := i
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	if i == s {
		// A closing bracket where a value should be (malformed input): step
		// over it, so every caller's loop makes progress and ends.
		return i + 1
	}
	return i
}

// Marshal writes a resource (or any struct of this package) as FHIR JSON:
// no HTML escaping, Extra members merged back.
func Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 1024), reflect.ValueOf(v)), nil
}

// errTruncated and the strict scanners below serve SplitBundle: the light
// scanners above trust their input, and a Bundle cut off between entries
// would still split into the entries before the cut. The strict ones check
// the Bundle's own structure (every bracket matched, separators in place,
// nothing after the end) at about the cost of the light ones; each resource
// inside is then checked in full when it is parsed.
var errTruncated = errors.New("unexpected end of input (truncated)")

// strictSkip returns the index after the value starting at b[i], or an error
// when brackets do not match or the input ends inside the value.
func strictSkip(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, errTruncated
	}
	switch b[i] {
	case '"':
		j, ok := scanString(b, i)
		if !ok {
			return j, errTruncated
		}
		return j, nil
	case '{', '[':
		var stack []byte
		for i < len(b) {
			for i < len(b) && !structural[b[i]] {
				i++
			}
			if i >= len(b) {
				break
			}
			switch c := b[i]; c {
			case '"':
				j, ok := scanString(b, i)
				if !ok {
					return j, errTruncated
				}
				i = j
				continue
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				open := byte('{')
				if c == ']' {
					open = '['
				}
				if len(stack) == 0 || stack[len(stack)-1] != open {
					return i, fmt.Errorf("unexpected %q at byte %d", c, i)
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return i, errTruncated
	case '}', ']', ',', ':':
		return i, fmt.Errorf("unexpected %q at byte %d", b[i], i)
	}
	j := skipValue(b, i)
	if j > len(b) {
		j = len(b)
	}
	return j, nil
}

// strictMembers calls fn with each member of the JSON object at b[i] and
// returns the index after it.
func strictMembers(b []byte, i int, fn func(key, val []byte) error) (int, error) {
	i = skipWS(b, i)
	if i >= len(b) {
		return i, errTruncated
	}
	if b[i] != '{' {
		return i, fmt.Errorf("expected an object at byte %d", i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return i, errTruncated
		}
		if b[i] != '"' {
			return i, fmt.Errorf("expected a member name at byte %d", i)
		}
		ke, err := strictSkip(b, i)
		if err != nil {
			return ke, err
		}
		key := b[i+1 : ke-1]
		if !plainKey(key) && !json.Valid(b[i:ke]) {
			return i, fmt.Errorf("member name at byte %d is not a valid JSON string", i)
		}
		i = skipWS(b, ke)
		if i >= len(b) {
			return i, errTruncated
		}
		if b[i] != ':' {
			return i, fmt.Errorf("expected ':' at byte %d", i)
		}
		i = skipWS(b, i+1)
		vs := i
		if i, err = strictSkip(b, i); err != nil {
			return i, err
		}
		if err := fn(key, b[vs:i]); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, errTruncated
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = skipWS(b, i+1)
		default:
			return i, fmt.Errorf("expected ',' or '}' at byte %d", i)
		}
	}
}

// plainKey says whether a member name is printable ASCII with no escape:
// valid JSON as it stands. Any other name is checked whole (a raw control
// character or a bad escape makes the object malformed).
func plainKey(k []byte) bool {
	for _, c := range k {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// strictElems calls fn with each element of the JSON array val; an error
// names the element ("[3]: ...").
func strictElems(val []byte, fn func(el []byte) error) error {
	i := skipWS(val, 0)
	if i >= len(val) || val[i] != '[' {
		return fmt.Errorf("not an array")
	}
	i = skipWS(val, i+1)
	if i < len(val) && val[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		s := i
		j, err := strictSkip(val, i)
		if err == nil {
			err = fn(val[s:j])
		}
		if err != nil {
			return fmt.Errorf("[%d]: %w", n, err)
		}
		i = skipWS(val, j)
		if i >= len(val) {
			return fmt.Errorf("[%d]: the input ends after it: %w", n, errTruncated)
		}
		switch val[i] {
		case ']':
			return nil
		case ',':
			i = skipWS(val, i+1)
		default:
			return fmt.Errorf("[%d]: expected ',' or ']' after it at byte %d", n, i)
		}
	}
}
