package terminology

import (
	"context"

	"github.com/opengpsoc/gpsoc/find"
	"hash/crc32"
	"sort"
	"strings"
)

// SearchOptions limits a code search.
type SearchOptions struct {
	System          string // sct, dmd, ctv3, read2 or a URI; "" = every system
	ECL             string // only codes in this expression's result (SNOMED, dm+d; CTV3/Read v2 hierarchies too)
	Codelist        string // only codes in this imported code list
	Limit           int    // default 20
	IncludeInactive bool
	Picker          string // what the search is for: PickerProblem, PickerConsultation, PickerDrug, "" (rank.go)
	Usage           *Usage // this practice's and this user's use, lifted within a class; nil = none
}

// Result is one search hit.
type Result struct {
	System    string `json:"system"`
	Code      string `json:"code"`
	Term      string `json:"term"`
	Active    bool   `json:"active"`
	Preferred bool   `json:"preferred"`
	// Match says why it was found: code, shorthand, whole, prefix, words or fuzzy (rank.go).
	Match string `json:"match"`
	// Generic is the generic product (VMP) of a brand (AMP) or pack: a brand shows its generic.
	Generic string `json:"generic,omitempty"`
	score   int
}

// NotInEmbedded is what a picker says when the embedded default has nothing that matches
// the query well: a typo match is all there is, or nothing.
const NotInEmbedded = "not in the embedded terminology — import the UK release (gpsoc codes import rf2)"

// termHit mirrors find.TermHit.
type termHit struct {
	Index int
	Score int
}

// termIndex is the search backend over one source's terms (find.Terms, see index.go).
type termIndex interface {
	Search(ctx context.Context, q string, limit int, keep func(index int) bool) []termHit
}

// Search finds codes by free text over preferred terms and synonyms, and by the GP
// shorthand table; a code typed exactly comes first. Results are one per code, best first
// by the ranking of rank.go.
func (t *Terminology) Search(ctx context.Context, text string, o SearchOptions) ([]Result, error) {
	rs, err := retry(func() ([]Result, error) { return t.search(ctx, text, o) })
	if err != nil || len(rs) > 0 {
		return rs, err
	}
	// nothing: two words typed apart that are one word in the terminology ("heart burn")
	ws := find.QueryWords(text)
	for i := 0; i+1 < len(ws) && len(ws) <= 4; i++ {
		joined := strings.Join(append(append(append([]string{}, ws[:i]...), ws[i]+ws[i+1]), ws[i+2:]...), " ")
		if rs, err = retry(func() ([]Result, error) { return t.search(ctx, joined, o) }); err != nil || len(rs) > 0 {
			return rs, err
		}
	}
	return nil, nil
}

// SearchNote is the note a picker shows beside results rs of a search of the embedded
// default: NotInEmbedded when nothing matched better than a typo, "" otherwise (and always
// "" once a real SNOMED CT release is imported).
func (t *Terminology) SearchNote(rs []Result) string {
	for _, r := range rs {
		if r.Match != MatchFuzzy {
			return ""
		}
	}
	if s := t.source(SourceSNOMED); s != nil && !s.info.Embedded {
		return ""
	}
	return NotInEmbedded
}

// candidatesPer is how many descriptions each source offers the ranking.
func candidatesPer(limit int) int { return max(limit*3, 60) }

