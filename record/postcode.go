package record

import (
	"regexp"
	"strings"
)

// UK postcode: outward code (area + district) and inward code (sector + unit).
// Pattern after the Royal Mail / ONS format, plus GIR 0AA.
var ukPostcode = regexp.MustCompile(`^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$`)

// NormalisePostcode validates a UK postcode and returns it upper-case with
// one space before the inward code.
func NormalisePostcode(s string) (string, error) {
	t := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(t) < 5 || len(t) > 7 || !ukPostcode.MatchString(t) {
		return "", Invalid("postcode", s, "not a valid UK postcode (e.g. LS6 2QT)")
	}
	return t[:len(t)-3] + " " + t[len(t)-3:], nil
}

// PostcodeDistrict is the outward code of a normalised postcode ("LS6").
func PostcodeDistrict(pc string) string {
	if i := strings.IndexByte(pc, ' '); i > 0 {
		return pc[:i]
	}
	return pc
}
