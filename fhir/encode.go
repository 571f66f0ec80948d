package fhir

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// A small JSON encoder for the structs of this package: encoding/json's rules
// (field order, omitempty, json.Number literals, RawMessage verbatim) without
// HTML escaping, with each struct's Extra merged in, and in one pass (the
// standard encoder re-validates what every MarshalJSON returns, which made
// export several times slower).

type encField struct {
	name      string
	index     int
	omitEmpty bool
}

type encPlan struct {
	fields []encField
	extra  int
}

var planCache sync.Map // reflect.Type -> *encPlan

func planOf(t reflect.Type) *encPlan {
	if p, ok := planCache.Load(t); ok {
		return p.(*encPlan)
	}
	p := &encPlan{extra: -1}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "Extra" && f.Type == reflect.TypeOf(Extra(nil)) {
			p.extra = i
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p.fields = append(p.fields, encField{name: name, index: i, omitEmpty: strings.Contains(opts, "omitempty")})
	}
	planCache.Store(t, p)
	return p
}

var (
	numberType = reflect.TypeOf(json.Number(""))
	rawPtrType = reflect.TypeOf((*Raw)(nil))
)

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return v.Int() == 0
	case reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return false
}

func appendValue(buf []byte, v reflect.Value) []byte {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return append(buf, "null"...)
		}
		if v.Type() == rawPtrType {
			return append(buf, v.Interface().(*Raw).JSON...)
		}
		return appendValue(buf, v.Elem())
	case reflect.String:
		if v.Type() == numberType {
			if v.Len() == 0 {
				return append(buf, '0')
			}
			return append(buf, v.String()...)
		}
		return appendString(buf, v.String())
	case reflect.Bool:
		return strconv.AppendBool(buf, v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.AppendInt(buf, v.Int(), 10)
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		return strconv.AppendUint(buf, v.Uint(), 10)
	case reflect.Float64:
		return strconv.AppendFloat(buf, v.Float(), 'g', -1, 64)
	case reflect.Slice:
		if v.IsNil() {
			return append(buf, "null"...)
		}
		if v.Type() == rawType {
			return append(buf, v.Bytes()...)
		}
		buf = append(buf, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendValue(buf, v.Index(i))
		}
		return append(buf, ']')
	case reflect.Map:
		b, _ := json.Marshal(v.Interface())
		return append(buf, b...)
	case reflect.Struct:
		p := planOf(v.Type())
		buf = append(buf, '{')
		first := true
		for _, f := range p.fields {
			fv := v.Field(f.index)
			if f.omitEmpty && isEmpty(fv) {
				continue
			}
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = appendString(buf, f.name)
			buf = append(buf, ':')
			buf = appendValue(buf, fv)
		}
		if p.extra >= 0 {
			if ex := v.Field(p.extra).Interface().(Extra); len(ex) > 0 {
				keys := make([]string, 0, len(ex))
				for k := range ex {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					if !first {
						buf = append(buf, ',')
					}
					first = false
					buf = appendString(buf, k)
					buf = append(buf, ':')
					buf = append(buf, ex[k]...)
				}
			}
		}
		return append(buf, '}')
	}
	b, _ := json.Marshal(v.Interface())
	return append(buf, b...)
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string as encoding/json does, without HTML escaping.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
