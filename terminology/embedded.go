package terminology

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/fixtures/embedded"
	bolt "go.etcd.io/bbolt"
)

var embeddedVersionOnce = sync.OnceValue(func() string {
	h := sha256.New()
	_ = fs.WalkDir(embedded.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := embedded.FS.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		return nil
	})
	h.Write([]byte("builder-v1"))
	return "embedded-" + hex.EncodeToString(h.Sum(nil))[:12]
})

// ensureEmbedded builds the embedded default into the file for every source that was never
// imported, or whose embedded rows came from a different binary's files.
// embeddedNeeded reports whether ensureEmbedded has work to do.
func (t *Terminology) embeddedNeeded() bool {
	ptrs, err := t.db.pointers()
	if err != nil {
		return true
	}
	version := embeddedVersionOnce()
	for _, name := range []string{SourceSNOMED, SourceDMD} {
		gen, ok := ptrs[name]
		if !ok {
			return true
		}
		info, err := t.db.meta(gen)
		if err != nil || (info.Embedded && info.Release != version) {
			return true
		}
	}
	stale, err := t.refPackStale(ptrs)
	return err != nil || len(stale) > 0
}

func (t *Terminology) ensureEmbedded() error {
	ptrs, err := t.db.pointers()
	if err != nil {
		return err
	}
	version := embeddedVersionOnce()
	need := false
	for _, name := range []string{SourceSNOMED, SourceDMD} {
		gen, ok := ptrs[name]
		if !ok {
			need = true
			continue
		}
		info, err := t.db.meta(gen)
		if err != nil {
			return err
		}
		if info.Embedded && info.Release != version {
			need = true
		}
	}
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.ensureRefPack(ptrs); err != nil {
		return fmt.Errorf("load the UK reference pack: %w", err)
	}
	if !need {
		return nil
	}
	sn, dm, err := buildEmbedded(version)
	if err != nil {
		return fmt.Errorf("build embedded terminology: %w", err)
	}
	for _, r := range []*release{sn, dm} {
		gen, ok := ptrs[r.name]
		if ok {
			info, err := t.db.meta(gen)
			if err != nil {
				return err
			}
			if !info.Embedded || info.Release == version {
				continue // a real release was imported, or already current
			}
		}
		r.info.Name = r.name
		replaced, err := t.db.write(r)
		if err != nil {
			return err
		}
		t.db.dropGeneration(replaced) // nothing is loaded yet: no reader can hold it
	}
	return nil
}

func (d *db) meta(gen string) (SourceInfo, error) {
	var info SourceInfo
	err := d.view(func(tx *bolt.Tx) error {
		g, err := genBucket(tx, gen)
		if err != nil {
			return err
		}
		return json.Unmarshal(g.Get(keyMeta), &info)
	})
	return info, err
}

func embeddedFiles(dir string) []inputFile {
	entries, _ := fs.ReadDir(embedded.FS, dir)
	var out []inputFile
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		base := strings.TrimSuffix(e.Name(), ".gz")
		out = append(out, inputFile{name: "fixtures/embedded/" + p, base: base, open: func() (io.ReadCloser, error) {
			return openEmbedded(p)
		}})
	}
	return out
}