func (t *Terminology) search(ctx context.Context, text string, o SearchOptions) ([]Result, error) {
	sys, err := SystemURI(o.System)
	if err != nil {
		return nil, err
	}
	if !ValidPicker(o.Picker) {
		return nil, &ValueError{Field: "picker", Value: o.Picker, Reason: "must be problem, consultation, drug or empty"}
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
	keepFor := func(s *source) (func(uint32) bool, bool) {
		var filter bitset
		if m != nil {
			if filter = m.set(s); filter == nil {
				return nil, false
			}
		}
		return func(id uint32) bool {
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
		}, true
	}
	tab := t.shorthand()
	sh, isShorthand := tab.lookup(text)
	if isShorthand && len(sh.Codes) == 0 {
		// a GP term the terminology in use lacks: say so (SearchNote), offer nothing
		return nil, nil
	}
	cands := candidatesPer(o.Limit)
	var all []candidate
	exact := false
	collect := func(q string) error {
		for _, s := range srcs {
			if err := ctx.Err(); err != nil {
				return err
			}
			keepID, ok := keepFor(s)
			if !ok {
				continue
			}
			var filter bitset
			if m != nil {
				filter = m.set(s)
			}
			if q == text {
				// a code typed directly
				if id, ok := s.id(text); ok && keepID(id) {
					all = append(all, candidate{Result: Result{System: systemOfSource[s.name], Code: text, Term: s.pt(t.db, id),
						Active: s.active.has(id), Preferred: true}, src: s, id: id, class: MatchCode, find: 1 << 20})
					exact = true
				}
				if exact && !strings.ContainsRune(text, ' ') {
					continue // a whole code typed: that code is the answer; no need to build the index
				}
			}
			hits, err := t.sourceHits(ctx, s, q, cands, filter, list, keepID)
			if err != nil {
				return err
			}
			for _, h := range hits {
				row := s.terms[h.Index]
				c := candidate{Result: Result{System: systemOfSource[s.name], Code: s.codes[row.id], Term: row.term,
					Active: row.flags&termActive != 0, Preferred: row.flags&termPreferred != 0}, src: s, id: row.id, find: h.Score, q: q}
				if h.Score >= find.ScoreCodePrefix {
					c.class = MatchCode
				}
				all = append(all, c)
			}
		}
		return nil
	}
	if err := collect(text); err != nil {
		return nil, err
	}
	if !exact {
		all = t.wholeSynonyms(ctx, text, srcs, keepFor, all)
	}
	if !exact {
		shc := t.shorthandCandidates(text, srcs, keepFor)
		all = append(all, shc...)
		if isShorthand && len(shc) > 0 {
			// "htn", "pcm": also what the words of the concept find ("Hypertension…",
			// the paracetamol products), ranked against those words
			if err := collect(shc[0].Term); err != nil {
				return nil, err
			}
		}
	}
	t.rankCandidates(text, o.Picker, o.Usage, all)
	// typo matches only when there are too few better ones
	better := map[string]bool{}
	for _, c := range all {
		if c.Match != MatchFuzzy {
			better[c.System+"|"+c.Code] = true
		}
	}
	if len(better) >= o.Limit {
		kept := all[:0]
		for _, c := range all {
			if c.Match != MatchFuzzy {
				kept = append(kept, c)
			}
		}
		all = kept
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	// one row per code, across systems too (a dm+d product may also be in the SNOMED drug
	// extension): the best-ranked description of each
	var out []Result
	codes := map[string]bool{}
	for _, c := range all {
		if codes[c.Code] {
			continue
		}
		codes[c.Code] = true
		if c.src.name == SourceDMD && (c.h == hAMP || c.h == hPack || c.h == hOther) {
			c.Generic = t.genericOf(c.Code, c.Term)
		}
		out = append(out, c.Result)
		if len(out) == o.Limit {
			break
		}
	}
	return out, nil
}

// sourceHits asks one source's index (or, for a narrow search before the index exists, a
// scan of the subset) for the candidates of a query.
func (t *Terminology) sourceHits(ctx context.Context, s *source, text string, n int, filter bitset, list map[string]bool, keepID func(uint32) bool) ([]termHit, error) {
	var hits []termHit
	searched := false
	if !s.indexReady.Load() && (filter != nil || list != nil) {
		// a narrow search before the index exists: scan just the subset (a one-shot CLI
		// search of a full release must not wait for the whole index)
		sub := filter
		if list != nil {
			sub = newBitset(s.n())
			for code := range list {
				if id, ok := s.id(code); ok && (filter == nil || filter.has(id)) {
					sub.set(id)
				}
			}
		}
		var err error
		hits, searched, err = s.searchSubset(ctx, t.db, text, n, sub, keepID)
		if err != nil {
			return nil, err
		}
	}
	if !searched {
		if err := s.ensureIndex(t.db); err != nil {
			return nil, err
		}
		hits = s.index.Search(ctx, text, n, func(i int) bool { return keepID(s.terms[i].id) })
		if vmps := t.vmpSet(s); vmps != nil {
			// many AMPs share their VMP's name: ask for VMPs too, so the generic product
			// (what GPs prescribe by default) is never crowded out of the candidates
			hits = append(hits, s.index.Search(ctx, text, n/2, func(i int) bool { id := s.terms[i].id; return vmps.has(id) && keepID(id) })...)
		}
	}
	return hits, nil
}

// shorthandCandidates are the concepts the shorthand table gives for the query: the whole
// query as a key, or a colloquial key the query begins; each offered by its preferred term.
func (t *Terminology) shorthandCandidates(text string, srcs []*source, keepFor func(*source) (func(uint32) bool, bool)) []candidate {
	tab := t.shorthand()
	var rows []Shorthand
	whole := false
	if r, ok := tab.lookup(text); ok {
		rows = append(rows, r)
		whole = true
	}
	rows = append(rows, tab.prefixed(text)...)
	var out []candidate
	for ri, r := range rows {
		for ci, code := range r.Codes {
			for _, s := range srcs {
				id, ok := s.id(code)
				if !ok {
					continue
				}
				keep, ok := keepFor(s)
				if !ok || !keep(id) {
					continue
				}
				// the first row (the whole query) before keys the query only begins; the
				// table's order within a row
				c := candidate{Result: Result{System: systemOfSource[s.name], Code: code, Term: s.pt(t.db, id),
					Active: s.active.has(id), Preferred: true}, src: s, id: id, class: MatchShorthand, find: 900 - 100*min(ci, 5)}
				if ri > 0 || !whole {
					// a colloquial key the query only begins ("water inf"): as a description
					// the query begins, not above one that is the query
					c.class, c.find = MatchPrefix, 0
				}
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// genericOf is the VMP term of a brand or pack, "" for a generic or when it is the same.
func (t *Terminology) genericOf(code, term string) string {
	p, err := t.product(code)
	if err != nil || p.Kind == "VMP" || p.Kind == "VTM" {
		return ""
	}
	g := listedGeneric(code)
	if p.VMP != nil {
		g = p.VMP.Term
	}
	if strings.EqualFold(g, term) {
		return ""
	}
	return g
}

// Warm builds the search indexes and preferred-term tables of every source in the background.
// Long-running processes (the TUI, the server) call it after Open so that the first keystroke
// does not pay for building the index (seconds for a full UK release). Safe to call again.
func (t *Terminology) Warm() {
	srcs := t.sourcesFor("")
	go func() {
		for _, s := range srcs {
			_ = s.ensureIndex(t.db)
			_, _ = s.preferredTerms(t.db)
		}
	}()
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

// ensureRows decodes the source's term table (rows are in concept id order).
func (s *source) ensureRows(d *db) error {
	s.rowsOnce.Do(func() {
		var blob []byte
		s.rowsErr = d.view(func(tx *boltTx) error {
			g, err := genBucket(tx, s.gen)
			if err != nil {
				return err
			}
			blob = getBlobSized(g, "terms")
			return nil
		})
		if s.rowsErr != nil {
			return
		}
		if s.terms, s.rowsErr = decodeTerms(blob); s.rowsErr != nil {
			return
		}
		termSums.Store(s, crc32.Checksum(blob, castagnoli)) // keys the index snapshot (index.go)
		s.rowOff = make([]uint32, s.n()+1)
		for _, r := range s.terms {
			s.rowOff[r.id+1]++
		}
		for i := 1; i < len(s.rowOff); i++ {
			s.rowOff[i] += s.rowOff[i-1]
		}
	})
	return s.rowsErr
}

// ensureIndex builds the find index over every term of the source (seconds for a full UK
// release; Warm does it in the background).
func (s *source) ensureIndex(d *db) error {
	if s.indexReady.Load() {
		return nil
	}
	s.indexOnce.Do(func() {
		snap := mapTermSnapshot(d, s.name) // maps the snapshot, if any, while the rows are read
		if s.ensureRows(d) != nil {
			snap.release()
			return
		}
		s.index = s.loadTermIndex(d, snap)
		s.indexReady.Store(true)
	})
	return s.ensureRows(d) // the rows' error, if they could not be read
}

// smallSubset is the most terms searched by a plain scan, without the index, when an ECL
// filter or code list limits a search before the index exists.
const smallSubset = 50_000

// searchSubset searches only the terms of the concepts in filter, with find's reference
// matcher (same semantics as the index). ok is false when the subset is too big.
func (s *source) searchSubset(ctx context.Context, d *db, q string, limit int, filter bitset, keepID func(uint32) bool) ([]termHit, bool, error) {
	if err := s.ensureRows(d); err != nil {
		return nil, false, err
	}
	ids := s.members(filter)
	total := 0
	for _, id := range ids {
		total += int(s.rowOff[id+1] - s.rowOff[id])
		if total > smallSubset {
			return nil, false, nil
		}
	}
	ts := make([]findTerm, 0, total)
	rowOf := make([]int, 0, total)
	for _, id := range ids {
		for r := s.rowOff[id]; r < s.rowOff[id+1]; r++ {
			row := s.terms[r]
			ts = append(ts, findTerm{Code: s.codes[row.id], Term: row.term, Preferred: row.flags&termPreferred != 0, Active: row.flags&termActive != 0})
			rowOf = append(rowOf, int(r))
		}
	}
	if ctx.Err() != nil {
		return nil, true, ctx.Err()
	}
	hits := referenceTerms(ts, q, limit, func(i int) bool { return keepID(s.terms[rowOf[i]].id) })
	for i := range hits {
		hits[i].Index = rowOf[hits[i].Index]
	}
	return hits, true, nil
}

// wholeSynonyms adds the synonyms that are the query word for word when the candidates
// have no such description: the index ranks ties preferred terms first, so in a full
// release "hypertension" may meet dozens of preferred "Hypertension …" terms before the
// synonym "Hypertension" itself. One more small search, of synonyms only.
func (t *Terminology) wholeSynonyms(ctx context.Context, text string, srcs []*source, keepFor func(*source) (func(uint32) bool, bool), all []candidate) []candidate {
	// only for whole words of 5 letters or more: a synonyms-only filter makes the index walk
	// every match of a short word ("c", "car") before it gives up
	for _, w := range find.QueryWords(text) {
		if len(w) < 5 {
			return all
		}
	}
	m := find.NewTermMatcher(text)
	for _, c := range all {
		if cls, _ := m.Match(c.Term); cls == find.MatchWhole {
			return all
		}
	}
	for _, s := range srcs {
		keepID, ok := keepFor(s)
		if !ok || !s.indexReady.Load() {
			continue
		}
		for _, h := range s.index.Search(ctx, text, 10, func(i int) bool {
			return s.terms[i].flags&termPreferred == 0 && keepID(s.terms[i].id)
		}) {
			row := s.terms[h.Index]
			if cls, _ := m.Match(row.term); cls != find.MatchWhole {
				continue
			}
			all = append(all, candidate{Result: Result{System: systemOfSource[s.name], Code: s.codes[row.id], Term: row.term,
				Active: row.flags&termActive != 0}, src: s, id: row.id, find: h.Score})
		}
	}
	return all
}
