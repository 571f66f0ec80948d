package find

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fold lowercases s and strips accents (é -> e). ASCII input takes a fast path that
// allocates only when there is an upper-case letter.
func fold(s string) string {
	ascii := true
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return s
		}
		b := make([]byte, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		return string(b)
	}
	var sb strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r {
		case 'ß':
			sb.WriteString("ss")
			continue
		case 'æ', 'Æ':
			sb.WriteString("ae")
			continue
		case 'ø', 'Ø':
			sb.WriteByte('o')
			continue
		case 'ł', 'Ł':
			sb.WriteByte('l')
			continue
		case '’', '‘', 'ʼ':
			sb.WriteByte('\'')
			continue
		case '‐', '‑', '–':
			sb.WriteByte('-')
			continue
		}
		sb.WriteRune(unicode.ToLower(r))
	}
	return sb.String()
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// eachWord splits already folded text into words. A chunk is a maximal run of word
// runes, apostrophes and hyphens. Apostrophes are dropped inside a chunk ("o'brien" ->
// "obrien"); hyphens split it into parts, each a word, and when there is more than one
// part the joined form is a word too ("smith-jones" -> "smith", "jones",
// "smithjones"). first marks the words that lead the text: the first part of the first
// chunk and that chunk's joined form; joined marks a joined form (it does not count for
// initials).
func eachWord(f string, emit func(w string, first, joined bool)) {
	chunk := 0
	i := 0
	var parts [8]string
	for i < len(f) {
		// skip separators
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
		c := f[start:i]
		if strings.IndexByte(c, '\'') >= 0 {
			c = strings.ReplaceAll(c, "'", "")
		}
		np := 0
		ps := parts[:0]
		for c != "" {
			j := strings.IndexByte(c, '-')
			var p string
			if j < 0 {
				p, c = c, ""
			} else {
				p, c = c[:j], c[j+1:]
			}
			if p == "" {
				continue
			}
			if np < len(parts) {
				ps = append(ps, p)
			}
			np++
		}
		if len(ps) == 0 {
			continue
		}
		for k, p := range ps {
			emit(p, chunk == 0 && k == 0, false)
		}
		if len(ps) > 1 {
			emit(strings.Join(ps, ""), chunk == 0, true)
		}
		chunk++
	}
}

// Word match kinds, best last.
const (
	mNone      = 0
	mFuzzy     = 1 // a typo in a prefix of the word
	mFuzzyWord = 2 // a typo in the whole word
	mPrefix    = 3
	mExact     = 4
)

// fuzzyMin is the shortest query token (in bytes) that is matched with a typo.
const fuzzyMin = 4

// matchWord says how query token t matches word w: exactly, as a prefix of w, with one
// typo (t is within one edit — substitution, insertion, deletion or transposition of
// neighbours — of some prefix of w whose length differs from len(t) by at most one;
// only for tokens of at least fuzzyMin bytes; a typo in the whole word ranks above a
// typo in a longer word's prefix), or not at all.
func matchWord(t, w string) int {
	if len(w) >= len(t) && w[:len(t)] == t {
		if len(w) == len(t) {
			return mExact
		}
		return mPrefix
	}
	if len(t) >= fuzzyMin {
		if within1(t, w) {
			return mFuzzyWord
		}
		if fuzzyPrefix(t, w) {
			return mFuzzy
		}
	}
	return mNone
}

func fuzzyPrefix(t, w string) bool {
	for l := len(t) - 1; l <= len(t)+1; l++ {
		if l >= 1 && l <= len(w) && within1(t, w[:l]) {
			return true
		}
	}
	return false
}

// within1 reports whether the optimal-string-alignment distance of a and b is at most 1.
func within1(a, b string) bool {
	la, lb := len(a), len(b)
	switch la - lb {
	case 0:
		i := 0
		for i < la && a[i] == b[i] {
			i++
		}
		if i == la {
			return true
		}
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < lb && a[i] == b[i] {
			i++
		}
		return a[i+1:] == b[i:]
	case -1:
		return within1(b, a)
	}
	return false
}

