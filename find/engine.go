package find

import (
	"context"
	"slices"
	"sort"
	"sync"
)

// A level is the set of records where the driving token (the most selective one) matches
// with one particular score. Lists are posting lists of record ranks, each in rank order.
type level struct {
	score int
	lists [][]uint32
}

func levelSize(ls []level) int {
	n := 0
	for _, l := range ls {
		for _, x := range l.lists {
			n += len(x)
		}
	}
	return n
}

// maxScore is the best score among levels that hold any record (0 if none).
func maxScore(ls []level) int {
	best := 0
	for _, l := range ls {
		for _, x := range l.lists {
			if len(x) > 0 && l.score > best {
				best = l.score
			}
		}
	}
	return best
}

func addLevel(ls []level, score int, list []uint32) []level {
	if len(list) == 0 {
		return ls
	}
	for i := range ls {
		if ls[i].score == score {
			ls[i].lists = append(ls[i].lists, list)
			return ls
		}
	}
	return append(ls, level{score: score, lists: [][]uint32{list}})
}

type scoredRank struct {
	score int32
	rank  uint32
}

// worse: lower score, or the same score and a later rank.
func worse(a, b scoredRank) bool {
	return a.score < b.score || (a.score == b.score && a.rank > b.rank)
}

// topK keeps the k best scoredRanks; the root of the heap is the worst kept.
type topK struct {
	k     int
	items []scoredRank
}

func (h *topK) full() bool { return len(h.items) >= h.k }

func (h *topK) push(x scoredRank) {
	if len(h.items) < h.k {
		h.items = append(h.items, x)
		// sift up
		i := len(h.items) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !worse(h.items[i], h.items[p]) {
				break
			}
			h.items[i], h.items[p] = h.items[p], h.items[i]
			i = p
		}
		return
	}
	if !worse(h.items[0], x) {
		return
	}
	h.items[0] = x
	n := len(h.items)
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && worse(h.items[r], h.items[l]) {
			m = r
		}
		if !worse(h.items[m], h.items[i]) {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// sorted returns the kept items best first.
func (h *topK) sorted() []scoredRank {
	out := slices.Clone(h.items)
	slices.SortFunc(out, func(a, b scoredRank) int {
		if a.score != b.score {
			return int(b.score - a.score)
		}
		if a.rank < b.rank {
			return -1
		}
		if a.rank > b.rank {
			return 1
		}
		return 0
	})
	return out
}

// cursor is one posting list being merged.
type cursor struct {
	head uint32
	list []uint32
}

// runLevels finds the k best records among the levels, best level first. eval returns a
// record's full score, or 0 when it is not a match or when its best score for the
// driving token is not this level's (it is counted at its own level). restUB bounds what
// the other tokens can add. Because lists come in rank order and rank is the tie order,
// a level stops as soon as nothing left in it can enter the top k, and later levels are
// skipped once their bound cannot beat what is kept: the 1-character query touches a
// few dozen records, not a tenth of the index.
//
// With filt, each list is first cut to the records set in filt (one bit test each), so
// the merge only walks records that can match the other tokens.
func runLevels(ctx context.Context, levels []level, restUB, k int, filt bitset, eval func(rank uint32, levelScore int) int) ([]scoredRank, bool) {
	slices.SortFunc(levels, func(a, b level) int { return b.score - a.score })
	if filt != nil {
		levels = filterLevels(levels, filt)
	}
	h := topK{k: k, items: make([]scoredRank, 0, min(k, 1024))}
	work := 0
	var cur []cursor
	for _, lv := range levels {
		ub := int32(lv.score + restUB)
		// can anything at this level beat the worst kept?
		if h.full() && h.items[0].score > ub {
			break
		}
		stop := func(r uint32) bool {
			if !h.full() {
				return false
			}
			w := h.items[0]
			return w.score > ub || (w.score == ub && w.rank < r)
		}
		if len(lv.lists) == 1 {
			last := uint32(1<<32 - 1)
			for _, r := range lv.lists[0] {
				if stop(r) {
					break
				}
				if r == last {
					continue
				}
				last = r
				work++
				if work&4095 == 0 && ctx.Err() != nil {
					return nil, false
				}
				if s := eval(r, lv.score); s > 0 {
					h.push(scoredRank{int32(s), r})
				}
			}
			continue
		}
		// k-way merge in rank order
		cur = cur[:0]
		for _, l := range lv.lists {
			if len(l) > 0 {
				cur = append(cur, cursor{l[0], l[1:]})
			}
		}
		n := len(cur)
		for i := n/2 - 1; i >= 0; i-- {
			siftDown(cur, i, n)
		}
		last := uint32(1<<32 - 1)
		for n > 0 {
			r := cur[0].head
			if stop(r) {
				break
			}
			if len(cur[0].list) > 0 {
				cur[0].head = cur[0].list[0]
				cur[0].list = cur[0].list[1:]
			} else {
				n--
				cur[0] = cur[n]
			}
			siftDown(cur, 0, n)
			if r == last {
				continue
			}
			last = r
			work++
			if work&4095 == 0 && ctx.Err() != nil {
				return nil, false
			}
			if s := eval(r, lv.score); s > 0 {
				h.push(scoredRank{int32(s), r})
			}
		}
	}
	return h.sorted(), true
}

// filterLevels copies the levels keeping only records set in filt.
func filterLevels(levels []level, filt bitset) []level {
	total := levelSize(levels)
	buf := make([]uint32, 0, min(total, 1<<16))
	out := make([]level, len(levels))
	type span struct{ lv, from, to int }
	var spans []span
	for i, lv := range levels {
		out[i].score = lv.score
		for _, l := range lv.lists {
			from := len(buf)
			for _, r := range l {
				if filt.has(r) {
					buf = append(buf, r)
				}
			}
			if len(buf) > from {
				spans = append(spans, span{i, from, len(buf)})
			}
		}
	}
	// slice after all appends, as buf may have moved
	for _, sp := range spans {
		out[sp.lv].lists = append(out[sp.lv].lists, buf[sp.from:sp.to])
	}
	return out
}

func siftDown(c []cursor, i, n int) {
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && c[r].head < c[l].head {
			m = r
		}
		if c[m].head >= c[i].head {
			return
		}
		c[i], c[m] = c[m], c[i]
		i = m
	}
}

