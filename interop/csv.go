package interop

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// CSV in and out share one mapping: the header names are the JSON field
// names (dotted for nested objects), lists are joined with ';', and a list
// of objects (identifiers) or a JSON object (fhirExtra) is its JSON in the
// cell. So a CSV export imports back unchanged.

// CSVHeader is the column list of a kind's CSV, in the order of its JSON.
func CSVHeader(kind record.Kind) []string {
	e, _ := record.New(kind)
	var out []string
	for _, f := range jsonFields(reflect.TypeOf(e).Elem()) {
		out = append(out, f.name)
	}
	return out
}

// CSVRow is one record's cells under header.
func CSVRow(e record.Entity, header []string) ([]string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	row := make([]string, len(header))
	for i, name := range header {
		var v any = m
		for _, part := range strings.Split(name, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[part]
		}
		row[i], err = csvCell(name, v)
		if err != nil {
			return nil, err
		}
	}
	return row, nil
}

func csvCell(name string, v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case []any:
		strs := make([]string, 0, len(x))
		for _, el := range x {
			s, ok := el.(string)
			if !ok || strings.ContainsAny(s, ";|") {
				b, err := json.Marshal(x) // a list of objects, or of text that holds a separator
				return string(b), err
			}
			strs = append(strs, s)
		}
		cell := strings.Join(strs, ";")
		if len(strs) == 1 && strings.Contains(cell, " ") && name == "given" {
			cell += ";" // one given name with a space in it: not split on the space when read back
		}
		return cell, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// csvDate reads a date cell: ISO 8601 (YYYY-MM-DD) as it is, or the UK
// dd/mm/yyyy that spreadsheets write, turned into ISO.
func csvDate(name, v string) (string, error) {
	if !strings.Contains(v, "/") {
		return v, nil
	}
	t, err := time.Parse("2/1/2006", strings.TrimSpace(v))
	if err != nil {
		return "", record.Invalid(name, v, "not a date: use YYYY-MM-DD or dd/mm/yyyy")
	}
	return t.Format("2006-01-02"), nil
}

// isDateColumn: the CSV columns that hold dates.
func isDateColumn(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	return strings.HasSuffix(last, "Date") || last == "date" || strings.HasSuffix(last, "On")
}
