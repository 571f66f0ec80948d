package commands

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// What goes to a terminal shows control characters as escapes; a character
// split across two writes is kept whole; newlines and tabs pass.
func TestTerminalWriterShowsControls(t *testing.T) {
	var out bytes.Buffer
	tw := &TerminalWriter{W: &out}
	name := []byte("Zoë \x1b]0;pwned\x07SMITH\u009b2J\tx\n")
	i := bytes.IndexByte(name, 0xc3) + 1 // inside the ë
	tw.Write(name[:i])
	tw.Write(name[i:])
	if got, want := out.String(), "Zoë \\x1b]0;pwned\\x07SMITH\\x9b2J\tx\n"; got != want {
		t.Fatalf("terminal got %q, want %q", got, want)
	}
}

// A value holding a newline or tab never splits a row: tab-separated pipe
// output escapes it, CSV quotes it.
func TestListRowsNeverSplit(t *testing.T) {
	type row struct{ a, b string }
	cols := []Column[row]{{"a", func(r row) string { return r.a }}, {"b", func(r row) string { return r.b }}}
	items := []row{{"Two\nRows", "tab\there"}, {"plain", "x"}}
	ios, out, _ := Test("", false)
	if err := printList(ios, "table", items, cols); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || strings.Count(lines[0], "\t") != 1 {
		t.Fatalf("pipe output split a row: %q", out.String())
	}
	ios, out, _ = Test("", false)
	if err := printList(ios, "csv", items, cols); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "Two\nRows" {
		t.Fatalf("CSV %q read back as %q, %v", out.String(), recs, err)
	}
}
