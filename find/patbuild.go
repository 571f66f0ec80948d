package find

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// strTable holds the distinct values of one name field, sorted by (folded, as written):
// a record stores an index into it, and its order is the tie order.
type strTable struct {
	strs  []string
	folds []string
	wOff  []uint32 // words of strs[i]: words[wOff[i]:wOff[i+1]], id | primaryBit
	words []uint32
}

func (t *strTable) wordsOf(i uint32) []uint32 { return t.words[t.wOff[i]:t.wOff[i+1]] }

// patBase is the immutable bulk part of the patient index. Records are stored in rank
// order (the tie order: surname, given names, date of birth, id), so posting lists in
// rank order yield candidates in the order ties are broken. About 80 bytes a patient.
type patBase struct {
	n      int
	ids    []byte // 16 bytes per rank (UUID); zero when odd
	oddIDs map[uint32]string
	fam    []uint32 // index into famTab
	giv    []uint32 // index into givTab
	dob    []uint32 // yyyymmdd, 0 when not a valid YYYY-MM-DD
	dobOdd map[uint32]string
	pcKey  []uint64          // packed postcode (see packPostcode), 0 none or not packable
	pcOdd  map[uint32]string // postcodes not written in their canonical form, or not packable
	pcFree []uint32          // ranks whose postcode could not be packed
	nhs    []uint64          // value+1, 0 none
	status []uint8

	famTab, givTab strTable
	voc            vocab

	idTab  []uint32 // open addressing on the id: rank+1, 0 empty
	byNHS  []uint32 // ranks with an NHS number sorted by (number, rank)
	nhs3   []uint32 // ranks grouped by the first three digits, each group in rank order
	nhs3Of [1001]uint32
	byDOB  []uint32 // ranks with a valid date of birth sorted by (date, rank)
	byPC   []uint32 // ranks with a packed postcode sorted by (outward length, characters, rank): see pcOrder
	byDist []uint32 // ranks with a packed postcode sorted by (district, rank): a district's patients in tie order

	dups []uint32 // ranks that lost to a later patient with the same id

	filters sync.Pool // bitsets for multi-token searches
}

func (b *patBase) idOf(r uint32) string {
	if b.oddIDs != nil {
		if s, ok := b.oddIDs[r]; ok {
			return s
		}
	}
	return formatUUID(b.ids[r*16 : r*16+16])
}

const hexDigits = "0123456789abcdef"

func formatUUID(u []byte) string {
	var buf [36]byte
	j := 0
	for i := 0; i < 16; i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j], buf[j+1] = hexDigits[u[i]>>4], hexDigits[u[i]&15]
		j += 2
	}
	return string(buf[:])
}

var unhexTab = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[hexDigits[i]] = byte(i)
	}
	return
}()

// parseUUID accepts only the canonical lower-case form, so that formatUUID gives back
// exactly the string given and byte order equals string order.
func parseUUID(s string, dst []byte) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		h, l := unhexTab[s[i]], unhexTab[s[i+1]]
		if h|l == 0xff {
			return false
		}
		dst[j] = h<<4 | l
		j++
		i += 2
	}
	return true
}

func (b *patBase) oddID(r uint32) bool {
	if b.oddIDs == nil {
		return false
	}
	_, ok := b.oddIDs[r]
	return ok
}

func (b *patBase) cmpID(x, y uint32) int {
	if !b.oddID(x) && !b.oddID(y) {
		return bytes.Compare(b.ids[x*16:x*16+16], b.ids[y*16:y*16+16])
	}
	return strings.Compare(b.idOf(x), b.idOf(y))
}

// rankOf finds the rank of id, or -1 (duplicates that lost are not found).
func (b *patBase) rankOf(id string) int {
	if len(b.idTab) == 0 {
		return -1
	}
	var u [16]byte
	canon := parseUUID(id, u[:])
	var h uint64
	if canon {
		h = uuidHash(u[:])
	} else {
		h = strHash(id)
	}
	mask := uint64(len(b.idTab) - 1)
	for h &= mask; ; h = (h + 1) & mask {
		x := b.idTab[h]
		if x == 0 {
			return -1
		}
		r := x - 1
		if canon && !b.oddID(r) {
			if bytes.Equal(b.ids[r*16:r*16+16], u[:]) {
				return int(r)
			}
		} else if b.idOf(r) == id {
			return int(r)
		}
	}
}

