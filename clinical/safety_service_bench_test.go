package clinical_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// bench15 are 15 current repeats of real dm+d products (embedded terminology).
var bench15 = []string{
	"318902004", "319283006", "320030001", "325278007", "319775004", "407847009", "321959007",
	"703908001", "42216511000001100", "42099411000001101", "317919004", "42294811000001108",
	"325242002", "320139002", "42087311000001104",
}

// BenchmarkSafetyChecksService is Prescribe --check end to end: BenchmarkSafetyChecks (the checks)
// plus the store reads around them (each store View opens the practice file). The checks:
// duplicates, interactions against 15 current medications, practice rules over
// problems and results) for one patient: the facts read from the store, the
// products from the terminology. Budget (design.md §7, issue 7): ≤ 1 ms.
func BenchmarkSafetyChecksService(b *testing.B) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(b.TempDir(), bolt.FileName), bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }})
	p.SetDrugs(rxTerminology(b))
	if _, err := p.Init(ctx, "Bench Surgery", "B86001", "admin", "", false); err != nil {
		b.Fatal(err)
	}
	admin, _ := p.As(ctx, "admin")
	if _, err := admin.AddUser(ctx, record.User{Name: "dr.patel", Role: record.RoleGP, Prescriber: true}); err != nil {
		b.Fatal(err)
	}
	pt := &record.Patient{NHSNumber: "9434765919", Family: "Smith", Given: []string{"John"}, BirthDate: "1961-03-12", Sex: "male"}
	if _, err := admin.AddPatient(ctx, pt); err != nil {
		b.Fatal(err)
	}
	rp := struct{ pid string }{pt.ID}
	gp, err := p.As(ctx, "dr.patel")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gp.AddAllergy(ctx, clinical.AllergyInput{PatientRef: rp.pid, Code: "91936005"}); err != nil {
		b.Fatal(err)
	}
	v := 42.0
	if _, err := gp.AddObservation(ctx, clinical.ObservationInput{PatientRef: rp.pid, Code: "1011481000000105", Value: &v}); err != nil {
		b.Fatal(err)
	}
	if _, err := gp.AddProblem(ctx, clinical.ProblemInput{PatientRef: rp.pid, Code: "709044004"}); err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, code := range bench15 {
		res, err := gp.Prescribe(ctx, clinical.PrescribeInput{PatientRef: rp.pid, Code: code, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 6, Check: true})
		if err != nil {
			continue // not a product in this dictionary
		}
		ans := clinical.Answers{Override: map[string]string{}}
		for _, a := range res.Alerts {
			ans.Override[a.ID] = "benchmark"
		}
		if _, err := gp.Prescribe(ctx, clinical.PrescribeInput{PatientRef: rp.pid, Code: code, Dose: "1 od", Quantity: 28, Repeat: true, Issues: 6, Answers: ans}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != 15 {
		b.Fatalf("only %d of 15 medications prescribed", n)
	}
	in := clinical.PrescribeInput{PatientRef: rp.pid, Code: "39732211000001107", Check: true} // co-amoxiclav
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := gp.Prescribe(ctx, in)
		if err != nil || len(res.Alerts) == 0 {
			b.Fatal(err, res)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/1e3/float64(b.N), "µs/op")
}
