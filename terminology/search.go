package terminology

import (
	"context"
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

// termIndex is the search backend over one source's terms (find.Terms, see index.go).
type termIndex interface {
	Search(ctx context.Context, q string, limit int, keep func(index int) bool) []termHit
}

// Search finds codes by free text over preferred terms and synonyms; a code typed exactly
// comes first. Results are one per code, best first.
func (t *Terminology) Search(ctx context.Context, text string, o SearchOptions) ([]Result, error) {
	return retry(func() ([]Result, error) { return t.search(ctx, text, o) })
}

func (t *Terminology) search(ctx context.Context, text string, o SearchOptions) ([]Result, error) {
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
	exact := false
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
			exact = true
		}
		if exact && !strings.ContainsRune(text, ' ') {
			continue // a whole code typed: that code is the answer; no need to build the index
		}
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
			hits, searched, err = s.searchSubset(ctx, t.db, text, o.Limit*4, sub, keepID)
			if err != nil {
				return nil, err
			}
		}
		if !searched {
			if err := s.ensureIndex(t.db); err != nil {
				return nil, err
			}
			hits = s.index.Search(ctx, text, o.Limit*4, func(i int) bool { return keepID(s.terms[i].id) })
		}
		if vmps := t.vmpSet(s); vmps != nil && searched {
			// subset scans rank VMPs by the same rule below
			first := referenceVMPFirst(hits, s, vmps)
			hits = append(first, hits...)
		} else if vmps != nil {
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

// referenceVMPFirst repeats the VMP hits of a subset scan with a one-point lift.
func referenceVMPFirst(hits []termHit, s *source, vmps bitset) []termHit {
	var first []termHit
	for _, h := range hits {
		if vmps.has(s.terms[h.Index].id) {
			first = append(first, termHit{Index: h.Index, Score: h.Score + 1})
		}
	}
	return first
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
