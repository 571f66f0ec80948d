package fhir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// What a resource had that the record does not map, kept in the record's
// Meta.FHIRExtra so that an import followed by an export loses nothing.
//
// Unmapped returns a JSON object shaped like the resource but holding only:
//   - members the structs of this package do not model (unknown elements and
//     "_element" primitive extensions), at any depth, under the element they
//     belong to: {"_birthDate": {…}, "name": [{"_given": […]}]};
//   - extensions whose URL the mapping does not read (other publishers'),
//     verbatim, as the list under that element's "extension";
//   - decimals whose lexical form is not the shortest one (72.50, 1.0e2), so
//     their precision survives;
//   - whole, the top-level elements of keptElements (modelled here, not
//     mapped by the record: Patient.maritalStatus, identifiers…).
//
// Arrays other than "extension" hold one object per element of the original
// array ({} for an element with nothing to keep); an element with something
// kept also carries its own identifying members (system, use, url…) so that its
// members go back to the same element, found by them in whatever order the
// export writes the array (or, for elements with no string member, such as an
// Observation component, by position when the array kept its length). "meta" is not kept (an export writes its own).
//
// MergeUnmapped puts such an object back into a resource built from a record:
// what the record maps wins on conflict (a member already written, a sibling
// of the same choice element, a decimal of another value); nested members
// whose element is no longer written (or not found again) are left out
// rather than attached to the wrong element.

// Unmapped returns the unmapped members of a resource, or nil when there are
// none. References inside them are rewritten, through rs, to the records the
// export writes; a member holding a reference that cannot be (to a resource
// we do not keep) is left out, as it would not resolve in an export.
func Unmapped(r Resource, rs Resolver) json.RawMessage {
	v := reflect.ValueOf(r)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	s, ok := collect(v, true, rs)
	if !ok {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	return b
}

var extType = reflect.TypeOf([]Extension(nil))

// keptElements are, per resource type, elements our structs model but the
// record does not map and an export never writes (so a re-import of our own
// export finds nothing new): kept whole (references rewritten) and written
// back when the resource built from the record has none of its own. Not here,
// because an export writes them for some records: Observation.category,
// Condition.category, Patient.active, Immunization.primarySource.
var keptElements = map[string]map[string]bool{
	"Patient":            {"maritalStatus": true},
	"Encounter":          {"identifier": true},
	"Condition":          {"identifier": true, "severity": true, "note": true},
	"Observation":        {"identifier": true},
	"MedicationRequest":  {"identifier": true, "category": true, "note": true, "substitution": true},
	"AllergyIntolerance": {"identifier": true, "criticality": true, "note": true},
	"Immunization":       {"identifier": true, "note": true},
	"Appointment":        {"identifier": true, "serviceType": true, "created": true, "comment": true},
	"Task":               {"identifier": true, "note": true},
	"Schedule":           {"identifier": true, "serviceCategory": true, "serviceType": true, "specialty": true},
}

// ourExtension reports whether the mapping reads an extension (so it is
// written from the record, not kept as given).
func ourExtension(url string) bool {
	if strings.HasPrefix(url, OurBase) {
		return true
	}
	switch url {
	case ExtNHSVerification, ExtNHSUnavailable, ExtRepeatInformation:
		return true
	}
	return false
}

// collect returns the skeleton of v and whether it holds anything.
func collect(v reflect.Value, top bool, rs Resolver) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil, false
		}
		return collect(v.Elem(), false, rs)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct && v.Type().Elem().Kind() != reflect.Pointer {
			return nil, false
		}
		out := make([]any, v.Len())
		any1 := false
		for i := 0; i < v.Len(); i++ {
			s, ok := collect(v.Index(i), false, rs)
			if ok {
				out[i], any1 = s, true
				if m, isMap := s.(map[string]any); isMap {
					addKeys(m, v.Index(i))
				}
			} else {
				out[i] = struct{}{}
			}
		}
		return out, any1
	case reflect.Struct:
		si := infoOf(v.Type())
		m := map[string]any{}
		if si.extra >= 0 {
			for k, raw := range v.Field(si.extra).Interface().(Extra) {
				if raw, ok := fixRefs(raw, rs); ok {
					m[k] = raw
				}
			}
		}
		kept := keptElements[v.Type().Name()]
		for name, fi := range si.fields {
			if top && name == "meta" {
				continue
			}
			f := v.Field(fi)
			if top && kept[name] {
				if !isEmpty(f) {
					b, _ := Marshal(f.Interface())
					if b, ok := fixRefs(b, rs); ok {
						m[name] = json.RawMessage(b)
					}
				}
				continue
			}
			switch {
			case f.Type() == extType:
				var keep []json.RawMessage
				for i := 0; i < f.Len(); i++ {
					e := f.Index(i).Interface().(Extension)
					if !ourExtension(e.URL) {
						b, _ := Marshal(&e)
						if b, ok := fixRefs(b, rs); ok {
							keep = append(keep, b)
						}
					}
				}
				if len(keep) > 0 {
					m[name] = keep
				}
			case f.Type() == numberType:
				if lex := f.String(); lex != "" && !canonicalNumber(lex) {
					m[name] = json.Number(lex)
				}
			case f.Kind() == reflect.Struct || f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice:
				if f.Type() == rawType || f.Type() == rawPtrType {
					continue
				}
				if s, ok := collect(f, false, rs); ok {
					m[name] = s
				}
			}
		}
		return m, len(m) > 0
	}
	return nil, false
}

