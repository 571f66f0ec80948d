package terminology

import (
	"io/fs"
	"math"
	"regexp"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/fixtures/embedded"
)

// Ranking of code search results (every picker, `codes search`, ValueSet/$expand).
//
// The find index returns candidates scored word by word; this layer ranks them the way a
// clinician reads them. A result's rank is its match class, then, within the class, what
// the picker is for, how common the concept is, and what this practice and this user record:
//
//	class: a code typed > a shorthand or colloquial term of the table (shorthand.go) > the
//	whole description is the query > the description starts with the query > every word
//	matched (exactly, as a prefix or as initials) > a typo. Typo matches are dropped when
//	there are enough better ones to fill the list.
//
// Within the class (never across it, except the demotion below): the picker's field —
// problem and consultation pickers put disorders and findings above procedures, observables
// and anything else; the drug picker puts generic products (VMP) first, then VTMs, brands,
// packs, and lifts the medicines common in primary care (dm+d code-list membership) — then
// this practice's and this user's own use (SearchOptions.Usage), then the index's word
// score. "Screening", "FH:", "H/O:", "declined" and the like are demoted by more than a
// class unless the query asks for them (a GP who takes "Hypertension screening" for
// "hypertension" leaves the patient off the register).

// Pickers: what a search is for (SearchOptions.Picker).
const (
	PickerAny          = ""             // every system, e.g. `codes search` without --picker
	PickerProblem      = "problem"      // problems: disorders and findings first
	PickerConsultation = "consultation" // coded entries of a consultation: findings, observables, procedures
	PickerDrug         = "drug"         // medicines: VMPs first, common ones first
)

// ValidPicker reports whether p names a picker.
func ValidPicker(p string) bool {
	switch p {
	case PickerAny, PickerProblem, PickerConsultation, PickerDrug:
		return true
	}
	return false
}

// Usage is what this practice and this user record, for ranking (SearchOptions.Usage).
type Usage struct {
	Practice map[string]int // code -> times recorded in this practice
	Recent   []string       // this user's recently recorded codes, most recent first
}

const (
	rankCode      = 70000
	rankShorthand = 60000
	rankWhole     = 50000
	rankPrefix    = 40000
	rankWords     = 30000
	rankFuzzy     = 10000
	// demotion of "screening", "FH:", "H/O:"…: below the next class down
	rankDemote = 25000
)

// Match classes as Result.Match says them.
const (
	MatchCode      = "code"
	MatchShorthand = "shorthand"
	MatchWhole     = "whole"
	MatchPrefix    = "prefix"
	MatchWords     = "words"
	MatchFuzzy     = "fuzzy"
)

func classRank(m int) (int, string) {
	switch m {
	case find.MatchWhole:
		return rankWhole, MatchWhole
	case find.MatchPrefix:
		return rankPrefix, MatchPrefix
	case find.MatchWords:
		return rankWords, MatchWords
	case find.MatchFuzzy:
		return rankFuzzy, MatchFuzzy
	}
	return 0, ""
}

// demotions: a description matching term is demoted unless the query matches query.
var demotions = []struct{ term, query *regexp.Regexp }{
	{regexp.MustCompile(`(?i)\bscreen(ing)?\b`), regexp.MustCompile(`(?i)screen`)},
	{regexp.MustCompile(`(?i)^fh\b|family history|\bfh:`), regexp.MustCompile(`(?i)\bfh\b|famil`)},
	{regexp.MustCompile(`(?i)^h/o\b|^ho:|history of\b|\bhx of\b`), regexp.MustCompile(`(?i)\bh/?o\b|histor|\bhx\b|\bpast\b`)},
	{regexp.MustCompile(`(?i)declined|refused|not done|not indicated|unsuitable|not required|contraindicated|exception`), regexp.MustCompile(`(?i)declin|refus|\bnot\b|unsuit|contra|except`)},
	{regexp.MustCompile(`(?i)\bsuspected\b|\bat risk\b|\brisk of\b|\bexcluded\b|\bresolved\b|\bno history\b|\bno known\b|\bnon-?smoker|\bnot\b`), regexp.MustCompile(`(?i)suspect|risk|exclud|resolv|\bno\b|\bnon|\bnot\b`)},
}

