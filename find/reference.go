package find

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Scores of one query token's best match on a record. A record's score is the sum over
// the query's tokens; every token must match. Distinct values per token kind let the
// index tell which level a candidate was found at.
const (
	ScorePrimaryExact    = 60 // surname word / first word of a term, exactly
	ScoreSecondaryExact  = 50 // given name / other word of a term, exactly
	ScorePrimaryPrefix   = 40
	ScoreInitialism      = 35 // terms only: "t2dm", "copd"
	ScoreSecondaryPrefix = 30
	ScorePrimaryTypo     = 25 // a typo in the whole word: "brwn" for Brown
	ScorePrimaryFuzzy    = 20 // a typo in a prefix of the word: "brwn" for Browning
	ScoreSecondaryTypo   = 15
	ScoreSecondaryFuzzy  = 10
	ScorePostcodeFull    = 70 // whole postcode, or outward code plus part of the inward code
	ScorePostcodeDistr   = 65 // outward code (district)
	ScoreNHSPartial      = 600
	ScoreDOB             = 800
	ScoreNHSExact        = 1000
	ScoreCodePrefix      = 1500
	ScoreCodeExact       = 2000

	// RecentLift is added to the score of a patient opened within RecentWindow.
	RecentLift   = 15
	RecentWindow = 30 * 24 * time.Hour
)

func wordScore(m int, primary bool) int {
	switch m {
	case mExact:
		if primary {
			return ScorePrimaryExact
		}
		return ScoreSecondaryExact
	case mPrefix:
		if primary {
			return ScorePrimaryPrefix
		}
		return ScoreSecondaryPrefix
	case mFuzzyWord:
		if primary {
			return ScorePrimaryTypo
		}
		return ScoreSecondaryTypo
	case mFuzzy:
		if primary {
			return ScorePrimaryFuzzy
		}
		return ScoreSecondaryFuzzy
	}
	return 0
}

// refWord is a normalised word of a record.
type refWord struct {
	s       string
	primary bool
	joined  bool // the joined form of a hyphenated chunk
}

// refPatient is a patient normalised for direct matching (the reference matcher and the
// index's small delta of recent changes).
type refPatient struct {
	p        Patient
	words    []refWord
	dob      uint32
	nhs      uint64 // value+1, 0 none
	nhsStr   string
	pc       string
	pcOut    int
	famFold  string
	givFold  string
	openedAt int64 // unix nanoseconds, 0 never
}

func newRefPatient(p Patient) *refPatient {
	r := &refPatient{p: p, famFold: fold(p.Family), givFold: fold(p.Given)}
	eachWord(r.famFold, func(w string, first, _ bool) { r.words = append(r.words, refWord{s: w, primary: first}) })
	eachWord(r.givFold, func(w string, _, _ bool) { r.words = append(r.words, refWord{s: w}) })
	r.dob = parseISODate(p.BirthDate)
	r.nhs = nhsValue(p.NHS)
	r.nhsStr = formatNHS(r.nhs)
	r.pc, r.pcOut = normPostcode(p.Postcode)
	return r
}

// tokenScore is the best score of token t on patient r, 0 when it does not match.
func (r *refPatient) tokenScore(t *qtoken) int {
	switch t.kind {
	case tName:
		best := 0
		for _, w := range r.words {
			if s := wordScore(matchWord(t.s, w.s), w.primary); s > best {
				best = s
			}
		}
		return best
	case tDigits:
		if r.nhs != 0 && len(t.s) == 10 && r.nhsStr == t.s {
			return ScoreNHSExact
		}
		if r.dob != 0 && slices.Contains(t.dates, r.dob) {
			return ScoreDOB
		}
		if r.nhs != 0 && len(t.s) < 10 && strings.HasPrefix(r.nhsStr, t.s) {
			return ScoreNHSPartial
		}
	case tDate:
		if r.dob != 0 && slices.Contains(t.dates, r.dob) {
			return ScoreDOB
		}
	case tPostcode:
		if r.pc != "" {
			switch matchPostcode(t.s, r.pc, r.pcOut) {
			case pcFull:
				return ScorePostcodeFull
			case pcDistrict:
				return ScorePostcodeDistr
			}
		}
	}
	return 0
}

func (r *refPatient) score(toks []qtoken, now int64) int {
	return r.scoreOpened(toks, now, r.openedAt)
}

func (r *refPatient) scoreOpened(toks []qtoken, now, openedAt int64) int {
	if len(toks) == 0 {
		return 0
	}
	total := 0
	for i := range toks {
		s := r.tokenScore(&toks[i])
		if s == 0 {
			return 0
		}
		total += s
	}
	if openedAt != 0 && now-openedAt <= int64(RecentWindow) {
		total += RecentLift
	}
	return total
}

// comparePatientKeys orders patients by the tie rule after score and recency: surname,
// then given names (each folded: lower case, accents off), date of birth as written, id.
func comparePatientKeys(af, ag, ad, aid, bf, bg, bd, bid string) int {
	if c := strings.Compare(af, bf); c != 0 {
		return c
	}
	if c := strings.Compare(ag, bg); c != 0 {
		return c
	}
	if c := strings.Compare(ad, bd); c != 0 {
		return c
	}
	return strings.Compare(aid, bid)
}

