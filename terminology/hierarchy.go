package terminology

import (
	"math/bits"
	"sort"
)

// Hierarchy: the is-a graph of each source lives in memory as two compressed adjacency
// arrays (parents and children, uint32 dense ids, ~8 bytes per edge). This is the
// deliberate choice of standards.md §3.3's two options:
//   - subsumption walks upwards from the candidate; SNOMED's ancestor sets are small
//     (10–32 ancestors, a few hundred at worst), so the walk is a few microseconds and needs no
//     precomputed closure (which would be 20–30 M pairs, ~200 MB, and minutes of import);
//   - `<<` walks downwards with a bitset, linear in the size of the answer.
// Both are measured in bench_test.go against the budgets (50 µs, 20 ms for 10,000 descendants).

// CodeTerm is a code with its preferred term.
type CodeTerm struct {
	Code string `json:"code"`
	Term string `json:"term"`
	Type string `json:"type,omitempty"` // association name, for replacedBy
}

// locate finds the source holding code. For SNOMED ids the SNOMED release is searched first,
// then dm+d (whose ids are SNOMED ids of the UK drug extension).
func (t *Terminology) locate(system, code string) (*source, uint32, error) {
	sys, err := SystemURI(system)
	if err != nil {
		return nil, 0, err
	}
	var names []string
	switch sys {
	case "", SystemSNOMED:
		names = []string{SourceSNOMED, SourceDMD}
	case SystemDMD:
		names = []string{SourceDMD, SourceSNOMED}
	case SystemCTV3:
		names = []string{SourceCTV3}
	case SystemRead2:
		names = []string{SourceRead2}
	}
	for _, n := range names {
		if s := t.source(n); s != nil {
			if id, ok := s.id(code); ok {
				return s, id, nil
			}
		}
	}
	if sys == "" {
		sys = SystemSNOMED
	}
	return nil, 0, &NotFoundError{System: sys, Code: code}
}

// Subsumes reports whether SNOMED concept a is b or an ancestor of b. An unknown code is a
// *NotFoundError. Both codes are looked up in the SNOMED release, then in dm+d.
func (t *Terminology) Subsumes(a, b string) (bool, error) {
	return t.SubsumesIn(SystemSNOMED, a, b)
}

// SubsumesIn is Subsumes for any system (CTV3 and Read v2 have hierarchies too).
func (t *Terminology) SubsumesIn(system, a, b string) (bool, error) {
	sa, ia, err := t.locate(system, a)
	if err != nil {
		return false, err
	}
	sb, ib, err := t.locate(system, b)
	if err != nil {
		return false, err
	}
	if sa != sb {
		// a code may exist in both SNOMED and dm+d sources: try b in a's source
		var ok bool
		if ib, ok = sa.id(b); !ok {
			return false, nil
		}
	}
	return sa.subsumes(ia, ib), nil
}

func (s *source) subsumes(a, b uint32) bool {
	if a == b {
		return true
	}
	// upward walk from b; ancestor sets are small, so a short slice beats a map
	var seenBuf [64]uint32
	seen := seenBuf[:0]
	var stackBuf [64]uint32
	stack := append(stackBuf[:0], b)
	var seenMap map[uint32]bool
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range s.par.of(x) {
			if p == a {
				return true
			}
			if seenMap != nil {
				if seenMap[p] {
					continue
				}
				seenMap[p] = true
			} else {
				dup := false
				for _, v := range seen {
					if v == p {
						dup = true
						break
					}
				}
				if dup {
					continue
				}
				seen = append(seen, p)
				if len(seen) == cap(seenBuf) {
					seenMap = make(map[uint32]bool, 256)
					for _, v := range seen {
						seenMap[v] = true
					}
				}
			}
			stack = append(stack, p)
		}
	}
	return false
}

// walk marks every id reachable from seeds through g (parents or children) in out.
// With self, the seeds themselves are marked.
func walk(g csr, seeds []uint32, self bool, out bitset) {
	stack := make([]uint32, 0, 256)
	for _, s := range seeds {
		if self {
			out.set(s)
		}
		stack = append(stack, s)
	}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, y := range g.of(x) {
			if !out.has(y) {
				out.set(y)
				stack = append(stack, y)
			}
		}
	}
}