// canonicalNumber reports whether a JSON number is written as Go's shortest form.
func canonicalNumber(lex string) bool {
	f, err := strconv.ParseFloat(lex, 64)
	return err != nil || strconv.FormatFloat(f, 'f', -1, 64) == lex
}

// MergeUnmapped merges the members Unmapped kept back into r (a pointer to a
// resource built from the record). A malformed extra is ignored.
func MergeUnmapped(r Resource, extra json.RawMessage) {
	if len(extra) == 0 || r == nil {
		return
	}
	v := reflect.ValueOf(r)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return
	}
	merge(v.Elem(), extra, true)
}

func merge(v reflect.Value, raw json.RawMessage, top bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			merge(v.Elem(), raw, false)
		}
	case reflect.Slice:
		var els []json.RawMessage
		if json.Unmarshal(raw, &els) != nil {
			return
		}
		for i, el := range els {
			if bytes.Equal(bytes.TrimSpace(el), []byte("{}")) {
				continue
			}
			if j := matchElem(v, i, len(els), el); j >= 0 {
				merge(v.Index(j), el, false)
			}
		}
	case reflect.Struct:
		var members map[string]json.RawMessage
		if json.Unmarshal(raw, &members) != nil {
			return
		}
		keys := make([]string, 0, len(members))
		for k := range members {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		si := infoOf(v.Type())
		for _, k := range keys {
			val := members[k]
			if top && k == "meta" {
				continue
			}
			if fi, ok := si.fields[k]; ok {
				f := v.Field(fi)
				if top && keptElements[v.Type().Name()][k] && isEmpty(f) {
					_ = Unmarshal(val, f.Addr().Interface())
					continue
				}
				switch {
				case f.Type() == extType:
					mergeExtensions(f, val)
				case f.Type() == numberType:
					mergeNumber(f, val)
				case f.Kind() == reflect.Struct || f.Kind() == reflect.Pointer || f.Kind() == reflect.Slice:
					if f.Type() != rawType && f.Type() != rawPtrType {
						merge(f, val, false)
					}
				}
				continue
			}
			if si.extra < 0 || choiceTaken(v, si, k) {
				continue
			}
			ef := v.Field(si.extra)
			if ef.IsNil() {
				ef.Set(reflect.ValueOf(Extra{}))
			}
			ex := ef.Interface().(Extra)
			if _, ok := ex[k]; !ok {
				ex[k] = val
			}
		}
	}
}

// mergeExtensions appends the kept extensions not already written.
func mergeExtensions(f reflect.Value, raw json.RawMessage) {
	var els []json.RawMessage
	if json.Unmarshal(raw, &els) != nil {
		return
	}
	have := map[string]bool{}
	for i := 0; i < f.Len(); i++ {
		e := f.Index(i).Interface().(Extension)
		b, _ := Marshal(&e)
		have[string(b)] = true
	}
	for _, el := range els {
		var e Extension
		if Unmarshal(el, &e) != nil || e.URL == "" {
			continue
		}
		b, _ := Marshal(&e)
		if have[string(b)] {
			continue
		}
		have[string(b)] = true
		f.Set(reflect.Append(f, reflect.ValueOf(e)))
	}
}

// mergeNumber restores the lexical form of a decimal when it is the same number.
func mergeNumber(f reflect.Value, raw json.RawMessage) {
	lex := strings.TrimSpace(string(raw))
	ours := f.String()
	if ours == "" || lex == "" {
		return
	}
	a, err1 := strconv.ParseFloat(lex, 64)
	b, err2 := strconv.ParseFloat(ours, 64)
	if err1 == nil && err2 == nil && a == b {
		f.SetString(lex)
	}
}

// FHIR data type names, the suffixes of choice elements (value[x], onset[x]…).
var choiceTypes = []string{"Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id",
	"Instant", "Integer", "Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt", "Uri", "Url", "Uuid",
	"Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactPoint", "Count", "Distance",
	"Duration", "HumanName", "Identifier", "Money", "Period", "Quantity", "Range", "Ratio", "Reference",
	"SampledData", "Signature", "Timing", "ContactDetail", "Contributor", "DataRequirement", "Expression",
	"ParameterDefinition", "RelatedArtifact", "TriggerDefinition", "UsageContext", "Dosage", "Meta"}

