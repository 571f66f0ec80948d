package terminology

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/fixtures/embedded"
	"go.yaml.in/yaml/v3"
)

// The medicines model: product -> VMP -> ingredients -> BNF chemical
// substance -> curated classes, every link with where it came from.
//
// dm+d gives a product's ingredients (VPI rows) when its XML is loaded; the
// embedded default has them for a few families only, and many products are
// known from code lists (a dm+d code, a name and a BNF code). For those the
// BNF fills the gap: every presentation is filed under a 9-character BNF
// chemical substance, brands under their generic's. The BNF part is its own
// source, compiled in (fixtures/embedded/bnf, built by internal/medgen from
// the NHSBSA BNF Code Information, OGL), and it is applied when a product is
// read, so it stays when a real dm+d release replaces the embedded rows.
//
// Ingredients come from, in order (Product.IngredientsFrom):
//   - "dmd": dm+d's own VPI rows;
//   - "bnf": the product's BNF chemical substance, one dm+d ingredient;
//   - "bnf-split": a combination substance whose name lists its parts
//     (co-trimoxazole = trimethoprim + sulfamethoxazole);
//   - "bnf-presentation": the generic BNF presentation's name names each
//     ingredient ("Ibuprofen 200mg / Codeine 12.8mg tablets" for Nurofen Plus);
//   - "bnf-curated": fixtures/embedded/bnf/overrides.csv (a BNF name that is
//     no dm+d ingredient name);
//   - "name": matched from the product name alone; never verified.
//
// Partial: the product is filed under a substance that does not name all its
// ingredients; the ones listed are certain, the others unknown.
// IngredientsVerified is true only when the list is complete and from dm+d or
// the BNF. A safety check must treat a product that is partial or not
// verified as "could not be checked completely", never as "nothing found".

// BNFLink is where the BNF files a product.
type BNFLink struct {
	Presentation     string   `json:"presentation,omitempty"`     // 15-character presentation code
	PresentationName string   `json:"presentationName,omitempty"` // its BNF name
	Substance        CodeTerm `json:"substance"`                  // 9-character chemical substance
	// Via says how the product was linked: "code list" (the bnf_code column
	// of a dm+d code list), "vmp" (an AMP through its VMP) or "name" (the
	// VMP's name is a generic BNF presentation's).
	Via string `json:"via"`
}

// DrugClass is a curated class of medicines (fixtures/embedded/bnf/classes.yaml).
type DrugClass struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	BNF       []string `json:"bnf"`    // chemical substance codes
	SNOMED    []string `json:"snomed"` // substances: curated, plus the dm+d ingredients of single-substance members
	Duplicate bool     `json:"duplicate,omitempty"`
	Source    string   `json:"source"`
	bases     map[string]bool
}

// IngredientsFrom values.
const (
	FromDMD             = "dmd"
	FromBNF             = "bnf"
	FromBNFSplit        = "bnf-split"
	FromBNFPresentation = "bnf-presentation"
	FromBNFCurated      = "bnf-curated"
	FromName            = "name"
)

type bnfSubstance struct {
	code, name string
	ings       []Ingredient
	how        string // bnf | bnf-split | curated | grouping | unresolved
	complete   bool
}

type bnfPresentation struct {
	code, name string
	ings       []Ingredient // own ingredients (bnf-presentation or curated), else the substance's
	partial    bool
	curated    bool // overrides.csv names this presentation's ingredients (a product under a grouping)
}

// medicinesKB is the compiled-in BNF knowledge.
type medicinesKB struct {
	subs       map[string]*bnfSubstance
	pres       map[string]*bnfPresentation
	byDMD      map[string]string // dm+d code -> BNF presentation (or substance) code, from the code lists
	byName     map[string]string // lower-case generic presentation name -> code
	classes    []DrugClass
	classByID  map[string]*DrugClass
	bySubCode  map[string][]string // BNF substance -> class ids
	bySNOMED   map[string][]string // substance -> class ids
	reviewedBy string
	err        error
}

var medicinesOnce = sync.OnceValue(loadMedicines)

func loadMedicines() *medicinesKB {
	kb := &medicinesKB{subs: map[string]*bnfSubstance{}, pres: map[string]*bnfPresentation{}, byDMD: map[string]string{},
		byName: map[string]string{}, classByID: map[string]*DrugClass{}, bySubCode: map[string][]string{}, bySNOMED: map[string][]string{}}
	kb.err = kb.load()
	return kb
}

