package terminology

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// SNOMED CT magic ids (standards.md §3.2).
const (
	isA              = 116680003
	inferred         = 900000000000011006
	typeFSN          = 900000000000003001
	typeSynonym      = 900000000000013009
	acceptPreferred  = 900000000000548007
	acceptAcceptable = 900000000000549004
)

// langOrder is the en-GB preference order of language refsets (hermes' order, standards.md §3.2):
// UK clinical, UK pharmacy, NHS dm+d realm, UK drug extension GB, GB English, UK extension GB.
// Other language refsets found in a release (e.g. US English) come after, in id order.
var langOrder = []uint64{999001261000000100, 999000691000001104, 999000671000001103, 999000681000001101, 900000000000508004, 999001251000000103}

type rf2Kind int

const (
	rf2Ignored rf2Kind = iota
	rf2KindConcept
	rf2Description
	rf2Relationship
	rf2Language
	rf2Simple
	rf2Association
)

var rf2Headers = map[rf2Kind][]string{
	rf2KindConcept:  {"id", "effectiveTime", "active", "moduleId", "definitionStatusId"},
	rf2Description:  {"id", "effectiveTime", "active", "moduleId", "conceptId", "languageCode", "typeId", "term", "caseSignificanceId"},
	rf2Relationship: {"id", "effectiveTime", "active", "moduleId", "sourceId", "destinationId", "relationshipGroup", "typeId", "characteristicTypeId", "modifierId"},
	rf2Language:     {"id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId", "acceptabilityId"},
	rf2Simple:       {"id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId"},
	rf2Association:  {"id", "effectiveTime", "active", "moduleId", "refsetId", "referencedComponentId", "targetComponentId"},
}

var ukQualifier = regexp.MustCompile(`UK[A-Z]{0,4}$`)
var releaseDate = regexp.MustCompile(`_(\d{8})\.txt$`)

// classifyRF2 recognises Snapshot files by content type, with the International and UK
// naming variants: sct2_Concept_Snapshot_INT_…, sct2_Concept_UKCLSnapshot_GB1000000_…,
// sct2_Description_UKDGSnapshot-en_GB1000001_…, der2_cRefset_LanguageUKCRSnapshot-en_…,
// der2_Refset_SimpleUKEDSnapshot_…, der2_cRefset_AssociationReferenceSnapshot_… .
func classifyRF2(base string) rf2Kind {
	if !strings.HasSuffix(strings.ToLower(base), ".txt") {
		return rf2Ignored
	}
	i := strings.Index(base, "Snapshot")
	if i < 0 {
		return rf2Ignored
	}
	prefix := ukQualifier.ReplaceAllString(base[:i], "")
	switch prefix {
	case "sct2_Concept_":
		return rf2KindConcept
	case "sct2_Description_":
		return rf2Description
	case "sct2_Relationship_":
		return rf2Relationship
	case "der2_cRefset_Language":
		return rf2Language
	case "der2_Refset_Simple":
		return rf2Simple
	case "der2_cRefset_Association", "der2_cRefset_AssociationReference":
		return rf2Association
	}
	return rf2Ignored
}

type rf2ConceptRow struct {
	id     uint64
	eff    uint32
	active bool
}

type rf2Desc struct {
	id      uint64
	concept uint64
	eff     uint32
	typ     uint8 // 1 FSN, 2 synonym
	active  bool
	term    string
}

type rf2Rel struct {
	id       uint64
	src, dst uint64
	eff      uint32
	active   bool
}

type rf2Member struct {
	uuid   [16]byte
	refset uint64
	comp   uint64
	target uint64 // acceptability for language rows, target for associations
	eff    uint32
	active bool
}

type rf2Parsed struct {
	concepts []rf2ConceptRow
	descs    []rf2Desc
	rels     []rf2Rel
	relRows  int
	lang     []rf2Member
	simple   []rf2Member
	assoc    []rf2Member
}

