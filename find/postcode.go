package find

// ---- postcodes packed in a word ----

// A packable postcode has at most 8 normalised characters, all a–z or 0–9. The key holds
// six bits per character, first character highest, then four bits of outward length;
// prefixes of the normalised form are key ranges.
const pcChars = 8

func pcSym(c byte) (uint64, bool) {
	switch {
	case isDigit(c):
		return uint64(c-'0') + 1, true
	case isLower(c):
		return uint64(c-'a') + 11, true
	}
	return 0, false
}

func pcSymChar(s uint64) byte {
	if s <= 10 {
		return byte('0' + s - 1)
	}
	return byte('a' + s - 11)
}

// packChars packs up to 8 characters; ok is false when one is not a–z0–9.
func packChars(s string) (uint64, bool) {
	if len(s) > pcChars {
		return 0, false
	}
	var k uint64
	for i := 0; i < pcChars; i++ {
		var v uint64
		if i < len(s) {
			var ok bool
			if v, ok = pcSym(s[i]); !ok {
				return 0, false
			}
		}
		k = k<<6 | v
	}
	return k, true
}

// pcOrder is the sort key of byPC: the outward length above the characters, so that the
// postcodes of one outward length that start with given characters are one run.
func pcOrder(k uint64) uint64 { return (k&15)<<48 | k>>4 }

// districtKey is a packed postcode cut to its outward code (the district, "LS6"), or 0.
func districtKey(k uint64) uint64 {
	out := k & 15
	if k == 0 || out == 0 || out > pcChars {
		return 0
	}
	shift := 6*(pcChars-out) + 4
	return k>>shift<<shift | out
}

// packPostcode returns the key of raw, and whether raw is exactly the canonical form
// unpackPostcode gives back. A key of 0 means none or not packable.
func packPostcode(raw string) (key uint64, canonical bool) {
	if raw == "" {
		return 0, true
	}
	if k, ok := packPostcodeFast(raw); ok {
		return k, true
	}
	norm, out := normPostcode(raw)
	k, ok := packChars(norm)
	if !ok || norm == "" {
		return 0, false
	}
	key = k<<4 | uint64(out)
	return key, unpackPostcode(key) == raw
}

// packPostcodeFast packs a postcode already in canonical form ("LS6 2QT", "M1 1AA",
// "75011") without allocating; ok is false for anything else.
func packPostcodeFast(raw string) (uint64, bool) {
	if len(raw) > pcChars+1 {
		return 0, false
	}
	var k uint64
	n, out := 0, -1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == ' ' {
			if out >= 0 || i == 0 || i == len(raw)-1 {
				return 0, false
			}
			out = n
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if !isDigit(c) {
			return 0, false
		}
		v, _ := pcSym(c)
		k = k<<6 | v
		n++
	}
	if n > pcChars {
		return 0, false
	}
	k <<= 6 * (pcChars - n)
	if out < 0 {
		// no space: canonical only when there is no UK inward code to split off
		if n >= 5 {
			t := raw[n-3:]
			if isDigit(t[0]) && 'A' <= t[1] && t[1] <= 'Z' && 'A' <= t[2] && t[2] <= 'Z' {
				return 0, false
			}
		}
		out = n
	}
	return k<<4 | uint64(out), true
}

func unpackPostcode(key uint64) string {
	if key == 0 {
		return ""
	}
	out := int(key & 15)
	k := key >> 4
	var buf [pcChars + 1]byte
	n := 0
	for i := 0; i < pcChars; i++ {
		s := (k >> (6 * (pcChars - 1 - i))) & 63
		if s == 0 {
			break
		}
		if i == out && n > 0 {
			buf[n] = ' '
			n++
		}
		c := pcSymChar(s)
		if isLower(c) {
			c -= 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	return string(buf[:n])
}
