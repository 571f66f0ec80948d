package terminology

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// release is one source's content as an importer builds it, before it is written.
type release struct {
	name     string
	info     SourceInfo
	codes    []string     // sorted; a concept's dense id is its index
	concepts []conceptRec // parallel to codes
	parents  [][]uint32   // parallel to codes; is-a parents by dense id
	refsets  map[string][]uint32
	products map[string]*Product
	maps     map[string][]Mapping // key: system URI + "|" + legacy code
}

// conceptRec is what Concept() shows for one code.
type conceptRec struct {
	Active   bool
	FSN      string
	PT       string
	Synonyms []string
	Kind     string // dm+d class (VTM, VMP…), CTV3 status…
	Assoc    []assoc
}

type assoc struct {
	Type   string // refset id of the historical association
	Target string
}

// Historical association refsets (standards.md §3.5).
var assocNames = map[string]string{
	"900000000000526001": "REPLACED BY",
	"900000000000527005": "SAME AS",
	"900000000000523009": "POSSIBLY EQUIVALENT TO",
	"900000000000528000": "WAS A",
	"900000000000524003": "MOVED TO",
	"900000000000525002": "MOVED FROM",
	"900000000000530003": "ALTERNATIVE",
	"900000000000531004": "REFERS TO",
	"900000000000529008": "SIMILAR TO",
	"1186924009":         "PARTIALLY EQUIVALENT TO",
	"1186921001":         "POSSIBLY REPLACED BY",
}

// replacementTypes are the associations that name a successor (shown as replacedBy).
var replacementTypes = map[string]bool{
	"900000000000526001": true, "900000000000527005": true, "900000000000523009": true,
	"900000000000530003": true, "1186924009": true, "1186921001": true,
}

// builder collects concepts by code for the small sources (CTV3, Read v2, dm+d, code lists,
// the embedded default). The RF2 importer has its own path for scale.
type builder struct {
	recs    map[string]*conceptRec
	parents map[string][]string
	refsets map[string][]string
}

func newBuilder() *builder {
	return &builder{recs: map[string]*conceptRec{}, parents: map[string][]string{}, refsets: map[string][]string{}}
}

func (b *builder) concept(code string) *conceptRec {
	r := b.recs[code]
	if r == nil {
		r = &conceptRec{Active: true}
		b.recs[code] = r
	}
	return r
}

func (b *builder) addParent(child, parent string) {
	for _, p := range b.parents[child] {
		if p == parent {
			return
		}
	}
	b.parents[child] = append(b.parents[child], parent)
}

func (b *builder) addSynonym(code, term string) {
	r := b.concept(code)
	if term == "" || term == r.PT {
		return
	}
	for _, s := range r.Synonyms {
		if s == term {
			return
		}
	}
	r.Synonyms = append(r.Synonyms, term)
}

