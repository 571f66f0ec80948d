package interop_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/interop"
	"github.com/opengpsoc/gpsoc/record"
)

// Fuzz targets for the bulk imports' readers (CSV and NDJSON), through the
// import services as a run would take them (dry: nothing is written): no
// input may stop the process, every rejected line names its line, and the
// reader reaches the end. `make fuzz` runs each for a while; plain `go
// test` runs the seeds and the failing inputs kept under testdata/fuzz.

func checkSummary(t *testing.T, sum *clinical.ImportSummary, err error) {
	t.Helper()
	if err != nil {
		return // the whole input refused (a bad header, a read error): an error, not a crash
	}
	if sum.Rejected != len(sum.Rejections) || sum.Written+sum.Unchanged+sum.Rejected > sum.Read {
		t.Fatalf("summary does not add up: %+v", sum)
	}
	for _, rj := range sum.Rejections {
		if rj.Line <= 0 {
			t.Fatalf("a rejected line without its line number: %+v", rj)
		}
		if strings.ContainsAny(rj.Field+rj.Reason, "\x1b") {
			t.Fatalf("a rejection carries a terminal escape: %+v", rj)
		}
	}
}

func FuzzImportPatientsCSV(f *testing.F) {
	f.Add([]byte("nhsNumber,family,given,birthDate,sex,postcode,registration.type,flags,sensitive\n" +
		"943 476 5919,Smith,John;Paul,1961-03-12,male,ls6 2qt,temporary,carer;interpreter-needed,true\n"))
	f.Add([]byte("family,given,birthDate,sex,noNhsReason\nJo\"nes,Mary,1950-12-01,female,temporary-resident\n"))
	f.Add([]byte("family,given,birthDate,sex,noNhsReason\n\"Jones,Mary,1950-12-01,female,temporary-resident\n"))
	f.Add([]byte("family,given,birthDate,sex,noNhsReason\n\"Smith\x1b[2J\",\"Jo\nhn\",1961-03-12,male,temporary-resident\n"))
	_, admin, _ := fhirPractice(f, "Fuzz Surgery", "B86001", false)
	f.Fuzz(func(t *testing.T, b []byte) {
		sum, err := interop.ImportPatients(context.Background(), admin, bytes.NewReader(b), clinical.ImportOptions{Format: "csv", DryRun: true})
		checkSummary(t, sum, err)
	})
}

func FuzzImportNDJSON(f *testing.F) {
	f.Add(uint8(0), []byte(`{"nhsNumber":"9434765919","family":"Smith","given":["John"],"birthDate":"1961-03-12","sex":"male","postcode":"LS6 2QT"}`+"\n"+`not json`))
	f.Add(uint8(0), []byte(`{"noNhsReason":"temporary-resident","family":"Smith\u001b[2J","given":["Jo\nhn"],"birthDate":"1961-03-12","sex":"male"}`))
	f.Add(uint8(2), []byte(`{"patientId":"p1","type":"surgery","clinician":"dr.gp","start":"2026-01-01T09:00:00Z","history":"line 1\nline 2","entries":[{"code":{"system":"http://snomed.info/sct","code":"49727002","display":"Cough"}}]}`))
	f.Add(uint8(4), []byte(`{"patientId":"p1","code":{"system":"http://snomed.info/sct","code":"271649006"},"value":120,"unit":"mm[Hg]","effective":"2026-01-01T09:00:00Z"}`))
	f.Add(uint8(5), []byte(`{"patientId":"p1","code":{"system":"https://dmd.nhs.uk","code":"39732311000001104"},"dose":"1 tds","type":"acute","prescriber":"dr.gp"}`))
	_, admin, _ := fhirPractice(f, "Fuzz Surgery", "B86001", false)
	importable := map[record.Kind]bool{}
	for _, k := range clinical.ImportKinds {
		importable[k] = true
	}
	f.Fuzz(func(t *testing.T, k uint8, b []byte) {
		kind := record.Kinds[int(k)%len(record.Kinds)]
		o := clinical.ImportOptions{Format: "ndjson", DryRun: true}
		var sum *clinical.ImportSummary
		var err error
		switch {
		case kind == record.KindPatient:
			sum, err = interop.ImportPatients(context.Background(), admin, bytes.NewReader(b), o)
		case importable[kind]:
			sum, err = interop.ImportEntries(context.Background(), admin, kind, bytes.NewReader(b), o)
		default:
			return
		}
		checkSummary(t, sum, err)
	})
}
