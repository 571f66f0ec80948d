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
	// Fast path: count the top-level keys; when every one is known there is no extra.
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, raw := range all {
		if !known[k] {
			if *extra == nil {
				*extra = Extra{}
			}
			(*extra)[k] = raw
		}
	}
	return nil
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
