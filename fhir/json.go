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
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Extra holds the JSON members a struct does not model, verbatim.
type Extra map[string]json.RawMessage

var knownCache sync.Map // reflect.Type -> map[string]bool

// knownFields are the JSON names of a struct type's fields.
func knownFields(t reflect.Type) map[string]bool {
	if v, ok := knownCache.Load(t); ok {
		return v.(map[string]bool)
	}
	m := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		m[name] = true
	}
	knownCache.Store(t, m)
	return m
}

// decode unmarshals b into v (a pointer to an alias struct type without
// methods) and keeps unknown members in *extra.
func decode(b []byte, v any, extra *Extra) error {
	if err := json.Unmarshal(b, v); err != nil {
		return err
	}
	known := knownFields(reflect.TypeOf(v).Elem())
	topMembers(b, func(key, val []byte) {
		if !known[string(key)] {
			if *extra == nil {
				*extra = Extra{}
			}
			(*extra)[string(key)] = append(json.RawMessage(nil), val...)
		}
	})
	return nil
}

// topMembers calls fn with each member of a JSON object (already known to be
// valid): its key (without quotes; keys with escapes are rare in FHIR and
// passed as written) and its raw value.
func topMembers(b []byte, fn func(key, val []byte)) {
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
		key := b[ks : ke-1]
		i = skipWS(b, ke)
		if i < len(b) && b[i] == ':' {
			i++
		}
		i = skipWS(b, i)
		vs := i
		i = skipValue(b, i)
		fn(key, b[vs:i])
	}
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
		switch b[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return i
}

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

// encode marshals v (an alias struct value) and merges extra into it.
func encode(v any, extra Extra) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	if len(extra) == 0 {
		return b, nil
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]byte, 0, len(b)+64*len(keys))
	out = append(out, b[:len(b)-1]...)
	first := len(b) == 2 // "{}"
	for _, k := range keys {
		if !first {
			out = append(out, ',')
		}
		first = false
		kb, _ := json.Marshal(k)
		out = append(out, kb...)
		out = append(out, ':')
		out = append(out, extra[k]...)
	}
	return append(out, '}'), nil
}

// Marshal writes a resource (or any value) as FHIR JSON: no HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