func (b *patBase) dobStr(r uint32) string {
	if s, ok := b.dobOdd[r]; ok {
		return s
	}
	if b.dob[r] == 0 {
		return ""
	}
	return isoDate(b.dob[r])
}

func (b *patBase) postcode(r uint32) string {
	if s, ok := b.pcOdd[r]; ok {
		return s
	}
	return unpackPostcode(b.pcKey[r])
}

func (b *patBase) patient(r uint32) Patient {
	return Patient{
		ID:        b.idOf(r),
		Family:    b.famTab.strs[b.fam[r]],
		Given:     b.givTab.strs[b.giv[r]],
		BirthDate: b.dobStr(r),
		NHS:       formatNHS(b.nhs[r]),
		Postcode:  b.postcode(r),
		Status:    b.status[r],
	}
}

// ---- build ----

type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() *interner { return &interner{ids: make(map[string]uint32)} }

// idBytes interns b; the lookup does not allocate, only a new string is copied.
func (in *interner) idBytes(b []byte) uint32 {
	if id, ok := in.ids[string(b)]; ok {
		return id
	}
	return in.id(string(b))
}

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
func sortedTable(strs []string) (sorted, folds []string, remap []uint32) {
	type e struct {
		k, s string
		i    uint32
	}
	es := make([]e, len(strs))
	for i, s := range strs {
		es[i] = e{fold(s), s, uint32(i)}
	}
	slices.SortFunc(es, func(a, b e) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.s, b.s)
	})
	sorted = make([]string, len(es))
	folds = make([]string, len(es))
	remap = make([]uint32, len(es))
	for i, x := range es {
		sorted[i], folds[i], remap[x.i] = x.s, x.k, uint32(i)
	}
	return
}

func foldOrdinals(folds []string) []uint32 {
	ord := make([]uint32, len(folds))
	for i := 1; i < len(folds); i++ {
		ord[i] = ord[i-1]
		if folds[i] != folds[i-1] {
			ord[i]++
		}
	}
	return ord
}

// BuildPatients builds an index over ps in one go (much faster than Put one by one).
// When an id occurs twice the later patient wins.
func BuildPatients(ps []Patient) *Patients {
	ix := NewPatients()
	ix.installLocked(buildPatBase(ps))
	return ix
}

