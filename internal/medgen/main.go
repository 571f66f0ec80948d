// Command medgen builds the BNF part of the embedded medicines knowledge
// (fixtures/embedded/bnf) from the NHSBSA "BNF Code Information" CSV, the
// embedded dm+d code lists and ingredient table, and the curated files
// beside it. It is run by hand when a source changes:
//
//	go run ./internal/medgen -bnf BNF_CODE_INFORMATION.csv.gz
//
// It writes
//   - substances.csv: every BNF chemical substance the embedded products,
//     the classes and the overrides need, with its dm+d ingredient
//     substances and how they were found (bnf: the name is one dm+d
//     ingredient; bnf-split: a combination's name lists them; curated:
//     overrides.csv), and whether the list is complete;
//   - presentations.csv.gz: those substances' presentations (code, name),
//     with ingredients of their own where the generic presentation's name
//     names more ingredients than the substance (Nurofen Plus is filed
//     under ibuprofen, but "Ibuprofen 200mg / Codeine 12.8mg tablets" names
//     both), or "partial" when it names more than can be matched.
//
// The output is deterministic (sorted), so a re-run with the same inputs
// changes nothing.
package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

type ingredient struct{ code, name string }

func main() {
	bnfPath := flag.String("bnf", "", "NHSBSA BNF Code Information CSV (.csv or .csv.gz)")
	dir := flag.String("dir", "fixtures/embedded", "the embedded fixtures folder")
	flag.Parse()
	if *bnfPath == "" {
		fmt.Fprintln(os.Stderr, "medgen: -bnf is required")
		os.Exit(2)
	}
	if err := run(*bnfPath, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "medgen:", err)
		os.Exit(1)
	}
}

