package find

import (
	"cmp"
	"context"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Patient is what patient find knows of a patient.
type Patient struct {
	ID        string // opaque id (UUIDv7 string)
	Family    string // "O'Brien"
	Given     string // given names joined by spaces
	BirthDate string // YYYY-MM-DD
	NHS       string // 10 digits or ""
	Postcode  string // "LS6 2QT" or "" (foreign addresses may be anything)
	Status    uint8  // 0 active, 1 left, 2 deceased
}

// Hit is one patient found, best first.
type Hit struct {
	ID    string
	Score int
}

// ---- the index ----

// recentCap is how many opened patients are remembered.
const recentCap = 1000

// deltaMax is how many changed patients are kept outside the bulk index before it is
// rebuilt in the background.
const deltaMax = 4096

// Patients is the patient find index. All methods are safe for concurrent use; Search
// runs concurrently with Put and Delete.
type Patients struct {
	mu         sync.RWMutex
	base       *patBase
	tomb       bitset // base ranks deleted or replaced
	recentBits bitset // base ranks that were opened (searched separately, with their time)
	recentRank map[uint32]int64
	delta      map[string]*refPatient // patients put since the base was built
	opened     map[string]int64       // id -> unix nanos
	dead       int                    // tombstoned base records

	compacting bool
	oplog      []func(*Patients)
	rebuilt    chan struct{} // closed when a background rebuild finishes (tests)

	now func() time.Time
}

// NewPatients returns an empty index.
func NewPatients() *Patients {
	ix := &Patients{opened: make(map[string]int64), now: time.Now}
	ix.installLocked(buildPatBase(nil))
	return ix
}

// SetClock replaces the clock used for recency and two-digit years (tests, benches).
func (ix *Patients) SetClock(now func() time.Time) {
	ix.mu.Lock()
	ix.now = now
	ix.mu.Unlock()
}

func (ix *Patients) markDuplicates() {
	for _, r := range ix.base.dups {
		ix.tomb.set(r)
		ix.dead++
	}
}

// Put adds a patient or replaces the one with the same id.
func (ix *Patients) Put(p Patient) {
	r := newRefPatient(p)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.putLocked(r)
	if ix.compacting {
		ix.oplog = append(ix.oplog, func(x *Patients) { x.putLocked(r) })
	}
	ix.maybeCompactLocked()
}

func (ix *Patients) putLocked(r *refPatient) {
	if rk := ix.base.rankOf(r.p.ID); rk >= 0 && !ix.tomb.has(uint32(rk)) {
		ix.tomb.set(uint32(rk))
		ix.dead++
	}
	ix.delta[r.p.ID] = r
}

// Delete removes the patient with this id, if present.
func (ix *Patients) Delete(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.deleteLocked(id)
	if ix.compacting {
		ix.oplog = append(ix.oplog, func(x *Patients) { x.deleteLocked(id) })
	}
	ix.maybeCompactLocked()
}

func (ix *Patients) deleteLocked(id string) {
	delete(ix.delta, id)
	if rk := ix.base.rankOf(id); rk >= 0 && !ix.tomb.has(uint32(rk)) {
		ix.tomb.set(uint32(rk))
		ix.dead++
	}
}

// Get returns the patient with this id.
func (ix *Patients) Get(id string) (Patient, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if r, ok := ix.delta[id]; ok {
		return r.p, true
	}
	if rk := ix.base.rankOf(id); rk >= 0 && !ix.tomb.has(uint32(rk)) {
		return ix.base.patient(uint32(rk)), true
	}
	return Patient{}, false
}

// Len is the number of patients in the index.
func (ix *Patients) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.base.n - ix.dead + len(ix.delta)
}

// Opened records that a patient was opened; recently opened patients are lifted in the
// ranking and ties go to the most recently opened. The last recentCap are remembered.
func (ix *Patients) Opened(id string, at time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.openedLocked(id, at.UnixNano())
	if ix.compacting {
		t := at.UnixNano()
		ix.oplog = append(ix.oplog, func(x *Patients) { x.openedLocked(id, t) })
	}
}