// ---- vocabulary ----

// vocab is the sorted set of distinct words, with posting lists per word for primary
// and secondary occurrences (record ranks in rank order).
type vocab struct {
	words []string
	tail  []uint32 // word ids sorted by word[1:], for typos in the first letter
	pOff  []uint32 // len(words)+1, into post
	sOff  []uint32 // len(words)+1, into post
	post  []uint32
}

func (v *vocab) primary(w uint32) []uint32   { return v.post[v.pOff[w]:v.pOff[w+1]] }
func (v *vocab) secondary(w uint32) []uint32 { return v.post[v.sOff[w]:v.sOff[w+1]] }

func (v *vocab) prefixRange(p string) (int, int) {
	lo := sort.SearchStrings(v.words, p)
	hi := lo + sort.Search(len(v.words)-lo, func(i int) bool {
		w := v.words[lo+i]
		return !(len(w) >= len(p) && w[:len(p)] == p)
	})
	return lo, hi
}

func (v *vocab) tailRange(p string) (int, int) {
	tailOf := func(i int) string {
		w := v.words[v.tail[i]]
		if w == "" {
			return ""
		}
		return w[1:]
	}
	lo := sort.Search(len(v.tail), func(i int) bool { return tailOf(i) >= p })
	hi := lo + sort.Search(len(v.tail)-lo, func(i int) bool {
		w := tailOf(lo + i)
		return !(len(w) >= len(p) && w[:len(p)] == p)
	})
	return lo, hi
}

// wordTok is a name/word token compiled against a vocabulary.
type wordTok struct {
	s      string
	exact  int32 // word id or -1
	lo, hi uint32
	fuzzy  []uint32 // sorted word ids matched with a typo (outside [lo, hi))
	kinds  []uint8  // mFuzzy or mFuzzyWord, beside fuzzy
}

func (v *vocab) compile(t string) wordTok {
	lo, hi := v.prefixRange(t)
	wt := wordTok{s: t, exact: -1, lo: uint32(lo), hi: uint32(hi)}
	if lo < hi && v.words[lo] == t {
		wt.exact = int32(lo)
	}
	if len(t) < fuzzyMin {
		return wt
	}
	var fz []uint32
	check := func(id uint32) {
		if id >= wt.lo && id < wt.hi {
			return
		}
		if m := matchWord(t, v.words[id]); m == mFuzzy || m == mFuzzyWord {
			fz = append(fz, id)
		}
	}
	// A typo after the first byte keeps the first byte; a typo at the first byte leaves
	// one of these prefixes (see matchWord).
	a, b := v.prefixRange(t[:1])
	for i := a; i < b; i++ {
		check(uint32(i))
	}
	swapped := string([]byte{t[1], t[0]}) + t[2:]
	for _, p := range []string{t[1:], swapped} {
		a, b := v.prefixRange(p)
		for i := a; i < b; i++ {
			check(uint32(i))
		}
	}
	for _, p := range []string{t[1:], t} {
		a, b := v.tailRange(p)
		for i := a; i < b; i++ {
			check(v.tail[i])
		}
	}
	slices.Sort(fz)
	wt.fuzzy = slices.Compact(fz)
	wt.kinds = make([]uint8, len(wt.fuzzy))
	for i, id := range wt.fuzzy {
		wt.kinds[i] = uint8(matchWord(t, v.words[id]))
	}
	return wt
}

func (t *wordTok) kind(w uint32) int {
	if int32(w) == t.exact {
		return mExact
	}
	if w >= t.lo && w < t.hi {
		return mPrefix
	}
	if len(t.fuzzy) > 0 {
		if i, ok := slices.BinarySearch(t.fuzzy, w); ok {
			return int(t.kinds[i])
		}
	}
	return mNone
}

