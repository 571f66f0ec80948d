package find

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
)

// Term is one description a code picker can offer.
type Term struct {
	Code      string // concept / product code
	Term      string // description text
	Preferred bool   // preferred term vs synonym/FSN
	Active    bool
}

// TermHit is one term found: Index into the slice given to BuildTerms.
type TermHit struct {
	Index int
	Score int
}

const primaryBit = 1 << 31

// Terms is the code-picker index: immutable once built, safe for concurrent searches.
type Terms struct {
	ts      []Term
	order   []uint32 // rank -> index into ts; rank order is the tie order
	wOff    []uint32 // words of rank r: words[wOff[r]:wOff[r+1]], id | primaryBit
	words   []uint32
	initKey []uint64 // per rank, see initialsKeyOf
	byInit  []uint32 // ranks sorted by (initKey, rank)
	byCode  []uint32 // ranks sorted by (lower-case code, rank)
	voc     vocab

	filters sync.Pool // bitsets for multi-token searches
}

// Len is the number of terms.
func (ix *Terms) Len() int { return len(ix.order) }

// cmpFold compares ASCII strings ignoring case.
func cmpFold(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		x, y := lowerByte(a[i]), lowerByte(b[i])
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(len(a), len(b))
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// termWords holds the words of a run of terms (by index into ts), with temporary ids.
type termWords struct {
	lo    int
	vb    *vocabBuilder
	off   []uint32
	words []uint32 // temp id | primaryBit
	init  []uint64
}

func wordsOfTerms(ts []Term, lo, hi int) *termWords {
	tw := &termWords{lo: lo, vb: newVocabBuilder(), off: make([]uint32, hi-lo+1), init: make([]uint64, hi-lo)}
	var ini, buf []byte
	emit := func(w []byte, first, joined bool) {
		id := tw.vb.idBytes(w)
		if first {
			id |= primaryBit
		}
		tw.words = append(tw.words, id)
		if !joined && !initialStopWord(transient(w)) {
			ini = append(ini, w[0])
		}
	}
	for i := lo; i < hi; i++ {
		ini = ini[:0]
		if !eachWordASCII(ts[i].Term, &buf, emit) {
			eachWord(fold(ts[i].Term), func(w string, first, joined bool) {
				emit([]byte(w), first, joined)
			})
		}
		tw.off[i-lo+1] = uint32(len(tw.words))
		tw.init[i-lo] = initialsKeyOf(transient(ini))
	}
	return tw
}

// eachWordASCII is eachWord(fold(s)) for ASCII s without allocating: words are built
// in *buf and valid only during emit. It returns false, emitting nothing, when s is not
// ASCII.
func eachWordASCII(s string, buf *[]byte, emit func(w []byte, first, joined bool)) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	chunk := 0
	i := 0
	isChunk := func(c byte) bool {
		return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '\'' || c == '-'
	}
	for i < len(s) {
		if !isChunk(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isChunk(s[i]) {
			i++
		}
		// parts of s[start:i]: lower-cased, apostrophes dropped, split at hyphens;
		// b holds the parts back to back, ends marks where each ends
		b := (*buf)[:0]
		var ends [8]int
		np := 0
		partStart := 0
		for j := start; j <= i; j++ {
			if j == i || s[j] == '-' {
				if len(b) > partStart {
					if np < len(ends) {
						ends[np] = len(b)
						np++
					} else {
						b = b[:partStart] // eachWord keeps only the first 8 parts
					}
				}
				partStart = len(b)
				continue
			}
			c := s[j]
			if c == '\'' {
				continue
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		*buf = b
		if np == 0 {
			continue
		}
		from := 0
		for k := 0; k < np; k++ {
			emit(b[from:ends[k]], chunk == 0 && k == 0, false)
			from = ends[k]
		}
		if np > 1 {
			emit(b[:ends[np-1]], chunk == 0, true)
		}
		chunk++
	}
	return true
}

// BuildTerms builds the code-picker index over ts. The slice is kept (not copied) and must
// not change afterwards.
func BuildTerms(ts []Term) *Terms {
	n := len(ts)
	ix := &Terms{ts: ts}
	// words, on two goroutines
	mid := n / 2
	var a, b *termWords
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a = wordsOfTerms(ts, 0, mid) }()
	// rank order meanwhile
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	b = wordsOfTerms(ts, mid, n)
	wg.Wait()
	// rank order: radix on (active, preferred, length, first 5 bytes) then the next 8
	// bytes, stable so equal keys stay in index order; the few ties left are sorted in full
	k1 := make([]uint64, n)
	k2 := make([]uint64, n)
	for i := range ts {
		t := &ts[i]
		var k uint64
		if !t.Active {
			k |= 1 << 57
		}
		if !t.Preferred {
			k |= 1 << 56
		}
		k |= uint64(min(len(t.Term), 0xffff)) << 40
		k |= bytesKey(t.Term, 0, 5)
		k1[i] = k
		k2[i] = bytesKey(t.Term, 21, 8)
	}
	// LSD: bytes 21–28, 13–20, 5–12, then (flags, length, bytes 0–4)
	radixSort(k2, order, 64)
	for _, from := range []int{13, 5} {
		for r, i := range order {
			k2[r] = bytesKey(ts[i].Term, from, 8)
		}
		radixSort(k2, order, 64)
	}
	for r, i := range order {
		k2[r] = k1[i]
	}
	radixSort(k2, order, 58)
	prefix := func(s string) string { return s[:min(len(s), 29)] }
	for i := 0; i < n; {
		j := i + 1
		for j < n && k2[j] == k2[i] && prefix(ts[order[j]].Term) == prefix(ts[order[i]].Term) {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(order[i:j], func(x, y uint32) int { return compareTermStatic(ts, int(x), int(y)) })
		}
		i = j
	}
	k1, k2 = nil, nil
	ix.order = order

	// one vocabulary
	vb := newVocabBuilder()
	for _, tw := range []*termWords{a, b} {
		for _, w := range tw.vb.words {
			vb.id(w)
		}
	}
	words, remap := vb.finish()
	remapA := make([]uint32, len(a.vb.words))
	for i, w := range a.vb.words {
		remapA[i] = remap[vb.ids[w]]
	}
	remapB := make([]uint32, len(b.vb.words))
	for i, w := range b.vb.words {
		remapB[i] = remap[vb.ids[w]]
	}
	ix.voc.words = words
	// per-rank word lists
	ix.wOff = make([]uint32, n+1)
	ix.words = make([]uint32, 0, len(a.words)+len(b.words))
	ix.initKey = make([]uint64, n)
	for r, i := range order {
		tw, rm := a, remapA
		if int(i) >= mid {
			tw, rm = b, remapB
		}
		j := int(i) - tw.lo
		for _, w := range tw.words[tw.off[j]:tw.off[j+1]] {
			ix.words = append(ix.words, rm[w&^primaryBit]|w&primaryBit)
		}
		ix.wOff[r+1] = uint32(len(ix.words))
		ix.initKey[r] = tw.init[j]
	}
	a, b = nil, nil
	wg.Add(1)
	go func() {
		defer wg.Done()
		ix.voc.tail = buildTail(words)
		ix.voc.pOff, ix.voc.sOff, ix.voc.post = buildPostings(len(words), n, func(r uint32, emit func(uint32, bool)) {
			for _, w := range ix.words[ix.wOff[r]:ix.wOff[r+1]] {
				emit(w&^primaryBit, w&primaryBit != 0)
			}
		})
	}()
	ix.byInit = make([]uint32, n)
	for i := range ix.byInit {
		ix.byInit[i] = uint32(i)
	}
	{
		ks := slices.Clone(ix.initKey)
		radixSort(ks, ix.byInit, 64)
	}
	ix.byCode = make([]uint32, n)
	for i := range ix.byCode {
		ix.byCode[i] = uint32(i)
	}
	{
		// by lower-case code: radix on bytes 8–15 then 0–7 (stable, so ranks stay in
		// order), then runs equal in 16 bytes in full
		c1 := make([]uint64, n)
		c2 := make([]uint64, n)
		for r := range c1 {
			c := ts[order[r]].Code
			c1[r], c2[r] = lowerKey(c, 0), lowerKey(c, 8)
		}
		radixSort(c2, ix.byCode, 64)
		for i, r := range ix.byCode {
			c2[i] = c1[r]
		}
		radixSort(c2, ix.byCode, 64)
		sortRuns(ix.byCode, func(i int) uint64 { return c2[i] }, func(x, y uint32) int {
			if c := cmpFold(ts[order[x]].Code, ts[order[y]].Code); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
	}
	wg.Wait()
	return ix
}

// bytesKey packs s[from:from+n] (n <= 8) big-endian, zero padded.
func bytesKey(s string, from, n int) uint64 {
	var k uint64
	for j := 0; j < n; j++ {
		var c byte
		if from+j < len(s) {
			c = s[from+j]
		}
		k = k<<8 | uint64(c)
	}
	return k
}

// lowerKey is bytesKey of 8 bytes, ASCII lower-cased.
func lowerKey(s string, from int) uint64 {
	var k uint64
	for j := 0; j < 8; j++ {
		var c byte
		if from+j < len(s) {
			c = lowerByte(s[from+j])
		}
		k = k<<8 | uint64(c)
	}
	return k
}

// sortRuns sorts, with cmpf, each run of order whose keys (by position) are equal.
func sortRuns(order []uint32, key func(i int) uint64, cmpf func(x, y uint32) int) {
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && key(j) == key(i) {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(order[i:j], cmpf)
		}
		i = j
	}
}

func (ix *Terms) codeOf(r uint32) string { return ix.ts[ix.order[r]].Code }

// codeLevels: the exact code, and codes with the query as prefix (3 characters or more).
func (ix *Terms) codeLevels(code string, ls []level) []level {
	lo := sort.Search(len(ix.byCode), func(i int) bool { return cmpFold(ix.codeOf(ix.byCode[i]), code) >= 0 })
	hi := lo
	for hi < len(ix.byCode) && cmpFold(ix.codeOf(ix.byCode[hi]), code) == 0 {
		hi++
	}
	ls = addLevel(ls, ScoreCodeExact, ix.byCode[lo:hi])
	if len(code) >= 3 {
		end := hi + sort.Search(len(ix.byCode)-hi, func(i int) bool {
			c := ix.codeOf(ix.byCode[hi+i])
			return !(len(c) >= len(code) && cmpFold(c[:len(code)], code) == 0)
		})
		if end > hi {
			l := slices.Clone(ix.byCode[hi:end])
			slices.Sort(l)
			ls = addLevel(ls, ScoreCodePrefix, l)
		}
	}
	return ls
}

// ttok is a term query token compiled against the vocabulary.
type ttok struct {
	w      wordTok
	init   bool
	iKey   uint64
	iShift uint
	levels []level
	ub     int
}

func (ix *Terms) compile(t string) ttok {
	tt := ttok{w: ix.voc.compile(t)}
	ls := ix.voc.levels(&tt.w, nil)
	if initialismToken(t) {
		tt.init = true
		tt.iShift = uint(64 - 6*len(t))
		tt.iKey = initialsKeyOf(t) >> tt.iShift
		lo := sort.Search(len(ix.byInit), func(i int) bool { return ix.initKey[ix.byInit[i]]>>tt.iShift >= tt.iKey })
		hi := lo + sort.Search(len(ix.byInit)-lo, func(i int) bool { return ix.initKey[ix.byInit[lo+i]]>>tt.iShift > tt.iKey })
		if hi > lo {
			l := slices.Clone(ix.byInit[lo:hi])
			slices.Sort(l)
			ls = addLevel(ls, ScoreInitialism, l)
		}
	}
	tt.levels = ls
	tt.ub = maxScore(ls)
	return tt
}

func (ix *Terms) tokenScore(r uint32, t *ttok) int {
	best := 0
	for _, w := range ix.words[ix.wOff[r]:ix.wOff[r+1]] {
		if s := wordScore(t.w.kind(w&^primaryBit), w&primaryBit != 0); s > best {
			best = s
		}
	}
	if best < ScoreInitialism && t.init && ix.initKey[r]>>t.iShift == t.iKey {
		best = ScoreInitialism
	}
	return best
}

func (ix *Terms) codeScore(r uint32, code string) int {
	if code == "" {
		return 0
	}
	c := ix.codeOf(r)
	if len(c) == len(code) && cmpFold(c, code) == 0 {
		return ScoreCodeExact
	}
	if len(code) >= 3 && len(c) > len(code) && cmpFold(c[:len(code)], code) == 0 {
		return ScoreCodePrefix
	}
	return 0
}

// Search returns up to limit terms matching q, best first (see doc.go). keep, when not
// nil, says which indexes may be returned (a hierarchy, active only, a code system).
func (ix *Terms) Search(ctx context.Context, q string, limit int, keep func(index int) bool) []TermHit {
	limit = normLimit(limit)
	words, code := parseTermQuery(q)
	if len(words) == 0 && code == "" {
		return nil
	}
	toks := make([]ttok, len(words))
	for i, w := range words {
		toks[i] = ix.compile(w)
	}
	drive := -1
	sizes := make([]int, len(toks))
	for i := range toks {
		sizes[i] = levelSize(toks[i].levels)
		if drive < 0 || sizes[i] < sizes[drive] {
			drive = i
		}
	}
	var filt bitset
	if j := secondSmallest(sizes, drive); j >= 0 {
		filt = filterFor(&ix.filters, len(ix.order), sizes[drive], toks[j].levels)
		defer releaseFilter(&ix.filters, filt)
	}
	var levels []level
	rest := 0
	if drive >= 0 {
		levels = slices.Clone(toks[drive].levels)
		for i := range toks {
			if i != drive {
				rest += toks[i].ub
			}
		}
	}
	var codeLv []level
	if code != "" {
		codeLv = ix.codeLevels(code, nil)
	}
	if filt != nil {
		levels = filterLevels(levels, filt) // text levels only: a code match needs no other token
	}
	// code levels bound themselves (a code match is the whole score)
	for i := range codeLv {
		codeLv[i].score -= rest
	}
	levels = append(levels, codeLv...)
	eval := func(r uint32, ls int) int {
		if keep != nil && !keep(int(ix.order[r])) {
			return 0
		}
		if s := ix.codeScore(r, code); s != 0 {
			if s-rest != ls {
				return 0
			}
			return s
		}
		if drive < 0 || (filt != nil && !filt.has(r)) {
			return 0
		}
		s := ix.tokenScore(r, &toks[drive])
		if s != ls {
			return 0
		}
		total := s
		for i := range toks {
			if i == drive {
				continue
			}
			s := ix.tokenScore(r, &toks[i])
			if s == 0 {
				return 0
			}
			total += s
		}
		return total
	}
	top, ok := runLevels(ctx, levels, rest, limit, nil, eval)
	if !ok || ctx.Err() != nil {
		return nil
	}
	out := make([]TermHit, len(top))
	for i, x := range top {
		out[i] = TermHit{Index: int(ix.order[x.rank]), Score: int(x.score)}
	}
	return out
}