// ImportRF2 imports SNOMED CT RF2 Snapshot files from one or several packages (International,
// UK clinical, UK drug extension), given as folders, zips or files. The whole SNOMED source is
// replaced once everything has loaded; any bad row fails the import (*ImportError, rows as
// file:line: reason) and the release in use before stays.
func (t *Terminology) ImportRF2(paths ...string) (SourceInfo, error) {
	t.importMu.Lock()
	defer t.importMu.Unlock()
	if err := t.writable(); err != nil {
		return SourceInfo{}, err
	}
	r, err := buildRF2(paths)
	if err != nil {
		return SourceInfo{}, err
	}
	return t.install(r)
}

func buildRF2(paths []string) (*release, error) {
	in, err := collectInputs(paths)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var files []inputFile
	var kinds []rf2Kind
	release := ""
	for _, f := range in.files {
		k := classifyRF2(f.base)
		if k == rf2Ignored {
			continue
		}
		files = append(files, f)
		kinds = append(kinds, k)
		if m := releaseDate.FindStringSubmatch(f.base); m != nil && m[1] > release {
			release = m[1]
		}
	}
	has := map[rf2Kind]bool{}
	for _, k := range kinds {
		has[k] = true
	}
	if !has[rf2KindConcept] || !has[rf2Description] {
		return nil, fmt.Errorf("import rf2: no Snapshot concept and description files in %s", strings.Join(paths, ", "))
	}
	probs := &problems{}
	parts := make([]rf2Parsed, len(files))
	sem := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := parseRF2File(files[i], kinds[i], &parts[i], probs); err != nil {
				probs.add(files[i].name, 0, "%v", err)
			}
		}(i)
	}
	wg.Wait()
	if err := probs.err(SourceSNOMED); err != nil {
		return nil, err
	}
	var all rf2Parsed
	for _, p := range parts {
		all.concepts = append(all.concepts, p.concepts...)
		all.descs = append(all.descs, p.descs...)
		all.rels = append(all.rels, p.rels...)
		all.relRows += p.relRows
		all.lang = append(all.lang, p.lang...)
		all.simple = append(all.simple, p.simple...)
		all.assoc = append(all.assoc, p.assoc...)
	}
	parts = nil
	r := assembleRF2(&all)
	r.info.Release = release
	for _, p := range paths {
		r.info.Files = append(r.info.Files, p)
	}
	r.info.System = SystemSNOMED
	r.info.Licence = "SNOMED CT Affiliate Licence (SNOMED International; UK content NHS England, via TRUD)"
	r.info.Attribution = "This material includes SNOMED Clinical Terms® (SNOMED CT®), used by permission of SNOMED International. " +
		"All rights reserved. SNOMED CT® was originally created by the College of American Pathologists. " +
		"UK Edition content is Crown copyright, NHS England."
	return r, nil
}

// ---- parsing ----

func splitTabs(line []byte, out [][]byte) int {
	n := 0
	for n < len(out) {
		i := bytes.IndexByte(line, '\t')
		if i < 0 {
			out[n] = line
			return n + 1
		}
		out[n] = line[:i]
		line = line[i+1:]
		n++
	}
	return n + 1 // more fields than expected
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

func parseUUID(b []byte) ([16]byte, bool) {
	var u [16]byte
	j := 0
	hi := true
	for _, c := range b {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		case c == '-':
			continue
		default:
			return u, false
		}
		if j >= 16 {
			return u, false
		}
		if hi {
			u[j] = v << 4
		} else {
			u[j] |= v
			j++
		}
		hi = !hi
	}
	return u, j == 16 && hi
}

