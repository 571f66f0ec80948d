package pathology_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/interop/pathology"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// BenchmarkParseFHIR: one UK Core pathology message (3 results) parsed.
func BenchmarkParseFHIR(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "ue-abnormal.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pathology.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
}

// BenchmarkImportReports: `inbox import` of FHIR pathology messages into a
// practice of 2,000 patients: parsed, matched, values written, 1,000 a
// transaction, fsync included. Budget ≥ 5,000 reports/s.
func BenchmarkImportReports(b *testing.B) {
	tmpl, err := os.ReadFile(filepath.Join("testdata", "ue-abnormal.json"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(b.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return today.Add(9 * time.Hour) }})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Bench Surgery", "B86001", "admin", "", false); err != nil {
		b.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var msgs []string
	base := string(tmpl)
	for q := range fixtures.Patients(2000, 7, fixtures.Options{Today: today}) {
		_ = enc.Encode(q)
		if q.NHSNumber == "" || q.Registration.DeceasedOn != "" || q.BirthDate >= "2026-11-01" || len(q.Given) == 0 {
			continue
		}
		m := strings.NewReplacer(`"9434765919"`, `"`+q.NHSNumber+`"`, `"1961-03-12"`, `"`+q.BirthDate+`"`,
			`"SMITH"`, `"`+q.Family+`"`, `"John"`, `"`+q.Given[0]+`"`, `"gender": "male"`, `"gender": "`+q.Sex+`"`).Replace(base)
		msgs = append(msgs, m)
	}
	if _, err := admin.ImportPatients(ctx, &buf, clinical.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	lab, err := admin.AddUser(ctx, recordUser("lab"))
	if err != nil || lab == nil {
		b.Fatal(err)
	}
	feed, err := p.As(ctx, "lab")
	if err != nil {
		b.Fatal(err)
	}
	seq := 0
	var n int
	var spent time.Duration
	for b.Loop() {
		inputs := make([]pathology.Input, 1000)
		for i := range inputs {
			seq++
			m := strings.Replace(strings.Replace(msgs[seq%len(msgs)], "RR8-24-0001234", fmt.Sprintf("RR8-B-%07d", seq), 1),
				"b3c1e0a4-0001-4c1e-9a11-000000000001", fmt.Sprintf("b3c1e0a4-0001-4c1e-9a11-%012d", seq), 1)
			data := []byte(m)
			inputs[i] = pathology.Input{Name: fmt.Sprint(seq), Read: func() ([]byte, error) { return data, nil }}
		}
		t0 := time.Now()
		sum, err := pathology.Import(ctx, feed, inputs, pathology.ImportOptions{})
		spent += time.Since(t0)
		if err != nil || sum.Written != 1000 || sum.Matched != 1000 {
			b.Fatalf("%+v, %v", sum, err)
		}
		n += 1000
	}
	b.ReportMetric(float64(n)/spent.Seconds(), "reports/s")
}
