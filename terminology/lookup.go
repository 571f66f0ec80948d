package terminology

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// ConceptDetail is what `gpsoc codes show` prints.
type ConceptDetail struct {
	Code          string     `json:"code"`
	System        string     `json:"system"`
	Active        bool       `json:"active"`
	FSN           string     `json:"fsn"`
	PreferredTerm string     `json:"preferredTerm"`
	Synonyms      []string   `json:"synonyms"`
	Parents       []CodeTerm `json:"parents"`
	ReplacedBy    []CodeTerm `json:"replacedBy"`
	// Associations lists every historical association (REPLACED BY, SAME AS, WAS A, MOVED TO…).
	Associations []CodeTerm `json:"associations,omitempty"`
	Kind         string     `json:"kind,omitempty"` // dm+d class, CTV3 status
}

// Replacement is a successor of an inactive concept named by a historical association.
type Replacement struct {
	Code string `json:"code"`
	Term string `json:"term"`
	Type string `json:"type"` // REPLACED BY, SAME AS, POSSIBLY EQUIVALENT TO…
	// Automatic is true only for a single REPLACED BY or SAME AS target: the one case a
	// system may follow without asking (standards.md §3.5). Others need a person to choose.
	Automatic bool `json:"automatic"`
}

// Concept returns a code's details. system may be a short name or a URI; "" means SNOMED CT.
func (t *Terminology) Concept(system, code string) (ConceptDetail, error) {
	return retry(func() (ConceptDetail, error) { return t.concept(system, code) })
}

func (t *Terminology) concept(system, code string) (ConceptDetail, error) {
	s, id, err := t.locate(system, code)
	if err != nil {
		return ConceptDetail{}, err
	}
	rec, _, err := s.record(t.db, code)
	if err != nil {
		return ConceptDetail{}, err
	}
	d := ConceptDetail{
		Code: code, System: systemOfSource[s.name], Active: s.active.has(id), FSN: rec.FSN,
		PreferredTerm: rec.PT, Synonyms: rec.Synonyms, Kind: rec.Kind,
		Parents: s.codeTerms(t.db, s.par.of(id)), ReplacedBy: []CodeTerm{},
	}
	if d.Synonyms == nil {
		d.Synonyms = []string{}
	}
	for _, a := range rec.Assoc {
		ct := CodeTerm{Code: a.Target, Term: t.termOf(s, a.Target), Type: assocName(a.Type)}
		d.Associations = append(d.Associations, ct)
		if replacementTypes[a.Type] {
			d.ReplacedBy = append(d.ReplacedBy, ct)
		}
	}
	return d, nil
}

func assocName(id string) string {
	if n, ok := assocNames[id]; ok {
		return n
	}
	return id
}

// termOf finds a preferred term for a code, in s first, then in the other SNOMED-coded source.
func (t *Terminology) termOf(s *source, code string) string {
	if id, ok := s.id(code); ok {
		return s.pt(t.db, id)
	}
	if s2, id, err := t.locate(systemOfSource[s.name], code); err == nil {
		return s2.pt(t.db, id)
	}
	return ""
}

// Replacements lists the successors the release names for an inactive code (empty for an
// active one). It never substitutes silently: the caller decides, helped by Automatic.
func (t *Terminology) Replacements(system, code string) ([]Replacement, error) {
	return retry(func() ([]Replacement, error) { return t.replacements(system, code) })
}

func (t *Terminology) replacements(system, code string) ([]Replacement, error) {
	s, id, err := t.locate(system, code)
	if err != nil {
		return nil, err
	}
	if s.active.has(id) {
		return nil, nil
	}
	rec, _, err := s.record(t.db, code)
	if err != nil {
		return nil, err
	}
	var out []Replacement
	for _, a := range rec.Assoc {
		if !replacementTypes[a.Type] {
			continue
		}
		out = append(out, Replacement{Code: a.Target, Term: t.termOf(s, a.Target), Type: assocName(a.Type)})
	}
	if len(out) == 1 && (out[0].Type == "REPLACED BY" || out[0].Type == "SAME AS") {
		out[0].Automatic = true
	}
	return out, nil
}

// Validate checks a code for a record entry: nil when known and active; a *NotFoundError for
// an unknown code; an *InactiveError (with the suggested replacements) for an inactive one.
func (t *Terminology) Validate(system, code string) error {
	s, id, err := t.locate(system, code)
	if err != nil {
		return err
	}
	if s.active.has(id) {
		return nil
	}
	reps, err := t.Replacements(system, code)
	if err != nil {
		return err
	}
	return &InactiveError{System: systemOfSource[s.name], Code: code, Term: s.pt(t.db, id), Replacements: reps}
}

// Mapping is a SNOMED CT target of a legacy Read v2 or CTV3 code.
type Mapping struct {
	Code          string `json:"code"`
	Term          string `json:"term"`
	DescriptionID string `json:"descriptionId,omitempty"`
	LegacyTermID  string `json:"legacyTermId,omitempty"`
	Assured       bool   `json:"assured"`
}

// ErrNoMap: no Read→SNOMED map has been imported.
var ErrNoMap = errors.New("no Read→SNOMED map imported (gpsoc codes import read-map)")

// MapLegacy returns the SNOMED CT concepts a Read v2 or CTV3 code maps to (assured maps
// first). A code with no map row is a *NotFoundError.
func (t *Terminology) MapLegacy(system, code string) ([]Mapping, error) {
	return retry(func() ([]Mapping, error) { return t.mapLegacy(system, code) })
}

func (t *Terminology) mapLegacy(system, code string) ([]Mapping, error) {
	sys, err := SystemURI(system)
	if err != nil {
		return nil, err
	}
	if sys != SystemRead2 && sys != SystemCTV3 {
		return nil, &ValueError{Field: "system", Value: system, Reason: "legacy maps exist for read2 and ctv3 only"}
	}
	s := t.source(SourceReadMap)
	if s == nil {
		return nil, ErrNoMap
	}
	var out []Mapping
	err = t.db.view(func(tx *bolt.Tx) error {
		g, err := genBucket(tx, s.gen)
		if err != nil {
			return err
		}
		v := g.Bucket(bktMap).Get([]byte(sys + "|" + code))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("read map %s: %w", code, err)
	}
	if len(out) == 0 {
		return nil, &NotFoundError{System: sys, Code: code}
	}
	if sn := t.source(SourceSNOMED); sn != nil {
		for i := range out {
			if id, ok := sn.id(out[i].Code); ok {
				out[i].Term = sn.pt(t.db, id)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Assured && !out[j].Assured })
	return out, nil
}
