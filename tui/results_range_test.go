package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
)

// Results show the laboratory's range and flag where it sent them, else the
// observables table's cited interval (marked "ref table"), else none; the
// chart marks abnormal points and names the range.
func TestResultsShowRangesAndFlags(t *testing.T) {
	ctx := context.Background()
	dir, svc := practice(t, 50)
	found, err := svc.FindPatients(ctx, "kingsland", 1)
	if err != nil || len(found) == 0 {
		t.Fatal(err)
	}
	pid := found[0].Patient.ID
	admin, err := svc.Practice().As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	line := func(code, display, at string, v float64, unit, extra string) string {
		return fmt.Sprintf(`{"patientId":%q,"code":{"system":"http://snomed.info/sct","code":%q,"display":%q},"value":%v,"unit":%q,"effective":%q%s}`,
			pid, code, display, v, unit, at, extra) + "\n"
	}
	labRange := `,"referenceRange":{"low":3.5,"high":5.3},"interpretation":"H"`
	nd := line("1000651000000109", "Serum potassium level", "2026-06-01T09:00:00Z", 4.1, "mmol/L", `,"referenceRange":{"low":3.5,"high":5.3}`) +
		line("1000651000000109", "Serum potassium level", "2026-11-20T09:00:00Z", 6.1, "mmol/L", labRange) +
		line("1000661000000107", "Serum sodium level", "2026-11-20T09:00:00Z", 128, "mmol/L", "")
	if _, err := admin.ImportEntries(ctx, "observation", strings.NewReader(nd), clinical.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.m.stack = append(d.m.stack, newRecordPage(d.m.c, pid))
	d.init()
	d.keys("r")
	rows := map[string]string{}
	for _, l := range strings.Split(d.screen(), "\n") {
		for _, name := range []string{"Serum potassium", "Serum sodium", "HbA1c"} {
			if strings.HasPrefix(l, "20-Nov-2026") && strings.Contains(l, name) || name == "HbA1c" && strings.Contains(l, " HbA1c ") {
				rows[name] = strings.Join(strings.Fields(l), " ")
			}
		}
	}
	for name, want := range map[string]string{
		"Serum potassium": "6.1 mmol/L H 3.5-5.3",             // the lab's, as sent
		"Serum sodium":    "128 mmol/L L 133-146 (ref table)", // the table's, marked
		"HbA1c":           "63 mmol/mol",                      // no range anywhere: none shown
	} {
		if !strings.HasSuffix(rows[name], want) {
			t.Errorf("%s row %q, want it to end %q", name, rows[name], want)
		}
	}
	for range 8 {
		if strings.Contains(d.screen(), "Trend: Serum potassium") {
			break
		}
		d.keys("tab")
	}
	d.contains("Trend: Serum potassium level (mmol/L)  range 3.5-5.3  ▲ high ▼ low ◆ abnormal")
	d.contains("▲")
}