// build turns the collected concepts into a release. Parents that name no concept are dropped
// and counted (a hierarchy row pointing outside the release).
func (b *builder) build(name string, info SourceInfo) *release {
	codes := make([]string, 0, len(b.recs))
	for c := range b.recs {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	r := &release{name: name, info: info, codes: codes, concepts: make([]conceptRec, len(codes)),
		parents: make([][]uint32, len(codes)), refsets: map[string][]uint32{}}
	for i, c := range codes {
		rec := b.recs[c]
		if rec.PT == "" && len(rec.Synonyms) > 0 {
			rec.PT = rec.Synonyms[0]
			rec.Synonyms = rec.Synonyms[1:]
		}
		r.concepts[i] = *rec
	}
	missing := 0
	for i, c := range codes {
		for _, p := range b.parents[c] {
			j, ok := r.id(p)
			if !ok || j == uint32(i) {
				missing++
				continue
			}
			r.parents[i] = append(r.parents[i], j)
		}
	}
	if missing > 0 {
		r.info.Warnings = append(r.info.Warnings, fmt.Sprintf("%d hierarchy links name a code not in the release; ignored", missing))
	}
	for rs, members := range b.refsets {
		ids := make([]uint32, 0, len(members))
		for _, m := range members {
			if j, ok := r.id(m); ok {
				ids = append(ids, j)
			}
		}
		r.refsets[rs] = sortUnique(ids)
	}
	return r
}

func (r *release) id(code string) (uint32, bool) {
	i := sort.SearchStrings(r.codes, code)
	if i < len(r.codes) && r.codes[i] == code {
		return uint32(i), true
	}
	return 0, false
}

func sortUnique(ids []uint32) []uint32 {
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	out := ids[:0]
	for i, v := range ids {
		if i == 0 || v != ids[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// write stores the release in a fresh generation and makes it current. Until the final
// pointer flip nothing a reader sees changes; on any error the new generation is removed.
// write stores the release as a new generation and makes it current. It returns the
// generation it replaced, which the caller drops (dropGeneration) once readers have the
// new release.
func (d *db) write(r *release) (replaced string, err error) {
	n := len(r.codes)
	r.info.Counts = countsOf(r, r.info.Counts)
	r.info.ImportedAt = time.Now().UTC().Truncate(time.Second)
	steps := []func(g *bolt.Bucket) error{func(g *bolt.Bucket) error { return writeTables(g, r) }}
	// concept records in batches: one huge transaction would hold every dirty page in memory
	const batch = 200_000
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		steps = append(steps, func(g *bolt.Bucket) error { return writeConcepts(g, r, start, end) })
	}
	steps = append(steps, func(g *bolt.Bucket) error { return putJSON(g, keyMeta, r.info) })

	if n <= batch {
		// small release (the embedded default, CTV3, code lists): one transaction, one fsync
		err := d.update(func(tx *bolt.Tx) error {
			gen, g, err := createGeneration(tx, r.name)
			if err != nil {
				return err
			}
			for _, step := range steps {
				if err := step(g); err != nil {
					return err
				}
			}
			replaced, err = activateTx(tx, r.name, gen)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("store %s: %w", r.name, err)
		}
		return replaced, nil
	}
	gen, err := d.newGeneration(r.name)
	if err != nil {
		return "", fmt.Errorf("store %s: %w", r.name, err)
	}
	defer func() {
		if err != nil {
			d.dropGeneration(gen)
		}
	}()
	for _, step := range steps {
		err = d.update(func(tx *bolt.Tx) error {
			g, err := genBucket(tx, gen)
			if err != nil {
				return err
			}
			return step(g)
		})
		if err != nil {
			return "", fmt.Errorf("store %s: %w", r.name, err)
		}
	}
	if replaced, err = d.activate(r.name, gen); err != nil {
		return "", fmt.Errorf("activate %s: %w", r.name, err)
	}
	return replaced, nil
}

// writeTables stores the blobs (codes, hierarchy, flags, terms) and the small buckets.
func writeTables(g *bolt.Bucket, r *release) error {
	n := len(r.codes)
	if err := putBlob(g, "codes", []byte(strings.Join(r.codes, "\n"))); err != nil {
		return err
	}
	if err := putBlob(g, "par", encodeCSR(r.parents)); err != nil {
		return err
	}
	act := newBitset(n)
	pts := make([]string, n)
	for i := range r.concepts {
		if r.concepts[i].Active {
			act.set(uint32(i))
		}
		pts[i] = strings.ReplaceAll(r.concepts[i].PT, "\n", " ")
	}
	if err := putBlob(g, "act", act.bytes()); err != nil {
		return err
	}
	if err := putBlob(g, "pt", []byte(strings.Join(pts, "\n"))); err != nil {
		return err
	}
	if err := putBlob(g, "terms", encodeTerms(r.concepts)); err != nil {
		return err
	}
	// bbolt inserts into a node with a memmove and splits only at commit: keys must go
	// in sorted order, or a bucket of thousands of keys costs O(n²)
	rs := g.Bucket(bktRefset)
	for _, id := range sortedKeys(r.refsets) {
		members := r.refsets[id]
		buf := make([]byte, 0, 4*len(members))
		for _, m := range members {
			buf = binary.LittleEndian.AppendUint32(buf, m)
		}
		if err := rs.Put([]byte(id), buf); err != nil {
			return err
		}
	}
	pb := g.Bucket(bktProduct)
	for _, code := range sortedKeys(r.products) {
		if err := putJSON(pb, []byte(code), r.products[code]); err != nil {
			return err
		}
	}
	mb := g.Bucket(bktMap)
	for _, key := range sortedKeys(r.maps) {
		if err := putJSON(mb, []byte(key), r.maps[key]); err != nil {
			return err
		}
	}
	return nil
}

func writeConcepts(g *bolt.Bucket, r *release, start, end int) error {
	c := g.Bucket(bktConcept)
	c.FillPercent = 0.95
	// bbolt keeps the value slices until commit: encode into an arena, never reuse
	arena := make([]byte, 0, 64*(end-start))
	for i := start; i < end; i++ {
		from := len(arena)
		arena = encodeConcept(arena, &r.concepts[i])
		if err := c.Put([]byte(r.codes[i]), arena[from:len(arena):len(arena)]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func countsOf(r *release, extra map[string]int) map[string]int {
	c := map[string]int{}
	for k, v := range extra {
		c[k] = v
	}
	active, syn, isa := 0, 0, 0
	for i := range r.concepts {
		if r.concepts[i].Active {
			active++
		}
		syn += len(r.concepts[i].Synonyms)
		if r.concepts[i].PT != "" {
			syn++
		}
		isa += len(r.parents[i])
	}
	c["concepts"] = len(r.codes)
	c["activeConcepts"] = active
	c["terms"] = syn
	c["isA"] = isa
	if len(r.refsets) > 0 {
		c["refsets"] = len(r.refsets)
	}
	if len(r.products) > 0 {
		c["products"] = len(r.products)
	}
	if len(r.maps) > 0 {
		c["mappedCodes"] = len(r.maps)
	}
	return c
}

// ---- encodings ----

func encodeCSR(lists [][]uint32) []byte {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	buf := make([]byte, 0, 4*(len(lists)+1+total)+4)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(lists)))
	off := uint32(0)
	for _, l := range lists {
		buf = binary.LittleEndian.AppendUint32(buf, off)
		off += uint32(len(l))
	}
	buf = binary.LittleEndian.AppendUint32(buf, off)
	for _, l := range lists {
		for _, v := range l {
			buf = binary.LittleEndian.AppendUint32(buf, v)
		}
	}
	return buf
}

func decodeCSR(b []byte) (csr, error) {
	if len(b) < 4 {
		return csr{off: []uint32{0}}, nil
	}
	n := int(binary.LittleEndian.Uint32(b))
	if len(b) < 4+4*(n+1) {
		return csr{}, fmt.Errorf("corrupt hierarchy blob")
	}
	off := make([]uint32, n+1)
	for i := range off {
		off[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	rest := b[4+4*(n+1):]
	if len(rest) != 4*int(off[n]) {
		return csr{}, fmt.Errorf("corrupt hierarchy blob")
	}
	ids := make([]uint32, off[n])
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint32(rest[4*i:])
	}
	return csr{off: off, ids: ids}, nil
}

// terms blob: per row uvarint id, flags byte, uvarint len, bytes.
const (
	termPreferred = 1 << iota
	termActive
)

func encodeTerms(cs []conceptRec) []byte {
	var buf []byte
	add := func(id int, flags byte, t string) {
		buf = binary.AppendUvarint(buf, uint64(id))
		buf = append(buf, flags)
		buf = binary.AppendUvarint(buf, uint64(len(t)))
		buf = append(buf, t...)
	}
	for i := range cs {
		c := &cs[i]
		var f byte
		if c.Active {
			f = termActive
		}
		if c.PT != "" {
			add(i, f|termPreferred, c.PT)
		} else if c.FSN != "" {
			add(i, f|termPreferred, stripSemanticTag(c.FSN))
		}
		for _, s := range c.Synonyms {
			add(i, f, s)
		}
	}
	return buf
}

type termRow struct {
	id    uint32
	flags byte
	term  string
}

// decodeTerms reads the term table in place: the rows' strings point into blob, which the
// caller must own and never change afterwards (ensureRows reads it into a fresh buffer).
func decodeTerms(blob []byte) ([]termRow, error) {
	// one string for all terms, without copying the ~100 MB blob: rows slice it
	all := ownedString(blob)
	b := blob
	rows := make([]termRow, 0, len(blob)/24)
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 || len(b) < n+1 {
			return nil, fmt.Errorf("corrupt term blob")
		}
		flags := b[n]
		b = b[n+1:]
		l, n := binary.Uvarint(b)
		if n <= 0 || len(b) < n+int(l) {
			return nil, fmt.Errorf("corrupt term blob")
		}
		at := len(blob) - len(b) + n
		rows = append(rows, termRow{id: uint32(id), flags: flags, term: all[at : at+int(l)]})
		b = b[n+int(l):]
	}
	return rows, nil
}

// ownedString views b as a string without copying it; b must never be changed afterwards.
func ownedString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func encodeConcept(buf []byte, c *conceptRec) []byte {
	if c.Active {
		buf = append(buf, 1)
	} else {
		buf = append(buf, 0)
	}
	buf = appendString(buf, c.FSN)
	buf = appendString(buf, c.PT)
	buf = appendString(buf, c.Kind)
	buf = binary.AppendUvarint(buf, uint64(len(c.Synonyms)))
	for _, s := range c.Synonyms {
		buf = appendString(buf, s)
	}
	buf = binary.AppendUvarint(buf, uint64(len(c.Assoc)))
	for _, a := range c.Assoc {
		buf = appendString(buf, a.Type)
		buf = appendString(buf, a.Target)
	}
	return buf
}

type reader struct {
	b   []byte
	err bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	l := int(r.uvarint())
	if l > len(r.b) {
		r.err = true
		r.b = nil
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

func decodeConcept(b []byte) (conceptRec, error) {
	if len(b) == 0 {
		return conceptRec{}, fmt.Errorf("corrupt concept record")
	}
	c := conceptRec{Active: b[0] == 1}
	r := &reader{b: b[1:]}
	c.FSN = r.str()
	c.PT = r.str()
	c.Kind = r.str()
	n := int(r.uvarint())
	for i := 0; i < n && !r.err; i++ {
		c.Synonyms = append(c.Synonyms, r.str())
	}
	n = int(r.uvarint())
	for i := 0; i < n && !r.err; i++ {
		t := r.str()
		c.Assoc = append(c.Assoc, assoc{Type: t, Target: r.str()})
	}
	if r.err {
		return conceptRec{}, fmt.Errorf("corrupt concept record")
	}
	return c, nil
}

// ---- loaded source ----

type csr struct {
	off []uint32
	ids []uint32
}

func (c csr) of(i uint32) []uint32 {
	if int(i)+1 >= len(c.off) {
		return nil
	}
	return c.ids[c.off[i]:c.off[i+1]]
}

func invert(par csr, n int) csr {
	count := make([]uint32, n+1)
	for _, p := range par.ids {
		count[p+1]++
	}
	for i := 1; i <= n; i++ {
		count[i] += count[i-1]
	}
	off := append([]uint32(nil), count...)
	ids := make([]uint32, len(par.ids))
	for child := 0; child < n; child++ {
		for _, p := range par.of(uint32(child)) {
			ids[count[p]] = uint32(child)
			count[p]++
		}
	}
	return csr{off: off, ids: ids}
}

// source is one loaded generation: codes, hierarchy and flags in memory (small and fixed-size
// per concept), everything else read from the file on demand.
type source struct {
	name   string
	gen    string
	info   SourceInfo
	codes  []string
	active bitset
	par    csr

	chiOnce sync.Once
	chi     csr // built from par on first use: a first code search needs no descendants

	ptOnce   sync.Once
	pts      []string
	ptErr    error
	ptLoaded atomic.Bool

	rowsOnce sync.Once
	terms    []termRow
	rowOff   []uint32 // terms of concept id: terms[rowOff[id]:rowOff[id+1]]
	rowsErr  error

	indexOnce  sync.Once
	index      termIndex
	indexReady atomic.Bool

	eclMu    sync.Mutex
	eclCache map[string]bitset
}

func (s *source) n() int { return len(s.codes) }

func (s *source) id(code string) (uint32, bool) {
	i := sort.SearchStrings(s.codes, code)
	if i < len(s.codes) && s.codes[i] == code {
		return uint32(i), true
	}
	return 0, false
}

func loadSource(d *db, name, gen string) (*source, error) {
	s := &source{name: name, gen: gen, eclCache: map[string]bitset{}}
	err := d.view(func(tx *bolt.Tx) error {
		g, err := genBucket(tx, gen)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(g.Get(keyMeta), &s.info); err != nil {
			return fmt.Errorf("source %s metadata: %w", name, err)
		}
		codes := ownedString(getBlobSized(g, "codes")) // a fresh buffer, never changed

		if codes != "" {
			s.codes = strings.Split(codes, "\n")
		}
		if s.par, err = decodeCSR(getBlob(g, "par")); err != nil {
			return err
		}
		s.active = bitset(getBlob(g, "act"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load terminology source %s: %w", name, err)
	}
	if len(s.par.off) != len(s.codes)+1 {
		return nil, fmt.Errorf("load terminology source %s: hierarchy and code table disagree", name)
	}
	return s, nil
}

// children is the inverted hierarchy (child ids per concept), built on first use.
func (s *source) children() csr {
	s.chiOnce.Do(func() {
		if s.chi.off == nil {
			s.chi = invert(s.par, len(s.codes))
		}
	})
	return s.chi
}

func (s *source) preferredTerms(d *db) ([]string, error) {
	s.ptOnce.Do(func() {
		s.ptErr = d.view(func(tx *bolt.Tx) error {
			g, err := genBucket(tx, s.gen)
			if err != nil {
				return err
			}
			b := string(getBlob(g, "pt"))
			if b != "" || len(s.codes) == 1 {
				s.pts = strings.Split(b, "\n")
			}
			return nil
		})
		if s.ptErr == nil && len(s.pts) != len(s.codes) {
			s.ptErr = fmt.Errorf("source %s: preferred term table corrupt", s.name)
		}
		s.ptLoaded.Store(s.ptErr == nil)
	})
	return s.pts, s.ptErr
}

// pt is one concept's preferred term: from the in-memory table once something loaded it,
// else from the concept's record (loading the whole table costs ~0.3 s on a full release,
// too much for a single lookup in a one-shot command).
func (s *source) pt(d *db, id uint32) string {
	if !s.ptLoaded.Load() {
		if rec, ok, err := s.record(d, s.codes[id]); err == nil && ok {
			return rec.PT
		}
	}
	pts, err := s.preferredTerms(d)
	if err != nil || int(id) >= len(pts) {
		return ""
	}
	return pts[id]
}

func (s *source) record(d *db, code string) (conceptRec, bool, error) {
	var rec conceptRec
	found := false
	err := d.view(func(tx *bolt.Tx) error {
		g, err := genBucket(tx, s.gen)
		if err != nil {
			return err
		}
		v := g.Bucket(bktConcept).Get([]byte(code))
		if v == nil {
			return nil
		}
		found = true
		rec, err = decodeConcept(v)
		return err
	})
	return rec, found, err
}

func (s *source) refset(d *db, id string) ([]uint32, bool, error) {
	var out []uint32
	found := false
	err := d.view(func(tx *bolt.Tx) error {
		g, err := genBucket(tx, s.gen)
		if err != nil {
			return err
		}
		v := g.Bucket(bktRefset).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		out = make([]uint32, len(v)/4)
		for i := range out {
			out[i] = binary.LittleEndian.Uint32(v[4*i:])
		}
		return nil
	})
	return out, found, err
}

// ---- bitset ----

type bitset []byte

func newBitset(n int) bitset { return make(bitset, (n+7)/8) }

func (b bitset) set(i uint32) { b[i>>3] |= 1 << (i & 7) }

func (b bitset) has(i uint32) bool {
	return int(i>>3) < len(b) && b[i>>3]&(1<<(i&7)) != 0
}

func (b bitset) bytes() []byte { return b }

func stripSemanticTag(fsn string) string {
	if i := strings.LastIndex(fsn, " ("); i > 0 && strings.HasSuffix(fsn, ")") {
		return fsn[:i]
	}
	return fsn
}
