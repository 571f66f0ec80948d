package terminology

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// pipeFile reads a CTV3 pipe-delimited file: every row must have at least min fields.
func pipeFile(f inputFile, min int, probs *problems, fn func(fields []string, line int)) error {
	rc, err := f.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	lr := newLineReader(rc)
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(line) == 0 {
			continue
		}
		fields := strings.Split(string(line), "|")
		if len(fields) < min {
			probs.add(f.name, lr.line, "%d fields, want at least %d", len(fields), min)
			continue
		}
		fn(fields, lr.line)
	}
}

func findFiles(files []inputFile, names ...string) map[string][]inputFile {
	out := map[string][]inputFile{}
	for _, f := range files {
		for _, n := range names {
			if strings.EqualFold(f.base, n) {
				out[n] = append(out[n], f)
			}
		}
	}
	return out
}

// ImportCTV3 imports a CTV3 release (V3/Concept.v3, Descrip.v3, Terms.v3, V3hier.v3), a folder
// or the release zip. Concepts with status R (redundant) or E (extinct) are inactive.
func (t *Terminology) ImportCTV3(path string) (SourceInfo, error) {
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return SourceInfo{}, err
	}
	r, err := buildCTV3(path)
	if err != nil {
		return SourceInfo{}, err
	}
	return t.install(r)
}

// buildCTV3 reads and checks the CTV3 files (the parser, apart from the
// store, so it can be fuzzed on its own).
func buildCTV3(path string) (*release, error) {
	in, err := collectInputs([]string{path})
	if err != nil {
		return nil, err
	}
	defer in.Close()
	ff := findFiles(in.files, "Concept.v3", "Descrip.v3", "Terms.v3", "V3hier.v3")
	for _, n := range []string{"Concept.v3", "Descrip.v3", "Terms.v3", "V3hier.v3"} {
		if len(ff[n]) != 1 {
			return nil, fmt.Errorf("import ctv3: want exactly one %s in %s, found %d", n, path, len(ff[n]))
		}
	}
	probs := &problems{}
	b := newBuilder()
	type term struct{ t30, t60, t198 string }
	terms := map[string]term{}
	status := map[string]string{}
	run := func(name string, min int, fn func([]string, int)) {
		f := ff[name][0]
		if err := pipeFile(f, min, probs, func(fields []string, line int) { fn(fields, line) }); err != nil {
			probs.add(f.name, 0, "%v", err)
		}
	}
	cf := ff["Concept.v3"][0].name
	run("Concept.v3", 2, func(fl []string, line int) {
		code := fl[0]
		if len(code) != 5 {
			probs.add(cf, line, "concept id %q is not 5 characters", code)
			return
		}
		st := fl[1]
		switch st {
		case "C", "O", "R", "E":
		default:
			probs.add(cf, line, "status %q is not C, O, R or E", st)
			return
		}
		c := b.concept(code)
		c.Active = st == "C" || st == "O"
		c.Kind = map[string]string{"C": "current", "O": "optional", "R": "redundant", "E": "extinct"}[st]
		status[code] = st
	})
	tf := ff["Terms.v3"][0].name
	run("Terms.v3", 3, func(fl []string, line int) {
		if len(fl[0]) != 5 {
			probs.add(tf, line, "term id %q is not 5 characters", fl[0])
			return
		}
		tm := term{t30: fl[2]}
		if len(fl) > 3 {
			tm.t60 = fl[3]
		}
		if len(fl) > 4 {
			tm.t198 = fl[4]
		}
		terms[fl[0]] = tm
	})
	longest := func(tm term) string {
		for _, s := range []string{tm.t198, tm.t60, tm.t30} {
			if s != "" {
				return s
			}
		}
		return ""
	}
	df := ff["Descrip.v3"][0].name
	run("Descrip.v3", 3, func(fl []string, line int) {
		code, tid, typ := fl[0], fl[1], fl[2]
		if _, ok := status[code]; !ok {
			probs.add(df, line, "concept %q is not in Concept.v3", code)
			return
		}
		tm, ok := terms[tid]
		if !ok {
			probs.add(df, line, "term %q is not in Terms.v3", tid)
			return
		}
		switch typ {
		case "P":
			c := b.concept(code)
			if c.PT != "" {
				b.addSynonym(code, c.PT)
			}
			c.PT = longest(tm)
		case "S":
			b.addSynonym(code, longest(tm))
		default:
			probs.add(df, line, "term type %q is not P or S", typ)
		}
	})
	hf := ff["V3hier.v3"][0].name
	links := 0
	run("V3hier.v3", 2, func(fl []string, line int) {
		if _, ok := status[fl[0]]; !ok {
			probs.add(hf, line, "child %q is not in Concept.v3", fl[0])
			return
		}
		if _, ok := status[fl[1]]; !ok {
			probs.add(hf, line, "parent %q is not in Concept.v3", fl[1])
			return
		}
		b.addParent(fl[0], fl[1])
		links++
	})
	if err := probs.err(SourceCTV3); err != nil {
		return nil, err
	}
	return b.build(SourceCTV3, SourceInfo{System: SystemCTV3, Release: releaseName(path), Files: []string{path},
		Counts:      map[string]int{"terms": len(terms), "hierarchyRows": links},
		Licence:     "Open Government Licence v3.0 (Crown copyright, NHS England; via TRUD)",
		Attribution: "Clinical Terms Version 3 (CTV3, Read codes) © Crown copyright, NHS England, licensed under the Open Government Licence v3.0."}), nil
}

