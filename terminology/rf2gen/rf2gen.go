// Package rf2gen writes a synthetic SNOMED CT RF2 Snapshot with the shape of a full UK
// release (design.md §7: about 1.1M concepts, 3M descriptions, 8M relationship rows of which
// about 1.6M are active inferred is-a, about 1.5 parents per concept), in the UK file layout,
// for the import and hierarchy benchmarks. Content is random words; ids are unique numbers
// that look like SCTIDs. Deterministic for a given Config.
//
// One concept (Stats.TargetConcept) has exactly Config.TargetDescendants descendants, so
// the `<<` benchmark measures a known expansion size.
package rf2gen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// Config sets the size and shape.
type Config struct {
	Concepts          int     // total concept rows (active and inactive)
	InactiveFraction  float64 // share of inactive concepts
	SecondParent      float64 // probability that an active concept has a second parent
	ExtraSynonyms     float64 // mean synonyms beyond the preferred term
	InactiveDescs     float64 // inactive description rows per concept
	AttributeRows     float64 // active non-is-a relationship rows per active concept
	InactiveRelRows   float64 // inactive relationship rows per concept
	TargetDescendants int     // size of the designated subtree
	Seed              uint64
	Date              string // effectiveTime and file date, YYYYMMDD
}

// FullUK is the shape of a full UK monolith (International + UK clinical + UK drug).
func FullUK() Config {
	return Config{Concepts: 1_100_000, InactiveFraction: 0.08, SecondParent: 0.65, ExtraSynonyms: 0.6,
		InactiveDescs: 0.13, AttributeRows: 5.1, InactiveRelRows: 1.1, TargetDescendants: 10_000, Seed: 1, Date: "20261124"}
}

// Scaled is FullUK with n concepts (the benchmark tiers: 10k, 100k, 1M).
func Scaled(n int) Config {
	c := FullUK()
	c.Concepts = n
	if c.TargetDescendants > n/4 {
		c.TargetDescendants = n / 4
	}
	return c
}

// Stats describes what was written.
type Stats struct {
	Dir               string
	Concepts          int
	ActiveConcepts    int
	Descriptions      int
	RelationshipRows  int
	ActiveIsA         int
	LanguageRows      int
	Associations      int
	TargetConcept     string
	TargetDescendants int
	SampleChild       string // a concept deep in the hierarchy, and
	SampleAncestor    string // one of its ancestors (for the subsumption benchmark)
}

const (
	rootID    = 138875005
	isA       = 116680003
	inferred  = 900000000000011006
	fsnType   = 900000000000003001
	synType   = 900000000000013009
	preferred = 900000000000548007
	accept    = 900000000000549004
	ukLang    = 999001261000000100
	module    = 999000011000000103
	replaced  = 900000000000526001
	simpleRS  = 991381000000107
)

var attrTypes = []uint64{363698007, 116676008, 246075003, 260686004, 405813007, 363704007, 370135005, 246454002}
var tags = []string{"disorder", "finding", "procedure", "observable entity", "substance", "body structure", "product", "situation"}

func conceptID(i int) uint64 {
	if i == 0 {
		return rootID
	}
	return 100000000 + uint64(i)*10
}