// ---- dates ----

// packDate packs a date as yyyymmdd; 0 means none.
func packDate(y, m, d int) uint32 {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0
	}
	return uint32(y*10000 + m*100 + d)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseISODate parses YYYY-MM-DD (the stored form of a birth date).
func parseISODate(s string) uint32 {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0
	}
	y, ok1 := atoi(s[0:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return 0
	}
	return packDate(y, m, d)
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

// month parses a month number or a name (at least 3 letters of it: "mar", "march", "sept").
func month(s string) int {
	if allDigits(s) {
		if len(s) > 2 {
			return 0
		}
		m, _ := atoi(s)
		return m
	}
	if len(s) < 3 {
		return 0
	}
	for i, n := range monthNames {
		if strings.HasPrefix(n, s) {
			return i + 1
		}
	}
	return 0
}

// year resolves a 2- or 4-digit year; a 2-digit year is the latest such year whose
// date (y, m, d) is not after today.
func resolveDate(ys string, m, d int, today uint32) uint32 {
	if !allDigits(ys) {
		return 0
	}
	y, _ := atoi(ys)
	switch len(ys) {
	case 4:
		return packDate(y, m, d)
	case 2:
		cy := int(today / 10000)
		y += cy / 100 * 100
		p := packDate(y, m, d)
		if p == 0 {
			// 29 Feb: try the previous century before giving up
			return packDate(y-100, m, d)
		}
		if p > today {
			return packDate(y-100, m, d)
		}
		return p
	}
	return 0
}

func todayOf(now time.Time) uint32 {
	y, m, d := now.Date()
	return uint32(y*10000 + int(m)*100 + d)
}

// parseDateParts reads day, month and year, or (with a 4-digit first part) year, month
// and day.
func parseDateParts(a, b, c string, today uint32) uint32 {
	if len(a) == 4 && allDigits(a) {
		m := month(b)
		d, ok := atoi(c)
		if m == 0 || !ok || len(c) > 2 {
			return 0
		}
		y, _ := atoi(a)
		return packDate(y, m, d)
	}
	d, ok := atoi(a)
	if !ok || len(a) > 2 {
		return 0
	}
	m := month(b)
	if m == 0 {
		return 0
	}
	return resolveDate(c, m, d, today)
}

// compactDates reads a run of digits as a date: DDMMYY (6 digits), DDMMYYYY or YYYYMMDD
// (8 digits).
func compactDates(s string, today uint32) []uint32 {
	switch len(s) {
	case 6:
		d, _ := atoi(s[0:2])
		m, _ := atoi(s[2:4])
		if p := resolveDate(s[4:6], m, d, today); p != 0 {
			return []uint32{p}
		}
	case 8:
		var out []uint32
		d, _ := atoi(s[0:2])
		m, _ := atoi(s[2:4])
		if p := resolveDate(s[4:8], m, d, today); p != 0 {
			out = append(out, p)
		}
		y, _ := atoi(s[0:4])
		m, _ = atoi(s[4:6])
		d, _ = atoi(s[6:8])
		if p := packDate(y, m, d); p != 0 && (len(out) == 0 || out[0] != p) {
			out = append(out, p)
		}
		return out
	}
	return nil
}

// ---- postcodes ----

// normPostcode returns the postcode without spaces, lowercased, and the length of its
// outward part (the district): the part before the first space when there is one, else
// all but the last three characters when those look like a UK inward code (digit,
// letter, letter), else the whole.
func normPostcode(raw string) (string, int) {
	if n, out, ok := normPostcodeASCII(raw); ok {
		return n, out
	}
	f := fold(strings.TrimSpace(raw))
	if f == "" {
		return "", 0
	}
	if i := strings.IndexAny(f, " \t"); i >= 0 {
		out := f[:i]
		full := strings.Join(strings.Fields(f), "")
		return full, len(out)
	}
	n := len(f)
	if n >= 5 && isDigit(f[n-3]) && isLower(f[n-2]) && isLower(f[n-1]) {
		return f, n - 3
	}
	return f, n
}

// normPostcodeASCII is normPostcode for the usual case (letters, digits and at most one
// run of single spaces inside), without allocating when already lower case.
func normPostcodeASCII(raw string) (string, int, bool) {
	var buf [16]byte
	n, out := 0, -1
	upper := false
	s := strings.TrimSpace(raw)
	if len(s) > len(buf) {
		return "", 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			if out >= 0 || s[i-1] == ' ' {
				return "", 0, false
			}
			out = n
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
			upper = true
		case isLower(c) || isDigit(c):
		default:
			return "", 0, false
		}
		buf[n] = c
		n++
	}
	var norm string
	if !upper && out < 0 {
		norm = s
	} else {
		norm = string(buf[:n])
	}
	if out >= 0 {
		return norm, out, true
	}
	if n >= 5 && isDigit(norm[n-3]) && isLower(norm[n-2]) && isLower(norm[n-1]) {
		return norm, n - 3, true
	}
	return norm, n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// outwardLike: 1–2 letters, a digit, then an optional letter or digit ("ls6", "sw1a", "m1").
func outwardLike(s string) bool {
	i := 0
	for i < len(s) && isLower(s[i]) {
		i++
	}
	if i < 1 || i > 2 || i >= len(s) || !isDigit(s[i]) {
		return false
	}
	rest := s[i+1:]
	return len(rest) == 0 || (len(rest) == 1 && (isDigit(rest[0]) || isLower(rest[0])))
}

// inwardLike: a digit and up to two letters ("2", "2q", "2qt").
func inwardLike(s string) bool {
	if len(s) < 1 || len(s) > 3 || !isDigit(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isLower(s[i]) {
			return false
		}
	}
	return true
}

// postcodeKind: how query token p matches a postcode (full, outward length).
const (
	pcNone     = 0
	pcDistrict = 1
	pcFull     = 2
)

func matchPostcode(p, full string, out int) int {
	if len(p) == out && full[:out] == p {
		return pcDistrict
	}
	if len(p) > out && strings.HasPrefix(full, p) {
		return pcFull
	}
	return pcNone
}

// ---- NHS numbers ----

// nhsValue returns the NHS number as a number plus one (0: none). Spaces are ignored;
// anything other than exactly 10 digits is none.
func nhsValue(s string) uint64 {
	var v uint64
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			continue
		}
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + uint64(c-'0')
		n++
		if n > 10 {
			return 0
		}
	}
	if n != 10 {
		return 0
	}
	return v + 1
}