// choicePrefix is the name of the choice element a member belongs to ("onset"
// for "onsetAge" or "_onsetString"), or "".
func choicePrefix(name string) string {
	name = strings.TrimPrefix(name, "_")
	for _, t := range choiceTypes {
		if p, ok := strings.CutSuffix(name, t); ok && p != "" && p[len(p)-1] >= 'a' && p[len(p)-1] <= 'z' {
			return p
		}
	}
	return ""
}

// choiceTaken reports whether k is a variant of a choice element the
// resource already writes in another type (onsetAge beside onsetDateTime).
func choiceTaken(v reflect.Value, si *structInfo, k string) bool {
	if _, ok := si.fields[strings.TrimPrefix(k, "_")]; ok {
		return false // an element's own primitive extension
	}
	p := choicePrefix(k)
	if p == "" {
		return false
	}
	for name, fi := range si.fields {
		if name != k && choicePrefix(name) == p && !isEmpty(v.Field(fi)) {
			return true
		}
	}
	return false
}

// keptTypes are the resource types an export writes under the record id an
// import gave them, so a reference to one can be rewritten.
var keptTypes = []string{"Patient", "Encounter", "Condition", "AllergyIntolerance", "Immunization", "Appointment"}

// fixRefs rewrites the references in a kept member ("reference" members, at
// any depth) to the records they resolve to; false when one does not resolve.
func fixRefs(raw json.RawMessage, rs Resolver) (json.RawMessage, bool) {
	if !bytes.Contains(raw, []byte(`"reference"`)) {
		return raw, true
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	ok := true
	var walk func(x any)
	walk = func(x any) {
		switch y := x.(type) {
		case []any:
			for _, e := range y {
				walk(e)
			}
		case map[string]any:
			for k, e := range y {
				if s, isStr := e.(string); isStr && k == "reference" {
					if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
						continue // absolute: resolves where it resolved before
					}
					if rs == nil {
						ok = false
						continue
					}
					done := false
					for _, t := range keptTypes {
						if id := rs.ID(&Reference{Reference: s}, t); id != "" {
							y[k], done = t+"/"+id, true
							break
						}
					}
					ok = ok && done
					continue
				}
				walk(e)
			}
		}
	}
	walk(v)
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	return b, true
}

// matchKeys are the string members that identify an array element and that
// an export writes as imported (not values it normalises, such as a postcode
// or a phone number).
var matchKeys = map[string]bool{"system": true, "code": true, "url": true, "use": true, "type": true,
	"family": true, "city": true}

// addKeys copies into an array element's kept object the element's own
// matchKeys members: MergeUnmapped finds the element again by them, whatever
// the order of the array written.
func addKeys(m map[string]any, v reflect.Value) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	for name, fi := range infoOf(v.Type()).fields {
		if f := v.Field(fi); matchKeys[name] && f.Kind() == reflect.String && f.Len() > 0 {
			if _, taken := m[name]; !taken {
				m[name] = f.String()
			}
		}
	}
}

// matchElem is the element of v that kept element i of n (el) belongs to:
// one whose identifying members do not contradict those el carries (a member
// the export does not write is no contradiction) and either equal one of them
// or sit at the same index of an array of the same length (index i first);
// when el carries none, element i if the array kept its length; -1 if none.
func matchElem(v reflect.Value, i, n int, el json.RawMessage) int {
	var members map[string]json.RawMessage
	if json.Unmarshal(el, &members) != nil {
		return -1
	}
	t := v.Type().Elem()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return -1
	}
	si := infoOf(t)
	keys := map[string]string{}
	for k, raw := range members {
		if fi, ok := si.fields[k]; ok && matchKeys[k] && t.Field(fi).Type.Kind() == reflect.String {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				keys[k] = s
			}
		}
	}
	if len(keys) == 0 {
		if n == v.Len() {
			return i
		}
		return -1
	}
	matches := func(j int) bool {
		e := v.Index(j)
		for e.Kind() == reflect.Pointer {
			if e.IsNil() {
				return false
			}
			e = e.Elem()
		}
		same := n == v.Len() && j == i
		for k, want := range keys {
			switch e.Field(si.fields[k]).String() {
			case want:
				same = true
			case "": // not written by the export: no contradiction
			default:
				return false
			}
		}
		return same
	}
	if i < v.Len() && matches(i) {
		return i
	}
	for j := 0; j < v.Len(); j++ {
		if matches(j) {
			return j
		}
	}
	return -1
}
