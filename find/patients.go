package find

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"runtime"
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

// strTable holds the distinct values of one text field, sorted by (folded, as written):
// a record stores an index into it, and its order is the tie order.
type strTable struct {
	strs  []string
	folds []string
	wOff  []uint32 // words of strs[i]: words[wOff[i]:wOff[i+1]]
	words []uint32
}

func (t *strTable) wordsOf(i uint32) []uint32 { return t.words[t.wOff[i]:t.wOff[i+1]] }

// patBase is the immutable bulk part of the patient index; records are stored in rank
// order (the tie order: surname, given names, date of birth, id), so posting lists in
// rank order give candidates in the order ties are broken.
type patBase struct {
	n      int
	ids    []byte // 16 bytes per rank (UUID), zero when odd
	oddIDs map[uint32]string
	fam    []uint32
	giv    []uint32
	dob    []uint32 // index into dobTab
	pc     []uint32 // index into pcTab
	nhs    []uint64 // value+1, 0 none
	status []uint8

	famTab, givTab strTable
	dobStrs        []string // sorted
	dobPacked      []uint32
	dobOff         []uint32 // postings per dobStrs entry
	dobPost        []uint32
	pcStrs         []string // sorted by (norm, raw)
	pcNorm         []string
	pcOut          []uint8
	pcOff          []uint32
	pcPost         []uint32

	voc vocab

	byID   []uint32 // ranks sorted by id
	byNHS  []uint32 // ranks with an NHS number sorted by (number, rank)
	nhs3   []uint32 // ranks grouped by the first three digits, each group in rank order
	nhs3Of [1001]uint32

	dups []uint32 // ranks that lost to a later patient with the same id
}

func (b *patBase) idOf(r uint32) string {
	if b.oddIDs != nil {
		if s, ok := b.oddIDs[r]; ok {
			return s
		}
	}
	return formatUUID(b.ids[r*16 : r*16+16])
}

func formatUUID(u []byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}

// parseUUID accepts only the canonical lower-case form, so that formatUUID gives back
// exactly the string given and byte order equals string order.
func parseUUID(s string, dst []byte) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		h, ok1 := unhex(s[i])
		l, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[j] = h<<4 | l
		j++
	}
	return j == 16
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// rankOf finds the rank of id, or -1.
func (b *patBase) rankOf(id string) int {
	var u [16]byte
	canon := parseUUID(id, u[:])
	i := sort.Search(len(b.byID), func(i int) bool {
		r := b.byID[i]
		if canon && (b.oddIDs == nil || b.oddIDs[r] == "") {
			return bytes.Compare(b.ids[r*16:r*16+16], u[:]) >= 0
		}
		return b.idOf(r) >= id
	})
	if i < len(b.byID) && b.idOf(b.byID[i]) == id {
		return int(b.byID[i])
	}
	return -1
}

func (b *patBase) patient(r uint32) Patient {
	return Patient{
		ID:        b.idOf(r),
		Family:    b.famTab.strs[b.fam[r]],
		Given:     b.givTab.strs[b.giv[r]],
		BirthDate: b.dobStrs[b.dob[r]],
		NHS:       formatNHS(b.nhs[r]),
		Postcode:  b.pcStrs[b.pc[r]],
		Status:    b.status[r],
	}
}

// ---- build ----

type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() *interner { return &interner{ids: make(map[string]uint32)} }

func (in *interner) id(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := uint32(len(in.strs))
	in.ids[s] = id
	in.strs = append(in.strs, s)
	return id
}