func formatNHS(v uint64) string {
	if v == 0 {
		return ""
	}
	v--
	var b [10]byte
	for i := 9; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}

// ---- initials ----

// initialsKey packs up to the first 10 initials of a text's words, six bits each, first
// initial in the highest bits; 0 ends the string. Symbols: digits 1–10, a–z 11–36,
// anything else 63 (never typed in an initialism token).
func initSym(c byte) uint64 {
	switch {
	case isDigit(c):
		return uint64(c-'0') + 1
	case isLower(c):
		return uint64(c-'a') + 11
	}
	return 63
}

const initMax = 10

func initialsKeyOf(initials string) uint64 {
	var k uint64
	for i := 0; i < initMax; i++ {
		var s uint64
		if i < len(initials) {
			s = initSym(initials[i])
		}
		k = k<<6 | s
	}
	return k << 4
}

// initialStopWord: words that do not give an initial ("Fracture of femur" -> "ff").
func initialStopWord(w string) bool {
	switch w {
	case "of", "and", "the", "with", "in", "to", "due", "for", "on", "by", "or", "at", "from", "a", "an":
		return true
	}
	return false
}

// initialismToken: 3–10 lowercase letters or digits, with at least one letter.
func initialismToken(t string) bool {
	if len(t) < 3 || len(t) > initMax {
		return false
	}
	letter := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isDigit(c) && !isLower(c) {
			return false
		}
		if isLower(c) {
			letter = true
		}
	}
	return letter
}
