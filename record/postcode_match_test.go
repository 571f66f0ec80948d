package record

import (
	"math/rand"
	"regexp"
	"testing"
)

// The hand-written check accepts exactly what the Royal Mail pattern does.
var postcodePattern = regexp.MustCompile(`^(GIR0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2})$`)

// The NHS pseudo postcodes (ZZ99 3VZ no fixed abode, ZZ99 3WZ address not known...).
var pseudoPattern = regexp.MustCompile(`^ZZ99[0-9][A-Z]Z$`)

func TestPostcodeCheckMatchesThePattern(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 a"
	shapes := []string{"A9", "A99", "AA9", "AA99", "A9A", "AA9A"}
	check := func(s string) {
		if got, want := isPostcode(s), postcodePattern.MatchString(s) || pseudoPattern.MatchString(s); got != want {
			t.Fatalf("%q: check %v, pattern %v", s, got, want)
		}
	}
	for _, s := range []string{"GIR0AA", "LS62QT", "EC1A1BB", "W1A0AX", "M11AE", "B338TH", "CR26XH", "DN551PT", "QS62QT", "LS6QQT", "", "LS6", "GIR0AB", "ZZ993VZ", "ZZ993WZ", "ZZ993CZ", "ZZ993VA", "ZZ983VZ", "ZZ99VZ"} {
		check(s)
	}
	for i := 0; i < 200000; i++ {
		var b []byte
		if i%2 == 0 { // near-valid: a postcode shape with random characters
			for _, c := range shapes[rng.Intn(len(shapes))] + "9AA" {
				if c == 'A' {
					b = append(b, byte('A'+rng.Intn(26)))
				} else {
					b = append(b, byte('0'+rng.Intn(10)))
				}
			}
		} else {
			for n := rng.Intn(9); n > 0; n-- {
				b = append(b, chars[rng.Intn(len(chars))])
			}
		}
		check(string(b))
	}
}