// sortedTable sorts the interned strings by (fold, raw) and returns the sorted strings,
// their folds and remap[temp] = sorted index.
func sortedTable(strs []string, key func(string) string) (sorted, keys []string, remap []uint32) {
	type e struct {
		k, s string
		i    uint32
	}
	es := make([]e, len(strs))
	for i, s := range strs {
		es[i] = e{key(s), s, uint32(i)}
	}
	slices.SortFunc(es, func(a, b e) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	sorted = make([]string, len(es))
	keys = make([]string, len(es))
	remap = make([]uint32, len(es))
	for i, x := range es {
		sorted[i], keys[i], remap[x.i] = x.s, x.k, uint32(i)
	}
	return
}

// BuildPatients builds an index over ps in one go (much faster than Put one by one).
// When an id occurs twice the later patient wins.
func BuildPatients(ps []Patient) *Patients {
	ix := NewPatients()
	ix.installLocked(buildPatBase(ps))
	return ix
}

func identity(s string) string { return s }

func buildPatBase(ps []Patient) *patBase {
	n := len(ps)
	b := &patBase{n: n}
	famT, givT, dobT, pcT := make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n)
	var famI, givI, dobI, pcI *interner
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		famI, givI = newInterner(), newInterner()
		for i := range ps {
			famT[i] = famI.id(ps[i].Family)
			givT[i] = givI.id(ps[i].Given)
		}
	}()
	go func() {
		defer wg.Done()
		dobI, pcI = newInterner(), newInterner()
		for i := range ps {
			dobT[i] = dobI.id(ps[i].BirthDate)
			pcT[i] = pcI.id(ps[i].Postcode)
		}
	}()
	wg.Wait()

	var famRemap, givRemap, dobRemap, pcRemap []uint32
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.famTab.strs, b.famTab.folds, famRemap = sortedTable(famI.strs, fold)
		b.givTab.strs, b.givTab.folds, givRemap = sortedTable(givI.strs, fold)
	}()
	go func() {
		defer wg.Done()
		b.dobStrs, _, dobRemap = sortedTable(dobI.strs, identity)
		b.pcStrs, b.pcNorm, pcRemap = sortedTable(pcI.strs, func(s string) string { n, _ := normPostcode(s); return n })
	}()
	wg.Wait()

	// rank order
	type key struct {
		f, g, d uint32
		i       uint32
	}
	keys := make([]key, n)
	for i := range ps {
		keys[i] = key{famRemap[famT[i]], givRemap[givT[i]], dobRemap[dobT[i]], uint32(i)}
	}
	parallelSort(keys, func(a, b key) int {
		if a.f != b.f {
			return cmp.Compare(a.f, b.f)
		}
		if a.g != b.g {
			return cmp.Compare(a.g, b.g)
		}
		if a.d != b.d {
			return cmp.Compare(a.d, b.d)
		}
		if c := strings.Compare(ps[a.i].ID, ps[b.i].ID); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	famT, givT, dobT = nil, nil, nil

	b.ids = make([]byte, 16*n)
	b.fam = make([]uint32, n)
	b.giv = make([]uint32, n)
	b.dob = make([]uint32, n)
	b.pc = make([]uint32, n)
	b.nhs = make([]uint64, n)
	b.status = make([]uint8, n)
	for r, k := range keys {
		p := &ps[k.i]
		if !parseUUID(p.ID, b.ids[r*16:r*16+16]) {
			if b.oddIDs == nil {
				b.oddIDs = make(map[uint32]string)
			}
			b.oddIDs[uint32(r)] = p.ID
			clear(b.ids[r*16 : r*16+16])
		}
		b.fam[r], b.giv[r], b.dob[r] = k.f, k.g, k.d
		b.pc[r] = pcRemap[pcT[k.i]]
		b.nhs[r] = nhsValue(p.NHS)
		b.status[r] = p.Status
	}
	inputIdx := make([]uint32, n)
	for r, k := range keys {
		inputIdx[r] = k.i
	}
	keys = nil
	pcT = nil

	wg.Add(2)
	go func() {
		defer wg.Done()
		b.buildWords()
	}()
	go func() {
		defer wg.Done()
		b.buildSide()
	}()
	wg.Wait()
	// equal ids: the later input wins; the others leave byID and are listed in dups
	w := 0
	for i := 0; i < len(b.byID); i++ {
		r := b.byID[i]
		if w > 0 && b.idOf(b.byID[w-1]) == b.idOf(r) {
			prev := b.byID[w-1]
			if inputIdx[r] > inputIdx[prev] {
				b.dups = append(b.dups, prev)
				b.byID[w-1] = r
			} else {
				b.dups = append(b.dups, r)
			}
			continue
		}
		b.byID[w] = r
		w++
	}
	b.byID = b.byID[:w]
	return b
}

// parallelSort sorts two halves on two goroutines and merges them.
func parallelSort[T any](s []T, cmpf func(a, b T) int) {
	if len(s) < 1<<15 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(s, cmpf)
		return
	}
	mid := len(s) / 2
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); slices.SortFunc(s[:mid], cmpf) }()
	slices.SortFunc(s[mid:], cmpf)
	wg.Wait()
	out := make([]T, 0, len(s))
	i, j := 0, mid
	for i < mid && j < len(s) {
		if cmpf(s[j], s[i]) < 0 {
			out = append(out, s[j])
			j++
		} else {
			out = append(out, s[i])
			i++
		}
	}
	out = append(out, s[i:mid]...)
	out = append(out, s[j:]...)
	copy(s, out)
}