func parseIngs(s string) []Ingredient {
	out := []Ingredient{}
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, "|") {
		code, name, _ := strings.Cut(part, " ")
		out = append(out, Ingredient{Code: code, Name: name})
	}
	return out
}

// readCSV calls fn with each row of an embedded CSV (gzipped or not) and its header.
func readCSV(p string, fn func(head, rec []string) error) error {
	rc, err := openEmbedded(p)
	if err != nil {
		return err
	}
	defer rc.Close()
	cr := csv.NewReader(rc)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("fixtures/embedded/%s: %w", p, err)
	}
	head = append([]string(nil), head...) // the reader reuses its slice
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("fixtures/embedded/%s: %w", p, err)
		}
		if err := fn(head, rec); err != nil {
			return fmt.Errorf("fixtures/embedded/%s: %w", p, err)
		}
	}
}

func (kb *medicinesKB) load() error {
	err := readCSV("bnf/substances.csv", func(_, r []string) error {
		if len(r) < 5 {
			return fmt.Errorf("want 5 columns, got %d", len(r))
		}
		kb.subs[r[0]] = &bnfSubstance{code: r[0], name: r[1], ings: parseIngs(r[2]), how: r[3], complete: r[4] == "y"}
		return nil
	})
	if err != nil {
		return err
	}
	err = readCSV("bnf/presentations.csv.gz", func(_, r []string) error {
		if len(r) < 5 {
			return fmt.Errorf("want 5 columns, got %d", len(r))
		}
		p := &bnfPresentation{code: r[0], name: r[1], partial: r[4] == "y", curated: r[3] == "curated"}
		if r[2] != "" {
			p.ings = parseIngs(r[2])
		}
		kb.pres[r[0]] = p
		if len(r[0]) == 15 && r[0][9:11] == "AA" {
			kb.byName[strings.ToLower(r[1])] = r[0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	entries, err := fs.ReadDir(embedded.FS, "dmd-codelists")
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".csv") && !strings.HasSuffix(n, ".csv.gz") {
			continue
		}
		if err := kb.readLinks("dmd-codelists/" + n); err != nil {
			return err
		}
	}
	return kb.loadClasses()
}

// readLinks takes the dm+d code and BNF code of every row of a code list.
func (kb *medicinesKB) readLinks(p string) error {
	ci, bi := -1, -1
	return readCSV(p, func(head, rec []string) error {
		if ci < 0 {
			for i, h := range head {
				switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
				case "dmd_id", "id":
					if ci < 0 {
						ci = i
					}
				case "bnf_code":
					bi = i
				}
			}
		}
		if ci < 0 || bi < 0 || max(ci, bi) >= len(rec) {
			return nil // no BNF column (vmps.csv)
		}
		code, bnf := strings.TrimSpace(rec[ci]), strings.TrimSpace(rec[bi])
		if code != "" && len(bnf) >= 9 {
			kb.byDMD[code] = bnf
		}
		return nil
	})
}

func (kb *medicinesKB) loadClasses() error {
	data, err := embedded.FS.ReadFile("bnf/classes.yaml")
	if err != nil {
		return err
	}
	var cf struct {
		ReviewedBy string `yaml:"reviewedBy"`
		Classes    map[string]struct {
			Name      string   `yaml:"name"`
			BNF       []string `yaml:"bnf"`
			SNOMED    []string `yaml:"snomed"`
			Duplicate bool     `yaml:"duplicate"`
			Source    string   `yaml:"source"`
		} `yaml:"classes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cf); err != nil {
		return fmt.Errorf("fixtures/embedded/bnf/classes.yaml: %w", err)
	}
	kb.reviewedBy = cf.ReviewedBy
	ids := make([]string, 0, len(cf.Classes))
	for id := range cf.Classes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := cf.Classes[id]
		if c.Name == "" || c.Source == "" || len(c.BNF)+len(c.SNOMED) == 0 {
			return fmt.Errorf("fixtures/embedded/bnf/classes.yaml: class %s needs name, source and members", id)
		}
		dc := DrugClass{ID: id, Name: c.Name, BNF: c.BNF, SNOMED: append([]string{}, c.SNOMED...), Duplicate: c.Duplicate,
			Source: c.Source, bases: map[string]bool{}}
		seen := map[string]bool{}
		for _, s := range dc.SNOMED {
			seen[s] = true
		}
		for _, b := range c.BNF {
			sub, ok := kb.subs[b]
			if !ok {
				return fmt.Errorf("fixtures/embedded/bnf/classes.yaml: class %s: %s is not in bnf/substances.csv (run internal/medgen)", id, b)
			}
			// Single-substance members name the class's ingredients; a
			// combination's other parts (co-amoxiclav's clavulanic acid) do not.
			if len(sub.ings) == 1 && sub.how != "grouping" {
				in := sub.ings[0]
				if !seen[in.Code] {
					seen[in.Code] = true
					dc.SNOMED = append(dc.SNOMED, in.Code)
				}
				dc.bases[IngredientBase(in.Name)] = true
			}
		}
		kb.classes = append(kb.classes, dc)
	}
	for i := range kb.classes {
		c := &kb.classes[i]
		kb.classByID[c.ID] = c
		for _, b := range c.BNF {
			kb.bySubCode[b] = append(kb.bySubCode[b], c.ID)
		}
		for _, s := range c.SNOMED {
			kb.bySNOMED[s] = append(kb.bySNOMED[s], c.ID)
		}
	}
	return nil
}

// saltWords are the salt and ester words dm+d and the BNF add to a base
// substance's name; IngredientBase drops them.
var saltWords = map[string]bool{
	"sodium": true, "potassium": true, "calcium": true, "magnesium": true, "hydrochloride": true, "dihydrochloride": true,
	"hydrobromide": true, "phosphate": true, "sulfate": true, "sulphate": true, "tartrate": true, "maleate": true,
	"besilate": true, "mesilate": true, "fumarate": true, "succinate": true, "acetate": true, "citrate": true,
	"hyclate": true, "monohydrate": true, "dihydrate": true, "trihydrate": true, "anhydrous": true, "hemihydrate": true,
	"erbumine": true, "arginine": true, "tosilate": true, "carbonate": true, "bromide": true, "chloride": true,
	"lactate": true, "gluconate": true, "axetil": true, "cilexetil": true, "medoxomil": true, "etexilate": true,
	"dipropionate": true, "propionate": true, "furoate": true, "valerate": true, "ethylsuccinate": true, "stearate": true,
	"lactobionate": true, "estolate": true, "pivoxil": true, "decanoate": true, "enantate": true, "embonate": true,
	"lysine": true, "diethylammonium": true, "epolamine": true, "disodium": true, "bisulfate": true, "mandelate": true,
}

// IngredientBase is a substance name without its salt ("Codeine phosphate"
// and "Codeine" -> "codeine"; "Sodium valproate" -> "valproate"), so a salt
// and its base count as the same drug for allergy and duplication checks.
func IngredientBase(name string) string {
	words := strings.Fields(strings.ToLower(name))
	var keep []string
	for _, w := range words {
		if !saltWords[w] {
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		return strings.ToLower(strings.TrimSpace(name))
	}
	return strings.Join(keep, " ")
}

// link finds a product's BNF presentation (or substance) code.
func (kb *medicinesKB) link(p *Product) (string, string) {
	if b, ok := kb.byDMD[p.Code]; ok {
		return b, "code list"
	}
	if p.VMP != nil {
		if b, ok := kb.byDMD[p.VMP.Code]; ok {
			return b, "vmp"
		}
	}
	if p.BNF != nil && len(p.BNF.Presentation) >= 9 { // from the dm+d BNF supplementary file
		return p.BNF.Presentation, p.BNF.Via
	}
	if p.Kind == "VMP" {
		if b, ok := kb.byName[strings.ToLower(p.Name)]; ok {
			return b, "name"
		}
	}
	if p.VMP != nil {
		if b, ok := kb.byName[strings.ToLower(p.VMP.Term)]; ok {
			return b, "name"
		}
	}
	return "", ""
}

// annotate adds the BNF link, the ingredients' provenance and the classes to
// a product read from the dm+d source.
func (kb *medicinesKB) annotate(p *Product) {
	fromDMD := p.IngredientsVerified && !p.Derived && len(p.Ingredients) > 0
	code, via := kb.link(p)
	var sub *bnfSubstance
	if len(code) >= 9 {
		sub = kb.subs[code[:9]]
	}
	if sub != nil {
		l := &BNFLink{Substance: CodeTerm{Code: sub.code, Term: sub.name}, Via: via}
		var pres *bnfPresentation
		if len(code) == 15 {
			l.Presentation = code
			if pr, ok := kb.pres[code]; ok {
				pres = pr
				l.PresentationName = pr.name
			}
		}
		p.BNF = l
		if !fromDMD {
			named := p.Ingredients // what the name gave: strengths to keep
			defer func() {
				keepStrengths(p.Ingredients, named)
				kb.presentationStrengths(p.Ingredients, code)
			}()
			switch {
			case pres != nil && pres.curated:
				p.Ingredients, p.IngredientsFrom, p.IngredientsVerified, p.Partial = cloneIngs(pres.ings), FromBNFCurated, !pres.partial, pres.partial
			case pres != nil && pres.ings != nil:
				p.Ingredients, p.IngredientsFrom, p.IngredientsVerified, p.Partial = cloneIngs(pres.ings), FromBNFPresentation, true, false
			case len(sub.ings) > 0:
				p.Ingredients = cloneIngs(sub.ings)
				p.Partial = !sub.complete || (pres != nil && pres.partial)
				p.IngredientsVerified = !p.Partial
				switch sub.how {
				case "bnf-split":
					p.IngredientsFrom = FromBNFSplit
				case "curated":
					p.IngredientsFrom = FromBNFCurated
				default:
					p.IngredientsFrom = FromBNF
				}
			case sub.how == "curated": // a device: nothing active
				p.Ingredients, p.IngredientsFrom, p.IngredientsVerified, p.Partial = []Ingredient{}, FromBNFCurated, true, false
			}
		}
	}
	switch {
	case fromDMD:
		p.IngredientsFrom = FromDMD
	case p.IngredientsFrom == "":
		// neither dm+d nor the BNF: whatever the name gave is a guess
		p.IngredientsFrom = FromName
		p.IngredientsVerified = false
		if p.Note == "" || strings.HasPrefix(p.Note, "VTM and ingredients derived") {
			p.Note = "ingredients unverified: known only from the product name (no dm+d ingredients, no BNF code)"
		}
	}
	if p.IngredientsFrom != FromName && p.IngredientsFrom != FromDMD {
		p.Note = "" // the name-derived note no longer applies
	}
	if p.Partial && p.BNF != nil && p.IngredientsFrom == FromBNFCurated && len(p.BNF.Presentation) == 15 {
		p.Note = "partial: the curated ingredients of BNF " + p.BNF.Presentation + " name some of its ingredients, not all"
	} else if p.Partial {
		p.Note = "partial: filed under BNF " + p.BNF.Substance.Code + " " + p.BNF.Substance.Term + ", which does not name all its ingredients"
	}
	p.Classes = kb.classesOf(p, false)
}

// Local reports a product that acts where it is put (skin, eye, ear, soft
// tissue), whose ingredients' systemic classes do not apply. With a BNF link
// its chapter decides (11 eye, 12 ear/nose/oropharynx, 13 skin, 10.3 soft
// tissue); otherwise dm+d's routes, or the form in its name.
func (p Product) Local() bool { return localOnly(&p) }

func localOnly(p *Product) bool {
	if p.BNF != nil {
		b := p.BNF.Substance.Code
		return strings.HasPrefix(b, "11") || strings.HasPrefix(b, "12") || strings.HasPrefix(b, "13") || strings.HasPrefix(b, "1003")
	}
	if len(p.Routes) > 0 {
		for _, r := range p.Routes {
			switch strings.ToLower(r.Term) {
			case "cutaneous", "ocular", "auricular", "topical":
			default:
				return false
			}
		}
		return true
	}
	n := strings.ToLower(p.Name)
	for _, f := range []string{" gel", " cream", " ointment", " eye drops", " ear drops", " foam", " cutaneous"} {
		if strings.Contains(n, f) {
			return true
		}
	}
	return false
}

// presentationStrengths fills strengths still missing (a brand's name gives
// none: "Voltarol 25mg gastro-resistant tablets") from the generic BNF
// presentation's name, segment by segment ("Ibuprofen 200mg / Codeine
// 12.8mg tablets"), when it has one segment per ingredient.
func (kb *medicinesKB) presentationStrengths(ings []Ingredient, code string) {
	if len(code) != 15 || len(ings) == 0 {
		return
	}
	name := ""
	if g, ok := kb.pres[code[:9]+"AA"+code[13:15]+code[13:15]]; ok {
		name = g.name
	} else if pr, ok := kb.pres[code]; ok {
		name = pr.name
	}
	segs := strings.Split(name, " / ")
	if name == "" || len(segs) != len(ings) {
		return
	}
	for i := range ings {
		if ings[i].Strength != "" {
			continue
		}
		for _, w := range strings.Fields(segs[i]) {
			sm := strengthRE.FindStringSubmatch(w)
			if sm == nil {
				continue
			}
			in := &ings[i]
			in.NumeratorValue, _ = strconv.ParseFloat(strings.ReplaceAll(sm[1], ",", ""), 64)
			in.NumeratorUnit, in.Strength = sm[2], sm[1]+" "+sm[2]
			if sm[4] != "" {
				den := sm[3]
				if den == "" {
					den = "1"
				}
				in.DenominatorValue, _ = strconv.ParseFloat(den, 64)
				in.DenominatorUnit = sm[4]
				in.Strength += " / " + den + " " + sm[4]
			}
			break
		}
	}
}

// keepStrengths copies the strength a product's name gave an ingredient onto
// the same ingredient (by code or base name) from the BNF, which has none.
func keepStrengths(ings, named []Ingredient) {
	for i := range ings {
		for _, n := range named {
			if n.Strength == "" {
				continue
			}
			if n.Code == ings[i].Code || IngredientBase(n.Name) == IngredientBase(ings[i].Name) {
				code, name := ings[i].Code, ings[i].Name
				ings[i] = n
				ings[i].Code, ings[i].Name = code, name
				break
			}
		}
	}
}

func cloneIngs(in []Ingredient) []Ingredient { return append([]Ingredient{}, in...) }

// classesOf is the classes a product belongs to. With a BNF link, by its
// BNF chemical substance only (a class lists the substances of one route:
// diclofenac gel is not a systemic NSAID); without one, by its ingredients.
// byIngredient adds the classes of every ingredient whatever the route (an
// allergy to a drug is an allergy to it on the skin too).
func (kb *medicinesKB) classesOf(p *Product, byIngredient bool) []CodeTerm {
	ids := map[string]bool{}
	if p.BNF != nil {
		for _, id := range kb.bySubCode[p.BNF.Substance.Code] {
			ids[id] = true
		}
	}
	// Without a BNF link, or with ingredients the BNF substance does not
	// name (Nurofen Plus: codeine beside ibuprofen), the ingredients' classes
	// count too, unless the product acts only where it is put.
	if byIngredient || ((p.BNF == nil || p.IngredientsFrom == FromBNFPresentation || kb.curatedPresentation(p)) && !localOnly(p)) {
		for _, in := range p.Ingredients {
			for _, id := range kb.substanceClasses(in.Code, in.Name) {
				ids[id] = true
			}
		}
	}
	out := make([]CodeTerm, 0, len(ids))
	for id := range ids {
		out = append(out, CodeTerm{Code: id, Term: kb.classByID[id].Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// curatedPresentation reports a product whose ingredients overrides.csv names
// presentation by presentation (Migraleve Pink under "Analgesics with
// anti-emetics"): its substance has no classes, its ingredients do.
func (kb *medicinesKB) curatedPresentation(p *Product) bool {
	if p.BNF == nil || p.IngredientsFrom != FromBNFCurated {
		return false
	}
	pr, ok := kb.pres[p.BNF.Presentation]
	return ok && pr.curated
}

func (kb *medicinesKB) substanceClasses(code, name string) []string {
	out := append([]string{}, kb.bySNOMED[code]...)
	if name != "" {
		base := IngredientBase(name)
		for i := range kb.classes {
			c := &kb.classes[i]
			if c.bases[base] && !contains(out, c.ID) {
				out = append(out, c.ID)
			}
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// DrugClasses are the curated classes, by id.
func (t *Terminology) DrugClasses() ([]DrugClass, error) {
	kb := medicinesOnce()
	if kb.err != nil {
		return nil, kb.err
	}
	return kb.classes, nil
}

// DrugClassesReviewedBy is the clinician who signed the class file off ("" until one has).
func (t *Terminology) DrugClassesReviewedBy() string { return medicinesOnce().reviewedBy }

// SubstanceClasses are the classes a substance (a SNOMED CT code, with its
// name when known) belongs to, by code or by its base name (a salt counts as
// its base).
func (t *Terminology) SubstanceClasses(code, name string) []string {
	kb := medicinesOnce()
	if kb.err != nil {
		return nil
	}
	if name == "" {
		name = t.SubstanceName(code)
	}
	return kb.substanceClasses(code, name)
}

// SubstanceName is a SNOMED CT concept's preferred term ("" when unknown): an
// allergy recorded without its display still meets its class by name.
func (t *Terminology) SubstanceName(code string) string {
	d, err := t.Concept(SystemSNOMED, code)
	if err != nil {
		return ""
	}
	return d.PreferredTerm
}

// AllClassesOf is every class a product belongs to by any of its
// ingredients, whatever the route, as the allergy checks need.
func (t *Terminology) AllClassesOf(p Product) []CodeTerm {
	kb := medicinesOnce()
	if kb.err != nil {
		return nil
	}
	return kb.classesOf(&p, true)
}

// BNFSubstance is a BNF chemical substance of the embedded knowledge: its
// name and its dm+d ingredients (ok false when unknown).
func (t *Terminology) BNFSubstance(code string) (name string, ingredients []Ingredient, ok bool) {
	kb := medicinesOnce()
	s, found := kb.subs[code]
	if !found {
		return "", nil, false
	}
	return s.name, cloneIngs(s.ings), true
}

// BNFPresentationByName finds a generic BNF presentation by its exact name
// (any case) among the embedded BNF subset: what the BNF knows of a product
// the embedded dm+d dictionary lacks ("Paracetamol 500mg tablets").
func (t *Terminology) BNFPresentationByName(name string) (code string, ok bool) {
	code, ok = medicinesOnce().byName[strings.ToLower(strings.TrimSpace(name))]
	return code, ok
}

// medicinesErr reports a broken compiled-in medicines file (a build defect).
func medicinesErr() error { return medicinesOnce().err }

// EmbeddedDrugClasses are the curated classes compiled into the binary (the
// same as DrugClasses of any open terminology): rule files refer to them by id.
func EmbeddedDrugClasses() ([]DrugClass, error) {
	kb := medicinesOnce()
	return kb.classes, kb.err
}

// ProductsFiledUnder are the embedded dictionary's products (dm+d codes,
// from the code lists' BNF column) filed under a BNF chemical substance.
func ProductsFiledUnder(bnfSubstance string) []string {
	kb := medicinesOnce()
	var out []string
	for code, b := range kb.byDMD {
		if len(b) >= 9 && b[:9] == bnfSubstance {
			out = append(out, code)
		}
	}
	sort.Strings(out)
	return out
}

// DMDGap says when a dm+d search cannot find the product asked for because
// the embedded dictionary lacks it: the query names no result (no result's
// name starts with it) while the dm+d source is the embedded default. It
// names the BNF presentation when the BNF knows that exact name. "" when
// there is nothing to say. Pickers show it above their results, so a near
// match ("Paracetamol 500mg soluble tablets") is never taken for the product
// asked for.
func (t *Terminology) DMDGap(query string, results []Result) string {
	q := strings.Join(strings.Fields(strings.ToLower(query)), " ")
	if len(q) < 4 || digitsOnly(q) {
		return ""
	}
	for _, r := range results {
		if strings.HasPrefix(strings.ToLower(r.Term), q) || r.Code == q {
			return ""
		}
	}
	embeddedDMD := false
	for _, s := range t.About() {
		if s.Name == SourceDMD && s.Embedded {
			embeddedDMD = true
		}
	}
	if !embeddedDMD {
		return ""
	}
	msg := fmt.Sprintf("%q is not in the embedded dictionary — import the dm+d release (gpsoc codes import dmd)", strings.TrimSpace(query))
	if code, ok := t.BNFPresentationByName(q); ok {
		msg += fmt.Sprintf("; the BNF lists it as %s", code)
	}
	return msg
}

// GapNamesAProduct reports whether a DMDGap note is about a product the BNF
// names exactly (Paracetamol 500mg tablets): the search then offers nothing in
// its place, since a near match is another product, not the one asked for.
func GapNamesAProduct(note string) bool { return strings.Contains(note, "; the BNF lists it as ") }

func digitsOnly(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