func (s *source) members(b bitset) []uint32 {
	count := 0
	for _, by := range b {
		count += bits.OnesCount8(by)
	}
	out := make([]uint32, 0, count)
	for i, by := range b {
		if by == 0 {
			continue
		}
		for j := 0; j < 8; j++ {
			if by&(1<<j) != 0 {
				id := uint32(i*8 + j)
				if int(id) < s.n() {
					out = append(out, id)
				}
			}
		}
	}
	return out
}

// DescendantCodes returns the codes strictly below code (no terms: the fast path).
func (t *Terminology) DescendantCodes(system, code string) ([]string, error) {
	s, id, err := t.locate(system, code)
	if err != nil {
		return nil, err
	}
	set := newBitset(s.n())
	walk(s.children(), []uint32{id}, false, set)
	ids := s.members(set)
	out := make([]string, len(ids))
	for i, x := range ids {
		out[i] = s.codes[x]
	}
	return out, nil
}

// Descendants returns the concepts strictly below code with their preferred terms.
func (t *Terminology) Descendants(system, code string) ([]CodeTerm, error) {
	return t.related(system, code, false)
}

// Ancestors returns the concepts strictly above code with their preferred terms.
func (t *Terminology) Ancestors(system, code string) ([]CodeTerm, error) {
	return t.related(system, code, true)
}

func (t *Terminology) related(system, code string, up bool) ([]CodeTerm, error) {
	return retry(func() ([]CodeTerm, error) { return t.relatedOnce(system, code, up) })
}

func (t *Terminology) relatedOnce(system, code string, up bool) ([]CodeTerm, error) {
	s, id, err := t.locate(system, code)
	if err != nil {
		return nil, err
	}
	set := newBitset(s.n())
	g := s.children()
	if up {
		g = s.par
	}
	walk(g, []uint32{id}, false, set)
	set[id>>3] &^= 1 << (id & 7) // a cycle in bad data must not list the concept itself
	return s.codeTerms(t.db, s.members(set)), nil
}

func (s *source) codeTerms(d *db, ids []uint32) []CodeTerm {
	out := make([]CodeTerm, len(ids))
	for i, x := range ids {
		out[i] = CodeTerm{Code: s.codes[x], Term: s.pt(d, x)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Term < out[j].Term })
	return out
}

// hierarchyTags names the SNOMED CT top-level hierarchies, and the few
// sub-hierarchies record validation distinguishes, by their concept ids.
var hierarchyTags = map[string]string{
	"404684003":          "finding",
	"64572001":           "disorder",
	"420134006":          "allergy finding", // Propensity to adverse reaction
	"71388002":           "procedure",
	"243796009":          "situation",
	"272379006":          "event",
	"105590001":          "substance",
	"373873005":          "product",
	"410607006":          "organism",
	"363787002":          "observable entity",
	"362981000":          "qualifier value",
	"123037004":          "body structure",
	"123038009":          "specimen",
	"260787004":          "physical object",
	"48176007":           "social context",
	"308916002":          "environment or geographical location",
	"254291000":          "staging and scales",
	"419891008":          "record artifact",
	"370115009":          "special concept",
	"78621006":           "physical force",
	"900000000000441003": "model component",
}

// Hierarchies names the hierarchies a concept falls in ("finding" and
// "disorder" for a disease, "substance", "product", "observable entity"…),
// by walking its is-a ancestors in memory; a dm+d product is "product".
// An empty answer means the terminology does not place the concept. An
// unknown code is a *NotFoundError.
func (t *Terminology) Hierarchies(system, code string) ([]string, error) {
	return retry(func() ([]string, error) {
		s, id, err := t.locate(system, code)
		if err != nil {
			return nil, err
		}
		if s.name == SourceDMD {
			return []string{"product"}, nil
		}
		var out []string
		seen := map[uint32]bool{id: true}
		stack := []uint32{id}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if tag, ok := hierarchyTags[s.codes[x]]; ok {
				out = append(out, tag)
			}
			for _, p := range s.par.of(x) {
				if !seen[p] {
					seen[p] = true
					stack = append(stack, p)
				}
			}
		}
		sort.Strings(out)
		return out, nil
	})
}
