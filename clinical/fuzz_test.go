package clinical

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Fuzz targets for the bulk imports' parsers (CSV and NDJSON lines through
// strict decoding and validation), dose and blood-pressure parsing, and
// rules YAML. `make fuzz` runs each for a while; plain `go test` runs the
// seeds (and the failing inputs kept under testdata/fuzz) as regression tests.

// importLines reads every line an import would, decoding and validating
// each as the import does, with a cap on iterations so a reader that stops
// advancing is found as a failure rather than a hang.
func importLines(t *testing.T, next lineReader, kind record.Kind) {
	for n := 0; ; n++ {
		if n > 1<<16 {
			t.Fatal("the line reader does not reach the end")
		}
		line, obj, err := next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var ve *record.ValidationError
			if obj != nil || !errors.As(err, &ve) {
				return // a read error stops the run, as bulk does
			}
			if line <= 0 {
				t.Fatalf("a rejected row without its line number: %v", err)
			}
			continue
		}
		e, _ := record.New(kind)
		if decodeStrict(obj, e) != nil {
			continue
		}
		e.Head().RecordedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if e.Validate() != nil {
			continue
		}
		if err := record.CheckStrings(e); err != nil {
			t.Fatalf("a validated %s fails the text checks: %v", kind, err)
		}
		if p, ok := e.(*record.Patient); ok {
			if _, err := preparePatient(p); err != nil {
				t.Fatalf("prepare: %v", err)
			}
		}
	}
}

func FuzzImportPatientsCSV(f *testing.F) {
	f.Add([]byte("nhsNumber,family,given,birthDate,sex,postcode,registration.type,flags,sensitive\n" +
		"943 476 5919,Smith,John;Paul,1961-03-12,male,ls6 2qt,temporary,carer;interpreter-needed,true\n"))
	f.Add([]byte("family,given,birthDate,sex,noNhsReason\nJo\"nes,Mary,1950-12-01,female,temporary-resident\n"))
	f.Add([]byte("family,given,birthDate,sex,noNhsReason\n\"Jones,Mary,1950-12-01,female,temporary-resident\n"))
	f.Add([]byte("family,given,birthDate,sex,noNhsReason\n\"Smith\x1b[2J\",\"Jo\nhn\",1961-03-12,male,temporary-resident\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		next, err := csvLines(bytes.NewReader(b), record.KindPatient)
		if err != nil {
			return
		}
		importLines(t, next, record.KindPatient)
	})
}

func FuzzImportNDJSON(f *testing.F) {
	f.Add(uint8(0), []byte(`{"nhsNumber":"9434765919","family":"Smith","given":["John"],"birthDate":"1961-03-12","sex":"male","postcode":"LS6 2QT"}`+"\n"+`not json`))
	f.Add(uint8(0), []byte(`{"noNhsReason":"temporary-resident","family":"Smith\u001b[2J","given":["Jo\nhn"],"birthDate":"1961-03-12","sex":"male"}`))
	f.Add(uint8(2), []byte(`{"patientId":"p1","type":"surgery","clinician":"dr.gp","start":"2026-01-01T09:00:00Z","history":"line 1\nline 2","entries":[{"code":{"system":"http://snomed.info/sct","code":"49727002","display":"Cough"}}]}`))
	f.Add(uint8(4), []byte(`{"patientId":"p1","code":{"system":"http://snomed.info/sct","code":"271649006"},"value":120,"unit":"mm[Hg]","effective":"2026-01-01T09:00:00Z"}`))
	f.Add(uint8(5), []byte(`{"patientId":"p1","code":{"system":"https://dmd.nhs.uk","code":"39732311000001104"},"dose":"1 tds","type":"acute","prescriber":"dr.gp"}`))
	f.Fuzz(func(t *testing.T, k uint8, b []byte) {
		kind := record.Kinds[int(k)%len(record.Kinds)]
		importLines(t, ndjsonLines(bytes.NewReader(b)), kind)
	})
}

func FuzzDoseInWords(f *testing.F) {
	for _, d := range []string{"1 od", "2 tds prn", "5ml bd", "1-2 qds max 8 in 24 hours", "apply bd", "2 puffs prn", "½ nocte", ""} {
		f.Add(d, "tablet")
	}
	f.Fuzz(func(t *testing.T, dose, unit string) {
		_ = DoseInWords(dose, unit)
	})
}

func FuzzParseBP(f *testing.F) {
	for _, s := range []string{"140/90", "120 / 80", "90/140", "1e308/1e308", "NaN/NaN", "-1/-1", "140/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sys, dia, err := ParseBP(s)
		if err == nil && (sys != sys || dia != dia || sys <= 0 || dia <= 0) {
			t.Fatalf("ParseBP(%q) = %v/%v accepted", s, sys, dia)
		}
	})
}

func FuzzParseRuleFile(f *testing.F) {
	f.Add(DefaultRuleText("interactions"))
	f.Add(DefaultRuleText("contraindications"))
	f.Add([]byte("version: 1\nrules: &a [*a]\n"))
	f.Add([]byte("a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseRuleFile(b)
	})
}