func (b *patBase) buildWords() {
	vb := newVocabBuilder()
	// family words carry primaryBit when they lead the surname; given words never do
	fill := func(t *strTable, fam bool) {
		t.wOff = make([]uint32, len(t.strs)+1)
		for i, f := range t.folds {
			eachWord(f, func(w string, first, _ bool) {
				id := vb.id(w)
				if fam && first {
					id |= primaryBit
				}
				t.words = append(t.words, id)
			})
			t.wOff[i+1] = uint32(len(t.words))
		}
	}
	fill(&b.famTab, true)
	fill(&b.givTab, false)
	words, remap := vb.finish()
	for i, w := range b.famTab.words {
		b.famTab.words[i] = remap[w&^primaryBit] | w&primaryBit
	}
	for i, w := range b.givTab.words {
		b.givTab.words[i] = remap[w]
	}
	b.voc.words = words
	b.voc.tail = buildTail(words)
	b.voc.pOff, b.voc.sOff, b.voc.post = buildPostings(len(words), b.n, func(r uint32, emit func(uint32, bool)) {
		for _, w := range b.famTab.wordsOf(b.fam[r]) {
			emit(w&^primaryBit, w&primaryBit != 0)
		}
		for _, w := range b.givTab.wordsOf(b.giv[r]) {
			emit(w, false)
		}
	})
}

// groupBy lists ranks grouped by key(r) < nKeys, each group in rank order.
func groupBy(n, nKeys int, key func(r uint32) (uint32, bool)) (off, post []uint32) {
	off = make([]uint32, nKeys+1)
	for r := 0; r < n; r++ {
		if k, ok := key(uint32(r)); ok {
			off[k+1]++
		}
	}
	for k := 0; k < nKeys; k++ {
		off[k+1] += off[k]
	}
	post = make([]uint32, off[nKeys])
	pos := slices.Clone(off[:nKeys])
	for r := 0; r < n; r++ {
		if k, ok := key(uint32(r)); ok {
			post[pos[k]] = uint32(r)
			pos[k]++
		}
	}
	return
}

