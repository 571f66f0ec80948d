package commands

import (
	"strings"
	"testing"
	"time"
)

func TestParseWhenUKLocalTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11-24 09:15":          "2026-11-24T09:15:00Z", // GMT
		"2026-06-01 09:15":          "2026-06-01T08:15:00Z", // BST
		"2026-06-01T09:15":          "2026-06-01T08:15:00Z",
		"2026-06-01T09:15:00+02:00": "2026-06-01T07:15:00Z",
	} {
		got, err := parseWhen("at", in)
		if err != nil || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("parseWhen(%q) = %v, %v; want %s", in, got.UTC(), err, want)
		}
	}
	for _, bad := range []string{"", "09:15", "2026-06-01", "2026-06-31 09:00", "tomorrow 9am"} {
		if _, err := parseWhen("at", bad); err == nil || ExitCode(err) != ExitUsage {
			t.Errorf("parseWhen(%q) = %v, want exit 2", bad, err)
		}
	}
}

func TestParseObsFlag(t *testing.T) {
	code, v, text, unit, err := parseObsFlag("27113001=82.5kg")
	if err != nil || code != "27113001" || v == nil || *v != 82.5 || unit != "kg" || text != "" {
		t.Errorf("82.5kg: %q %v %q %q %v", code, v, text, unit, err)
	}
	code, v, text, unit, err = parseObsFlag("1000731000000107= 48 mmol/mol")
	if err != nil || *v != 48 || unit != "mmol/mol" {
		t.Errorf("48 mmol/mol: %q %v %q %q %v", code, v, text, unit, err)
	}
	_, v, text, _, err = parseObsFlag("229819007=never")
	if err != nil || v != nil || text != "never" {
		t.Errorf("text value: %v %q %v", v, text, err)
	}
	// An exponent is part of the number: 1e308kg is 1e308 kg (then refused
	// by the service as no measurement), never 1 with unit "e308kg".
	if _, v, _, unit, err = parseObsFlag("27113001=1e308kg"); err != nil || v == nil || *v != 1e308 || unit != "kg" {
		t.Errorf("1e308kg: %v %q %v", v, unit, err)
	}
	// A decimal comma is refused with a hint, never read as 82.
	if _, _, _, _, err = parseObsFlag("27113001=82,5kg"); err == nil || !strings.Contains(err.Error(), "decimal point") || !strings.Contains(err.Error(), "82.5") {
		t.Errorf("82,5kg: %v", err)
	}
	for _, bad := range []string{"27113001", "=80", "27113001=", "27113001=1.2.3kg", "27113001=1e999kg"} {
		if _, _, _, _, err := parseObsFlag(bad); err == nil {
			t.Errorf("parseObsFlag(%q) accepted", bad)
		}
	}
	if n, err := parseMinutes("length", "1h"); err != nil || n != 60 {
		t.Errorf("1h = %d %v", n, err)
	}
	for _, bad := range []string{"0", "-5m", "90s", "ten"} {
		if _, err := parseMinutes("length", bad); err == nil {
			t.Errorf("parseMinutes(%q) accepted", bad)
		}
	}
}