// Write generates the release under dir/SnomedCT_SyntheticUK_<date>/ and returns its stats.
func Write(dir string, c Config) (Stats, error) {
	if c.Concepts < 10 {
		return Stats{}, fmt.Errorf("rf2gen: at least 10 concepts")
	}
	if c.Date == "" {
		c.Date = "20261124"
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
	n := c.Concepts
	active := make([]bool, n)
	parent1 := make([]int32, n)
	parent2 := make([]int32, n)
	lastChild := make([]int32, n)
	prevSib := make([]int32, n)
	for i := range lastChild {
		lastChild[i], prevSib[i], parent1[i], parent2[i] = -1, -1, -1, -1
	}
	// the designated subtree: block [tb, tb+target], tb is its top
	target := c.TargetDescendants
	tb := n / 2
	inBlock := func(i int) bool { return target > 0 && i > tb && i <= tb+target }
	activeList := make([]int32, 0, n)
	active[0] = true
	activeList = append(activeList, 0)
	addChild := func(p, child int) {
		prevSib[child] = lastChild[p]
		lastChild[p] = int32(child)
	}
	pickSibling := func(p1 int) int32 {
		gp := parent1[p1]
		if gp < 0 {
			return -1
		}
		s := lastChild[gp]
		for steps := rng.IntN(3); steps > 0 && s >= 0; steps-- {
			s = prevSib[s]
		}
		if s < 0 || int(s) == p1 || !active[s] {
			return -1
		}
		return s
	}
	for i := 1; i < n; i++ {
		if !inBlock(i) && i != tb && rng.Float64() < c.InactiveFraction {
			continue // inactive: no is-a
		}
		active[i] = true
		var p1 int
		if inBlock(i) {
			p1 = tb + rng.IntN(i-tb) // a parent inside the block (or its top)
		} else {
			for {
				p1 = int(activeList[rng.IntN(len(activeList))])
				if !inBlock(p1) && (target == 0 || p1 != tb) {
					break
				}
			}
		}
		parent1[i] = int32(p1)
		if rng.Float64() < c.SecondParent {
			// a sibling of the first parent (or of its parent): close in the hierarchy, so
			// ancestor sets stay SNOMED-sized (tens, not hundreds)
			s := int32(-1)
			for attempt := 0; attempt < 6 && s < 0; attempt++ {
				from := p1
				if attempt >= 3 && parent1[p1] >= 0 {
					from = int(parent1[p1])
				}
				s = pickSibling(from)
			}
			if s >= 0 && (!inBlock(i) || inBlock(int(s)) || int(s) == tb) && (inBlock(i) || (!inBlock(int(s)) && (target == 0 || int(s) != tb))) {
				parent2[i] = s
			}
		}
		addChild(p1, i)
		activeList = append(activeList, int32(i))
	}

	base := filepath.Join(dir, "SnomedCT_SyntheticUK_"+c.Date)
	term := filepath.Join(base, "Snapshot", "Terminology")
	ref := filepath.Join(base, "Snapshot", "Refset")
	for _, d := range []string{term, ref} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Stats{}, err
		}
	}
	st := Stats{Dir: base, Concepts: n}
	files := map[string]*bufio.Writer{}
	var osFiles []*os.File
	create := func(path, header string) (*bufio.Writer, error) {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		osFiles = append(osFiles, f)
		w := bufio.NewWriterSize(f, 1<<20)
		w.WriteString(header + "\r\n")
		files[path] = w
		return w, nil
	}
	date := c.Date
	cw, err := create(filepath.Join(term, "sct2_Concept_UKCLSnapshot_GB1000000_"+date+".txt"), "id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId")
	if err != nil {
		return st, err
	}
	dw, err := create(filepath.Join(term, "sct2_Description_UKCLSnapshot-en_GB1000000_"+date+".txt"), "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId")
	if err != nil {
		return st, err
	}
	rw, err := create(filepath.Join(term, "sct2_Relationship_UKCLSnapshot_GB1000000_"+date+".txt"), "id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\ttypeId\tcharacteristicTypeId\tmodifierId")
	if err != nil {
		return st, err
	}
	lw, err := create(filepath.Join(ref, "der2_cRefset_LanguageUKCRSnapshot-en_GB1000000_"+date+".txt"), "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tacceptabilityId")
	if err != nil {
		return st, err
	}
	aw, err := create(filepath.Join(ref, "der2_cRefset_AssociationUKCRSnapshot_GB1000000_"+date+".txt"), "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\ttargetComponentId")
	if err != nil {
		return st, err
	}
	sw, err := create(filepath.Join(ref, "der2_Refset_SimpleUKCRSnapshot_GB1000000_"+date+".txt"), "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId")
	if err != nil {
		return st, err
	}

	var buf []byte
	var descID, relID, uuidN uint64
	flag := func(b bool) byte {
		if b {
			return '1'
		}
		return '0'
	}
	head := func(id uint64, act bool) {
		buf = buf[:0]
		buf = strconv.AppendUint(buf, id, 10)
		buf = append(buf, '\t')
		buf = append(buf, date...)
		buf = append(buf, '\t', flag(act), '\t')
		buf = strconv.AppendUint(buf, module, 10)
		buf = append(buf, '\t')
	}
	uuidHead := func(act bool) {
		uuidN++
		buf = buf[:0]
		buf = fmt.Appendf(buf, "%08x-%04x-4%03x-8%03x-%012x", uint32(uuidN>>20), uint16(uuidN>>4), uuidN&0xfff, (uuidN>>12)&0xfff, uuidN)
		buf = append(buf, '\t')
		buf = append(buf, date...)
		buf = append(buf, '\t', flag(act), '\t')
		buf = strconv.AppendUint(buf, module, 10)
		buf = append(buf, '\t')
	}
	rel := func(src, dst uint64, group int, typ uint64, act bool) {
		relID++
		head(300000000000+relID*10+2, act)
		buf = strconv.AppendUint(buf, src, 10)
		buf = append(buf, '\t')
		buf = strconv.AppendUint(buf, dst, 10)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(group), 10)
		buf = append(buf, '\t')
		buf = strconv.AppendUint(buf, typ, 10)
		buf = append(buf, '\t')
		buf = strconv.AppendUint(buf, inferred, 10)
		buf = append(buf, "\t900000000000451002\r\n"...)
		rw.Write(buf)
		st.RelationshipRows++
	}
	desc := func(cid uint64, typ uint64, text []byte, act, pref bool) {
		descID++
		id := 200000000000 + descID*10 + 1
		head(id, act)
		buf = strconv.AppendUint(buf, cid, 10)
		buf = append(buf, "\ten\t"...)
		buf = strconv.AppendUint(buf, typ, 10)
		buf = append(buf, '\t')
		buf = append(buf, text...)
		buf = append(buf, "\t900000000000448009\r\n"...)
		dw.Write(buf)
		st.Descriptions++
		if act {
			uuidHead(true)
			buf = strconv.AppendUint(buf, ukLang, 10)
			buf = append(buf, '\t')
			buf = strconv.AppendUint(buf, id, 10)
			buf = append(buf, '\t')
			if pref {
				buf = strconv.AppendUint(buf, preferred, 10)
			} else {
				buf = strconv.AppendUint(buf, accept, 10)
			}
			buf = append(buf, "\r\n"...)
			lw.Write(buf)
			st.LanguageRows++
		}
	}
	var text []byte
	words := func(k int) []byte {
		text = text[:0]
		for w := 0; w < k; w++ {
			if w > 0 {
				text = append(text, ' ')
			}
			text = appendWord(text, rng)
		}
		return text
	}
	count := func(mean float64) int {
		k := int(mean)
		if rng.Float64() < mean-float64(k) {
			k++
		}
		return k
	}
	for i := 0; i < n; i++ {
		id := conceptID(i)
		head(id, active[i])
		buf = append(buf, "900000000000074008\r\n"...)
		cw.Write(buf)
		if active[i] {
			st.ActiveConcepts++
		}
		// descriptions: FSN, preferred synonym, extra synonyms, some inactive
		pt := append([]byte(nil), words(2+rng.IntN(4))...)
		fsn := append(append(append(append([]byte(nil), pt...), " ("...), tags[i%len(tags)]...), ')')
		desc(id, fsnType, fsn, true, true)
		desc(id, synType, pt, true, true)
		for k := count(c.ExtraSynonyms); k > 0; k-- {
			desc(id, synType, words(1+rng.IntN(5)), true, false)
		}
		for k := count(c.InactiveDescs); k > 0; k-- {
			desc(id, synType, words(2), false, false)
		}
		if active[i] {
			if p := parent1[i]; p >= 0 {
				rel(id, conceptID(int(p)), 0, isA, true)
				st.ActiveIsA++
			}
			if p := parent2[i]; p >= 0 {
				rel(id, conceptID(int(p)), 0, isA, true)
				st.ActiveIsA++
			}
			for k := count(c.AttributeRows); k > 0; k-- {
				dst := activeList[rng.IntN(len(activeList))]
				rel(id, conceptID(int(dst)), rng.IntN(4), attrTypes[rng.IntN(len(attrTypes))], true)
			}
			if i%50 == 0 {
				uuidHead(true)
				buf = strconv.AppendUint(buf, simpleRS, 10)
				buf = append(buf, '\t')
				buf = strconv.AppendUint(buf, id, 10)
				buf = append(buf, "\r\n"...)
				sw.Write(buf)
			}
		} else {
			// an inactive concept keeps its old is-a row (inactive) and is replaced
			old := activeList[rng.IntN(len(activeList))]
			rel(id, conceptID(int(old)), 0, isA, false)
			uuidHead(true)
			buf = strconv.AppendUint(buf, replaced, 10)
			buf = append(buf, '\t')
			buf = strconv.AppendUint(buf, id, 10)
			buf = append(buf, '\t')
			buf = strconv.AppendUint(buf, conceptID(int(old)), 10)
			buf = append(buf, "\r\n"...)
			aw.Write(buf)
			st.Associations++
		}
		for k := count(c.InactiveRelRows); k > 0; k-- {
			dst := activeList[rng.IntN(len(activeList))]
			rel(id, conceptID(int(dst)), rng.IntN(3), attrTypes[rng.IntN(len(attrTypes))], false)
		}
	}
	for _, w := range files {
		if err := w.Flush(); err != nil {
			return st, err
		}
	}
	for _, f := range osFiles {
		if err := f.Close(); err != nil {
			return st, err
		}
	}
	if target > 0 {
		st.TargetConcept = strconv.FormatUint(conceptID(tb), 10)
		st.TargetDescendants = target
	}
	// a deep concept and its root-most non-root ancestor, for the subsumption benchmark
	deep, depth := 1, 0
	for i := n - 1; i > n-2000 && i > 0; i-- {
		d := 0
		for p := i; parent1[p] >= 0; p = int(parent1[p]) {
			d++
		}
		if active[i] && d > depth {
			deep, depth = i, d
		}
	}
	anc := deep
	for parent1[anc] > 0 {
		anc = int(parent1[anc])
	}
	st.SampleChild = strconv.FormatUint(conceptID(deep), 10)
	st.SampleAncestor = strconv.FormatUint(conceptID(anc), 10)
	return st, nil
}

var syllables = []string{"car", "dio", "neph", "ro", "gas", "tro", "hep", "at", "itis", "osis", "al", "ic", "pul", "mon", "ary",
	"derm", "oste", "arth", "my", "neur", "en", "ceph", "vas", "cul", "lymph", "aden", "oma", "thy", "roid", "pan", "cre", "as",
	"chronic", "acute", "left", "right", "upper", "lower", "primary", "secondary"}

func appendWord(b []byte, rng *rand.Rand) []byte {
	k := 1 + rng.IntN(3)
	for i := 0; i < k; i++ {
		b = append(b, syllables[rng.IntN(len(syllables))]...)
	}
	return b
}
