package find

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

var fuzzCorpus = sync.OnceValues(func() ([]Patient, []Term) {
	ps := append(SyntheticPatients(600, 99), qualityPatients...)
	ps = append(ps, clustered(SyntheticPatients(300, 98), 3)...) // districts a third of them share
	ts := SyntheticTerms(1500, 99)
	return ps, ts
})

// fuzzPatients builds an index from the fuzz corpus, then (by ops) changes some patients
// through Put and Delete, so the delta path and tombstones are exercised, and opens some.
func fuzzPatients(ops uint16) (*Patients, []Patient) {
	ps, _ := fuzzCorpus()
	r := rand.New(rand.NewPCG(uint64(ops), 17))
	split := len(ps) - int(ops%64)
	ix := BuildPatients(ps[:split])
	ix.SetClock(func() time.Time { return testNow })
	for _, p := range ps[split:] {
		ix.Put(p)
	}
	for i := 0; i < int(ops>>6)%32; i++ {
		p := ps[r.IntN(len(ps))]
		switch r.IntN(3) {
		case 0:
			ix.Delete(p.ID)
		case 1:
			p.Family, p.Postcode = ps[r.IntN(len(ps))].Family, ps[r.IntN(len(ps))].Postcode
			ix.Put(p)
		default:
			ix.Opened(p.ID, testNow.Add(-time.Duration(r.IntN(24*60))*time.Hour))
		}
	}
	return ix, livePatients(ix)
}

func FuzzPatientsVsReference(f *testing.F) {
	for _, q := range []string{"s", "sm", "jo smi", "smith john", "brwn", "obrien", "943 476", "9434765919",
		"12/3/61", "12-Mar-1961", "1961-03-12", "120361", "ls6", "ls6 2qt", "smith 12/3/61", "jo smi ls6", "zoe", "4", "d02 x", "ls62", "ls6 2", "l6", "s ls6"} {
		f.Add(q, uint8(10), uint16(0))
		f.Add(q, uint8(3), uint16(1234))
	}
	f.Fuzz(func(t *testing.T, q string, limit uint8, ops uint16) {
		if ops%2 == 1 {
			old := filterMin
			filterMin = 0
			defer func() { filterMin = old }()
		}
		ix, live := fuzzPatients(ops)
		got := ix.Search(context.Background(), q, int(limit))
		want := ReferencePatients(live, ix.RecentTimes(), q, int(limit), testNow)
		if !slices.Equal(got, want) {
			t.Fatalf("query %q limit %d ops %d:\n got  %v\n want %v", q, limit, ops, got, want)
		}
	})
}

func FuzzTermsVsReference(f *testing.F) {
	for _, q := range []string{"d", "di", "diabtes", "t2dm", "copd", "type 2 diab", "crohn's", "x-ray", "44054006", "4405", "c10e.", "amox 500"} {
		f.Add(q, uint8(10), false)
		f.Add(q, uint8(2), true)
	}
	_, ts := fuzzCorpus()
	ix := BuildTerms(ts)
	active := func(i int) bool { return ts[i].Active }
	f.Fuzz(func(t *testing.T, q string, limit uint8, onlyActive bool) {
		if limit%2 == 1 {
			old := filterMin
			filterMin = 0
			defer func() { filterMin = old }()
		}
		var keep func(int) bool
		if onlyActive {
			keep = active
		}
		got := ix.Search(context.Background(), q, int(limit), keep)
		want := referenceTermsOn(ts, refTermsOf(ts), q, int(limit), keep)
		if !slices.Equal(got, want) {
			t.Fatalf("query %q limit %d:\n got  %v\n want %v", q, limit, got, want)
		}
	})
}

// randomQuery mixes the characters queries are made of, to reach the odd corners.
func randomQuery(r *rand.Rand) string {
	const alpha = "abcdehijlmnorstwy0123456789 /-.'"
	n := 1 + r.IntN(12)
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[r.IntN(len(alpha))]
	}
	return string(b)
}

func TestRandomQueriesMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 43))
	_, ts := fuzzCorpus()
	tix := BuildTerms(ts)
	for i := 0; i < 150; i++ {
		ix, live := fuzzPatients(uint16(r.Uint32()))
		for j := 0; j < 5; j++ {
			q := randomQuery(r)
			if got, want := ix.Search(context.Background(), q, 10), ReferencePatients(live, ix.RecentTimes(), q, 10, testNow); !slices.Equal(got, want) {
				t.Fatalf("patients %q:\n got  %v\n want %v", q, got, want)
			}
			if got, want := tix.Search(context.Background(), q, 10, nil), referenceTermsOn(ts, refTermsOf(ts), q, 10, nil); !slices.Equal(got, want) {
				t.Fatalf("terms %q:\n got  %v\n want %v", q, got, want)
			}
		}
	}
}
