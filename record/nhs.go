package record

import "strings"

// NormaliseNHS validates an NHS number typed with or without the 3-3-4
// spaces and returns its 10 digits. The check digit is Modulus 11.
func NormaliseNHS(s string) (string, error) {
	raw := s
	t := strings.TrimSpace(s)
	digits := t
	if strings.Contains(t, " ") {
		// Spaces are allowed only as 3-3-4.
		if len(t) != 12 || t[3] != ' ' || t[7] != ' ' {
			return "", Invalid("nhsNumber", raw, "spaces are allowed only as 3-3-4 (e.g. 943 476 5919)")
		}
		digits = t[:3] + t[4:7] + t[8:]
	}
	if len(digits) != 10 {
		return "", Invalid("nhsNumber", raw, "must be 10 digits")
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", Invalid("nhsNumber", raw, "must be 10 digits")
		}
	}
	if strings.Count(digits, digits[:1]) == 10 {
		// 0000000000 and the like pass Modulus 11 but are never issued: they
		// are what a placeholder or a stuck key leaves behind.
		return "", Invalid("nhsNumber", raw, "ten identical digits is not an NHS number")
	}
	check, ok := nhsCheckDigit(digits[:9])
	if !ok {
		return "", Invalid("nhsNumber", raw, "check digit would be 10, so this is not a valid NHS number")
	}
	if int(digits[9]-'0') != check {
		return "", Invalid("nhsNumber", raw, "check digit is wrong (Modulus 11)")
	}
	return digits, nil
}

// ValidNHS reports whether s is a valid NHS number.
func ValidNHS(s string) bool { _, err := NormaliseNHS(s); return err == nil }

// nhsCheckDigit returns the Modulus 11 check digit of 9 digits, and false
// when it would be 10 (no valid number has those 9 digits).
func nhsCheckDigit(nine string) (int, bool) {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(nine[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	if c == 10 {
		return 0, false
	}
	return c, true
}

// CompleteNHS appends the check digit to 9 digits; false when none exists.
func CompleteNHS(nine string) (string, bool) {
	c, ok := nhsCheckDigit(nine)
	if !ok {
		return "", false
	}
	n := nine + string(rune('0'+c))
	if strings.Count(n, n[:1]) == 10 {
		return "", false // valid by Modulus 11, never issued (NormaliseNHS)
	}
	return n, true
}

// FormatNHS shows 10 digits as 3-3-4.
func FormatNHS(d string) string {
	if len(d) != 10 {
		return d
	}
	return d[:3] + " " + d[3:6] + " " + d[6:]
}

// NHS number verification status (UK Core NHSNumberVerificationStatus codes).
var NHSStatuses = map[string]string{
	"01": "Number present and verified",
	"02": "Number present but not traced",
	"03": "Trace required",
	"04": "Trace attempted - No match or multiple match found",
	"05": "Trace needs to be resolved - (NHS number or patient detail conflict)",
	"06": "Trace in progress",
	"07": "Number not present and trace not required",
	"08": "Trace postponed (baby under six weeks old)",
}

// Reasons a patient may be registered without an NHS number.
var NoNHSReasons = []string{"temporary-resident", "newborn", "imported-record", "overseas-visitor", "not-known"}
