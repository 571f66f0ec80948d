package terminology

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/fixtures/embedded"
)

// GP shorthand: the abbreviations and colloquial terms clinicians type ("htn", "af",
// "water infection", "flu jab"), each mapped to concepts, best first. The built-in table
// (fixtures/embedded/shorthand.csv) is written by us — no open UK list exists; a practice
// extends or overrides it with its own file, PracticeShorthandFile in the data directory,
// in the same format:
//
//	shorthand,codes,meaning
//	htn,38341003,hypertension
//	"chest infection",50417007 10509002,lower respiratory tract infection; acute bronchitis
//
// codes are space-separated SNOMED CT or dm+d ids. A practice row with the key of a
// built-in row replaces it.

// PracticeShorthandFile is the practice's own shorthand table, beside terminology.db.
const PracticeShorthandFile = "shorthand.csv"

// Shorthand is one row of a shorthand table.
type Shorthand struct {
	Key      string   `json:"shorthand"`
	Codes    []string `json:"codes"`
	Meaning  string   `json:"meaning"`
	Practice bool     `json:"practice"` // from the practice's file
	Line     int      `json:"line"`
}

// shorthandKey normalises a key or a query the same way: the index's folded words,
// "and" dropped ("U&E", "u and e", "U+E" are one key), joined by spaces.
func shorthandKey(s string) string {
	ws := find.Words(strings.NewReplacer("&", " ", "+", " ").Replace(s))
	out := ws[:0]
	for _, w := range ws {
		if w != "and" {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// parseShorthand reads a shorthand table. known, when not nil, says whether a code is an
// active concept of the terminology; every problem is reported as file:line: reason.
//
// allowEmpty lets a row name no code: the built-in table lists terms GPs use that no open
// source we can cite has, so that the picker says they need the UK release instead of
// offering whatever the words happen to match.
func parseShorthand(r io.Reader, file string, known func(code string) error, allowEmpty bool) ([]Shorthand, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var probs problems
	var out []Shorthand
	seen := map[string]int{}
	line := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			probs.add(file, line, "not valid CSV: %v", err)
			break
		}
		if line == 1 {
			if len(rec) < 2 || strings.TrimSpace(strings.ToLower(strings.TrimPrefix(rec[0], "\ufeff"))) != "shorthand" || strings.TrimSpace(strings.ToLower(rec[1])) != "codes" {
				probs.add(file, 1, "header must be shorthand,codes,meaning")
				break
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < 2 || len(rec) > 3 {
			probs.add(file, line, "want 3 columns (shorthand,codes,meaning), got %d", len(rec))
			continue
		}
		key := shorthandKey(rec[0])
		if key == "" {
			probs.add(file, line, "shorthand %q: has no letters or digits", rec[0])
			continue
		}
		if prev, dup := seen[key]; dup {
			probs.add(file, line, "shorthand %q: already on line %d", rec[0], prev)
			continue
		}
		seen[key] = line
		codes := strings.Fields(rec[1])
		if len(codes) == 0 && !allowEmpty {
			probs.add(file, line, "shorthand %q: codes: none given", rec[0])
			continue
		}
		bad := false
		for _, c := range codes {
			if known == nil {
				continue
			}
			if err := known(c); err != nil {
				probs.add(file, line, "shorthand %q: code %q: %v", rec[0], c, err)
				bad = true
			}
		}
		if bad {
			continue
		}
		meaning := ""
		if len(rec) == 3 {
			meaning = strings.TrimSpace(rec[2])
		}
		out = append(out, Shorthand{Key: key, Codes: codes, Meaning: meaning, Line: line})
	}
	if probs.total > 0 {
		return nil, &RowsError{Rows: probs.rows, Total: probs.total}
	}
	return out, nil
}

// RowsError lists the bad rows of a file read whole or not at all: a shorthand file (not
// used) or a judged query set.
type RowsError struct {
	Rows  []RowError // the first few; Total counts all
	Total int
	What  string // what the file is; "" = shorthand file
}

func (e *RowsError) Error() string {
	var b strings.Builder
	what := e.What
	if what == "" {
		what = "shorthand file"
	}
	fmt.Fprintf(&b, "%s: %d bad row(s)", what, e.Total)
	for _, r := range e.Rows {
		b.WriteString("\n  ")
		b.WriteString(r.Error())
	}
	if e.Total > len(e.Rows) {
		fmt.Fprintf(&b, "\n  … and %d more", e.Total-len(e.Rows))
	}
	return b.String()
}

// shorthandTable is the built-in table merged with the practice's, by normalised key.
type shorthandTable struct {
	rows    map[string]Shorthand
	keys    []string // sorted, for prefix look-ups
	warning string   // the practice file was not used: why
}

// shorthandState caches the table per Terminology.
type shorthandState struct {
	once sync.Once
	tab  *shorthandTable
}

var shorthandStates sync.Map // *Terminology -> *shorthandState

// knownCode says whether code is an active concept of a SNOMED CT or dm+d source.
func (t *Terminology) knownCode(code string) error {
	for _, s := range append(t.sourcesFor(SystemSNOMED), t.sourcesFor(SystemDMD)...) {
		if id, ok := s.id(code); ok {
			if !s.active.has(id) {
				return errors.New("inactive in the terminology in use")
			}
			return nil
		}
	}
	return errors.New("not in the terminology in use")
}

// shorthand returns the merged table (built-in, then the practice's file over it).
func (t *Terminology) shorthand() *shorthandTable {
	v, _ := shorthandStates.LoadOrStore(t, &shorthandState{})
	st := v.(*shorthandState)
	st.once.Do(func() {
		tab := &shorthandTable{rows: map[string]Shorthand{}}
		// built-in rows whose concepts the terminology in use lacks are skipped, not errors:
		// a real release may have retired one (TestShorthandTableResolves holds the
		// embedded default to all of them)
		data, _ := fs.ReadFile(embedded.FS, "shorthand.csv")
		rows, err := parseShorthand(bytes.NewReader(data), "fixtures/embedded/shorthand.csv", nil, true)
		if err != nil {
			tab.warning = err.Error() // TestShorthandTableResolves keeps this from shipping
		} else {
			for _, r := range rows {
				var ok []string
				for _, c := range r.Codes {
					if t.knownCode(c) == nil {
						ok = append(ok, c)
					}
				}
				r.Codes = ok // none: a term the terminology in use lacks (SearchNote)
				tab.rows[r.Key] = r
			}
		}
		if t.dataDir != "" {
			path := filepath.Join(t.dataDir, PracticeShorthandFile)
			if f, err := os.Open(path); err == nil {
				prs, err := parseShorthand(f, path, t.knownCode, false)
				f.Close()
				if err != nil {
					tab.warning = fmt.Sprintf("practice shorthand file not used: %v", err)
				}
				for _, r := range prs {
					r.Practice = true
					tab.rows[r.Key] = r
				}
			}
		}
		for k := range tab.rows {
			tab.keys = append(tab.keys, k)
		}
		sort.Strings(tab.keys)
		st.tab = tab
	})
	return st.tab
}

// Shorthands lists the shorthand table in use (built-in and the practice's), by key, and
// a warning when the practice's file has errors and is therefore not used.
func (t *Terminology) Shorthands() ([]Shorthand, string) {
	tab := t.shorthand()
	out := make([]Shorthand, 0, len(tab.keys))
	for _, k := range tab.keys {
		out = append(out, tab.rows[k])
	}
	return out, tab.warning
}

// CheckShorthand validates a practice shorthand file against the terminology in use: every
// problem is named by file:line (an *ImportError); nil when the file can be used.
func (t *Terminology) CheckShorthand(r io.Reader, name string) ([]Shorthand, error) {
	return parseShorthand(r, name, t.knownCode, false)
}

// lookup finds the row a query means: the whole query as a key (a trailing plural "s"
// dropped when that is what matches).
func (tab *shorthandTable) lookup(q string) (Shorthand, bool) {
	k := shorthandKey(q)
	if k == "" {
		return Shorthand{}, false
	}
	if r, ok := tab.rows[k]; ok {
		return r, true
	}
	if strings.HasSuffix(k, "s") && len(k) > 2 {
		if r, ok := tab.rows[strings.TrimSuffix(k, "s")]; ok {
			return r, true
		}
	}
	return Shorthand{}, false
}

// prefixed lists the colloquial rows (keys of two words or more, or of 6 letters or
// more) that start with the query: "water inf" -> "water infection".
func (tab *shorthandTable) prefixed(q string) []Shorthand {
	k := shorthandKey(q)
	if len(k) < 4 {
		return nil
	}
	i := sort.SearchStrings(tab.keys, k)
	var out []Shorthand
	for ; i < len(tab.keys) && strings.HasPrefix(tab.keys[i], k) && len(out) < 5; i++ {
		key := tab.keys[i]
		if key != k && len(tab.rows[key].Codes) > 0 && (strings.Contains(key, " ") || len(key) >= 6) {
			out = append(out, tab.rows[key])
		}
	}
	return out
}