func releaseName(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// readV2Parent is the positional parent of a Read v2 code: "H3300" -> "H330.", "H33.." -> "H3...".
func readV2Parent(code string) string {
	i := strings.IndexByte(code, '.')
	if i < 0 {
		i = len(code)
	}
	if i == 0 {
		return ""
	}
	return code[:i-1] + strings.Repeat(".", len(code)-i+1)
}

// ImportRead2 imports Read v2 in the Unified layout (V2/Unified/Corev2.all and, when present,
// Keyv2.all for synonyms): comma-separated, double-quoted. The hierarchy is positional.
func (t *Terminology) ImportRead2(path string) (SourceInfo, error) {
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return SourceInfo{}, err
	}
	r, err := buildRead2(path)
	if err != nil {
		return SourceInfo{}, err
	}
	return t.install(r)
}

// buildRead2 reads and checks the Read v2 files (the parser, apart from the store).
func buildRead2(path string) (*release, error) {
	in, err := collectInputs([]string{path})
	if err != nil {
		return nil, err
	}
	defer in.Close()
	ff := findFiles(in.files, "Corev2.all", "Keyv2.all")
	if len(ff["Corev2.all"]) != 1 {
		return nil, fmt.Errorf("import read2: want exactly one Corev2.all in %s, found %d", path, len(ff["Corev2.all"]))
	}
	probs := &problems{}
	b := newBuilder()
	b.concept(".....").PT = "Read thesaurus"
	readCSV := func(f inputFile, min int, fn func(rec []string, line int)) {
		rc, err := f.open()
		if err != nil {
			probs.add(f.name, 0, "%v", err)
			return
		}
		defer rc.Close()
		cr := csv.NewReader(rc)
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					probs.add(f.name, pe.Line, "%v", pe.Err)
					return
				}
				probs.add(f.name, 0, "%v", err)
				return
			}
			line, _ := cr.FieldPos(0)
			if len(rec) < min {
				probs.add(f.name, line, "%d columns, want at least %d", len(rec), min)
				continue
			}
			fn(rec, line)
		}
	}
	best := func(t30, t60, t198 string) string {
		for _, s := range []string{t198, t60, t30} {
			if strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
		}
		return ""
	}
	validCode := func(code string) bool {
		if len(code) != 5 {
			return false
		}
		for i := 0; i < 5; i++ {
			if !isCodeByte(code[i]) {
				return false
			}
		}
		return true
	}
	core := ff["Corev2.all"][0]
	readCSV(core, 4, func(rec []string, line int) {
		code := rec[0]
		if len(code) == 7 { // code + term code
			code = code[:5]
		}
		if !validCode(code) {
			probs.add(core.name, line, "read code %q is not 5 characters", rec[0])
			return
		}
		term := best(rec[1], rec[2], rec[3])
		if term == "" {
			probs.add(core.name, line, "read code %s has no term", code)
			return
		}
		c := b.concept(code)
		if c.PT != "" && c.PT != term {
			b.addSynonym(code, term)
		} else {
			c.PT = term
		}
	})
	if ks := ff["Keyv2.all"]; len(ks) == 1 {
		readCSV(ks[0], 8, func(rec []string, line int) {
			code := rec[7]
			if _, ok := b.recs[code]; !ok {
				return // keyword rows for codes outside the core file (drugs, other chapters)
			}
			b.addSynonym(code, best(rec[2], rec[3], rec[4]))
		})
	}
	if err := probs.err(SourceRead2); err != nil {
		return nil, err
	}
	for code := range b.recs {
		if code == "....." {
			continue
		}
		p := readV2Parent(code)
		for p != "" {
			if _, ok := b.recs[p]; ok {
				break
			}
			p = readV2Parent(p)
		}
		if p == "" {
			p = "....."
		}
		b.addParent(code, p)
	}
	return b.build(SourceRead2, SourceInfo{System: SystemRead2, Release: releaseName(path), Files: []string{path},
		Licence:     "Open Government Licence v3.0 (Crown copyright, NHS England; via TRUD)",
		Attribution: "Read Codes version 2 © Crown copyright, NHS England, licensed under the Open Government Licence v3.0."}), nil
}