// levels adds the word levels of the token.
func (v *vocab) levels(t *wordTok, ls []level) []level {
	if t.exact >= 0 {
		ls = addLevel(ls, ScorePrimaryExact, v.primary(uint32(t.exact)))
		ls = addLevel(ls, ScoreSecondaryExact, v.secondary(uint32(t.exact)))
	}
	for w := t.lo; w < t.hi; w++ {
		if int32(w) == t.exact {
			continue
		}
		ls = addLevel(ls, ScorePrimaryPrefix, v.primary(w))
		ls = addLevel(ls, ScoreSecondaryPrefix, v.secondary(w))
	}
	for i, w := range t.fuzzy {
		ls = addLevel(ls, wordScore(int(t.kinds[i]), true), v.primary(w))
		ls = addLevel(ls, wordScore(int(t.kinds[i]), false), v.secondary(w))
	}
	return ls
}

// vocabBuilder interns words and builds the sorted vocabulary.
type vocabBuilder struct {
	ids   map[string]uint32
	words []string
}

func newVocabBuilder() *vocabBuilder { return &vocabBuilder{ids: make(map[string]uint32)} }

func (b *vocabBuilder) idBytes(w []byte) uint32 {
	if id, ok := b.ids[string(w)]; ok {
		return id
	}
	return b.id(string(w))
}

func (b *vocabBuilder) id(w string) uint32 {
	if id, ok := b.ids[w]; ok {
		return id
	}
	id := uint32(len(b.words))
	b.ids[w] = id
	b.words = append(b.words, w)
	return id
}

// finish sorts the words; remap[tempID] is the final id.
func (b *vocabBuilder) finish() (words []string, remap []uint32) {
	order := make([]uint32, len(b.words))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int {
		a, c := b.words[x], b.words[y]
		if a < c {
			return -1
		}
		if a > c {
			return 1
		}
		return 0
	})
	words = make([]string, len(order))
	remap = make([]uint32, len(order))
	for i, o := range order {
		words[i] = b.words[o]
		remap[o] = uint32(i)
	}
	return words, remap
}

func buildTail(words []string) []uint32 {
	t := make([]uint32, len(words))
	for i := range t {
		t[i] = uint32(i)
	}
	tailOf := func(w string) string {
		if w == "" {
			return ""
		}
		return w[1:]
	}
	slices.SortFunc(t, func(a, b uint32) int {
		x, y := tailOf(words[a]), tailOf(words[b])
		if x < y {
			return -1
		}
		if x > y {
			return 1
		}
		return 0
	})
	return t
}

// buildPostings builds per-word primary and secondary posting lists by counting; each
// visits the words of one record and is called for every rank twice.
func buildPostings(nWords int, n int, each func(r uint32, emit func(w uint32, primary bool))) (pOff, sOff, post []uint32) {
	pOff = make([]uint32, nWords+1)
	sOff = make([]uint32, nWords+1)
	for r := 0; r < n; r++ {
		each(uint32(r), func(w uint32, primary bool) {
			if primary {
				pOff[w+1]++
			} else {
				sOff[w+1]++
			}
		})
	}
	var total uint32
	for w := 0; w < nWords; w++ {
		c := pOff[w+1]
		pOff[w] = total
		total += c
	}
	pOff[nWords] = total
	for w := 0; w < nWords; w++ {
		c := sOff[w+1]
		sOff[w] = total
		total += c
	}
	sOff[nWords] = total
	post = make([]uint32, total)
	pPos := slices.Clone(pOff[:nWords])
	sPos := slices.Clone(sOff[:nWords])
	for r := 0; r < n; r++ {
		each(uint32(r), func(w uint32, primary bool) {
			if primary {
				post[pPos[w]] = uint32(r)
				pPos[w]++
			} else {
				post[sPos[w]] = uint32(r)
				sPos[w]++
			}
		})
	}
	return pOff, sOff, post
}

// filterMin is the driving size above which a second token's matches are marked in a
// bitset first, so candidates that cannot match it are dropped with one bit test.
var filterMin = 2000 // a variable so that tests can force the filtered path

// filterFor returns a bitset of the records matching token index second's levels, or
// nil when not worth it. The bitset comes from pool and goes back with release.
func filterFor(pool *sync.Pool, n int, drivingSize int, ls []level) bitset {
	if drivingSize < filterMin || ls == nil {
		return nil
	}
	bs, _ := pool.Get().(bitset)
	if len(bs) != (n+63)/64 {
		bs = newBitset(n)
	}
	for _, l := range ls {
		for _, x := range l.lists {
			for _, r := range x {
				bs.set(r)
			}
		}
	}
	return bs
}

func releaseFilter(pool *sync.Pool, bs bitset) {
	if bs != nil {
		clear(bs)
		pool.Put(bs)
	}
}

// secondSmallest is the index of the token with the fewest matches other than drive.
func secondSmallest(sizes []int, drive int) int {
	best := -1
	for i, s := range sizes {
		if i != drive && (best < 0 || s < sizes[best]) {
			best = i
		}
	}
	return best
}

// bitset over record ranks.
type bitset []uint64

func newBitset(n int) bitset       { return make(bitset, (n+63)/64) }
func (b bitset) has(i uint32) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b bitset) set(i uint32)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) clear(i uint32)    { b[i>>6] &^= 1 << (i & 63) }
