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
	i++
	for i < len(b) {
		c := b[i]
		if c == '"' {
			return i + 1
		}
		if c == '\\' {
			i += 2
			continue
		}
		i++
	}
	return i
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
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	return i
}

// Marshal writes a resource (or any struct of this package) as FHIR JSON:
// no HTML escaping, Extra members merged back.
func Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 1024), reflect.ValueOf(v)), nil
}