func (ix *Patients) openedLocked(id string, t int64) {
	ix.opened[id] = t
	if rk := ix.base.rankOf(id); rk >= 0 {
		ix.recentBits.set(uint32(rk))
		ix.recentRank[uint32(rk)] = t
	}
	if len(ix.opened) > recentCap {
		oldID, oldT := "", int64(0)
		first := true
		for k, v := range ix.opened {
			if first || v < oldT || (v == oldT && k < oldID) {
				oldID, oldT, first = k, v, false
			}
		}
		delete(ix.opened, oldID)
		if rk := ix.base.rankOf(oldID); rk >= 0 {
			ix.recentBits.clear(uint32(rk))
			delete(ix.recentRank, uint32(rk))
		}
	}
}

// Recent returns the ids of the most recently opened patients, newest first.
func (ix *Patients) Recent(n int) []string {
	ix.mu.RLock()
	type e struct {
		id string
		t  int64
	}
	es := make([]e, 0, len(ix.opened))
	for id, t := range ix.opened {
		es = append(es, e{id, t})
	}
	ix.mu.RUnlock()
	slices.SortFunc(es, func(a, b e) int {
		if a.t != b.t {
			return cmp.Compare(b.t, a.t)
		}
		return strings.Compare(a.id, b.id)
	})
	if n >= 0 && len(es) > n {
		es = es[:n]
	}
	out := make([]string, len(es))
	for i, x := range es {
		out[i] = x.id
	}
	return out
}

// RecentTimes returns a copy of the remembered opening times (for the reference matcher).
func (ix *Patients) RecentTimes() map[string]time.Time {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	m := make(map[string]time.Time, len(ix.opened))
	for id, t := range ix.opened {
		m[id] = time.Unix(0, t)
	}
	return m
}

// ---- rebuild ----

func (ix *Patients) maybeCompactLocked() {
	if ix.compacting || (len(ix.delta) <= deltaMax && ix.dead <= max(deltaMax, ix.base.n/8)) {
		return
	}
	ix.compacting = true
	ix.rebuilt = make(chan struct{})
	go ix.compact()
}

// livePatients copies out every live patient.
func (ix *Patients) livePatientsLocked() []Patient {
	b := ix.base
	ps := make([]Patient, 0, b.n-ix.dead+len(ix.delta))
	for r := 0; r < b.n; r++ {
		if !ix.tomb.has(uint32(r)) {
			ps = append(ps, b.patient(uint32(r)))
		}
	}
	for _, d := range ix.delta {
		ps = append(ps, d.p)
	}
	return ps
}

func (ix *Patients) compact() {
	ix.mu.RLock()
	ps := ix.livePatientsLocked()
	ix.mu.RUnlock()
	nb := buildPatBase(ps)
	ix.mu.Lock()
	ix.installLocked(nb)
	for _, op := range ix.oplog {
		op(ix)
	}
	ix.oplog = nil
	ix.compacting = false
	done := ix.rebuilt
	ix.mu.Unlock()
	close(done)
}

func (ix *Patients) installLocked(nb *patBase) {
	ix.base = nb
	ix.tomb = newBitset(nb.n)
	ix.recentBits = newBitset(nb.n)
	ix.recentRank = make(map[uint32]int64)
	ix.delta = make(map[string]*refPatient)
	ix.dead = 0
	ix.markDuplicates()
	for id, t := range ix.opened {
		if rk := nb.rankOf(id); rk >= 0 {
			ix.recentBits.set(uint32(rk))
			ix.recentRank[uint32(rk)] = t
		}
	}
}

// Rebuild folds every change into the bulk index now and waits for it.
func (ix *Patients) Rebuild() {
	ix.mu.Lock()
	if ix.compacting {
		done := ix.rebuilt
		ix.mu.Unlock()
		<-done
		ix.mu.Lock()
	}
	ps := ix.livePatientsLocked()
	ix.installLocked(buildPatBase(ps))
	ix.mu.Unlock()
}

// ---- search ----

// ptok is a patient query token compiled against the base.
type ptok struct {
	q      qtoken
	w      wordTok
	levels []level
	ub     int
	nhsLo  uint64 // tDigits: value+1 range of NHS numbers with this prefix
	nhsHi  uint64

	pcKey   uint64 // tPostcode: packed token, shifted down by pcShift (0: not packable)
	pcShift uint
}