// demotionHints: a description without any of these cannot be demoted (most are not:
// checked first, without a regular expression, on every candidate).
var demotionHints = []string{"screen", "fh", "famil", "h/o", "ho:", "histor", "hx", "declin", "refus", "not", "unsuit", "contra", "except", "suspect", "risk", "exclud", "resolv", "no ", "smoker"}

func demoted(term, q string) bool {
	lt := strings.ToLower(term)
	hint := false
	for _, h := range demotionHints {
		if strings.Contains(lt, h) {
			hint = true
			break
		}
	}
	if !hint {
		return false
	}
	for _, d := range demotions {
		if d.term.MatchString(term) && !d.query.MatchString(q) {
			return true
		}
	}
	return false
}

// Top-level SNOMED CT hierarchies the pickers tell apart.
const (
	sctClinicalFinding = "404684003"
	sctProcedure       = "71388002"
	sctObservable      = "363787002"
	sctSituation       = "243796009"
	sctEvent           = "272379006"
	sctRegime          = "243120004"
)

type hierarchy int

const (
	hOther hierarchy = iota
	hFinding
	hProcedure
	hObservable
	hSituation
	hVMP
	hVTM
	hAMP
	hPack
)

// topHierarchy walks up from id to the top-level concepts it lies under (one walk, ancestor
// sets are small) and says which of the pickers' hierarchies it is in.
var topHierarchies = []struct {
	code string
	h    hierarchy
}{{sctClinicalFinding, hFinding}, {sctProcedure, hProcedure}, {sctObservable, hObservable},
	{sctSituation, hSituation}, {sctEvent, hSituation}, {sctRegime, hProcedure}}

// topIDs are a source's ids of the top-level concepts the pickers tell apart.
type topIDs struct {
	ids []uint32
	hs  []hierarchy
}

func (s *source) topIDs() topIDs {
	var t topIDs
	for _, x := range topHierarchies {
		if id, ok := s.id(x.code); ok {
			t.ids = append(t.ids, id)
			t.hs = append(t.hs, x.h)
		}
	}
	return t
}

// topHierarchy walks up from id to the top-level concepts it lies under (one walk, ancestor
// sets are small) and says which of the pickers' hierarchies it is in; a finding wins.
func (s *source) topHierarchy(id uint32, tops topIDs) hierarchy {
	var seen [96]uint32
	n := 0
	stack := []uint32{id}
	best := hOther
	for len(stack) > 0 && n < len(seen) {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		top := false
		for i, t := range tops.ids {
			if t == x {
				if best == hOther || tops.hs[i] == hFinding {
					best = tops.hs[i]
				}
				top = true
				break
			}
		}
		if top {
			continue
		}
	next:
		for _, p := range s.par.of(x) {
			for _, v := range seen[:n] {
				if v == p {
					continue next
				}
			}
			if n < len(seen) {
				seen[n] = p
				n++
			}
			stack = append(stack, p)
		}
	}
	return best
}

// dmdKinds are the dm+d class refsets' bitsets of the dm+d source.
type dmdKinds struct{ vmp, vtm, amp, vmpp, ampp bitset }

func (t *Terminology) dmdKinds(s *source) *dmdKinds {
	if s.name != SourceDMD {
		return nil
	}
	get := func(kind string) bitset {
		key := "^" + dmdRefsets[kind]
		e, err := parseECL(key)
		if err != nil {
			return nil
		}
		b, _ := s.evalCached(t.db, key, e)
		return b
	}
	return &dmdKinds{vmp: get("VMP"), vtm: get("VTM"), amp: get("AMP"), vmpp: get("VMPP"), ampp: get("AMPP")}
}

func (k *dmdKinds) of(id uint32) hierarchy {
	switch {
	case k.vmp != nil && k.vmp.has(id):
		return hVMP
	case k.vtm != nil && k.vtm.has(id):
		return hVTM
	case k.amp != nil && k.amp.has(id):
		return hAMP
	case (k.vmpp != nil && k.vmpp.has(id)) || (k.ampp != nil && k.ampp.has(id)):
		return hPack
	}
	return hOther
}

