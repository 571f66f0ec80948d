package find

import (
	"strings"
	"unicode/utf8"
)

// Kinds of query token.
const (
	tName     = iota // letters: matched against words
	tDigits          // a run of digits (spaces inside allowed): NHS number whole or prefix, or a compact date
	tDate            // a date with separators or a month name: date of birth
	tPostcode        // letters and digits: a postcode, whole or district
)

type qtoken struct {
	kind  int
	s     string   // normalised text (name, digits, postcode without spaces)
	dates []uint32 // tDate and tDigits: the dates it can mean
}

// maxTokens caps the number of tokens a query is read as; the rest is ignored.
const maxTokens = 12

// rawChunks splits a folded query on everything except word runes and the characters
// that carry meaning inside a token: apostrophe, hyphen, dot and slash.
func rawChunks(f string) []string {
	var out []string
	i := 0
	for i < len(f) {
		r, size := utf8.DecodeRuneInString(f[i:])
		if !chunkRune(r) {
			i += size
			continue
		}
		start := i
		for i < len(f) {
			r, size = utf8.DecodeRuneInString(f[i:])
			if !chunkRune(r) {
				break
			}
			i += size
		}
		out = append(out, f[start:i])
	}
	return out
}

func chunkRune(r rune) bool {
	return isWordRune(r) || r == '\'' || r == '-' || r == '.' || r == '/'
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			return true
		}
	}
	return false
}

func stripPunct(s string) string {
	if !strings.ContainsAny(s, "'-./") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'', '-', '.', '/':
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isAlpha(s string) bool {
	for _, r := range s {
		if isWordRune(r) && !('0' <= r && r <= '9') {
			continue
		}
		return false
	}
	return s != ""
}

// parsePatientQuery reads a patient query. See doc.go for the rules.
func parsePatientQuery(q string, today uint32) []qtoken {
	chunks := rawChunks(fold(q))
	var toks []qtoken
	for i := 0; i < len(chunks); i++ {
		c := chunks[i]
		// "12 mar 1961": day, month name, year as three chunks
		if i+2 < len(chunks) && len(c) <= 2 && allDigits(c) && isAlpha(chunks[i+1]) && month(chunks[i+1]) != 0 && allDigits(chunks[i+2]) && (len(chunks[i+2]) == 2 || len(chunks[i+2]) == 4) {
			toks = append(toks, dateToken(parseDateParts(c, chunks[i+1], chunks[i+2], today)))
			i += 2
			continue
		}
		if hasDigit(c) && strings.ContainsAny(c, "/-.") {
			toks = append(toks, dateToken(parseDateChunk(c, today)))
			continue
		}
		if !hasDigit(c) {
			for _, part := range strings.FieldsFunc(c, func(r rune) bool { return r == '.' || r == '/' }) {
				if s := stripPunct(part); s != "" {
					toks = append(toks, qtoken{kind: tName, s: s})
				}
			}
			continue
		}
		s := stripPunct(c)
		if allDigits(s) {
			// a run of digit chunks is one number ("943 476 5919")
			for i+1 < len(chunks) && allDigits(chunks[i+1]) {
				s += chunks[i+1]
				i++
			}
			toks = append(toks, qtoken{kind: tDigits, s: s, dates: compactDates(s, today)})
			continue
		}
		// letters and digits: a postcode; an outward code followed by an inward one is one token
		if outwardLike(s) && i+1 < len(chunks) && inwardLike(chunks[i+1]) {
			s += chunks[i+1]
			i++
		}
		toks = append(toks, qtoken{kind: tPostcode, s: s})
	}
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
	}
	return toks
}

func dateToken(p uint32) qtoken {
	t := qtoken{kind: tDate}
	if p != 0 {
		t.dates = []uint32{p}
	}
	return t
}

// parseDateChunk reads "12/3/61", "12-mar-1961", "1961-03-12", "12.03.1961".
func parseDateChunk(c string, today uint32) uint32 {
	parts := strings.FieldsFunc(c, func(r rune) bool { return r == '/' || r == '-' || r == '.' })
	if len(parts) != 3 {
		return 0
	}
	return parseDateParts(parts[0], parts[1], parts[2], today)
}

// parseTermQuery reads a code-picker query: words (apostrophes and hyphens dropped
// inside a word), and the whole trimmed query as a code when it is one chunk.
func parseTermQuery(q string) (toks []string, code string) {
	f := fold(q)
	t := strings.TrimSpace(f)
	if t != "" && !strings.ContainsAny(t, " \t\n\r") {
		code = asciiLower(t)
	}
	i := 0
	for i < len(f) {
		r, size := utf8.DecodeRuneInString(f[i:])
		if !(isWordRune(r) || r == '\'' || r == '-') {
			i += size
			continue
		}
		start := i
		for i < len(f) {
			r, size = utf8.DecodeRuneInString(f[i:])
			if !(isWordRune(r) || r == '\'' || r == '-') {
				break
			}
			i += size
		}
		if s := stripPunct(f[start:i]); s != "" {
			toks = append(toks, s)
		}
	}
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
	}
	return toks, code
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