// ReferencePatients is the brute-force patient matcher: it reads every patient and
// defines the semantics and ranking the index must reproduce exactly. recent maps ids
// to when they were opened.
func ReferencePatients(ps []Patient, recent map[string]time.Time, q string, limit int, now time.Time) []Hit {
	rs := make([]*refPatient, len(ps))
	for i, p := range ps {
		rs[i] = newRefPatient(p)
	}
	return referencePatientsOn(rs, recent, q, limit, now)
}

// referencePatientsOn is ReferencePatients on patients already normalised.
func referencePatientsOn(rs []*refPatient, recent map[string]time.Time, q string, limit int, now time.Time) []Hit {
	toks := parsePatientQuery(q, todayOf(now))
	if len(toks) == 0 {
		return nil
	}
	limit = normLimit(limit)
	type scored struct {
		r      *refPatient
		opened int64
		score  int
	}
	var out []scored
	nowN := now.UnixNano()
	for _, r := range rs {
		var opened int64
		if at, ok := recent[r.p.ID]; ok {
			opened = at.UnixNano()
		}
		if s := r.scoreOpened(toks, nowN, opened); s > 0 {
			out = append(out, scored{r, opened, s})
		}
	}
	slices.SortFunc(out, func(a, b scored) int {
		if a.score != b.score {
			return b.score - a.score
		}
		if a.opened != b.opened {
			return cmp.Compare(b.opened, a.opened)
		}
		return comparePatientKeys(a.r.famFold, a.r.givFold, a.r.p.BirthDate, a.r.p.ID,
			b.r.famFold, b.r.givFold, b.r.p.BirthDate, b.r.p.ID)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	hits := make([]Hit, len(out))
	for i, s := range out {
		hits[i] = Hit{ID: s.r.p.ID, Score: s.score}
	}
	return hits
}

// DefaultLimit is used when a search asks for limit <= 0.
const DefaultLimit = 50

func normLimit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return n
}

// refTerm is a term normalised for direct matching.
type refTerm struct {
	words    []refWord
	initials string
	code     string
}

func newRefTerm(t Term) refTerm {
	var r refTerm
	var ini []byte
	eachWord(fold(t.Term), func(w string, first, joined bool) {
		r.words = append(r.words, refWord{s: w, primary: first, joined: joined})
		if !joined && !initialStopWord(w) {
			ini = append(ini, w[0])
		}
	})
	r.initials = string(ini)
	r.code = asciiLower(t.Code)
	return r
}

func (r *refTerm) tokenScore(t string) int {
	best := 0
	for _, w := range r.words {
		if s := wordScore(matchWord(t, w.s), w.primary); s > best {
			best = s
		}
	}
	if best < ScoreInitialism && initialismToken(t) && len(r.initials) >= len(t) && r.initials[:len(t)] == t {
		best = ScoreInitialism
	}
	return best
}

func codeScore(code, qcode string) int {
	if qcode == "" {
		return 0
	}
	if code == qcode {
		return ScoreCodeExact
	}
	if len(qcode) >= 3 && strings.HasPrefix(code, qcode) {
		return ScoreCodePrefix
	}
	return 0
}

// termScore: the code score when the whole query is a code (exact or prefix) and
// otherwise the text score; a term matches when either is non-zero.
func (r *refTerm) score(toks []string, qcode string) int {
	if s := codeScore(r.code, qcode); s != 0 {
		return s
	}
	if len(toks) == 0 {
		return 0
	}
	total := 0
	for _, t := range toks {
		s := r.tokenScore(t)
		if s == 0 {
			return 0
		}
		total += s
	}
	return total
}

// compareTermStatic orders terms that score the same: active first, preferred first,
// shorter (in bytes) first, then term, code and position in the slice.
func compareTermStatic(ts []Term, a, b int) int {
	ta, tb := &ts[a], &ts[b]
	if ta.Active != tb.Active {
		if ta.Active {
			return -1
		}
		return 1
	}
	if ta.Preferred != tb.Preferred {
		if ta.Preferred {
			return -1
		}
		return 1
	}
	if len(ta.Term) != len(tb.Term) {
		return len(ta.Term) - len(tb.Term)
	}
	if c := strings.Compare(ta.Term, tb.Term); c != 0 {
		return c
	}
	if c := strings.Compare(ta.Code, tb.Code); c != 0 {
		return c
	}
	return a - b
}

// ReferenceTerms is the brute-force code-picker matcher that defines the semantics and
// ranking the index must reproduce exactly.
func ReferenceTerms(ts []Term, q string, limit int, keep func(int) bool) []TermHit {
	rs := make([]refTerm, len(ts))
	for i, t := range ts {
		rs[i] = newRefTerm(t)
	}
	return referenceTermsOn(ts, rs, q, limit, keep)
}

// referenceTermsOn is ReferenceTerms on terms already normalised.
func referenceTermsOn(ts []Term, rs []refTerm, q string, limit int, keep func(int) bool) []TermHit {
	toks, qcode := parseTermQuery(q)
	if len(toks) == 0 && qcode == "" {
		return nil
	}
	limit = normLimit(limit)
	var out []TermHit
	for i := range rs {
		if keep != nil && !keep(i) {
			continue
		}
		if s := rs[i].score(toks, qcode); s > 0 {
			out = append(out, TermHit{Index: i, Score: s})
		}
	}
	slices.SortFunc(out, func(a, b TermHit) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return compareTermStatic(ts, a.Index, b.Index)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
