package clinical_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
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
			sum, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(tc.in), clinical.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rejected != 1 || sum.Written != tc.written || sum.Rejections[0].Line != tc.line || sum.Rejections[0].Field != "csv" {
				t.Fatalf("summary %+v", sum)
			}
		})
	}
}

// The text checks hold on every door: a service call (CLI, API, TUI), the
// practice's own name and a user's registration number.
func TestTextSafetyOnEveryPath(t *testing.T) {
	p, s := setup(t)
	pt := john()
	pt.Family = "Smith\x1b[2J"
	_, err := s["recep"].AddPatient(ctx, pt)
	var ve *record.ValidationError
	if !errors.As(err, &ve) || ve.Field != "family" {
		t.Fatalf("escape in family: err = %v", err)
	}
	if ps, _ := s["admin"].Patients(ctx, clinical.PatientFilter{}); len(ps) != 0 {
		t.Fatalf("%d patients written", len(ps))
	}
	if _, err := s["admin"].SetPractice(ctx, clinical.SettingName, "Surgery\nTwo"); !errors.As(err, &ve) {
		t.Fatalf("newline in the practice name: err = %v", err)
	}
	if _, err := s["admin"].AddUser(ctx, record.User{Name: "dr.two", Role: record.RoleGP, RegNumber: "70\x1b[0m12345"}); !errors.As(err, &ve) || ve.Field != "reg-number" {
		t.Fatalf("escape in a registration number: err = %v", err)
	}
	_ = p
}

// A CSV row longer than the line limit (a file without newlines, or not CSV
// at all) stops the run with an error naming the line, not memory exhaustion.
func TestImportCSVOversizedRow(t *testing.T) {
	_, s := setup(t)
	in := "family,given,birthDate,sex,noNhsReason\n" +
		"Smith,John,1961-03-12,male,temporary-resident\n" +
		strings.Repeat("x", 17<<20) + "\n"
	sum, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(in), clinical.ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("err = %v, summary %+v", err, sum)
	}
}