// fieldWeight is what the picker's field adds within a class.
func fieldWeight(picker string, h hierarchy) int {
	switch picker {
	case PickerProblem:
		switch h {
		case hFinding:
			return 3000
		case hSituation:
			return 0
		case hProcedure, hObservable:
			return -4000
		}
		return -8000
	case PickerConsultation:
		switch h {
		case hFinding:
			return 3000
		case hObservable:
			return 3000 // blood pressure, weight: the commonest coded entries of a consultation
		case hProcedure:
			return 1500
		case hSituation:
			return 0
		}
		return -6000
	case PickerDrug:
		switch h {
		case hVMP:
			return 4000
		case hVTM:
			return -2000
		case hAMP:
			return 1000
		case hPack:
			return -3000
		}
		return -4000
	}
	switch h {
	case hFinding:
		return 1500
	case hObservable, hVMP:
		return 1000
	case hProcedure, hVTM:
		return 500
	case hSituation, hAMP:
		return 0
	case hPack:
		return -2000
	}
	return -1000
}

// commonness: how many dm+d code lists of medicines used in primary care hold a product
// (the embedded OpenCodelists lists and any code list imported). A list added to
// fixtures/embedded/dmd-codelists, or imported with `codes import codelist`, counts at once.
var (
	commonOnce   sync.Once
	commonCounts map[string]int
	bnfOf        map[string]string          // product -> BNF presentation code
	vmpOfBNF     map[string]string          // BNF presentation code -> the generic (VMP) name
	ampsOfBNF    map[string]map[string]bool // generic BNF presentation code -> the brands and suppliers' products listed
)

// genericBNF is the BNF presentation code of a product's generic equivalent: a branded
// code names it in its last two characters (chemical, "AA" for the generic product, then
// that strength and formulation twice: 0212000B0BBAAAA -> 0212000B0AAAAAA).
func genericBNF(b string) string {
	if len(b) != 15 {
		return ""
	}
	return b[:9] + "AA" + b[13:15] + b[13:15]
}

func embeddedCommonness() map[string]int {
	commonOnce.Do(func() {
		commonCounts = map[string]int{}
		bnfOf, vmpOfBNF, ampsOfBNF = map[string]string{}, map[string]string{}, map[string]map[string]bool{}
		entries, err := fs.ReadDir(embedded.FS, "dmd-codelists")
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			// vmps.csv lists every VMP of the lists again: it says nothing about use
			if !(strings.HasSuffix(name, ".csv") || strings.HasSuffix(name, ".csv.gz")) || name == "vmps.csv" {
				continue
			}
			rc, err := openEmbedded("dmd-codelists/" + name)
			if err != nil {
				continue
			}
			cl, err := readCodelist(rc, name)
			rc.Close()
			if err != nil {
				continue
			}
			seen := map[string]bool{}
			for _, r := range cl.rows {
				if r.bnf != "" {
					bnfOf[r.code] = r.bnf
					if r.kind == "VMP" && r.term != "" {
						vmpOfBNF[r.bnf] = r.term
					}
					if g := genericBNF(r.bnf); r.kind == "AMP" && g != "" {
						if ampsOfBNF[g] == nil {
							ampsOfBNF[g] = map[string]bool{}
						}
						ampsOfBNF[g][r.code] = true
					}
				}
				if !seen[r.code] {
					seen[r.code] = true
					commonCounts[r.code]++
				}
			}
		}
	})
	return commonCounts
}

// dmdLists are the imported dm+d code lists (for commonness).
func (t *Terminology) dmdLists() []*source {
	var out []*source
	for _, name := range t.Codelists() {
		if s := t.source(codelistPrefix + name); s != nil && s.info.System == SystemDMD {
			out = append(out, s)
		}
	}
	return out
}

// commonness weighs how common a medicine is in primary care, within its match class: the
// code lists that hold it (each a study's list of medicines GPs prescribe) and how many
// suppliers' products its generic has in them (amoxicillin 250mg capsules: 27, amoxapine:
// a handful — a medicine many firms make is one many GPs prescribe).
func commonness(code string, lists []*source) int {
	n := embeddedCommonness()[code]
	for _, s := range lists {
		if _, ok := s.id(code); ok {
			n++
		}
	}
	w := min(n, 5) * 300
	b := bnfOf[code]
	if len(b) == 15 && b[9:11] != "AA" {
		b = genericBNF(b)
	}
	if amps := len(ampsOfBNF[b]); amps > 0 {
		w += min(int(300*math.Log2(1+float64(amps))), 1500)
	}
	return w
}