func (b *patBase) compile(t qtoken) ptok {
	pt := ptok{q: t}
	var ls []level
	switch t.kind {
	case tName:
		pt.w = b.voc.compile(t.s)
		ls = b.voc.levels(&pt.w, ls)
	case tDigits:
		if len(t.s) <= 10 {
			v, _ := atoi64(t.s)
			scale := pow10(10 - len(t.s))
			pt.nhsLo, pt.nhsHi = v*scale+1, (v+1)*scale+1
			if len(t.s) == 10 {
				ls = addLevel(ls, ScoreNHSExact, b.nhsRange(pt.nhsLo, pt.nhsHi))
			} else {
				ls = b.nhsPrefixLevels(t.s, pt.nhsLo, pt.nhsHi, ls)
			}
		}
		ls = b.dobLevels(t.dates, ls)
	case tDate:
		ls = b.dobLevels(t.dates, ls)
	case tPostcode:
		if k, ok := packChars(t.s); ok {
			pt.pcShift = uint(6*(pcChars-len(t.s)) + 4)
			pt.pcKey = (k << 4) >> pt.pcShift
			// full: an outward code shorter than the token, the postcode starting with
			// it; one run of byPC for each outward length
			chars := k // the token's characters, zero after them
			span := uint64(1)<<(6*(pcChars-len(t.s))) - 1
			var full []uint32
			for o := uint64(1); o < uint64(len(t.s)); o++ {
				lo := o<<48 | chars
				hi := o<<48 | chars | span
				i := sort.Search(len(b.byPC), func(i int) bool { return pcOrder(b.pcKey[b.byPC[i]]) >= lo })
				j := i + sort.Search(len(b.byPC)-i, func(j int) bool { return pcOrder(b.pcKey[b.byPC[i+j]]) > hi })
				full = append(full, b.byPC[i:j]...)
			}
			ls = addLevel(ls, ScorePostcodeFull, b.inRankOrder(full))
			// district: the outward code is the token; byDist holds it in rank order
			dk := k<<4 | uint64(len(t.s))
			i := sort.Search(len(b.byDist), func(i int) bool { return districtKey(b.pcKey[b.byDist[i]]) >= dk })
			j := i + sort.Search(len(b.byDist)-i, func(j int) bool { return districtKey(b.pcKey[b.byDist[i+j]]) > dk })
			ls = addLevel(ls, ScorePostcodeDistr, b.byDist[i:j])
		}
		// postcodes that could not be packed are few: test them all
		var full, distr []uint32
		for _, r := range b.pcFree {
			switch b.pcKind(r, &pt) {
			case pcFull:
				full = append(full, r)
			case pcDistrict:
				distr = append(distr, r)
			}
		}
		ls = addLevel(ls, ScorePostcodeFull, full)
		ls = addLevel(ls, ScorePostcodeDistr, distr)
	}
	pt.levels = ls
	pt.ub = maxScore(ls)
	return pt
}

// inRankOrder sorts ranks in place (distinct ranks, as a postcode run gives them). A large
// set is ordered through a bitset: O(n/64 + len) instead of a comparison sort.
func (b *patBase) inRankOrder(rs []uint32) []uint32 {
	if len(rs) < 4096 {
		slices.Sort(rs)
		return rs
	}
	lo, hi := rs[0], rs[0]
	for _, r := range rs {
		lo, hi = min(lo, r), max(hi, r)
	}
	bs := make(bitset, hi/64-lo/64+1)
	base := lo &^ 63
	for _, r := range rs {
		bs.set(r - base)
	}
	out := rs[:0]
	for w, x := range bs {
		for x != 0 {
			out = append(out, base+uint32(w)*64+uint32(bits.TrailingZeros64(x)))
			x &= x - 1
		}
	}
	return out
}

