package record

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzNormaliseNHS(f *testing.F) {
	for _, s := range []string{"9434765919", "943 476 5919", "943-476-5919", "0000000000", "94347659190", "", "９４３４７６５９１９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormaliseNHS(s)
		if err != nil {
			return
		}
		if len(n) != 10 || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("NormaliseNHS(%q) = %q, not 10 digits", s, n)
		}
		if again, err := NormaliseNHS(n); err != nil || again != n {
			t.Fatalf("NormaliseNHS is not idempotent on %q: %q, %v", n, again, err)
		}
		if FormatNHS(n) == "" {
			t.Fatalf("FormatNHS(%q) is empty", n)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"1961-03-12", "12/03/1961", "1961-02-30", "0000-01-01", "9999-12-31", "1961-3-12", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate("date", s)
		if err != nil {
			return
		}
		if again, err := ParseDate("date", d); err != nil || again != d {
			t.Fatalf("ParseDate(%q) = %q, which does not parse to itself (%q, %v)", s, d, again, err)
		}
	})
}

func FuzzNormalisePostcode(f *testing.F) {
	for _, s := range []string{"LS6 2QT", "ls62qt", "SW1A 1AA", "GIR 0AA", "XX", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pc, err := NormalisePostcode(s)
		if err != nil {
			return
		}
		if again, err := NormalisePostcode(pc); err != nil || again != pc {
			t.Fatalf("NormalisePostcode(%q) = %q is not a fixed point (%q, %v)", s, pc, again, err)
		}
		_ = PostcodeDistrict(pc)
	})
}

// What ShowControls prints is one safe line; what CheckLine accepts needs no
// escaping.
func FuzzTextSafety(f *testing.F) {
	for _, s := range []string{"Smith", "Zoë", "Smith\x1b[2J", "Jo\nhn", "\u202eevil", "Sm\xffith", "a\u009bb", "\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		shown := ShowControls(s)
		if !utf8.ValidString(shown) {
			t.Fatalf("ShowControls(%q) = %q is not valid UTF-8", s, shown)
		}
		for _, r := range shown {
			if unsafeRune(r) {
				t.Fatalf("ShowControls(%q) = %q still holds %U", s, shown, r)
			}
		}
		if len(s) <= MaxLineBytes && CheckLine("f", s) == nil && shown != s {
			t.Fatalf("CheckLine accepts %q, which ShowControls changes to %q", s, shown)
		}
		text := ShowControlsText(s)
		if len(s) <= MaxTextBytes && CheckText("f", s) == nil && strings.Contains(text, `\x1b`) != strings.Contains(s, `\x1b`) {
			t.Fatalf("CheckText accepts %q, which holds an escape", s)
		}
	})
}
