package clinical_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// inboxBench is a practice of 2,000 patients (fsync on, as in use), a lab
// feed and a GP, and the patients' identification for reports.
type inboxBench struct {
	p      *clinical.Practice
	lab    *clinical.Service
	gp     *clinical.Service
	people []record.SentPatient
	seq    int
}

func newInboxBench(b *testing.B) *inboxBench {
	b.Helper()
	st, err := bolt.Open(filepath.Join(b.TempDir(), bolt.FileName), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	p := clinical.New(clinical.Options{Store: st, Now: func() time.Time { return today.Add(9 * time.Hour) }})
	ctx := context.Background()
	if _, err := p.Init(ctx, "Bench Surgery", "B86001", "admin", "", false); err != nil {
		b.Fatal(err)
	}
	admin, err := p.As(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range []record.User{{Name: "lab", Role: record.RoleInterface}, {Name: "dr.bench", Role: record.RoleGP}} {
		if _, err := admin.AddUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	ib := &inboxBench{p: p}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for q := range fixtures.Patients(2000, 7, fixtures.Options{Today: today}) {
		_ = enc.Encode(q)
		if q.NHSNumber != "" && q.Registration.DeceasedOn == "" && q.BirthDate < "2026-11-01" {
			ib.people = append(ib.people, record.SentPatient{NHSNumber: q.NHSNumber, Family: q.Family, Given: q.Given, BirthDate: q.BirthDate, Sex: q.Sex})
		}
	}
	if _, err := admin.ImportPatients(ctx, &buf, clinical.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	if ib.lab, err = p.As(ctx, "lab"); err != nil {
		b.Fatal(err)
	}
	if ib.gp, err = p.As(ctx, "dr.bench"); err != nil {
		b.Fatal(err)
	}
	return ib
}

// reports makes n new reports (a tenth abnormal), each for one of the patients.
func (ib *inboxBench) reports(n int) []*record.Report {
	out := make([]*record.Report, n)
	for i := range out {
		ib.seq++
		k, flag := 4.2, ""
		if ib.seq%10 == 0 {
			k, flag = 6.1, "H"
		}
		r := ureport(fmt.Sprintf("B%07d", ib.seq), k, flag)
		r.SentPatient = ib.people[ib.seq%len(ib.people)]
		out[i] = r
	}
	return out
}

func (ib *inboxBench) deliver(b *testing.B, rs []*record.Report) {
	b.Helper()
	for i := 0; i < len(rs); i += 1000 {
		ds, errs, err := ib.lab.DeliverReports(context.Background(), rs[i:min(i+1000, len(rs))])
		if err != nil {
			b.Fatal(err)
		}
		for j, e := range errs {
			if e != nil || ds[j].Outcome != clinical.DeliveredMatched {
				b.Fatalf("report %d: %v %+v", i+j, e, ds[j])
			}
		}
	}
}

func median(ds []time.Duration) float64 {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return float64(ds[len(ds)/2]) / float64(time.Millisecond)
}

// BenchmarkInboxImport: reports delivered in bulk (1,000 a transaction,
// matched, their values written, fsync included). Budget ≥ 5,000 reports/s.
func BenchmarkInboxImport(b *testing.B) {
	ib := newInboxBench(b)
	var n int
	var spent time.Duration
	for b.Loop() {
		rs := ib.reports(1000)
		t0 := time.Now()
		ib.deliver(b, rs)
		spent += time.Since(t0)
		n += len(rs)
	}
	b.ReportMetric(float64(n)/spent.Seconds(), "reports/s")
}

// BenchmarkInboxList10k: the inbox list with 10,000 unfiled reports,
// abnormal first then oldest, audited (fsync included). Budget ≤ 10 ms.
func BenchmarkInboxList10k(b *testing.B) {
	ib := newInboxBench(b)
	ib.deliver(b, ib.reports(10000))
	ctx := context.Background()
	if items, err := ib.gp.Inbox(ctx, clinical.InboxFilter{}); err != nil || len(items) != 10000 {
		b.Fatalf("%d items, %v", len(items), err)
	}
	var ds []time.Duration
	for b.Loop() {
		t0 := time.Now()
		items, err := ib.gp.Inbox(ctx, clinical.InboxFilter{})
		ds = append(ds, time.Since(t0))
		if err != nil || len(items) != 10000 {
			b.Fatalf("%d items, %v", len(items), err)
		}
	}
	b.ReportMetric(median(ds), "median-ms")
}

// BenchmarkInboxFile: one filing ("normal": the report and its values
// marked reviewed, audit events, fsync included). Budget ≤ 5 ms median.
func BenchmarkInboxFile(b *testing.B) {
	ib := newInboxBench(b)
	rs := ib.reports(2000)
	ib.deliver(b, rs)
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = clinical.ReportRecordID(r.Sender, r.LabReportID, 1)
	}
	ctx := context.Background()
	var ds []time.Duration
	i := 0
	for b.Loop() {
		if i == len(ids) {
			b.StopTimer()
			rs = ib.reports(2000)
			ib.deliver(b, rs)
			for j, r := range rs {
				ids[j] = clinical.ReportRecordID(r.Sender, r.LabReportID, 1)
			}
			i = 0
			b.StartTimer()
		}
		t0 := time.Now()
		if _, err := ib.gp.FileReport(ctx, clinical.FilingInput{ReportID: ids[i], Action: record.FileNormal}); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
		i++
	}
	b.ReportMetric(median(ds), "median-ms")
}