// openEmbedded opens an embedded file, uncompressing a .gz one (the large code lists).
func openEmbedded(p string) (io.ReadCloser, error) {
	f, err := embedded.FS.Open(p)
	if err != nil || !strings.HasSuffix(p, ".gz") {
		return f, err
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// IPS value set -> the top-level concept its definition is constrained to (README.md).
var ipsParent = map[string]string{
	"procedures-snomed-ct-ips-free-set.tsv":               "71388002",
	"results-microorganism-snomed-ct-ips-free-set.tsv":    "410607006",
	"results-specimen-type-snomed-ct-ips-free-set.tsv":    "123038009",
	"medical-devices-snomed-ct-ips-free-set.tsv":          "49062001",
	"vaccines-snomed-ct-ips-free-set.tsv":                 "787859002",
	"target-diseases-snomed-ct-ips-free-set.tsv":          "64572001",
	"results-presence-absence-snomed-ct-ips-free-set.tsv": "362981000",
	"results-blood-group-snomed-ct-ips-free-set.tsv":      "404684003",
}

var (
	allergyFindingTerm = regexp.MustCompile(`(?i)^(allergy|intolerance|propensity|allergic|hypersensitivity) `)
	productTerm        = regexp.MustCompile(`(?i)product|vaccine|preparation`)
)

var situationTerm = regexp.MustCompile(`(?i)^(h/o|history of|family history|fh:|no known|no history)|declined|not done|refused`)

const root = "138875005"

func buildEmbedded(version string) (*release, *release, error) {
	// dm+d first: its ingredient table feeds the SNOMED substances
	d, err := parseDMD(embeddedFiles("dmd"))
	if err != nil {
		return nil, nil, err
	}
	// the two sources are independent once the XML is parsed: build them side by side
	var sn *release
	var snErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sn, snErr = buildEmbeddedSnomed(d)
	}()
	dm, err := buildEmbeddedDMD(d)
	<-done
	if snErr != nil {
		return nil, nil, snErr
	}
	if err != nil {
		return nil, nil, err
	}
	for _, r := range []*release{sn, dm} {
		r.info.Embedded = true
		r.info.Release = version
		r.info.Attribution = strings.TrimSpace(embedded.Attribution)
		r.info.Files = []string{"fixtures/embedded (compiled in)"}
	}
	sn.info.Licence = "SNOMED CT IPS free set: CC BY 4.0 (SNOMED International); dm+d substances: OGL v3.0; supplement: sources cited per row"
	dm.info.Licence = "dm+d: Open Government Licence v3.0 (NHSBSA); code lists: MIT repositories (OpenSAFELY)"
	return sn, dm, nil
}

func buildEmbeddedSnomed(d *dmdData) (*release, error) {
	b := newBuilder()
	b.concept(root).PT = "SNOMED CT Concept"
	entries, err := fs.ReadDir(embedded.FS, "snomed")
	if err != nil {
		return nil, err
	}
	ips := 0
	for _, e := range entries {
		if e.Name() == "INDEX.tsv" {
			continue
		}
		f, err := embedded.FS.Open("snomed/" + e.Name())
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		line := 0
		for sc.Scan() {
			line++
			if line == 1 {
				continue // header
			}
			code, term, ok := strings.Cut(sc.Text(), "\t")
			if !ok || code == "" {
				f.Close()
				return nil, fmt.Errorf("fixtures/embedded/snomed/%s:%d: want code<TAB>display", e.Name(), line)
			}
			c := b.concept(code)
			if c.PT == "" {
				c.PT = term
				ips++
			}
			parent := ipsParent[e.Name()]
			switch {
			case parent != "":
			case strings.HasPrefix(e.Name(), "problems"):
				parent = "404684003"
				if situationTerm.MatchString(term) {
					parent = "243796009"
				}
			case strings.HasPrefix(e.Name(), "allergy-intolerance"), strings.HasPrefix(e.Name(), "medications"):
				// These sets mix findings, products and substances: place each
				// by its term so record validation can tell an allergy agent
				// from a finding (README.md).
				parent = "105590001"
				switch {
				case allergyFindingTerm.MatchString(term):
					parent = "420134006"
				case productTerm.MatchString(term):
					parent = "373873005"
				}
			default:
				parent = root
			}
			b.addParent(code, parent)
		}
		f.Close()
	}
	// supplement: terms and is-a links that override the value-set placement
	f, err := embedded.FS.Open("supplement.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("fixtures/embedded/supplement.csv: %w", err)
	}
	supplemented := map[string]bool{}
	for i, rec := range recs[1:] {
		code, term, parents := rec[0], rec[1], strings.Fields(rec[2])
		if code == "" || term == "" || rec[3] == "" {
			return nil, fmt.Errorf("fixtures/embedded/supplement.csv:%d: code, term and source are required", i+2)
		}
		c := b.concept(code)
		if c.PT != "" && c.PT != term {
			b.addSynonym(code, term)
		} else {
			c.PT = term
		}
		if code != root {
			b.parents[code] = parents
			supplemented[code] = true
		}
	}
	// dm+d ingredient substances (complete table)
	subs := 0
	for _, r := range d.ing {
		code := r.f["ISID"]
		c := b.concept(code)
		if c.PT == "" {
			c.PT = r.f["NM"]
		} else if !strings.EqualFold(c.PT, r.f["NM"]) {
			b.addSynonym(code, r.f["NM"])
		}
		if r.f["INVALID"] == "1" {
			c.Active = false
		}
		if !supplemented[code] {
			b.addParent(code, "105590001")
		}
		subs++
	}
	for _, r := range d.ing {
		prev := r.f["ISIDPREV"]
		if prev == "" {
			continue
		}
		if _, exists := b.recs[prev]; exists {
			continue
		}
		c := b.concept(prev)
		c.Active = false
		c.PT = r.f["NM"]
		c.Assoc = append(c.Assoc, assoc{Type: "900000000000526001", Target: r.f["ISID"]})
	}
	for code, c := range b.recs {
		if code != root && c.Active && len(b.parents[code]) == 0 {
			b.addParent(code, root)
		}
	}
	r := b.build(SourceSNOMED, SourceInfo{System: SystemSNOMED,
		Counts: map[string]int{"ipsConcepts": ips, "supplementRows": len(recs) - 1, "dmdSubstances": subs}})
	return r, nil
}

// buildEmbeddedDMD: the dm+d XML extract, plus the code-list products it lacks (derived).
func buildEmbeddedDMD(d *dmdData) (*release, error) {
	b, products, counts := d.collect()
	m := newNameMatcher(d)
	files := embeddedFiles("dmd-codelists")
	derived, unverified, partial := 0, 0, 0
	for _, f := range files {
		if !strings.HasSuffix(f.base, ".csv") {
			continue
		}
		rc, err := f.open()
		if err != nil {
			return nil, err
		}
		cl, err := readCodelist(rc, f.name)
		rc.Close()
		if err != nil {
			return nil, err
		}
		for _, row := range cl.rows {
			kind := row.kind
			if kind == "" {
				kind = "VMP" // vmps.csv
			}
			if kind != "VMP" && kind != "AMP" {
				continue
			}
			if _, ok := products[row.code]; ok || row.term == "" {
				continue
			}
			if m := previousTo.FindStringSubmatch(row.term); m != nil {
				// an old VPID listed under its successor's BNF code: an inactive
				// code replaced by the current VMP, not a product of its own
				if _, exists := b.recs[row.code]; !exists {
					c := b.concept(row.code)
					c.Active, c.PT, c.Kind = false, row.term, "VMP"
					c.Assoc = append(c.Assoc, assoc{Type: "900000000000526001", Target: m[1]})
				}
				continue
			}
			p := m.derive(row.code, kind, row.term)
			p.Source = "code list " + strings.TrimPrefix(f.name, "fixtures/embedded/")
			if row.prev != "" {
				p.PreviousCodes = []string{row.prev}
			}
			products[row.code] = p
			c := b.concept(row.code)
			c.PT, c.Kind = row.term, kind
			if p.VTM != nil {
				b.addParent(row.code, p.VTM.Code)
			}
			b.refsets[dmdRefsets[kind]] = append(b.refsets[dmdRefsets[kind]], row.code)
			derived++
			// counted as the checks will see it: after the BNF part is applied
			seen := *p
			seen.Ingredients = append([]Ingredient(nil), p.Ingredients...)
			medicinesOnce().annotate(&seen)
			switch {
			case seen.Partial:
				partial++
			case !seen.IngredientsVerified:
				unverified++
			}
		}
		for _, row := range cl.rows {
			if row.prev == "" {
				continue
			}
			if _, exists := b.recs[row.prev]; exists {
				continue
			}
			c := b.concept(row.prev)
			c.Active = false
			c.PT = row.term
			c.Kind = "VMP"
			c.Assoc = append(c.Assoc, assoc{Type: "900000000000526001", Target: row.code})
		}
	}
	counts["codelistProducts"] = derived
	counts["codelistProductsIngredientsUnverified"] = unverified
	counts["codelistProductsIngredientsPartial"] = partial
	return dmdBuild(b, products, counts), nil
}

// nameMatcher derives VTM and ingredients from a product name with the complete dm+d tables.
type nameMatcher struct {
	vtm      map[string]CodeTerm // lower-case name -> VTM
	ing      map[string]CodeTerm // lower-case name -> substance
	maxWords int
}

func newNameMatcher(d *dmdData) *nameMatcher {
	m := &nameMatcher{vtm: map[string]CodeTerm{}, ing: map[string]CodeTerm{}}
	for _, r := range d.vtm {
		if r.f["INVALID"] != "1" {
			m.vtm[strings.ToLower(r.f["NM"])] = CodeTerm{Code: r.f["VTMID"], Term: r.f["NM"]}
		}
	}
	for _, r := range d.ing {
		if r.f["INVALID"] != "1" {
			n := strings.ToLower(r.f["NM"])
			m.ing[n] = CodeTerm{Code: r.f["ISID"], Term: r.f["NM"]}
			m.maxWords = max(m.maxWords, len(strings.Fields(n)))
		}
	}
	return m
}

// previousTo is a code list's row for an old VPID ("VMP previous to 42291111000001104").
var previousTo = regexp.MustCompile(`^VMP previous to ([0-9]+)$`)

var strengthRE = regexp.MustCompile(`^([0-9][0-9.,]*)([A-Za-zµ%]+)(?:/([0-9.]*)([A-Za-z]+))?$`)

// longestPrefix finds the longest run of leading words that names an entry of table.
func longestPrefix(words []string, table map[string]CodeTerm, maxWords int) (CodeTerm, int) {
	for k := min(len(words), maxWords); k > 0; k-- {
		if ct, ok := table[strings.Join(words[:k], " ")]; ok {
			return ct, k
		}
	}
	return CodeTerm{}, 0
}

func (m *nameMatcher) derive(code, kind, name string) *Product {
	p := &Product{Code: code, Kind: kind, Name: name, Derived: true, Ingredients: []Ingredient{}}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "co-") {
		if v, k := longestPrefix(strings.Fields(lower), m.vtm, 4); k > 0 {
			p.VTM = &v
		}
		p.Note = "ingredients unverified: a co- name does not name its ingredients"
		return p
	}
	segs := strings.Split(lower, " / ")
	if len(segs) == 1 {
		segs = strings.Split(lower, " + ")
	}
	var names []string
	all := true
	for _, seg := range segs {
		words := strings.Fields(seg)
		ct, k := longestPrefix(words, m.ing, m.maxWords)
		if k == 0 {
			all = false
			continue
		}
		ing := Ingredient{Code: ct.Code, Name: ct.Term}
		if k < len(words) {
			if sm := strengthRE.FindStringSubmatch(words[k]); sm != nil {
				ing.NumeratorValue, _ = strconv.ParseFloat(strings.ReplaceAll(sm[1], ",", ""), 64)
				ing.NumeratorUnit = sm[2]
				ing.Strength = sm[1] + " " + sm[2]
				if sm[4] != "" {
					den := sm[3]
					if den == "" {
						den = "1"
					}
					ing.DenominatorValue, _ = strconv.ParseFloat(den, 64)
					ing.DenominatorUnit = sm[4]
					ing.Strength += " / " + den + " " + sm[4]
				}
			}
		}
		p.Ingredients = append(p.Ingredients, ing)
		names = append(names, strings.ToLower(ct.Term))
	}
	switch {
	case len(p.Ingredients) == 0:
		p.Note = "ingredients unverified: the name matches no dm+d ingredient (a brand name?)"
	case !all:
		p.Note = "ingredients unverified: not every part of the name matched a dm+d ingredient"
	default:
		p.IngredientsVerified = true
		p.Note = "VTM and ingredients derived from the product name"
	}
	// VTM: the ingredients joined as dm+d names combination VTMs, else the longest name prefix
	if len(names) > 0 {
		if v, ok := m.vtm[strings.Join(names, " + ")]; ok {
			p.VTM = &v
		} else {
			sorted := append([]string(nil), names...)
			sort.Strings(sorted)
			if v, ok := m.vtm[strings.Join(sorted, " + ")]; ok {
				p.VTM = &v
			}
		}
	}
	if p.VTM == nil {
		if v, k := longestPrefix(strings.Fields(lower), m.vtm, 6); k > 0 {
			p.VTM = &v
		}
	}
	return p
}
