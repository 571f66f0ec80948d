package terminology

import (
	"context"
	"sort"
	"strings"
	"unicode"
)

// SearchOptions limits a code search.
type SearchOptions struct {
	System          string // sct, dmd, ctv3, read2 or a URI; "" = every system
	ECL             string // only codes in this expression's result (SNOMED, dm+d; CTV3/Read v2 hierarchies too)
	Codelist        string // only codes in this imported code list
	Limit           int    // default 20
	IncludeInactive bool
}

// Result is one search hit.
type Result struct {
	System    string `json:"system"`
	Code      string `json:"code"`
	Term      string `json:"term"`
	Active    bool   `json:"active"`
	Preferred bool   `json:"preferred"`
	score     int
}

// termHit mirrors find.TermHit.
type termHit struct {
	Index int
	Score int
}

// termIndex is the search backend over one source's terms (find.Terms when it is built,
// the plain matcher below until then).
type termIndex interface {
	Search(ctx context.Context, q string, limit int, keep func(index int) bool) []termHit
}

// Search finds codes by free text over preferred terms and synonyms; a code typed exactly
// comes first. Results are one per code, best first.
func (t *Terminology) Search(ctx context.Context, text string, o SearchOptions) ([]Result, error) {
	sys, err := SystemURI(o.System)
	if err != nil {
		return nil, err
	}
	if o.Limit <= 0 {
		o.Limit = 20
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var m *Matcher
	if o.ECL != "" {
		eclSys := sys
		if eclSys == "" {
			eclSys = SystemSNOMED
		}
		if m, err = t.compileECL(eclSys, o.ECL); err != nil {
			return nil, err
		}
	}
	var list map[string]bool
	if o.Codelist != "" {
		cl := t.source(codelistPrefix + o.Codelist)
		if cl == nil {
			return nil, &NotFoundError{System: "codelist", Code: o.Codelist}
		}
		list = make(map[string]bool, cl.n())
		for _, c := range cl.codes {
			list[c] = true
		}
	}
	srcs := t.sourcesFor(sys)
	if sys == SystemSNOMED {
		// dm+d ids are SNOMED ids: a SNOMED search without a drug extension still finds products
		srcs = append(srcs, t.sourcesFor(SystemDMD)...)
	}
	var all []Result
	seen := map[string]bool{}
	for _, s := range srcs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var filter bitset
		if m != nil {
			filter = m.set(s)
			if filter == nil {
				continue
			}
		}
		keepID := func(id uint32) bool {
			if !o.IncludeInactive && !s.active.has(id) {
				return false
			}
			if filter != nil && !filter.has(id) {
				return false
			}
			if list != nil && !list[s.codes[id]] {
				return false
			}
			return true
		}
		// a code typed directly
		if id, ok := s.id(text); ok && keepID(id) {
			all = append(all, Result{System: systemOfSource[s.name], Code: text, Term: s.pt(t.db, id),
				Active: s.active.has(id), Preferred: true, score: 1 << 30})
		}
		if err := s.ensureIndex(t.db); err != nil {
			return nil, err
		}
		hits := s.index.Search(ctx, text, o.Limit*4, func(i int) bool { return keepID(s.terms[i].id) })
		if vmps := t.vmpSet(s); vmps != nil {
			// many AMPs share their VMP's name: search VMPs first so the generic product
			// (what GPs prescribe by default) is never crowded out, and rank it just above
			first := s.index.Search(ctx, text, o.Limit, func(i int) bool { id := s.terms[i].id; return vmps.has(id) && keepID(id) })
			for i := range first {
				first[i].Score++
			}
			hits = append(first, hits...)
		}
		got := 0
		for _, h := range hits {
			row := s.terms[h.Index]
			key := s.name + "|" + s.codes[row.id]
			if seen[key] {
				continue
			}
			seen[key] = true
			all = append(all, Result{System: systemOfSource[s.name], Code: s.codes[row.id], Term: row.term,
				Active: row.flags&termActive != 0, Preferred: row.flags&termPreferred != 0, score: h.Score})
			got++
			if got >= o.Limit {
				break
			}
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	// one row per code across systems (a dm+d product may also be in the SNOMED drug extension)
	out := all[:0]
	codes := map[string]bool{}
	for _, r := range all {
		if codes[r.Code] {
			continue
		}
		codes[r.Code] = true
		out = append(out, r)
		if len(out) == o.Limit {
			break
		}
	}
	return out, nil
}

func (t *Terminology) vmpSet(s *source) bitset {
	if s.name != SourceDMD {
		return nil
	}
	key := "^" + dmdRefsets["VMP"]
	e, err := parseECL(key)
	if err != nil {
		return nil
	}
	b, err := s.evalCached(t.db, key, e)
	if err != nil {
		return nil
	}
	return b
}

func (s *source) ensureIndex(d *db) error {
	s.termOnce.Do(func() {
		var blob []byte
		s.termErr = d.bolt.View(func(tx *boltTx) error {
			g, err := genBucket(tx, s.gen)
			if err != nil {
				return err
			}
			blob = getBlob(g, "terms")
			return nil
		})
		if s.termErr != nil {
			return
		}
		s.terms, s.termErr = decodeTerms(blob)
		if s.termErr != nil {
			return
		}
		s.index = buildTermIndex(s.codes, s.terms)
	})
	return s.termErr
}

// ---- plain matcher (used until find.Terms is available, and as the reference) ----

type plainIndex struct {
	norm  []string // normalised term
	codes []string
	pref  []bool
}

func newPlainIndex(codes []string, rows []termRow) *plainIndex {
	p := &plainIndex{norm: make([]string, len(rows)), codes: make([]string, len(rows)), pref: make([]bool, len(rows))}
	for i, r := range rows {
		p.norm[i] = normalise(r.term)
		p.codes[i] = codes[r.id]
		p.pref[i] = r.flags&termPreferred != 0
	}
	return p
}

func normalise(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// Search: every query word must start a word of the term (or, scored lower, occur inside it).
func (p *plainIndex) Search(ctx context.Context, q string, limit int, keep func(int) bool) []termHit {
	words := strings.Fields(normalise(q))
	if len(words) == 0 {
		return nil
	}
	var hits []termHit
	for i, term := range p.norm {
		if i%4096 == 0 && ctx.Err() != nil {
			return nil
		}
		score := 0
		ok := true
		for _, w := range words {
			j := strings.Index(term, w)
			if j < 0 {
				ok = false
				break
			}
			switch {
			case j == 0:
				score += 30
			case term[j-1] == ' ':
				score += 20
			default:
				score += 5
			}
		}
		if !ok || !keep(i) {
			continue
		}
		if term == strings.Join(words, " ") {
			score += 50
		}
		if p.pref[i] {
			score += 10
		}
		score -= len(term) / 8
		hits = append(hits, termHit{Index: i, Score: score})
	}
	sort.SliceStable(hits, func(a, b int) bool {
		if hits[a].Score != hits[b].Score {
			return hits[a].Score > hits[b].Score
		}
		return len(p.norm[hits[a].Index]) < len(p.norm[hits[b].Index])
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}