func openMaybeGzip(p string) (io.ReadCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(p, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

type bnfRow struct{ pres, presName, sub, subName string }

func run(bnfPath, dir string) error {
	// dm+d ingredient substances (complete table)
	ings, err := readIngredients(filepath.Join(dir, "dmd"))
	if err != nil {
		return err
	}
	// BNF
	rc, err := openMaybeGzip(bnfPath)
	if err != nil {
		return err
	}
	cr := csv.NewReader(rc)
	head, err := cr.Read()
	if err != nil {
		return err
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	var rows []bnfRow
	subName := map[string]string{}
	presName := map[string]string{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r := bnfRow{rec[col["BNF Presentation Code"]], rec[col["BNF Presentation"]], rec[col["BNF Chemical Substance Code"]], rec[col["BNF Chemical Substance"]]}
		if len(r.pres) != 15 { // chapters 20-23: appliances, no substance
			continue
		}
		rows = append(rows, r)
		subName[r.sub] = r.subName
		presName[r.pres] = r.presName
	}
	rc.Close()

	// Substances needed: every BNF code of the code lists, every VMP of
	// vmps.csv whose name is a BNF presentation's, the classes, the overrides.
	need := map[string]bool{}
	needPres := map[string]bool{}
	byName := map[string]string{}
	for _, r := range rows {
		if r.pres[9:11] == "AA" {
			byName[strings.ToLower(r.presName)] = r.pres
		}
	}
	lists, _ := filepath.Glob(filepath.Join(dir, "dmd-codelists", "*.csv*"))
	for _, p := range lists {
		if err := eachCodelistRow(p, func(bnf, name string) {
			if len(bnf) >= 9 {
				need[bnf[:9]] = true
				needPres[bnf] = true
			} else if pc, ok := byName[strings.ToLower(name)]; ok {
				need[pc[:9]] = true
				needPres[pc] = true
			}
		}); err != nil {
			return err
		}
	}
	overrides, err := readOverrides(filepath.Join(dir, "bnf", "overrides.csv"))
	if err != nil {
		return err
	}
	for c := range overrides {
		need[c[:9]] = true
		if len(c) == 15 {
			needPres[c] = true // a presentation-level override (a product under a BNF grouping)
		}
	}
	if cls, err := os.ReadFile(filepath.Join(dir, "bnf", "classes.yaml")); err == nil {
		var cf struct {
			Classes map[string]struct {
				BNF []string `yaml:"bnf"`
			} `yaml:"classes"`
		}
		if err := yaml.Unmarshal(cls, &cf); err != nil {
			return fmt.Errorf("classes.yaml: %w", err)
		}
		for name, c := range cf.Classes {
			for _, b := range c.BNF {
				if _, ok := subName[b]; !ok {
					return fmt.Errorf("classes.yaml: class %s: %s is no BNF chemical substance", name, b)
				}
				need[b] = true
			}
		}
	}

	// Substances -> ingredients.
	type subOut struct {
		code, name, how string
		ings            []ingredient
		complete        bool
	}
	var subs []subOut
	subIngs := map[string]subOut{}
	var unresolved []string
	for code := range need {
		name, ok := subName[code]
		if !ok && !overridden(overrides, code) {
			continue // not a BNF chemical substance (a code list's placeholder)
		}
		if !ok {
			// A grouping code the BNF file does not list, with a product whose
			// presentation is curated: kept so that product can be filed.
			name = "(a BNF grouping the NHSBSA file does not list)"
		}
		s := subOut{code: code, name: name}
		if o, ok := overrides[code]; ok {
			s.ings, err = o.resolve(code, ings)
			if err != nil {
				return err
			}
			s.how, s.complete = "curated", !o.partial
		} else {
			parts, split, complete := splitSubstance(name)
			all := true
			for _, p := range parts {
				ing, ok := ings.find(p)
				if !ok {
					all = false
					break
				}
				s.ings = append(s.ings, ing)
			}
			if !all {
				// A BNF grouping ("Other ... preparations", code ending 00) or a
				// name no ingredient matches: kept without ingredients, so a
				// product under it is unverified unless its presentation's name
				// names them.
				s.ings, s.how, s.complete = nil, "unresolved", false
				if code[7:9] == "00" {
					s.how = "grouping"
				} else {
					unresolved = append(unresolved, code+" "+name)
				}
				subs = append(subs, s)
				subIngs[code] = s
				continue
			}
			s.how, s.complete = "bnf", complete
			if split {
				s.how = "bnf-split"
			}
		}
		subs = append(subs, s)
		subIngs[code] = s
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].code < subs[j].code })
	sort.Strings(unresolved)

	// Presentations of the needed substances; per-presentation ingredients
	// where the generic presentation names more than the substance.
	type presOut struct {
		code, name, how string
		ings            []ingredient
		partial         bool
	}
	var pres []presOut
	for _, r := range rows {
		s, ok := subIngs[r.sub]
		if !ok {
			continue
		}
		po := presOut{code: r.pres, name: r.presName}
		if o, ok := overrides[r.pres]; ok {
			// A product under a BNF grouping ("Other ... preparations"): its
			// ingredients are curated presentation by presentation.
			got, err := o.resolve(r.pres, ings)
			if err != nil {
				return err
			}
			po.ings, po.how, po.partial = got, "curated", o.partial
			pres = append(pres, po)
			continue
		}
		generic := r.pres[:9] + "AA" + r.pres[13:15] + r.pres[13:15]
		gname := presName[generic]
		if gname == "" {
			gname = r.presName
		}
		segs := strings.Split(gname, " / ")
		if len(segs) > len(s.ings) || !s.complete {
			var got []ingredient
			for _, seg := range segs {
				if ing, ok := ings.leading(seg, s.ings); ok {
					got = append(got, ing)
				}
			}
			switch {
			case len(got) == len(segs) && len(segs) > 1:
				po.ings, po.how = got, "bnf-presentation"
			case len(segs) > len(s.ings) && len(s.ings) > 0:
				po.partial = true
			}
		}
		if po.how == "" && !po.partial && !needPres[r.pres] && r.pres[9:11] != "AA" {
			continue // a brand presentation no embedded product uses: its substance row says it all
		}
		pres = append(pres, po)
	}
	for code, o := range overrides {
		if len(code) != 15 || presName[code] != "" {
			continue
		}
		// A presentation the BNF file does not list: named from the override's reason.
		got, err := o.resolve(code, ings)
		if err != nil {
			return err
		}
		name, _, _ := strings.Cut(o.reason, ":")
		pres = append(pres, presOut{code: code, name: name, how: "curated", ings: got, partial: o.partial})
	}
	sort.Slice(pres, func(i, j int) bool { return pres[i].code < pres[j].code })

	// Write.
	out := filepath.Join(dir, "bnf")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(out, "substances.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"bnf_code", "bnf_name", "ingredients", "how", "complete"})
	for _, s := range subs {
		w.Write([]string{s.code, s.name, joinIngs(s.ings), s.how, yn(s.complete)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	f.Close()
	g, err := os.Create(filepath.Join(out, "presentations.csv.gz"))
	if err != nil {
		return err
	}
	z, _ := gzip.NewWriterLevel(g, gzip.BestCompression)
	w = csv.NewWriter(z)
	w.Write([]string{"bnf_code", "bnf_name", "ingredients", "how", "partial"})
	for _, p := range pres {
		w.Write([]string{p.code, p.name, joinIngs(p.ings), p.how, yn(p.partial)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	z.Close()
	g.Close()
	fmt.Printf("%d substances, %d presentations written; %d substances unresolved (add them to overrides.csv):\n", len(subs), len(pres), len(unresolved))
	for _, u := range unresolved {
		fmt.Println("  " + u)
	}
	return nil
}

func yn(b bool) string {
	if b {
		return "y"
	}
	return "n"
}

func joinIngs(is []ingredient) string {
	var parts []string
	for _, i := range is {
		parts = append(parts, i.code+" "+i.name)
	}
	return strings.Join(parts, "|")
}

var (
	coName    = regexp.MustCompile(`(?i)^co-[a-z]+\s*\((.*)\)$`)
	qualifier = regexp.MustCompile(`\s*\([^()]*\)$`)
	withWords = regexp.MustCompile(`(?i)^(.*?) (with|combined preparations|compound)( .*)?$`)
)

// splitSubstance names a BNF chemical substance's components: a co- name's
// bracketed list, "A and B", "A/B"; "A with B" (B a class, not a substance)
// and "A combined preparations" give A only, incomplete.
func splitSubstance(name string) (parts []string, split, complete bool) {
	name = strings.TrimSpace(name)
	if m := coName.FindStringSubmatch(name); m != nil {
		return splitList(m[1]), true, true
	}
	name = strings.TrimSpace(qualifier.ReplaceAllString(name, ""))
	if m := withWords.FindStringSubmatch(name); m != nil {
		return []string{m[1]}, false, false
	}
	if strings.Contains(name, " and ") || strings.Contains(name, "/") {
		return splitList(name), true, true
	}
	return []string{name}, false, true
}

func splitList(s string) []string {
	var out []string
	for _, a := range strings.Split(s, " and ") {
		for _, b := range strings.Split(a, "/") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// ingredientTable is dm+d's ingredient substances by lower-case name.
type ingredientTable struct {
	byName   map[string]ingredient
	maxWords int
}

// aliases are BNF spellings of dm+d ingredient names (BNF keeps some
// pre-2003 British names and abbreviations).
var aliases = map[string]string{
	"frusemide": "furosemide", "beclometdiprop": "beclometasone dipropionate", "ins degludec": "insulin degludec",
	"sodium tetradecyl sulphate": "sodium tetradecyl sulfate", "certoparin sodium sodium": "certoparin sodium",
	"trimethoprim": "trimethoprim",
}

func (t ingredientTable) exact(name string) (ingredient, bool) {
	i, ok := t.byName[strings.ToLower(strings.TrimSpace(name))]
	return i, ok
}

// find: the name itself, an alias, or the one salt of it ("Amiloride" ->
// "Amiloride hydrochloride" only when there is exactly one).
func (t ingredientTable) find(name string) (ingredient, bool) {
	l := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[l]; ok {
		l = a
	}
	if i, ok := t.byName[l]; ok {
		return i, true
	}
	var cands []ingredient
	for n, i := range t.byName {
		if strings.HasPrefix(n, l+" ") {
			cands = append(cands, i)
		}
	}
	if len(cands) == 1 {
		return cands[0], true
	}
	return ingredient{}, false
}

// leading matches the longest run of a presentation segment's leading words
// that names an ingredient ("Codeine 12.8mg tablets" -> Codeine).
//
// A base name without its salt ("Losartan 50mg" for losartan potassium)
// takes the substance's own ingredient of that base, else the shortest
// ingredient named base + salt (the salt does not change what the checks
// compare: the base).
func (t ingredientTable) leading(seg string, own []ingredient) (ingredient, bool) {
	words := strings.Fields(strings.ToLower(seg))
	for k := min(len(words), t.maxWords); k > 0; k-- {
		name := strings.Join(words[:k], " ")
		if a, ok := aliases[name]; ok {
			name = a
		}
		if i, ok := t.byName[name]; ok {
			return i, true
		}
	}
	for k := min(len(words), 3); k > 0; k-- {
		name := strings.Join(words[:k], " ")
		for _, o := range own {
			if strings.HasPrefix(strings.ToLower(o.name), name+" ") {
				return o, true
			}
		}
		var best ingredient
		for n, i := range t.byName {
			if strings.HasPrefix(n, name+" ") && (best.code == "" || len(i.name) < len(best.name) || (len(i.name) == len(best.name) && i.name < best.name)) {
				best = i
			}
		}
		if best.code != "" {
			return best, true
		}
	}
	return ingredient{}, false
}

func readIngredients(dmdDir string) (ingredientTable, error) {
	t := ingredientTable{byName: map[string]ingredient{}}
	files, _ := filepath.Glob(filepath.Join(dmdDir, "f_ingredient2_*.xml"))
	if len(files) != 1 {
		return t, fmt.Errorf("want one f_ingredient2 file in %s", dmdDir)
	}
	f, err := os.Open(files[0])
	if err != nil {
		return t, err
	}
	defer f.Close()
	var doc struct {
		ING []struct {
			ISID, NM, INVALID string
		} `xml:"ING"`
	}
	if err := xml.NewDecoder(f).Decode(&doc); err != nil {
		return t, err
	}
	for _, r := range doc.ING {
		if r.INVALID == "1" {
			continue
		}
		n := strings.ToLower(r.NM)
		t.byName[n] = ingredient{r.ISID, r.NM}
		t.maxWords = max(t.maxWords, len(strings.Fields(n)))
	}
	return t, nil
}

type override struct {
	ingredients []string
	partial     bool
	reason      string
}

// overridden reports an override of a presentation under the substance code.
func overridden(o map[string]override, sub string) bool {
	for c := range o {
		if len(c) == 15 && c[:9] == sub {
			return true
		}
	}
	return false
}

// resolve names an override's dm+d ingredients ("-": a device, none).
func (o override) resolve(code string, ings ingredientTable) ([]ingredient, error) {
	out := []ingredient{}
	for _, n := range o.ingredients {
		if n == "-" {
			continue // a device: no active ingredient
		}
		if name, ok := strings.CutPrefix(n, "~"); ok {
			// Named by the BNF, newer than the embedded dm+d ingredient table:
			// no SNOMED code here; checks match it by name.
			if _, dup := ings.exact(name); dup {
				return nil, fmt.Errorf("overrides.csv: %s: %q is a dm+d ingredient: drop the ~", code, name)
			}
			out = append(out, ingredient{name: name})
			continue
		}
		ing, ok := ings.exact(n)
		if !ok {
			return nil, fmt.Errorf("overrides.csv: %s: %q is no dm+d ingredient", code, n)
		}
		out = append(out, ing)
	}
	return out, nil
}

// overrides.csv: bnf_code (a 9-character chemical substance, or a
// 15-character presentation filed under a grouping),ingredients (dm+d names,
// ; between; ~Name for a substance newer than the dm+d ingredient table),
// partial (y/n),reason
func readOverrides(p string) (map[string]override, error) {
	out := map[string]override{}
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	for i, r := range recs[1:] {
		if len(r) < 4 || r[0] == "" || r[1] == "" || strings.TrimSpace(r[3]) == "" {
			return nil, fmt.Errorf("%s:%d: bnf_code, ingredients and reason are required", p, i+2)
		}
		if len(r[0]) != 9 && len(r[0]) != 15 {
			return nil, fmt.Errorf("%s:%d: bnf_code %q: want a 9-character substance or a 15-character presentation", p, i+2, r[0])
		}
		out[r[0]] = override{strings.Split(r[1], ";"), r[2] == "y", r[3]}
	}
	return out, nil
}

// eachCodelistRow calls fn with each row's BNF code and name.
func eachCodelistRow(p string, fn func(bnf, name string)) error {
	rc, err := openMaybeGzip(p)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return err
	}
	bi, ni := -1, -1
	for i, h := range head {
		switch strings.ToLower(h) {
		case "bnf_code":
			bi = i
		case "nm", "dmd_name", "term":
			if ni < 0 {
				ni = i
			}
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		b, n := "", ""
		if bi >= 0 {
			b = rec[bi]
		}
		if ni >= 0 {
			n = rec[ni]
		}
		fn(strings.TrimSpace(b), strings.TrimSpace(n))
	}
}
