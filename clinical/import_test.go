package clinical_test

import (
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
)

func TestImportRules(t *testing.T) {
	_, s := setup(t)
	in := strings.Join([]string{
		`{"nhsNumber":"9434765919","family":"Smith","given":["John"],"birthDate":"1961-03-12","sex":"male","postcode":"LS6 2QT"}`,
		`{"nhsNumber":"9434765918","family":"Bad","given":["Check"],"birthDate":"1961-03-12","sex":"male"}`,
		``,
		`{"nhsNumber":"4010232137","family":"Jones","given":["Mary"],"birthDate":"1950-13-01","sex":"female"}`,
		`{"nhsNumber":"4010232137","family":"Jones","given":["Mary"],"birthDate":"1950-12-01","sex":"female","shoeSize":9}`,
		`{"noNhsReason":"temporary-resident","family":"Nowak","given":["Anna"],"birthDate":"1990-01-02","sex":"female","postcode":"LS16 5AB"}`,
		`{"nhsNumber":"9434765919","family":"Smith","given":["Jon"],"birthDate":"1961-03-12","sex":"male"}`,
		`not json`,
	}, "\n")
	// Dry run writes nothing but counts the same.
	dry, err := s["admin"].ImportPatients(ctx, strings.NewReader(in), clinical.ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s["admin"].ImportPatients(ctx, strings.NewReader(in), clinical.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 7 || sum.Written != 2 || sum.Rejected != 5 || sum.Unchanged != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if dry.Written != sum.Written || dry.Rejected != sum.Rejected {
		t.Errorf("dry run %+v differs from the real run %+v", dry, sum)
	}
	want := []struct {
		line  int
		field string
	}{{2, "nhsNumber"}, {4, "birthDate"}, {5, "shoeSize"}, {7, "nhsNumber"}, {8, "line"}}
	for i, w := range want {
		r := sum.Rejections[i]
		if r.Line != w.line || r.Field != w.field {
			t.Errorf("rejection %d = %s, want line %d field %s", i, r, w.line, w.field)
		}
	}
	// The same import again changes nothing.
	again, _ := s["admin"].ImportPatients(ctx, strings.NewReader(in), clinical.ImportOptions{})
	if again.Written != 0 || again.Unchanged != 2 || again.Rejected != 5 {
		t.Fatalf("re-run %+v", again)
	}
	ps, _ := s["admin"].Patients(ctx, clinical.PatientFilter{})
	if len(ps) != 2 {
		t.Fatalf("patients = %d, want 2", len(ps))
	}
}

func TestImportCSV(t *testing.T) {
	_, s := setup(t)
	csv := "nhsNumber,family,given,birthDate,sex,postcode,registration.type,flags,sensitive\n" +
		"943 476 5919,Smith,John;Paul,1961-03-12,male,ls6 2qt,temporary,carer;interpreter-needed,true\n" +
		"4010232137,Jones,Mary,1950-12-01,female,NOT A POSTCODE,,,\n"
	sum, err := s["admin"].ImportPatients(ctx, strings.NewReader(csv), clinical.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Written != 1 || sum.Rejected != 1 || sum.Rejections[0].Field != "postcode" || sum.Rejections[0].Line != 3 {
		t.Fatalf("summary %+v", sum)
	}
	p, err := s["dr.gp"].Patient(ctx, "9434765919", clinical.ReadOptions{Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Given) != 2 || p.Registration.Type != "temporary" || !p.HasFlag("carer") || !p.Sensitive || p.Postcode != "LS6 2QT" {
		t.Fatalf("imported %+v", p)
	}
}