// pcKind matches a postcode token on record r (see matchPostcode).
func (b *patBase) pcKind(r uint32, t *ptok) int {
	k := b.pcKey[r]
	if k == 0 {
		if s, ok := b.pcOdd[r]; ok {
			norm, out := normPostcode(s)
			if norm != "" {
				return matchPostcode(t.q.s, norm, out)
			}
		}
		return pcNone
	}
	if t.pcShift == 0 || k>>t.pcShift != t.pcKey {
		return pcNone
	}
	out := int(k & 15)
	switch {
	case len(t.q.s) == out:
		return pcDistrict
	case len(t.q.s) > out:
		return pcFull
	}
	return pcNone
}

func atoi64(s string) (uint64, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	return v, true
}

func pow10(n int) uint64 {
	v := uint64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

// nhsRange lists ranks whose NHS value+1 is in [lo, hi), in rank order.
func (b *patBase) nhsRange(lo, hi uint64) []uint32 {
	i := sort.Search(len(b.byNHS), func(i int) bool { return b.nhs[b.byNHS[i]] >= lo })
	j := sort.Search(len(b.byNHS), func(i int) bool { return b.nhs[b.byNHS[i]] >= hi })
	if j-i <= 1 {
		return b.byNHS[i:j]
	}
	out := slices.Clone(b.byNHS[i:j])
	slices.Sort(out)
	return out
}

func (b *patBase) nhsPrefixLevels(d string, lo, hi uint64, ls []level) []level {
	switch {
	case len(d) > 3:
		return addLevel(ls, ScoreNHSPartial, b.nhsRange(lo, hi))
	default:
		// whole groups of the first three digits, already in rank order
		v, _ := atoi64(d)
		scale := uint32(pow10(3 - len(d)))
		for g := uint32(v) * scale; g < (uint32(v)+1)*scale; g++ {
			ls = addLevel(ls, ScoreNHSPartial, b.nhs3[b.nhs3Of[g]:b.nhs3Of[g+1]])
		}
		return ls
	}
}

func (b *patBase) dobLevels(dates []uint32, ls []level) []level {
	for _, d := range dates {
		lo := sort.Search(len(b.byDOB), func(i int) bool { return b.dob[b.byDOB[i]] >= d })
		hi := lo + sort.Search(len(b.byDOB)-lo, func(i int) bool { return b.dob[b.byDOB[lo+i]] > d })
		ls = addLevel(ls, ScoreDOB, b.byDOB[lo:hi])
	}
	return ls
}

func isoDate(p uint32) string {
	y, m, d := p/10000, p/100%100, p%100
	b := []byte("0000-00-00")
	b[0], b[1], b[2], b[3] = byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10)
	b[5], b[6] = byte('0'+m/10), byte('0'+m%10)
	b[8], b[9] = byte('0'+d/10), byte('0'+d%10)
	return string(b)
}

// tokenScore is the best score of token t on base record r (the same rules as
// refPatient.tokenScore, on the compiled form).
func (b *patBase) tokenScore(r uint32, t *ptok) int {
	switch t.q.kind {
	case tName:
		best := 0
		for _, w := range b.famTab.wordsOf(b.fam[r]) {
			if s := wordScore(t.w.kind(w&^primaryBit), w&primaryBit != 0); s > best {
				best = s
			}
		}
		if best >= ScoreSecondaryExact {
			return best
		}
		for _, w := range b.givTab.wordsOf(b.giv[r]) {
			if s := wordScore(t.w.kind(w), false); s > best {
				best = s
			}
		}
		return best
	case tDigits:
		v := b.nhs[r]
		if v != 0 && len(t.q.s) == 10 && v == t.nhsLo {
			return ScoreNHSExact
		}
		if d := b.dob[r]; d != 0 && slices.Contains(t.q.dates, d) {
			return ScoreDOB
		}
		if v != 0 && len(t.q.s) < 10 && v >= t.nhsLo && v < t.nhsHi {
			return ScoreNHSPartial
		}
	case tDate:
		if d := b.dob[r]; d != 0 && slices.Contains(t.q.dates, d) {
			return ScoreDOB
		}
	case tPostcode:
		switch b.pcKind(r, t) {
		case pcFull:
			return ScorePostcodeFull
		case pcDistrict:
			return ScorePostcodeDistr
		}
	}
	return 0
}