func parseRF2File(f inputFile, kind rf2Kind, out *rf2Parsed, probs *problems) error {
	rc, err := f.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	lr := newLineReader(rc)
	want := rf2Headers[kind]
	fields := make([][]byte, len(want))
	header := false
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if len(line) == 0 || line[0] == '#' {
			// blank lines and '#' comments: released files have none, but test packages
			// (snowstorm's) do, and no RF2 id can start with '#'
			continue
		}
		if !header {
			n := splitTabs(line, fields)
			if n != len(want) {
				probs.add(f.name, lr.line, "header has %d columns, want %d (%s)", n, len(want), strings.Join(want, ", "))
				return nil
			}
			for i, w := range want {
				if !strings.EqualFold(string(fields[i]), w) {
					probs.add(f.name, lr.line, "header column %d is %q, want %q", i+1, fields[i], w)
					return nil
				}
			}
			header = true
			continue
		}
		if n := splitTabs(line, fields); n != len(want) {
			probs.add(f.name, lr.line, "%d columns, want %d", n, len(want))
			continue
		}
		eff, ok := parseUint(fields[1])
		if !ok || len(fields[1]) != 8 {
			probs.add(f.name, lr.line, "effectiveTime %q is not YYYYMMDD", fields[1])
			continue
		}
		var active bool
		switch string(fields[2]) {
		case "1":
			active = true
		case "0":
		default:
			probs.add(f.name, lr.line, "active %q is not 0 or 1", fields[2])
			continue
		}
		switch kind {
		case rf2KindConcept:
			id, ok := parseUint(fields[0])
			if !ok {
				probs.add(f.name, lr.line, "concept id %q is not an SCTID", fields[0])
				continue
			}
			out.concepts = append(out.concepts, rf2ConceptRow{id: id, eff: uint32(eff), active: active})
		case rf2Description:
			id, ok1 := parseUint(fields[0])
			cid, ok2 := parseUint(fields[4])
			typ, ok3 := parseUint(fields[6])
			if !ok1 || !ok2 || !ok3 {
				probs.add(f.name, lr.line, "description id, conceptId or typeId is not an SCTID")
				continue
			}
			var t uint8
			switch typ {
			case typeFSN:
				t = 1
			case typeSynonym:
				t = 2
			default:
				continue // text definitions and other types are not terms to pick
			}
			if len(fields[7]) == 0 {
				probs.add(f.name, lr.line, "empty term")
				continue
			}
			out.descs = append(out.descs, rf2Desc{id: id, concept: cid, eff: uint32(eff), typ: t, active: active, term: string(fields[7])})
		case rf2Relationship:
			out.relRows++
			typ, ok1 := parseUint(fields[7])
			char, ok2 := parseUint(fields[8])
			id, ok3 := parseUint(fields[0])
			src, ok4 := parseUint(fields[4])
			dst, ok5 := parseUint(fields[5])
			if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
				probs.add(f.name, lr.line, "id, sourceId, destinationId, typeId or characteristicTypeId is not an SCTID")
				continue
			}
			if typ != isA || char != inferred {
				continue
			}
			out.rels = append(out.rels, rf2Rel{id: id, src: src, dst: dst, eff: uint32(eff), active: active})
		case rf2Language, rf2Simple, rf2Association:
			u, ok := parseUUID(fields[0])
			if !ok {
				probs.add(f.name, lr.line, "id %q is not a UUID", fields[0])
				continue
			}
			rs, ok1 := parseUint(fields[4])
			comp, ok2 := parseUint(fields[5])
			if !ok1 || !ok2 {
				probs.add(f.name, lr.line, "refsetId or referencedComponentId is not an SCTID")
				continue
			}
			m := rf2Member{uuid: u, refset: rs, comp: comp, eff: uint32(eff), active: active}
			if kind != rf2Simple {
				v, ok := parseUint(fields[6])
				if !ok {
					probs.add(f.name, lr.line, "%s %q is not an SCTID", want[6], fields[6])
					continue
				}
				m.target = v
			}
			switch kind {
			case rf2Language:
				if m.target != acceptPreferred && m.target != acceptAcceptable {
					probs.add(f.name, lr.line, "acceptabilityId %d is neither preferred nor acceptable", m.target)
					continue
				}
				out.lang = append(out.lang, m)
			case rf2Simple:
				out.simple = append(out.simple, m)
			default:
				out.assoc = append(out.assoc, m)
			}
		}
	}
	if !header {
		probs.add(f.name, lr.line, "no header row (file empty or truncated)")
	}
	return nil
}

