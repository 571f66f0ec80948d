package commands

import (
	"strings"
	"testing"
)

// A mistyped subcommand must fail a script, not print help and exit 0.
func TestUnknownSubcommandIsAUsageError(t *testing.T) {
	e := newPracticeEnv(t, false)
	for _, args := range [][]string{{"appt", "bogus"}, {"allergy", "nkda"}, {"patient", "lsit"}, {"audit", "nope", "x"}} {
		r := e.run("", args...)
		if r.code != ExitUsage || !strings.Contains(r.err, "unknown command") || !strings.Contains(r.err, args[1]) {
			t.Errorf("gpsoc %s: exit %d, stderr %q; want exit 2 naming the unknown command", strings.Join(args, " "), r.code, r.err)
		}
	}
	// A parent command alone still shows its help.
	if r := e.run("", "appt"); r.code != 0 || !strings.Contains(r.out, "Available Commands") {
		t.Errorf("gpsoc appt: exit %d, out %q; want its help", r.code, r.out)
	}
}
