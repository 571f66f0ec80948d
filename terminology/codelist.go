package terminology

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// codelistRow is one member of a code-list CSV.
type codelistRow struct {
	code, term, kind, prev string
	bnf                    string // BNF presentation code, when the list has one (a brand shares its generic's)
	line                   int
}

type codelistFile struct {
	system string
	rows   []codelistRow
	header []string
}

// Column-name variants used by OpenCodelists and the studies that publish its lists.
var (
	codeColumns = []string{"code", "dmd_id", "id", "ctv3id", "ctv3code", "snomed_id", "snomedcode", "conceptid", "vpid", "read_code", "readcode"}
	termColumns = []string{"term", "dmd_name", "nm", "name", "description", "ctv3preferredtermdesc", "readterm/ctv3preferredtermdesc", "bnf_name", "display"}
	typeColumns = []string{"dmd_type", "type", "obj_type"}
)

func readCodelist(r io.Reader, name string) (*codelistFile, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s:1: cannot read header: %w", name, err)
	}
	pos := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
	pick := func(cands []string) int {
		for _, c := range cands {
			if i, ok := pos[c]; ok {
				return i
			}
		}
		return -1
	}
	ci, ti, ki, pi := pick(codeColumns), pick(termColumns), pick(typeColumns), pick([]string{"vpidprev"})
	bi := pick([]string{"bnf_code"})
	if ci < 0 {
		return nil, &ImportError{Source: "codelist", Total: 1, Rows: []RowError{{File: name, Line: 1,
			Reason: fmt.Sprintf("no code column (want one of %s)", strings.Join(codeColumns, ", "))}}}
	}
	out := &codelistFile{header: header}
	probs := &problems{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				probs.add(name, pe.Line, "%v", pe.Err)
				continue
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		code := strings.TrimSpace(rec[ci])
		if code == "" {
			probs.add(name, line, "empty code")
			continue
		}
		row := codelistRow{code: code, line: line}
		if ti >= 0 {
			row.term = strings.TrimSpace(rec[ti])
		}
		if ki >= 0 {
			row.kind = strings.ToUpper(strings.TrimSpace(rec[ki]))
		}
		if pi >= 0 {
			row.prev = strings.TrimSpace(rec[pi])
		}
		if bi >= 0 && bi < len(rec) {
			row.bnf = strings.TrimSpace(rec[bi])
		}
		out.rows = append(out.rows, row)
	}
	if err := probs.err("codelist"); err != nil {
		return nil, err
	}
	out.system = detectSystem(header, out.rows)
	return out, nil
}

var digits = regexp.MustCompile(`^[0-9]{1,18}$`)

func detectSystem(header []string, rows []codelistRow) string {
	h := strings.ToLower(strings.Join(header, ","))
	switch {
	case strings.Contains(h, "ctv3"):
		return SystemCTV3
	case strings.Contains(h, "dmd") || strings.Contains(h, "vpid") || strings.Contains(h, "bnf_code"):
		return SystemDMD
	case strings.Contains(h, "read"):
		return SystemRead2
	}
	allDigits := true
	for _, r := range rows {
		if r.kind == "VMP" || r.kind == "AMP" || r.kind == "VTM" {
			return SystemDMD
		}
		if !digits.MatchString(r.code) {
			allDigits = false
		}
	}
	if allDigits {
		return SystemSNOMED
	}
	return SystemCTV3 // 5-character codes in OpenCodelists are CTV3 unless the header says Read
}

var codelistName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ImportCodelist stores a code list CSV under name (replacing a list of that name). The code
// column, term column and system are found from OpenCodelists' header variants (code, id,
// dmd_id, CTV3ID, term, name, dmd_name, nm…).
func (t *Terminology) ImportCodelist(name, file string) (SourceInfo, error) {
	if !codelistName.MatchString(name) {
		return SourceInfo{}, &ValueError{Field: "code list name", Value: name, Reason: "use letters, digits, '.', '_' or '-'"}
	}
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return SourceInfo{}, err
	}
	f, err := os.Open(file)
	if err != nil {
		return SourceInfo{}, fmt.Errorf("import codelist %s: %w", name, err)
	}
	defer f.Close()
	cl, err := readCodelist(f, file)
	if err != nil {
		return SourceInfo{}, err
	}
	known := 0
	seen := map[string]bool{}
	for _, s := range t.sourcesFor(cl.system) {
		for _, r := range cl.rows {
			if _, ok := s.id(r.code); ok && !seen[r.code] {
				seen[r.code] = true
				known++
			}
		}
	}
	info := SourceInfo{System: cl.system, Release: releaseName(file), Files: []string{file},
		Counts:      map[string]int{"rows": len(cl.rows), "knownInLoadedReleases": known},
		Licence:     "as published with the code list (OpenCodelists lists: see their page; codes belong to their code system)",
		Attribution: "Code list " + name + " imported from " + file}
	return t.install(codelistRelease(name, cl, info))
}

// Codelists lists the names of the imported code lists.
func (t *Terminology) Codelists() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for n := range t.sources {
		if strings.HasPrefix(n, codelistPrefix) {
			out = append(out, strings.TrimPrefix(n, codelistPrefix))
		}
	}
	sort.Strings(out)
	return out
}

// Codelist returns a code list's system and members (code and the term given in the file).
func (t *Terminology) Codelist(name string) (string, []CodeTerm, error) {
	s := t.source(codelistPrefix + name)
	if s == nil {
		return "", nil, &NotFoundError{System: "codelist", Code: name}
	}
	return s.info.System, s.codeTerms(t.db, s.members(allBits(s.n()))), nil
}

// RemoveCodelist deletes an imported code list.
func (t *Terminology) RemoveCodelist(name string) error {
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	if t.source(codelistPrefix+name) == nil {
		return &NotFoundError{System: "codelist", Code: name}
	}
	if err := t.db.remove(codelistPrefix + name); err != nil {
		return err
	}
	return t.reload()
}

func allBits(n int) bitset {
	b := newBitset(n)
	for i := 0; i < n; i++ {
		b.set(uint32(i))
	}
	return b
}
