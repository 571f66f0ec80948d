package clinical_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
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
	dry, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(in), clinical.ImportOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(in), clinical.ImportOptions{})
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
	again, _ := interop.ImportPatients(ctx, s["admin"], strings.NewReader(in), clinical.ImportOptions{})
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
	sum, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(csv), clinical.ImportOptions{})
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

// Lines that give ids: a re-run is unchanged, the same id with other details
// is refused naming the id, and the store is left as it was.
func TestImportWithIDs(t *testing.T) {
	_, s := setup(t)
	const id = "019a0000-0000-7000-8000-00000000000a"
	first := `{"id":"` + id + `","nhsNumber":"9434765919","family":"Smith","given":["John"],"birthDate":"1961-03-12","sex":"male"}` + "\n" +
		`{"id":"019a0000-0000-7000-8000-00000000000b","noNhsReason":"newborn","family":"Nowak","given":["Ola"],"birthDate":"2026-01-02","sex":"female","postcode":"LS6 2QT"}`
	sum, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(first), clinical.ImportOptions{})
	if err != nil || sum.Written != 2 {
		t.Fatalf("first import %+v, %v", sum, err)
	}
	p, err := s["admin"].Patient(ctx, id, clinical.ReadOptions{})
	if err != nil || p.Family != "Smith" || p.Version != 1 {
		t.Fatalf("imported patient %+v, %v", p, err)
	}
	again, _ := interop.ImportPatients(ctx, s["admin"], strings.NewReader(first), clinical.ImportOptions{})
	if again.Written != 0 || again.Unchanged != 2 {
		t.Fatalf("re-run %+v", again)
	}
	clash := `{"id":"` + id + `","nhsNumber":"4010232137","family":"Jones","given":["Mary"],"birthDate":"1950-12-01","sex":"female"}`
	bad, _ := interop.ImportPatients(ctx, s["admin"], strings.NewReader(clash), clinical.ImportOptions{})
	if bad.Written != 0 || bad.Rejected != 1 || bad.Rejections[0].Field != "id" || bad.Rejections[0].Value != id {
		t.Fatalf("id clash %+v", bad)
	}
	// The newborn again under another id: same name, birth date and postcode
	// without an NHS number is the same patient.
	twin := `{"id":"019a0000-0000-7000-8000-00000000000c","noNhsReason":"newborn","family":"Nowak","given":["Ola"],"birthDate":"2026-01-02","sex":"female","postcode":"LS6 2QT"}`
	tw, _ := interop.ImportPatients(ctx, s["admin"], strings.NewReader(twin), clinical.ImportOptions{})
	if tw.Written != 0 || tw.Unchanged != 1 {
		t.Fatalf("natural-key match %+v", tw)
	}
	if p, _ := s["admin"].Patient(ctx, id, clinical.ReadOptions{}); p.Family != "Smith" || p.Version != 1 {
		t.Errorf("a refused line changed the patient: %+v", p)
	}
}

// A CSV whose header names a column that is no field is refused before any
// line, naming every such column and the names to use.
func TestImportCSVUnknownHeaderNamed(t *testing.T) {
	_, s := setup(t)
	csv := "nhs,family,given,dob,sex\n9434765919,Smith,John,1961-03-12,male\n"
	_, err := interop.ImportPatients(ctx, s["admin"], strings.NewReader(csv), clinical.ImportOptions{})
	var ve *record.ValidationError
	if !errors.As(err, &ve) || ve.Value != "nhs, dob" || !strings.Contains(ve.Reason, "birthDate") || !strings.Contains(ve.Reason, "nhsNumber") {
		t.Fatalf("err %v; want the unknown columns nhs and dob named, with the field names to use", err)
	}
	if ps, _ := s["dr.gp"].FindPatients(ctx, "smith", 5); len(ps) != 0 {
		t.Error("a line was written under a bad header")
	}
}