func (b *patBase) buildSide() {
	n := b.n
	b.dobPacked = make([]uint32, len(b.dobStrs))
	for i, s := range b.dobStrs {
		b.dobPacked[i] = parseISODate(s)
	}
	b.dobOff, b.dobPost = groupBy(n, len(b.dobStrs), func(r uint32) (uint32, bool) { return b.dob[r], b.dobPacked[b.dob[r]] != 0 })
	b.pcOut = make([]uint8, len(b.pcStrs))
	for i, s := range b.pcStrs {
		_, o := normPostcode(s)
		b.pcOut[i] = uint8(min(o, 255))
	}
	b.pcOff, b.pcPost = groupBy(n, len(b.pcStrs), func(r uint32) (uint32, bool) { return b.pc[r], b.pcNorm[b.pc[r]] != "" })
	// NHS: groups by first three digits, each in rank order; then sorted by number
	off, post := groupBy(n, 1000, func(r uint32) (uint32, bool) {
		v := b.nhs[r]
		if v == 0 {
			return 0, false
		}
		return uint32((v - 1) / 10_000_000), true
	})
	copy(b.nhs3Of[:], off)
	b.nhs3 = post
	b.byNHS = slices.Clone(post)
	slices.SortStableFunc(b.byNHS, func(x, y uint32) int { return cmp.Compare(b.nhs[x], b.nhs[y]) })
	// ids
	b.byID = make([]uint32, n)
	for i := range b.byID {
		b.byID[i] = uint32(i)
	}
	parallelSort(b.byID, func(x, y uint32) int {
		if b.oddIDs == nil {
			if c := bytes.Compare(b.ids[x*16:x*16+16], b.ids[y*16:y*16+16]); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		}
		if c := strings.Compare(b.idOf(x), b.idOf(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
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
		lo := sort.SearchStrings(b.pcNorm, t.s)
		for i := lo; i < len(b.pcNorm) && strings.HasPrefix(b.pcNorm[i], t.s); i++ {
			switch matchPostcode(t.s, b.pcNorm[i], int(b.pcOut[i])) {
			case pcFull:
				ls = addLevel(ls, ScorePostcodeFull, b.pcPost[b.pcOff[i]:b.pcOff[i+1]])
			case pcDistrict:
				ls = addLevel(ls, ScorePostcodeDistr, b.pcPost[b.pcOff[i]:b.pcOff[i+1]])
			}
		}
	}
	pt.levels = ls
	pt.ub = maxScore(ls)
	return pt
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
		s := isoDate(d)
		i := sort.SearchStrings(b.dobStrs, s)
		if i < len(b.dobStrs) && b.dobStrs[i] == s {
			ls = addLevel(ls, ScoreDOB, b.dobPost[b.dobOff[i]:b.dobOff[i+1]])
		}
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
		if d := b.dobPacked[b.dob[r]]; d != 0 && slices.Contains(t.q.dates, d) {
			return ScoreDOB
		}
		if v != 0 && len(t.q.s) < 10 && v >= t.nhsLo && v < t.nhsHi {
			return ScoreNHSPartial
		}
	case tDate:
		if d := b.dobPacked[b.dob[r]]; d != 0 && slices.Contains(t.q.dates, d) {
			return ScoreDOB
		}
	case tPostcode:
		i := b.pc[r]
		if b.pcNorm[i] != "" {
			switch matchPostcode(t.q.s, b.pcNorm[i], int(b.pcOut[i])) {
			case pcFull:
				return ScorePostcodeFull
			case pcDistrict:
				return ScorePostcodeDistr
			}
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
	drive := 0
	size := levelSize(toks[0].levels)
	for i := 1; i < len(toks); i++ {
		if s := levelSize(toks[i].levels); s < size {
			drive, size = i, s
		}
	}
	rest := 0
	for i := range toks {
		if i != drive {
			rest += toks[i].ub
		}
	}
	dt := &toks[drive]
	eval := func(r uint32, ls int) int {
		if ix.tomb.has(r) || ix.recentBits.has(r) {
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
	top, ok := runLevels(ctx, dt.levels, rest, limit, eval)
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
	xf, x1, xg, x2, xd, xid := ix.keyOf(x)
	yf, y1, yg, y2, yd, yid := ix.keyOf(y)
	return comparePatientKeys(xf, x1, xg, x2, xd, xid, yf, y1, yg, y2, yd, yid)
}

func (ix *Patients) keyOf(c *cand) (string, string, string, string, string, string) {
	if c.d != nil {
		return c.d.famFold, c.d.p.Family, c.d.givFold, c.d.p.Given, c.d.p.BirthDate, c.d.p.ID
	}
	b := ix.base
	r := c.rank
	return b.famTab.folds[b.fam[r]], b.famTab.strs[b.fam[r]], b.givTab.folds[b.giv[r]], b.givTab.strs[b.giv[r]], b.dobStrs[b.dob[r]], b.idOf(r)
}
