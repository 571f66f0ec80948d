package clinical_test

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
)

// A broken CSV quote is a rejected line naming the line, not a panic (the
// reader's FieldPos was asked about a row it never read).
func TestImportCSVBrokenQuoteIsRejectedNotPanic(t *testing.T) {
	for name, tc := range map[string]struct {
		in      string
		line    int
		written int
	}{
		"bare quote in a field": {"family,given,birthDate,sex,noNhsReason\n" +
			"Smith,John,1961-03-12,male,temporary-resident\n" +
			"Jo\"nes,Mary,1950-12-01,female,temporary-resident\n" +
			"Brown,Ann,1970-01-01,female,temporary-resident\n", 3, 2},
		"quote never closed": {"family,given,birthDate,sex,noNhsReason\n" +
			"Smith,John,1961-03-12,male,temporary-resident\n" +
			"\"Jones,Mary,1950-12-01,female,temporary-resident\n" +
			"Brown,Ann,1970-01-01,female,temporary-resident\n", 3, 1},
	} {
		t.Run(name, func(t *testing.T) {
			_, s := setup(t)
			sum, err := s["admin"].ImportPatients(ctx, strings.NewReader(tc.in), clinical.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rejected != 1 || sum.Written != tc.written || sum.Rejections[0].Line != tc.line || sum.Rejections[0].Field != "csv" {
				t.Fatalf("summary %+v", sum)
			}
		})
	}
}
