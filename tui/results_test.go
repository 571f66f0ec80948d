package tui

import (
	"strings"
	"testing"
)

// The trend chart's axis keeps the data's precision.
func TestChartAxisKeepsPrecision(t *testing.T) {
	s := series{name: "HbA1c", unit: "%", pts: []point{{at: fixedNow.AddDate(0, -6, 0), a: 6.3}, {at: fixedNow, a: 5.3}}}
	lines := chart(s, NewStyles(true, true), 60, 9)
	var labels []string
	for _, l := range lines {
		if lab, _, ok := strings.Cut(l, "│"); ok && strings.TrimSpace(lab) != "" {
			labels = append(labels, strings.TrimSpace(lab))
		}
	}
	if strings.Join(labels, " ") != "6.3 5.8 5.2" {
		t.Errorf("axis labels %q; want 6.3 5.8 5.2 (one decimal, as the data; not 6 and 5)", labels)
	}
}
