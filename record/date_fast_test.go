package record

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The fast path of ParseDate gives what time.Parse gives, for every day of
// several years (leap years included) and for near-misses.
func TestParseDateFastPathMatchesTimeParse(t *testing.T) {
	slow := func(s string) (string, bool) {
		tm, err := time.Parse(DateLayout, strings.TrimSpace(s))
		if err != nil || tm.Year() < 1850 || tm.Year() > 2200 {
			return "", false
		}
		return tm.Format(DateLayout), true
	}
	var cases []string
	for _, y := range []int{1849, 1850, 1900, 1999, 2000, 2024, 2100, 2200, 2201} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				cases = append(cases, fmt.Sprintf("%04d-%02d-%02d", y, m, d))
			}
		}
	}
	cases = append(cases, "2024-2-29", "2024-02-9", "20240229", "2024-02-2x", " 2024-02-29", "2024/02/29", "+024-02-29")
	for _, c := range cases {
		got, err := ParseDate("d", c)
		want, ok := slow(c)
		if (err == nil) != ok || got != want && ok {
			t.Errorf("%q: ParseDate %q %v; time.Parse %q %v", c, got, err, want, ok)
		}
	}
}
