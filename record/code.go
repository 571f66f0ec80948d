package record

import "strings"

// Code system URIs (UK Core, reference/standards.md §1.2).
const (
	SystemSNOMED = "http://snomed.info/sct"
	SystemDMD    = "https://dmd.nhs.uk"
	SystemCTV3   = "http://read.info/ctv3"
	SystemRead2  = "http://read.info/readv2"
	SystemNHS    = "https://fhir.nhs.uk/Id/nhs-number"
	SystemODS    = "https://fhir.nhs.uk/Id/ods-organization-code"
	SystemLOINC  = "http://loinc.org"
	SystemUCUM   = "http://unitsofmeasure.org"
)

// Code is a coded value as recorded: system, code and the display at the time of entry.
type Code struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
	// Foreign marks a code outside our terminologies (LOINC, RxNorm, CVX or
	// an unknown system, from an import): kept as given, flagged on export.
	Foreign bool `json:"foreign,omitempty"`
}

// IsZero reports whether no code is set.
func (c Code) IsZero() bool { return c.Code == "" }

// Is reports whether c is the given system and code.
func (c Code) Is(system, code string) bool { return c.System == system && c.Code == code }

// SystemURI resolves the short names the CLI takes (sct, dmd, ctv3, read2) or a URI.
func SystemURI(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "sct", "snomed", "snomedct", SystemSNOMED:
		return SystemSNOMED, nil
	case "dmd", SystemDMD:
		return SystemDMD, nil
	case "ctv3", SystemCTV3:
		return SystemCTV3, nil
	case "read2", "readv2", SystemRead2:
		return SystemRead2, nil
	}
	if strings.Contains(s, "://") || strings.HasPrefix(s, "urn:") {
		return s, nil
	}
	return "", Invalid("system", s, "unknown code system: use sct, dmd, ctv3, read2 or a URI")
}

// SystemShort is the short name of a known system URI, else the URI.
func SystemShort(uri string) string {
	switch uri {
	case SystemSNOMED:
		return "sct"
	case SystemDMD:
		return "dmd"
	case SystemCTV3:
		return "ctv3"
	case SystemRead2:
		return "read2"
	}
	return uri
}

// ValidSCTID checks the shape of a SNOMED CT identifier (6–18 digits, Verhoeff check digit).
func ValidSCTID(s string) bool {
	if len(s) < 6 || len(s) > 18 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return verhoeff(s)
}

var vD = [10][10]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
	{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
	{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
	{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
}
var vP = [8][10]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
	{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
	{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
}

func verhoeff(s string) bool {
	c := 0
	for i := 0; i < len(s); i++ {
		c = vD[c][vP[i%8][int(s[len(s)-1-i]-'0')]]
	}
	return c == 0
}