// usageWeight: this practice's counts (log scale) and this user's recent codes.
func usageWeight(u *Usage, code string) int {
	if u == nil {
		return 0
	}
	w := 0
	if n := u.Practice[code]; n > 0 {
		w += min(int(700*math.Log2(1+float64(n))), 4000)
	}
	for i, c := range u.Recent {
		if c == code {
			w += max(5000-200*i, 2000)
			break
		}
	}
	return w
}

// candidate is one description found, before ranking.
type candidate struct {
	Result
	src   *source
	id    uint32
	find  int    // the index's score
	class string // set for a code typed and a shorthand; else from the words
	q     string // the query it was found by, when not the one typed (a shorthand's words)
	extra int    // words of the description beyond the query's
	h     hierarchy
}

// rankCandidates scores every candidate (Result.score) and sets its Match.
func (t *Terminology) rankCandidates(q0, picker string, u *Usage, cs []candidate) {
	q := q0
	kinds := map[*source]*dmdKinds{}
	topsOf := map[*source]topIDs{}
	matchers := map[string]find.TermMatcher{q0: find.NewTermMatcher(q0)}
	var lists []*source
	listsRead := false
	for i := range cs {
		c := &cs[i]
		var base int
		switch {
		case c.class == MatchCode:
			base = rankCode
		case c.class == MatchShorthand:
			base = rankShorthand
		case c.class == MatchPrefix:
			base = rankPrefix // a colloquial key the query begins (shorthandCandidates)
		default:
			q := q
			if c.q != "" {
				q = c.q
			}
			m, ok := matchers[q]
			if !ok {
				m = find.NewTermMatcher(q)
				matchers[q] = m
			}
			cls, words := m.Match(c.Term)
			c.extra = words - m.Words()
			base, c.class = classRank(cls)
			if c.q != "" && c.q != q0 && picker != PickerDrug {
				// found by a shorthand's words: below the shorthand itself and what was typed
				// (in the drug picker they are the products the shorthand's moiety means)
				base -= rankDemote
			}
			if c.class == "" {
				base, c.class = rankFuzzy, MatchFuzzy
			}
		}
		c.Match = c.class
		var h hierarchy
		if c.src.name == SourceDMD {
			k, ok := kinds[c.src]
			if !ok {
				k = t.dmdKinds(c.src)
				kinds[c.src] = k
			}
			if k != nil {
				h = k.of(c.id)
			}
		} else if c.src.name == SourceSNOMED {
			tops, ok := topsOf[c.src]
			if !ok {
				tops = c.src.topIDs()
				topsOf[c.src] = tops
			}
			h = c.src.topHierarchy(c.id, tops)
		}
		c.h = h
		if picker == PickerDrug && (h == hVTM || h == hPack) && base > rankPrefix {
			// a moiety (VTM) or a pack cannot be prescribed as such: even typed whole, it
			// ranks below the products that start with it
			base = rankPrefix
		}
		w := base + fieldWeight(picker, h) + c.find
		if c.class != MatchCode && c.class != MatchShorthand {
			// of two descriptions matching alike, the one with fewer words beyond the query
			// is what was meant ("hypertention": Hypertension before Hypertension associated
			// with transplantation)
			w -= 400 * min(max(c.extra, 0), 5)
		}
		if c.class != MatchCode && c.class != MatchShorthand && picker != PickerDrug && demoted(c.Term, q) {
			w -= rankDemote
		}
		if c.src.name == SourceDMD {
			if !listsRead {
				lists, listsRead = t.dmdLists(), true
			}
			w += commonness(c.Code, lists)
		}
		w += usageWeight(u, c.Code)
		if !c.Active {
			w -= 2000
		}
		c.score = w
	}
}

// listedGeneric is the generic (VMP) name the embedded code lists give a brand known only
// from a list (no VMP link of its own), by its BNF presentation code.
func listedGeneric(code string) string {
	embeddedCommonness()
	b := bnfOf[code]
	if g := vmpOfBNF[b]; g != "" {
		return g
	}
	return vmpOfBNF[genericBNF(b)]
}