// ImportReadMap imports the NHS Data Migration maps Read v2 → SNOMED (rcsctmap2_uk_*.txt) and
// CTV3 → SNOMED (ctv3sctmap2_uk_*.txt): tab-separated with a header row. The latest row per
// map id counts; inactive rows (MapStatus 0) and `_DRUG` targets (map those via dm+d) are skipped.
func (t *Terminology) ImportReadMap(paths ...string) (SourceInfo, error) {
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return SourceInfo{}, err
	}
	in, err := collectInputs(paths)
	if err != nil {
		return SourceInfo{}, err
	}
	defer in.Close()
	probs := &problems{}
	type row struct {
		sys, legacy, termID, concept, desc, eff, status string
		assured                                         bool
	}
	latest := map[string]row{}
	files := 0
	drug := 0
	for _, f := range in.files {
		lb := strings.ToLower(f.base)
		var sys string
		var cols []string
		switch {
		case strings.HasPrefix(lb, "rcsctmap2_uk"):
			sys = SystemRead2
			cols = []string{"mapid", "readcode", "termcode", "conceptid", "descriptionid", "is_assured", "effectivedate", "mapstatus"}
		case strings.HasPrefix(lb, "ctv3sctmap2_uk"):
			sys = SystemCTV3
			cols = []string{"mapid", "ctv3_conceptid", "ctv3_termid", "sct_conceptid", "sct_descriptionid", "is_assured", "effectivedate", "mapstatus"}
		default:
			continue
		}
		files++
		rc, err := f.open()
		if err != nil {
			return SourceInfo{}, fmt.Errorf("import read-map: %w", err)
		}
		lr := newLineReader(rc)
		var idx []int
		for {
			line, err := lr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rc.Close()
				return SourceInfo{}, fmt.Errorf("import read-map %s: %w", f.name, err)
			}
			if len(line) == 0 {
				continue
			}
			fields := strings.Split(string(line), "\t")
			if idx == nil {
				pos := map[string]int{}
				for i, h := range fields {
					pos[strings.ToLower(strings.TrimSpace(h))] = i
				}
				for _, c := range cols {
					i, ok := pos[c]
					if !ok {
						probs.add(f.name, lr.line, "header lacks column %s", strings.ToUpper(c))
						idx = []int{}
						break
					}
					idx = append(idx, i)
				}
				if len(idx) != len(cols) {
					break
				}
				continue
			}
			if len(fields) < len(cols) {
				probs.add(f.name, lr.line, "%d columns, want %d", len(fields), len(cols))
				continue
			}
			get := func(k int) string { return strings.TrimSpace(fields[idx[k]]) }
			r := row{sys: sys, legacy: get(1), termID: get(2), concept: get(3), desc: get(4), eff: get(6), status: get(7)}
			r.assured = get(5) == "1"
			if r.status != "0" && r.status != "1" {
				probs.add(f.name, lr.line, "map status %q is not 0 or 1", r.status)
				continue
			}
			if len(r.legacy) != 5 {
				probs.add(f.name, lr.line, "legacy code %q is not 5 characters", r.legacy)
				continue
			}
			if r.concept != "_DRUG" {
				if _, ok := parseUint([]byte(r.concept)); !ok {
					probs.add(f.name, lr.line, "SNOMED concept %q is not an SCTID", r.concept)
					continue
				}
			}
			key := sys + "|" + get(0)
			if old, ok := latest[key]; !ok || r.eff >= old.eff {
				latest[key] = r
			}
		}
		rc.Close()
	}
	if err := probs.err(SourceReadMap); err != nil {
		return SourceInfo{}, err
	}
	if files == 0 {
		return SourceInfo{}, fmt.Errorf("import read-map: no rcsctmap2_uk or ctv3sctmap2_uk file in %s", strings.Join(paths, ", "))
	}
	maps := map[string][]Mapping{}
	rows := 0
	for _, r := range latest {
		if r.status != "1" {
			continue
		}
		if r.concept == "_DRUG" {
			drug++
			continue
		}
		key := r.sys + "|" + r.legacy
		dup := false
		for i, m := range maps[key] {
			if m.Code == r.concept {
				maps[key][i].Assured = m.Assured || r.assured
				dup = true
			}
		}
		if !dup {
			maps[key] = append(maps[key], Mapping{Code: r.concept, DescriptionID: r.desc, LegacyTermID: r.termID, Assured: r.assured})
		}
		rows++
	}
	rel := &release{name: SourceReadMap, maps: maps, refsets: map[string][]uint32{}}
	rel.info = SourceInfo{Release: releaseName(paths[0]), Files: paths,
		Counts:      map[string]int{"activeMapRows": rows, "drugRowsSkipped": drug},
		Licence:     "NHS Data Migration maps: SNOMED CT Affiliate Licence / TRUD terms (contain SNOMED CT ids)",
		Attribution: "Read to SNOMED CT maps from the NHS Data Migration release, NHS England, distributed via TRUD."}
	return t.install(rel)
}