// parallel runs the functions on their own goroutines and waits.
func parallel(fs ...func()) {
	var wg sync.WaitGroup
	wg.Add(len(fs))
	for _, f := range fs {
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// patBuilder gathers patients field by field into flat arrays (input order), so a
// million patients cost a few large allocations rather than millions of small ones.
type patBuilder struct {
	n          int
	famI, givI *interner
	famT, givT []uint32
	ids        []byte
	oddID      map[uint32]string
	dob        []uint32
	dobOdd     map[uint32]string
	pcKey      []uint64
	pcOdd      map[uint32]string // raw postcodes not in canonical form (key 0: not packable)
	nhs        []uint64
	status     []uint8
}

func newPatBuilder(n int) *patBuilder {
	return &patBuilder{
		n: n, famI: newInterner(), givI: newInterner(),
		famT: make([]uint32, n), givT: make([]uint32, n), ids: make([]byte, 16*n),
		dob: make([]uint32, n), pcKey: make([]uint64, n), nhs: make([]uint64, n), status: make([]uint8, n),
	}
}

func (pb *patBuilder) grow() {
	pb.famT = append(pb.famT, 0)
	pb.givT = append(pb.givT, 0)
	pb.ids = append(pb.ids, make([]byte, 16)...)
	pb.dob = append(pb.dob, 0)
	pb.pcKey = append(pb.pcKey, 0)
	pb.nhs = append(pb.nhs, 0)
	pb.status = append(pb.status, 0)
	pb.n++
}

// setA and setB fill the two halves of a record's fields; they touch disjoint state so
// that two goroutines can fill all records at once. Strings given are not retained
// unless interned or odd (then copied), so they may alias reused memory.
func (pb *patBuilder) setA(i int, id, family, nhs string) {
	pb.famT[i] = pb.famI.id(family)
	pb.setID(i, id)
	pb.nhs[i] = nhsValue(nhs)
}

func (pb *patBuilder) setB(i int, given, birth, postcode string, status uint8) {
	pb.givT[i] = pb.givI.id(given)
	pb.setDOB(i, birth)
	pb.setPostcode(i, postcode)
	pb.status[i] = status
}

func (pb *patBuilder) setID(i int, id string) {
	if !parseUUID(id, pb.ids[i*16:i*16+16]) {
		if pb.oddID == nil {
			pb.oddID = make(map[uint32]string)
		}
		pb.oddID[uint32(i)] = strings.Clone(id)
		clear(pb.ids[i*16 : i*16+16])
	}
}

func (pb *patBuilder) setDOB(i int, birth string) {
	pb.dob[i] = parseISODate(birth)
	if pb.dob[i] == 0 && birth != "" { // a valid date is always written canonically
		if pb.dobOdd == nil {
			pb.dobOdd = make(map[uint32]string)
		}
		pb.dobOdd[uint32(i)] = strings.Clone(birth)
	}
}

func (pb *patBuilder) setPostcode(i int, postcode string) {
	k, canon := packPostcode(postcode)
	pb.pcKey[i] = k
	if !canon {
		if pb.pcOdd == nil {
			pb.pcOdd = make(map[uint32]string)
		}
		pb.pcOdd[uint32(i)] = strings.Clone(postcode)
	}
}

func (pb *patBuilder) cmpDOB(a, c uint32) int {
	x, y := pb.dob[a], pb.dob[c]
	if x != 0 && y != 0 {
		return cmp.Compare(x, y)
	}
	return strings.Compare(pb.dobString(a), pb.dobString(c))
}

func (pb *patBuilder) dobString(i uint32) string {
	if s, ok := pb.dobOdd[i]; ok {
		return s
	}
	if pb.dob[i] == 0 {
		return ""
	}
	return isoDate(pb.dob[i])
}

func (pb *patBuilder) idString(i uint32) string {
	if s, ok := pb.oddID[i]; ok {
		return s
	}
	return formatUUID(pb.ids[i*16 : i*16+16])
}

func (pb *patBuilder) cmpIDs(a, c uint32) int {
	_, oa := pb.oddID[a]
	_, oc := pb.oddID[c]
	if !oa && !oc {
		return bytes.Compare(pb.ids[a*16:a*16+16], pb.ids[c*16:c*16+16])
	}
	return strings.Compare(pb.idString(a), pb.idString(c))
}

func buildPatBase(ps []Patient) *patBase {
	pb := newPatBuilder(len(ps))
	parallel(func() {
		for i := range ps {
			p := &ps[i]
			pb.setA(i, p.ID, p.Family, p.NHS)
		}
	}, func() {
		for i := range ps {
			p := &ps[i]
			pb.setB(i, p.Given, p.BirthDate, p.Postcode, p.Status)
		}
	})
	return pb.finish()
}

func (pb *patBuilder) finish() *patBase {
	n := pb.n
	b := &patBase{n: n}
	var famRemap, givRemap []uint32
	parallel(func() {
		b.famTab.strs, b.famTab.folds, famRemap = sortedTable(pb.famI.strs)
	}, func() {
		b.givTab.strs, b.givTab.folds, givRemap = sortedTable(pb.givI.strs)
	})
	pb.famI, pb.givI = nil, nil
	// the tie order compares folded names: table entries that fold alike share an ordinal
	famOrd, givOrd := foldOrdinals(b.famTab.folds), foldOrdinals(b.givTab.folds)
	famT, givT := pb.famT, pb.givT
	for i := range famT {
		famT[i] = famRemap[famT[i]]
		givT[i] = givRemap[givT[i]]
	}

	// rank order: radix sort on (family, given) packed in one word, then ties (same
	// names) by date of birth as written and id
	fb, gb := bitsFor(len(b.famTab.strs)), bitsFor(len(b.givTab.strs))
	tie := func(a, c uint32) int {
		if r := pb.cmpDOB(a, c); r != 0 {
			return r
		}
		if r := pb.cmpIDs(a, c); r != 0 {
			return r
		}
		return cmp.Compare(a, c)
	}
	order := make([]uint32, n)
	for i := range order {
		order[i] = uint32(i)
	}
	if fb+gb <= 64 {
		ks := make([]uint64, n)
		for i := range ks {
			ks[i] = uint64(famOrd[famT[i]])<<gb | uint64(givOrd[givT[i]])
		}
		radixSort(ks, order, fb+gb)
		for i := 0; i < n; {
			j := i + 1
			for j < n && ks[j] == ks[i] {
				j++
			}
			if j-i > 1 {
				slices.SortFunc(order[i:j], tie)
			}
			i = j
		}
	} else {
		slices.SortFunc(order, func(a, c uint32) int {
			if x, y := famOrd[famT[a]], famOrd[famT[c]]; x != y {
				return cmp.Compare(x, y)
			}
			if x, y := givOrd[givT[a]], givOrd[givT[c]]; x != y {
				return cmp.Compare(x, y)
			}
			return tie(a, c)
		})
	}

	b.ids = make([]byte, 16*n)
	b.fam = make([]uint32, n)
	b.giv = make([]uint32, n)
	b.dob = make([]uint32, n)
	b.pcKey = make([]uint64, n)
	b.nhs = make([]uint64, n)
	b.status = make([]uint8, n)
	for r, i := range order {
		copy(b.ids[r*16:r*16+16], pb.ids[i*16:i*16+16])
		b.fam[r], b.giv[r] = famT[i], givT[i]
		b.dob[r] = pb.dob[i]
		b.pcKey[r] = pb.pcKey[i]
		b.nhs[r] = pb.nhs[i]
		b.status[r] = pb.status[i]
	}
	if len(pb.oddID)+len(pb.dobOdd)+len(pb.pcOdd) > 0 {
		rank := make([]uint32, n)
		for r, i := range order {
			rank[i] = uint32(r)
		}
		if len(pb.oddID) > 0 {
			b.oddIDs = make(map[uint32]string, len(pb.oddID))
			for i, s := range pb.oddID {
				b.oddIDs[rank[i]] = s
			}
		}
		if len(pb.dobOdd) > 0 {
			b.dobOdd = make(map[uint32]string, len(pb.dobOdd))
			for i, s := range pb.dobOdd {
				b.dobOdd[rank[i]] = s
			}
		}
		if len(pb.pcOdd) > 0 {
			b.pcOdd = make(map[uint32]string, len(pb.pcOdd))
			for i, s := range pb.pcOdd {
				b.pcOdd[rank[i]] = s
				if pb.pcKey[i] == 0 {
					b.pcFree = append(b.pcFree, rank[i])
				}
			}
			slices.Sort(b.pcFree)
		}
	}
	inputIdx := order
	parallel(b.buildWords, b.buildSide, func() { b.buildIDs(inputIdx) })
	return b
}

// parallelSort sorts two halves on two goroutines and merges them.
func parallelSort[T any](s []T, cmpf func(a, b T) int) {
	if len(s) < 1<<15 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(s, cmpf)
		return
	}
	mid := len(s) / 2
	parallel(func() { slices.SortFunc(s[:mid], cmpf) }, func() { slices.SortFunc(s[mid:], cmpf) })
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

// sortedRanks returns the ranks r with key(r) != 0 ordered by (key, rank): the key goes in
// the high bits of one uint64 beside the rank, so one integer sort does it.
func sortedRanks(n int, nbits int, key func(r uint32) uint64) []uint32 {
	ks := make([]uint64, 0, n)
	rs := make([]uint32, 0, n)
	for r := 0; r < n; r++ {
		if k := key(uint32(r)); k != 0 {
			ks = append(ks, k)
			rs = append(rs, uint32(r))
		}
	}
	radixSort(ks, rs, nbits)
	return rs
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
	b.voc.pOff, b.voc.sOff, b.voc.post = b.postings(len(words))
}

// postings builds the posting lists by counting: records per table entry first, so the
// counting pass touches each distinct name once, then one filling pass in rank order.
func (b *patBase) postings(nw int) (pOff, sOff, post []uint32) {
	famN := make([]uint32, len(b.famTab.strs))
	givN := make([]uint32, len(b.givTab.strs))
	for r := 0; r < b.n; r++ {
		famN[b.fam[r]]++
		givN[b.giv[r]]++
	}
	pc := make([]uint32, nw)
	sc := make([]uint32, nw)
	for i, c := range famN {
		for _, w := range b.famTab.wordsOf(uint32(i)) {
			if w&primaryBit != 0 {
				pc[w&^primaryBit] += c
			} else {
				sc[w] += c
			}
		}
	}
	for i, c := range givN {
		for _, w := range b.givTab.wordsOf(uint32(i)) {
			sc[w] += c
		}
	}
	pOff = make([]uint32, nw+1)
	sOff = make([]uint32, nw+1)
	var t uint32
	for w := 0; w < nw; w++ {
		pOff[w] = t
		t += pc[w]
	}
	pOff[nw] = t
	for w := 0; w < nw; w++ {
		sOff[w] = t
		t += sc[w]
	}
	sOff[nw] = t
	post = make([]uint32, t)
	copy(pc, pOff[:nw])
	copy(sc, sOff[:nw])
	for r := 0; r < b.n; r++ {
		for _, w := range b.famTab.wordsOf(b.fam[r]) {
			if w&primaryBit != 0 {
				w &^= primaryBit
				post[pc[w]] = uint32(r)
				pc[w]++
			} else {
				post[sc[w]] = uint32(r)
				sc[w]++
			}
		}
		for _, w := range b.givTab.wordsOf(b.giv[r]) {
			post[sc[w]] = uint32(r)
			sc[w]++
		}
	}
	return
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
	b.byDOB = sortedRanks(n, 27, func(r uint32) uint64 { return uint64(b.dob[r]) })
	b.byPC = sortedRanks(n, 52, func(r uint32) uint64 { return pcOrder(b.pcKey[r]) })
	b.byDist = sortedRanks(n, 52, func(r uint32) uint64 { return districtKey(b.pcKey[r]) })
	off, post := groupBy(n, 1000, func(r uint32) (uint32, bool) {
		v := b.nhs[r]
		if v == 0 {
			return 0, false
		}
		return uint32((v - 1) / 10_000_000), true
	})
	copy(b.nhs3Of[:], off)
	b.nhs3 = post
	b.byNHS = sortedRanks(n, 34, func(r uint32) uint64 { return b.nhs[r] })
}

// buildIDs fills the open-addressing id table. Equal ids: the later input wins and the
// others are listed in dups.
func (b *patBase) buildIDs(inputIdx []uint32) {
	size := 1
	for size < 2*b.n+2 {
		size <<= 1
	}
	b.idTab = make([]uint32, size)
	mask := uint64(size - 1)
	for r := 0; r < b.n; r++ {
		h := b.idHashRank(uint32(r)) & mask
		for {
			x := b.idTab[h]
			if x == 0 {
				b.idTab[h] = uint32(r) + 1
				break
			}
			if b.cmpID(x-1, uint32(r)) == 0 {
				if inputIdx[r] > inputIdx[x-1] {
					b.dups = append(b.dups, x-1)
					b.idTab[h] = uint32(r) + 1
				} else {
					b.dups = append(b.dups, uint32(r))
				}
				break
			}
			h = (h + 1) & mask
		}
	}
}

func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func uuidHash(u []byte) uint64 {
	return mix64(binary.BigEndian.Uint64(u[8:]) ^ binary.BigEndian.Uint64(u[:8])*31)
}

func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

func (b *patBase) idHashRank(r uint32) uint64 {
	if b.oddID(r) {
		return strHash(b.oddIDs[r])
	}
	return uuidHash(b.ids[r*16 : r*16+16])
}
