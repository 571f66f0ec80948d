package clinical

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// keyNode is the set of JSON object keys a Go type decodes at one place in
// a document, with what each key's value decodes into. It lets decodeStrict
// check a line for unknown fields with one scan, then decode it with the
// fast non-streaming decoder (which cannot refuse unknown fields itself).
type keyNode struct {
	fields map[string]*keyNode // a struct's fields by JSON name
	elem   *keyNode            // a map's values
	any    bool                // anything goes below (RawMessage, interfaces, custom decoders)
}

var keyTrees sync.Map // reflect.Type → *keyNode

// keyTreeOf is the key tree of the type t points to.
func keyTreeOf(t reflect.Type) *keyNode {
	if n, ok := keyTrees.Load(t); ok {
		return n.(*keyNode)
	}
	n := buildKeyTree(t, map[reflect.Type]*keyNode{})
	keyTrees.Store(t, n)
	return n
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func buildKeyTree(t reflect.Type, seen map[reflect.Type]*keyNode) *keyNode {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n, ok := seen[t]; ok {
		return n
	}
	pt := reflect.PointerTo(t)
	custom := pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler)
	if !custom && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() != reflect.Uint8 {
		return buildKeyTree(t.Elem(), seen) // elements are checked against the element type
	}
	n := &keyNode{}
	seen[t] = n
	switch {
	case custom || t.Kind() == reflect.Interface:
		n.any = true
	case t.Kind() == reflect.Struct:
		n.fields = map[string]*keyNode{}
		addFields(n, t, seen)
	case t.Kind() == reflect.Map:
		n.elem = buildKeyTree(t.Elem(), seen)
	}
	return n
}

// addFields adds a struct's fields, promoting those of embedded structs
// without a JSON name as encoding/json does.
func addFields(n *keyNode, t reflect.Type, seen map[reflect.Type]*keyNode) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			addFields(n, ft, seen)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		n.fields[name] = buildKeyTree(f.Type, seen)
	}
}

// onlyKnownKeys reports whether every object key in the JSON document b,
// at every depth, is spelt exactly as a field of the type at that place.
// False means "not sure" (an unknown or differently cased key, an escaped
// key, malformed JSON): the caller decodes strictly to find out.
func onlyKnownKeys(b []byte, n *keyNode) bool {
	w := keyWalker{b: b}
	return w.value(n) && w.ws() == len(b)
}

type keyWalker struct {
	b []byte
	i int
}

func (w *keyWalker) ws() int {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return w.i
		}
	}
	return w.i
}

// value walks one value that n describes (nil: a plain value).
func (w *keyWalker) value(n *keyNode) bool {
	if w.ws() >= len(w.b) {
		return false
	}
	switch w.b[w.i] {
	case '{':
		return w.object(n)
	case '[':
		w.i++
		if w.ws() < len(w.b) && w.b[w.i] == ']' {
			w.i++
			return true
		}
		for {
			if !w.value(n) {
				return false
			}
			if done, ok := w.after(']'); done || !ok {
				return ok
			}
		}
	case '"':
		_, ok := w.str()
		return ok
	default:
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return true
			}
			w.i++
		}
		return true
	}
}

func (w *keyWalker) object(n *keyNode) bool {
	w.i++ // {
	if w.ws() < len(w.b) && w.b[w.i] == '}' {
		w.i++
		return true
	}
	for {
		if w.ws() >= len(w.b) || w.b[w.i] != '"' {
			return false
		}
		key, ok := w.str()
		if !ok {
			return false
		}
		var child *keyNode
		switch {
		case n == nil:
			return false // an object where a plain value belongs
		case n.any:
			child = n
		case n.elem != nil:
			child = n.elem
		case n.fields != nil:
			c, known := n.fields[string(key)]
			if !known {
				return false
			}
			child = c
		default:
			return false
		}
		if w.ws() >= len(w.b) || w.b[w.i] != ':' {
			return false
		}
		w.i++
		if !w.value(child) {
			return false
		}
		if done, ok := w.after('}'); done || !ok {
			return ok
		}
	}
}

// after reads what follows a member or element: a comma (more to come) or
// the closing bracket (done); anything else is malformed (ok false).
func (w *keyWalker) after(closing byte) (done, ok bool) {
	if w.ws() >= len(w.b) {
		return false, false
	}
	switch w.b[w.i] {
	case ',':
		w.i++
		return false, true
	case closing:
		w.i++
		return true, true
	}
	return false, false
}

// str skips a string and returns its raw contents (escapes left as they
// are: a key with one matches no field, and is left to the decoder).
func (w *keyWalker) str() (raw []byte, ok bool) {
	start := w.i + 1
	for j := start; j < len(w.b); j++ {
		switch w.b[j] {
		case '\\':
			j++
		case '"':
			w.i = j + 1
			return w.b[start:j], true
		}
	}
	return nil, false
}
