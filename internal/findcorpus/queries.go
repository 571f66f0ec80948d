// Package findcorpus holds the synthetic corpora and the standard query sets
// the find index is tested and measured against. It imports nothing of ours,
// so find's own tests use it; the shipped find package carries none of it.
package findcorpus

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"
)

// Patient is a synthetic patient: the same fields as find.Patient, so one
// converts to the other (find.Patient(p)).
type Patient struct {
	ID        string // opaque id (UUIDv7 string)
	Family    string // "O'Brien"
	Given     string // given names joined by spaces
	BirthDate string // YYYY-MM-DD
	NHS       string // 10 digits or ""
	Postcode  string // "LS6 2QT" or "" (foreign addresses may be anything)
	Status    uint8  // 0 active, 1 left, 2 deceased
}

// Term is a synthetic description: the same fields as find.Term.
type Term struct {
	Code      string // concept / product code
	Term      string // description text
	Preferred bool   // preferred term vs synonym/FSN
	Active    bool
}

//go:embed testdata/queries-patients.txt
var patientQueriesFile []byte

//go:embed testdata/queries-codes.txt
var codeQueriesFile []byte

// StandardQueries returns the standard query set of a corpus ("patients" or "codes"),
// with placeholders still in it (FillPatientQuery and FillCodeQuery fill them).
func StandardQueries(corpus string) []string {
	f := patientQueriesFile
	if corpus == "codes" {
		f = codeQueriesFile
	}
	qs, _ := ParseQueries(bytes.NewReader(f))
	return qs
}

// ParseQueries reads one query a line, skipping blank lines and lines starting with #.
func ParseQueries(r io.Reader) ([]string, error) {
	var qs []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		qs = append(qs, l)
	}
	return qs, sc.Err()
}

// PatientDisplay is how a patient is shown in a result list.
func PatientDisplay(p Patient) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(p.Family))
	if p.Given != "" {
		b.WriteString(", ")
		b.WriteString(p.Given)
	}
	for _, s := range []string{p.BirthDate, spacedNHS(p.NHS), p.Postcode} {
		if s != "" {
			b.WriteString("  ")
			b.WriteString(s)
		}
	}
	return b.String()
}

func spacedNHS(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:3] + " " + s[3:6] + " " + s[6:]
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

// district is a postcode's outward part as the index folds it (lower case):
// before the space, else all but an inward part (digit, two letters) at the end.
func district(raw string) string {
	f := strings.ToLower(strings.TrimSpace(raw))
	if i := strings.IndexAny(f, " \t"); i >= 0 {
		return f[:i]
	}
	n := len(f)
	if n >= 5 && isDigit(f[n-3]) && isLower(f[n-2]) && isLower(f[n-1]) {
		return f[:n-3]
	}
	return f
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// FillPatientQuery replaces placeholders with values of p.
func FillPatientQuery(q string, p Patient) string {
	if !strings.Contains(q, "{") {
		return q
	}
	y, m, d := 0, 0, 0
	fmt.Sscanf(p.BirthDate, "%d-%d-%d", &y, &m, &d)
	nhs := p.NHS
	if len(nhs) != 10 {
		nhs = "9434765919"
	}
	mon := "Jan"
	if m >= 1 && m <= 12 {
		mon = strings.ToUpper(monthNames[m-1][:1]) + monthNames[m-1][1:3]
	}
	r := strings.NewReplacer(
		"{family}", p.Family, "{given}", strings.Fields(p.Given + " x")[0],
		"{nhs}", nhs, "{nhs-spaced}", spacedNHS(nhs), "{nhs-part}", nhs[:3]+" "+nhs[3:6],
		"{dob-slash}", fmt.Sprintf("%d/%d/%02d", d, m, y%100),
		"{dob-mon}", fmt.Sprintf("%d-%s-%d", d, mon, y),
		"{dob-iso}", p.BirthDate,
		"{dob-compact}", fmt.Sprintf("%02d%02d%02d", d, m, y%100),
		"{postcode}", p.Postcode, "{district}", district(p.Postcode),
	)
	return r.Replace(q)
}

// FillCodeQuery replaces placeholders with values of t.
func FillCodeQuery(q string, t Term) string {
	if !strings.Contains(q, "{") {
		return q
	}
	part := t.Code
	if len(part) > 5 {
		part = part[:5]
	}
	return strings.NewReplacer("{code}", t.Code, "{code-part}", part).Replace(q)
}
