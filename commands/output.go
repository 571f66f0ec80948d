package commands

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Formats -o takes.
var Formats = []string{"table", "json", "ndjson", "csv"}

func checkFormat(f string) error {
	for _, x := range Formats {
		if f == x {
			return nil
		}
	}
	return &record.ValidationError{Field: "--output", Value: f, Reason: "must be table, json, ndjson or csv"}
}

// Column is one column of a table or CSV.
type Column[T any] struct {
	Header string
	Value  func(T) string
}

// printList prints records: an aligned table on a terminal, tab-separated
// in a pipe, or JSON / NDJSON / CSV.
func printList[T any](ios *IOStreams, format string, items []T, cols []Column[T]) error {
	w := ios.Out
	switch format {
	case "json":
		if items == nil {
			items = []T{}
		}
		return writeJSON(w, items)
	case "ndjson":
		enc := json.NewEncoder(w)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		hdr := make([]string, len(cols))
		for i, c := range cols {
			hdr[i] = c.Header
		}
		_ = cw.Write(hdr)
		for _, it := range items {
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = c.Value(it)
			}
			_ = cw.Write(row)
		}
		cw.Flush()
		return cw.Error()
	}
	if ios.IsTerminal() {
		if len(items) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		hdr := make([]string, len(cols))
		for i, c := range cols {
			hdr[i] = strings.ToUpper(c.Header)
		}
		fmt.Fprintln(tw, strings.Join(hdr, "\t"))
		for _, it := range items {
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = record.ShowControls(c.Value(it))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return tw.Flush()
	}
	// One record, one line: a newline or tab inside a value is shown as \n
	// or \t, so it never splits a row or shifts its columns.
	for _, it := range items {
		row := make([]string, len(cols))
		for i, c := range cols {
			row[i] = record.ShowControls(c.Value(it))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return nil
}

// printOne prints one record: JSON for json/ndjson, else label: value lines.
func printOne(ios *IOStreams, format string, v any, fields [][2]string) error {
	switch format {
	case "json":
		return writeJSON(ios.Out, v)
	case "ndjson":
		return json.NewEncoder(ios.Out).Encode(v)
	case "csv":
		cw := csv.NewWriter(ios.Out)
		var h, r []string
		for _, f := range fields {
			h = append(h, f[0])
			r = append(r, f[1])
		}
		_ = cw.Write(h)
		_ = cw.Write(r)
		cw.Flush()
		return cw.Error()
	}
	if ios.IsTerminal() {
		tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
		for _, f := range fields {
			if f[1] != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", f[0], record.ShowControls(f[1]))
			}
		}
		return tw.Flush()
	}
	for _, f := range fields {
		fmt.Fprintf(ios.Out, "%s\t%s\n", f[0], record.ShowControls(f[1]))
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func sortStrings(s []string) []string { sort.Strings(s); return s }

// UKDate shows a YYYY-MM-DD date as 12-Mar-1961 on a terminal, unchanged in a pipe.
func UKDate(ios *IOStreams, d string) string {
	if !ios.IsTerminal() || d == "" {
		return d
	}
	t, err := time.Parse(record.DateLayout, d)
	if err != nil {
		return d
	}
	return t.Format("02-Jan-2006")
}

var ukTime *time.Location

func init() {
	if loc, err := time.LoadLocation("Europe/London"); err == nil {
		ukTime = loc
	} else {
		ukTime = time.UTC
	}
}

// UKTime is the UK local-time zone.
func UKTime() *time.Location { return ukTime }

// showTime is UK local time on a terminal and RFC 3339 in a pipe.
func showTime(ios *IOStreams, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if !ios.IsTerminal() {
		return t.Format(time.RFC3339)
	}
	return t.In(ukTime).Format("02-Jan-2006 15:04")
}
