package clinical_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
)

// TestDoseTextTable words every dose text of the shipped table as `med print`
// prints it, and counts the most a dose allows in a day (the dose checks' input).
func TestDoseTextTable(t *testing.T) {
	f, err := os.Open("testdata/dose-texts.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 4 {
			t.Fatalf("bad row %q", line)
		}
		n++
		if got := clinical.DoseInWords(c[0], c[1]); got != c[2] {
			t.Errorf("%q (%s): words %q, want %q", c[0], c[1], got, c[2])
		}
		d, err := clinical.ParseDose(c[0])
		got := "-"
		if err == nil {
			if x, ok := d.PerDayMax(); ok {
				got = strconv.FormatFloat(x, 'f', -1, 64)
			}
		}
		if got != c[3] {
			t.Errorf("%q: most in a day %s, want %s (%v)", c[0], got, c[3], err)
		}
	}
	if n < 150 {
		t.Fatalf("the table holds %d dose texts, want at least 150", n)
	}
}

// TestWeeklyOnNamedDayIsNotEveryNight is the bug report's case: "4 tablets on
// Monday" was printed "Take FOUR tablets every night Monday".
func TestWeeklyOnNamedDayIsNotEveryNight(t *testing.T) {
	d, err := clinical.ParseDose("4 tablets on Monday")
	if err != nil {
		t.Fatal(err)
	}
	if d.PeriodDays != 7 || len(d.Days) != 1 || d.Days[0] != time.Monday || d.TimeOfDay != "" {
		t.Fatalf("parsed %+v, want once a week on Monday", d)
	}
	if w := d.Words("tablet"); w != "Take FOUR tablets once a week, on Monday" {
		t.Fatalf("words %q", w)
	}
	if w, _ := d.PerWeekMax(); w != 4 {
		t.Fatalf("per week %v, want 4", w)
	}
}

// TestDoseMaximumInOtherUnit: a maximum in grams on a dose in mg is
// converted, never read as the dose's unit ("max 4g" is 4000 mg, not 4 mg).
func TestDoseMaximumInOtherUnit(t *testing.T) {
	d, err := clinical.ParseDose("500mg-1g qds prn max 4g in 24 hours")
	if err != nil {
		t.Fatal(err)
	}
	if d.Unit != "mg" || d.AmountMax != 1000 || d.MaxPerDay != 4000 {
		t.Fatalf("parsed %+v", d)
	}
	if _, err := clinical.ParseDose("10ml qds max 4g in 24 hours"); err == nil {
		t.Fatal("a maximum in g on a dose in ml parsed")
	}
}

func TestDoseUnparseable(t *testing.T) {
	for _, s := range []string{"", "as directed", "1 prn", "3 times a day", "two flurbs daily"} {
		if _, err := clinical.ParseDose(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

// FuzzParseDose: any dose text parses or is refused, never panics, and a
// dose that parses words and counts without panicking; a range never runs
// backwards.
func FuzzParseDose(f *testing.F) {
	for _, s := range []string{"1 od", "1-2 up to 4 times a day", "4 tablets on Monday", "500mg-1g qds prn max 4g in 24 hours",
		"2 stat then 1 qds", "every 4-6 hours", "x3", "1 tds x 5 days", "Take one or two tablets every four to six hours"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := clinical.ParseDose(s)
		_ = clinical.DoseInWords(s, "tablet")
		if err != nil {
			return
		}
		if d.AmountMax < d.Amount {
			t.Fatalf("%q: range %v-%v runs backwards", s, d.Amount, d.AmountMax)
		}
		_ = d.Words("ml")
		d.PerDayMax()
		d.PerWeekMax()
	})
}
