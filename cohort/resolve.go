package cohort

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/opengpsoc/gpsoc/terminology"
)

// CodeSet is a membership test over codes (system URI, code).
type CodeSet interface {
	Contains(system, code string) bool
}

// Resolver expands the parts of code sets. An unknown name is an error,
// never an empty set: a typo must not silently leave patients out.
type Resolver interface {
	// CodeSet is ecl "EXPR", codelist NAME or cluster NAME.
	CodeSet(kind, text string) (CodeSet, error)
	// MedicineSet is class NAME, codelist NAME or ecl "EXPR" over medicine codes.
	MedicineSet(kind, text string) (CodeSet, error)
}

// TermResolver resolves sets through the terminology: ECL, the imported code
// lists, the QOF clusters of the UK reference pack (code lists named after
// their cluster, DM_COD), and the curated drug classes of the medicines
// knowledge.
type TermResolver struct {
	T *terminology.Terminology
	c *setCache // nil: no cache (a zero TermResolver{T: t} works, expanding each time)
}

type setCache struct {
	mu sync.Mutex
	m  map[string]CodeSet
}

// NewTermResolver resolves through t, expanding each set once.
func NewTermResolver(t *terminology.Terminology) TermResolver {
	return TermResolver{T: t, c: &setCache{m: map[string]CodeSet{}}}
}

func (r TermResolver) cached(key string, fn func() (CodeSet, error)) (CodeSet, error) {
	if r.c == nil {
		return fn()
	}
	r.c.mu.Lock()
	cs, ok := r.c.m[key]
	r.c.mu.Unlock()
	if ok {
		return cs, nil
	}
	cs, err := fn()
	if err != nil {
		return nil, err
	}
	r.c.mu.Lock()
	r.c.m[key] = cs
	r.c.mu.Unlock()
	return cs, nil
}

// CodeSet implements Resolver.
func (r TermResolver) CodeSet(kind, text string) (CodeSet, error) {
	return r.cached(kind+"\x00"+text, func() (CodeSet, error) { return r.codeSet(kind, text) })
}

func (r TermResolver) codeSet(kind, text string) (CodeSet, error) {
	switch kind {
	case "ecl":
		m, err := r.T.CompileECL(text)
		if err != nil {
			return nil, fmt.Errorf("ecl %q: %w", text, err)
		}
		return m, nil
	case "codelist":
		return r.list(text, "code list")
	case "cluster":
		return r.list(strings.ToUpper(text), "cluster")
	}
	return nil, fmt.Errorf("unknown code set kind %q", kind)
}

func (r TermResolver) list(name, what string) (CodeSet, error) {
	sys, codes, err := r.T.Codelist(name)
	if errors.Is(err, terminology.ErrNotFound) {
		return nil, fmt.Errorf("unknown %s %q (%s)", what, name, suggest(name, r.T.Codelists()))
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, name, err)
	}
	s := listSet{system: sys, codes: make(map[string]bool, len(codes))}
	for _, c := range codes {
		s.codes[c.Code] = true
	}
	return s, nil
}

type listSet struct {
	system string
	codes  map[string]bool
}

func (s listSet) Contains(system, code string) bool {
	if !s.codes[code] {
		return false
	}
	// SNOMED CT and dm+d share one id space; other systems must agree
	return s.system == "" || system == s.system || isSCT(system) && isSCT(s.system)
}

func isSCT(s string) bool { return s == sysSNOMED || s == sysDMD || s == "sct" || s == "dmd" }

// MedicineSet implements Resolver.
func (r TermResolver) MedicineSet(kind, text string) (CodeSet, error) {
	if kind != "class" {
		return r.CodeSet(kind, text)
	}
	return r.cached("class\x00"+text, func() (CodeSet, error) { return r.class(text) })
}

func (r TermResolver) class(text string) (CodeSet, error) {
	classes, err := r.T.DrugClasses()
	if err != nil {
		return nil, fmt.Errorf("drug classes: %w", err)
	}
	var ids []string
	for _, c := range classes {
		ids = append(ids, c.ID)
		if c.ID == text {
			return &classSet{t: r.T, id: text, memo: map[string]bool{}}, nil
		}
	}
	return nil, fmt.Errorf("unknown drug class %q (%s)", text, suggest(text, ids))
}

// classSet holds the medicines whose ingredients belong to a class.
type classSet struct {
	t    *terminology.Terminology
	id   string
	mu   sync.Mutex
	memo map[string]bool
}

func (c *classSet) Contains(system, code string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.memo[code]; ok {
		return v
	}
	in := false
	if p, err := c.t.Product(code); err == nil {
		for _, k := range c.t.AllClassesOf(p) {
			if k.Code == c.id {
				in = true
				break
			}
		}
	}
	c.memo[code] = in
	return in
}

// suggest names the closest known names (every one at the best distance),
// or lists a few.
func suggest(name string, known []string) string {
	if len(known) == 0 {
		return "none is loaded"
	}
	var best []string
	bestD := 1 << 30
	for _, k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		switch {
		case d < bestD:
			best, bestD = []string{k}, d
		case d == bestD:
			best = append(best, k)
		}
	}
	if bestD <= 2 && len(best) <= 4 {
		return "did you mean " + strings.Join(best, " or ") + "?"
	}
	if len(known) > 8 {
		return "known: " + strings.Join(known[:8], ", ") + ", ..."
	}
	return "known: " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
