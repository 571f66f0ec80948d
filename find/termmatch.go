package find

// How a whole query matches one description, for the code pickers' ranking above the
// index (terminology ranks a handful of candidates by it; the index itself scores words).
const (
	MatchNone   = iota
	MatchFuzzy  // some token matched only with a typo
	MatchWords  // every token matched a word exactly, as a word prefix or as initials
	MatchPrefix // the description starts with the query ("chronic obstr" -> Chronic obstructive…)
	MatchWhole  // the description is the query, word for word ("hypertension" -> Hypertension)
)

// Words splits a text into folded words exactly as the term index does (the joined form
// of a hyphenated chunk is left out), so callers compare words the index's way.
func Words(s string) []string {
	var out []string
	eachWord(fold(s), func(w string, first, joined bool) {
		if !joined {
			out = append(out, w)
		}
	})
	return out
}

// QueryWords splits a code-picker query into its tokens as Terms.Search reads them.
func QueryWords(q string) []string {
	toks, _ := parseTermQuery(q)
	return toks
}

// MatchTerm classifies how the query q matches the description term: MatchWhole,
// MatchPrefix, MatchWords, MatchFuzzy or MatchNone (see the constants).
func MatchTerm(q, term string) int {
	c, _ := NewTermMatcher(q).Match(term)
	return c
}

// TermMatcher is a query split once, to classify many descriptions (MatchTerm).
type TermMatcher struct{ qs []string }

// NewTermMatcher splits q as Terms.Search does.
func NewTermMatcher(q string) TermMatcher { return TermMatcher{QueryWords(q)} }

// Words is the number of query tokens.
func (m TermMatcher) Words() int { return len(m.qs) }

// Match classifies term (see MatchTerm) and says how many words it has (hyphenated joined
// forms not counted).
func (m TermMatcher) Match(term string) (class, words int) {
	qs := m.qs
	r := newRefTerm(Term{Term: term})
	var plain []string
	for _, w := range r.words {
		if !w.joined {
			plain = append(plain, w.s)
		}
	}
	if len(qs) == 0 {
		return MatchNone, len(plain)
	}
	if len(plain) == len(qs) {
		same := true
		for i := range qs {
			if qs[i] != plain[i] {
				same = false
				break
			}
		}
		if same {
			return MatchWhole, len(plain)
		}
	}
	if len(plain) >= len(qs) {
		pre := true
		for i := range qs {
			last := i == len(qs)-1
			if (!last && qs[i] != plain[i]) || (last && !(len(plain[i]) >= len(qs[i]) && plain[i][:len(qs[i])] == qs[i])) {
				pre = false
				break
			}
		}
		if pre {
			return MatchPrefix, len(plain)
		}
	}
	class = MatchWords
	for _, t := range qs {
		best := mNone
		for _, w := range r.words {
			if m := matchWord(t, w.s); m > best {
				best = m
			}
		}
		switch {
		case best == mExact || best == mPrefix:
		case initialismToken(t) && len(r.initials) >= len(t) && r.initials[:len(t)] == t:
		case best != mNone:
			class = MatchFuzzy
		default:
			return MatchNone, len(plain)
		}
	}
	return class, len(plain)
}