// latest keeps, per id, the row with the latest effectiveTime (several packages, or a
// Snapshot plus an extension overriding a row).
func latest[T any](rows []T, key func(*T) [16]byte, eff func(*T) uint32) []T {
	// stable: on equal effectiveTime the row from the later file (paths order) wins
	slices.SortStableFunc(rows, func(a, b T) int {
		if c := bytes.Compare(ptr(key(&a)), ptr(key(&b))); c != 0 {
			return c
		}
		return cmp.Compare(eff(&a), eff(&b))
	})
	out := rows[:0]
	for i := range rows {
		if i+1 < len(rows) && key(&rows[i]) == key(&rows[i+1]) {
			continue
		}
		out = append(out, rows[i])
	}
	return out
}

func ptr(k [16]byte) []byte { return k[:] }

func idKey(id uint64) [16]byte {
	var k [16]byte
	for i := 0; i < 8; i++ {
		k[i] = byte(id >> (56 - 8*i))
	}
	return k
}

func assembleRF2(p *rf2Parsed) *release {
	p.concepts = latest(p.concepts, func(c *rf2ConceptRow) [16]byte { return idKey(c.id) }, func(c *rf2ConceptRow) uint32 { return c.eff })
	p.descs = latest(p.descs, func(d *rf2Desc) [16]byte { return idKey(d.id) }, func(d *rf2Desc) uint32 { return d.eff })
	p.rels = latest(p.rels, func(r *rf2Rel) [16]byte { return idKey(r.id) }, func(r *rf2Rel) uint32 { return r.eff })
	memKey := func(m *rf2Member) [16]byte { return m.uuid }
	memEff := func(m *rf2Member) uint32 { return m.eff }
	p.lang = latest(p.lang, memKey, memEff)
	p.simple = latest(p.simple, memKey, memEff)
	p.assoc = latest(p.assoc, memKey, memEff)

	n := len(p.concepts)
	codes := make([]string, n)
	for i, c := range p.concepts {
		codes[i] = strconv.FormatUint(c.id, 10)
	}
	// dense ids follow the string order of codes (lookups are binary searches over strings)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	sort.Slice(perm, func(a, b int) bool { return codes[perm[a]] < codes[perm[b]] })
	dense := make(map[uint64]uint32, n)
	r := &release{name: SourceSNOMED, codes: make([]string, n), concepts: make([]conceptRec, n),
		parents: make([][]uint32, n), refsets: map[string][]uint32{}}
	for newID, old := range perm {
		r.codes[newID] = codes[old]
		dense[p.concepts[old].id] = uint32(newID)
		r.concepts[newID].Active = p.concepts[old].active
	}
	warn := map[string]int{}

	// language membership per description
	langRank := map[uint64]int{}
	for i, id := range langOrder {
		langRank[id] = i
	}
	var extra []uint64
	for _, m := range p.lang {
		if _, ok := langRank[m.refset]; !ok {
			extra = append(extra, m.refset)
		}
	}
	slices.Sort(extra)
	extra = slices.Compact(extra)
	for _, id := range extra {
		if len(langRank) < 32 {
			langRank[id] = len(langRank)
		}
	}
	type accept struct{ pref, acc uint32 }
	descAccept := make(map[uint64]accept, len(p.lang))
	for _, m := range p.lang {
		if !m.active {
			continue
		}
		rank, ok := langRank[m.refset]
		if !ok {
			continue
		}
		a := descAccept[m.comp]
		if m.target == acceptPreferred {
			a.pref |= 1 << rank
		} else {
			a.acc |= 1 << rank
		}
		descAccept[m.comp] = a
	}

	// descriptions grouped per concept
	byConcept := make([][]int32, n)
	for i := range p.descs {
		cid, ok := dense[p.descs[i].concept]
		if !ok {
			warn["descriptions of unknown concepts ignored"]++
			continue
		}
		byConcept[cid] = append(byConcept[cid], int32(i))
	}
	lowest := func(mask uint32) int {
		for i := 0; i < 32; i++ {
			if mask&(1<<i) != 0 {
				return i
			}
		}
		return 99
	}
	for cid := range n {
		rec := &r.concepts[cid]
		ds := byConcept[cid]
		best, bestRank := -1, 99
		fsn, fsnRank := -1, 99
		anyLang := false
		for _, di := range ds {
			d := &p.descs[di]
			if !d.active {
				continue
			}
			a := descAccept[d.id]
			if a.pref|a.acc != 0 {
				anyLang = true
			}
			rank := lowest(a.pref)
			if d.typ == 2 && (rank < bestRank || rank == bestRank && best >= 0 && d.id < p.descs[best].id) {
				best, bestRank = int(di), rank
			}
			if d.typ == 1 && (fsn < 0 || rank < fsnRank || rank == fsnRank && d.id < p.descs[fsn].id) {
				fsn, fsnRank = int(di), rank
			}
		}
		if fsn >= 0 {
			rec.FSN = p.descs[fsn].term
		} else {
			for _, di := range ds { // an inactive concept may keep only inactive descriptions
				if p.descs[di].typ == 1 {
					rec.FSN = p.descs[di].term
				}
			}
		}
		if !anyLang || bestRank == 99 {
			// no language refset for this concept: the synonym that matches the FSN without its
			// semantic tag, else the first synonym by id
			best = -1
			stripped := stripSemanticTag(rec.FSN)
			for _, di := range ds {
				d := &p.descs[di]
				if !d.active || d.typ != 2 {
					continue
				}
				if d.term == stripped {
					best = int(di)
					break
				}
				if best < 0 || d.id < p.descs[best].id {
					best = int(di)
				}
			}
		}
		if best >= 0 {
			rec.PT = p.descs[best].term
		} else {
			rec.PT = stripSemanticTag(rec.FSN)
		}
		for _, di := range ds {
			d := &p.descs[di]
			if !d.active || d.typ != 2 || int(di) == best {
				continue
			}
			if anyLang && bestRank != 99 {
				a := descAccept[d.id]
				if (a.pref|a.acc)&(1<<bestRank) == 0 {
					continue // not part of the chosen dialect (e.g. a US-only spelling)
				}
			}
			if d.term != rec.PT {
				rec.Synonyms = append(rec.Synonyms, d.term)
			}
		}
	}

	// inferred is-a
	isa := 0
	for _, rel := range p.rels {
		if !rel.active {
			continue
		}
		s, ok1 := dense[rel.src]
		d, ok2 := dense[rel.dst]
		if !ok1 || !ok2 || s == d {
			warn["is-a rows naming an unknown concept ignored"]++
			continue
		}
		if !slices.Contains(r.parents[s], d) {
			r.parents[s] = append(r.parents[s], d)
			isa++
		}
	}
	// simple refsets
	members := 0
	for _, m := range p.simple {
		if !m.active {
			continue
		}
		c, ok := dense[m.comp]
		if !ok {
			continue // a refset of descriptions or of concepts outside this release
		}
		key := strconv.FormatUint(m.refset, 10)
		r.refsets[key] = append(r.refsets[key], c)
		members++
	}
	for k, v := range r.refsets {
		r.refsets[k] = sortUnique(v)
	}
	// historical associations
	assocs := 0
	for _, m := range p.assoc {
		if !m.active {
			continue
		}
		c, ok := dense[m.comp]
		if !ok {
			continue // associations of descriptions
		}
		r.concepts[c].Assoc = append(r.concepts[c].Assoc, assoc{Type: strconv.FormatUint(m.refset, 10), Target: strconv.FormatUint(m.target, 10)})
		assocs++
	}
	r.info.Counts = map[string]int{
		"descriptionRows": len(p.descs), "relationshipRows": p.relRows, "isARows": len(p.rels),
		"languageRows": len(p.lang), "refsetMembers": members, "associations": assocs,
	}
	if len(p.lang) == 0 {
		r.info.Warnings = append(r.info.Warnings, "no language refset: preferred terms chosen from the FSN and synonyms")
	}
	for k, v := range warn {
		r.info.Warnings = append(r.info.Warnings, fmt.Sprintf("%d %s", v, k))
	}
	sort.Strings(r.info.Warnings)
	return r
}
