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
	qs := QueryWords(q)
	if len(qs) == 0 {
		return MatchNone
	}
	r := newRefTerm(Term{Term: term})
	var ws []string
	for _, w := range r.words {
		ws = append(ws, w.s)
	}
	plain := Words(term)
	if len(plain) == len(qs) {
		same := true
		for i := range qs {
			if qs[i] != plain[i] {
				same = false
				break
			}
		}
		if same {
			return MatchWhole
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
			return MatchPrefix
		}
	}
	class := MatchWords
	for _, t := range qs {
		best := mNone
		for _, w := range ws {
			if m := matchWord(t, w); m > best {
				best = m
			}
		}
		switch {
		case best == mExact || best == mPrefix:
		case initialismToken(t) && len(r.initials) >= len(t) && r.initials[:len(t)] == t:
		case best != mNone:
			class = MatchFuzzy
		default:
			return MatchNone
		}
	}
	return class
}