func (b *patBase) score(r uint32, toks []ptok) int {
	total := 0
	for i := range toks {
		s := b.tokenScore(r, &toks[i])
		if s == 0 {
			return 0
		}
		total += s
	}
	return total
}

// cand is a search result before ids are formatted: a base rank or a delta patient.
type cand struct {
	score  int
	opened int64
	rank   uint32
	d      *refPatient
}

// Search returns up to limit patients matching q, best first (see doc.go).
func (ix *Patients) Search(ctx context.Context, q string, limit int) []Hit {
	limit = normLimit(limit)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	now := ix.now()
	qt := parsePatientQuery(q, todayOf(now))
	if len(qt) == 0 {
		return nil
	}
	b := ix.base
	toks := make([]ptok, len(qt))
	for i, t := range qt {
		toks[i] = b.compile(t)
	}
	// drive with the most selective token
	sizes := make([]int, len(toks))
	drive := 0
	for i := range toks {
		sizes[i] = levelSize(toks[i].levels)
		if sizes[i] < sizes[drive] {
			drive = i
		}
	}
	rest := 0
	for i := range toks {
		if i != drive {
			rest += toks[i].ub
		}
	}
	var filt bitset
	if j := secondSmallest(sizes, drive); j >= 0 {
		filt = filterFor(&b.filters, b.n, sizes[drive], toks[j].levels)
		defer releaseFilter(&b.filters, filt)
	}
	dt := &toks[drive]
	eval := func(r uint32, ls int) int {
		if ix.tomb.has(r) || ix.recentBits.has(r) {
			return 0
		}
		if filt != nil && !filt.has(r) {
			return 0
		}
		if b.tokenScore(r, dt) != ls {
			return 0
		}
		total := ls
		for i := range toks {
			if i == drive {
				continue
			}
			s := b.tokenScore(r, &toks[i])
			if s == 0 {
				return 0
			}
			total += s
		}
		return total
	}
	top, ok := runLevels(ctx, dt.levels, rest, limit, filt, eval)
	if !ok {
		return nil
	}
	cs := make([]cand, 0, len(top)+16)
	for _, x := range top {
		cs = append(cs, cand{score: int(x.score), rank: x.rank})
	}
	nowN := now.UnixNano()
	lift := func(s int, at int64) int {
		if nowN-at <= int64(RecentWindow) {
			return s + RecentLift
		}
		return s
	}
	for r, at := range ix.recentRank {
		if ix.tomb.has(r) {
			continue
		}
		if s := b.score(r, toks); s > 0 {
			cs = append(cs, cand{score: lift(s, at), opened: at, rank: r})
		}
	}
	for id, d := range ix.delta {
		d2 := *d
		d2.openedAt = ix.opened[id]
		if s := d2.score(qt, nowN); s > 0 {
			cs = append(cs, cand{score: s, opened: d2.openedAt, d: d})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil
	}
	slices.SortFunc(cs, func(x, y cand) int { return ix.compareCand(&x, &y) })
	if len(cs) > limit {
		cs = cs[:limit]
	}
	hits := make([]Hit, len(cs))
	for i, c := range cs {
		if c.d != nil {
			hits[i] = Hit{ID: c.d.p.ID, Score: c.score}
		} else {
			hits[i] = Hit{ID: b.idOf(c.rank), Score: c.score}
		}
	}
	return hits
}

func (ix *Patients) compareCand(x, y *cand) int {
	if x.score != y.score {
		return y.score - x.score
	}
	if x.opened != y.opened {
		return cmp.Compare(y.opened, x.opened)
	}
	if x.d == nil && y.d == nil {
		return cmp.Compare(x.rank, y.rank)
	}
	xf, xg, xd, xid := ix.keyOf(x)
	yf, yg, yd, yid := ix.keyOf(y)
	return comparePatientKeys(xf, xg, xd, xid, yf, yg, yd, yid)
}

func (ix *Patients) keyOf(c *cand) (string, string, string, string) {
	if c.d != nil {
		return c.d.famFold, c.d.givFold, c.d.p.BirthDate, c.d.p.ID
	}
	b := ix.base
	r := c.rank
	return b.famTab.folds[b.fam[r]], b.givTab.folds[b.giv[r]], b.dobStr(r), b.idOf(r)
}
