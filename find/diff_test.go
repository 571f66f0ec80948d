package find

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// queryFromPatient makes a query of a kind people type, from a real record so that it
// matches something, sometimes with a typo.
func queryFromPatient(r *rand.Rand, p Patient) string {
	fam := fold(p.Family)
	giv := fold(p.Given)
	cut := func(s string, n int) string {
		s = strings.ReplaceAll(s, " ", "")
		if n >= len(s) {
			return s
		}
		return s[:n]
	}
	typo := func(s string) string {
		if len(s) < 4 {
			return s
		}
		b := []byte(s)
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			return string(append(b[:i:i], b[i+1:]...))
		case 1:
			b[i] = byte('a' + r.IntN(26))
			return string(b)
		case 2:
			if i+1 < len(b) {
				b[i], b[i+1] = b[i+1], b[i]
			}
			return string(b)
		default:
			return string(b[:i]) + string(rune('a'+r.IntN(26))) + string(b[i:])
		}
	}
	y, m, d := 0, 0, 0
	fmt.Sscanf(p.BirthDate, "%d-%d-%d", &y, &m, &d)
	switch r.IntN(16) {
	case 0:
		return cut(fam, 1)
	case 1:
		return cut(fam, 2)
	case 2:
		return cut(giv, 2) + " " + cut(fam, 3)
	case 3:
		return typo(cut(fam, 4+r.IntN(5)))
	case 4:
		return fam + " " + cut(giv, 1+r.IntN(4))
	case 5:
		return p.NHS
	case 6:
		if len(p.NHS) == 10 {
			return p.NHS[:3] + " " + p.NHS[3:6]
		}
		return "94"
	case 7:
		return fmt.Sprintf("%d/%d/%02d", d, m, y%100)
	case 8:
		return fmt.Sprintf("%02d-%s-%d", d, monthNames[(m+11)%12][:3], y)
	case 9:
		return p.BirthDate
	case 10:
		return fmt.Sprintf("%02d%02d%02d", d, m, y%100)
	case 11:
		pc, out := normPostcode(p.Postcode)
		return pc[:out]
	case 12:
		return p.Postcode
	case 13:
		return cut(fam, 3) + " " + fmt.Sprintf("%d/%d/%d", d, m, y)
	case 14:
		pc, out := normPostcode(p.Postcode)
		return cut(giv, 2) + " " + cut(fam, 3) + " " + pc[:out]
	default:
		return typo(cut(giv, 5)) + " " + typo(fam)
	}
}

func hitsEqual(a, b []Hit) bool { return slices.Equal(a, b) }

// The reference normalises every record on every call; tests that ask it hundreds of
// queries over one corpus normalise once (same matcher, same records).
var (
	refMu       sync.Mutex
	refPatients = map[*Patient][]*refPatient{}
	refTerms    = map[*Term][]refTerm{}
)

func refPatientsOf(ps []Patient) []*refPatient {
	if len(ps) == 0 {
		return nil
	}
	refMu.Lock()
	defer refMu.Unlock()
	if rs, ok := refPatients[&ps[0]]; ok && len(rs) == len(ps) {
		return rs
	}
	rs := make([]*refPatient, len(ps))
	for i, p := range ps {
		rs[i] = newRefPatient(p)
	}
	refPatients[&ps[0]] = rs
	return rs
}

func refTermsOf(ts []Term) []refTerm {
	refMu.Lock()
	defer refMu.Unlock()
	if len(ts) == 0 {
		return nil
	}
	if rs, ok := refTerms[&ts[0]]; ok && len(rs) == len(ts) {
		return rs
	}
	rs := make([]refTerm, len(ts))
	for i, t := range ts {
		rs[i] = newRefTerm(t)
	}
	refTerms[&ts[0]] = rs
	return rs
}

func checkPatients(t *testing.T, ix *Patients, ps []Patient, q string, limit int) {
	t.Helper()
	got := ix.Search(context.Background(), q, limit)
	want := referencePatientsOn(refPatientsOf(ps), ix.RecentTimes(), q, limit, testNow)
	if !hitsEqual(got, want) {
		t.Fatalf("query %q limit %d:\n got  %v\n want %v", q, limit, got, want)
	}
}

func livePatients(ix *Patients) []Patient {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.livePatientsLocked()
}

// withFilterAlways runs f with the bitset filter used on every multi-token query.
func withFilterAlways(f func()) {
	old := filterMin
	filterMin = 0
	defer func() { filterMin = old }()
	f()
}

func TestPatientsMatchReferenceFiltered(t *testing.T) {
	withFilterAlways(func() { TestPatientsMatchReference(t); TestPatientsDeltaMatchReference(t) })
}

func TestTermsMatchReferenceFiltered(t *testing.T) {
	withFilterAlways(func() { TestTermsMatchReference(t) })
}

func TestPatientsMatchReference(t *testing.T) {
	ps := SyntheticPatients(3000, 7)
	ix := BuildPatients(ps)
	ix.SetClock(func() time.Time { return testNow })
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		ix.Opened(ps[r.IntN(len(ps))].ID, testNow.Add(-time.Duration(r.IntN(60*24))*time.Hour))
	}
	for i := 0; i < 600; i++ {
		q := queryFromPatient(r, ps[r.IntN(len(ps))])
		checkPatients(t, ix, ps, q, []int{1, 5, 10, 50}[r.IntN(4)])
	}
}

func TestPatientsDeltaMatchReference(t *testing.T) {
	ps := SyntheticPatients(2000, 8)
	ix := BuildPatients(ps[:1500])
	ix.SetClock(func() time.Time { return testNow })
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range ps[1500:] {
		ix.Put(p)
	}
	// replace some base patients, delete some
	for i := 0; i < 100; i++ {
		p := ps[r.IntN(1500)]
		p.Family = ps[r.IntN(2000)].Family
		ix.Put(p)
	}
	for i := 0; i < 50; i++ {
		ix.Delete(ps[r.IntN(2000)].ID)
	}
	for i := 0; i < 30; i++ {
		ix.Opened(ps[r.IntN(len(ps))].ID, testNow.Add(-time.Duration(r.IntN(60*24))*time.Hour))
	}
	live := livePatients(ix)
	if ix.Len() != len(live) {
		t.Fatalf("Len %d, live %d", ix.Len(), len(live))
	}
	for i := 0; i < 400; i++ {
		q := queryFromPatient(r, ps[r.IntN(len(ps))])
		checkPatients(t, ix, live, q, []int{1, 10, 50}[r.IntN(3)])
	}
	ix.Rebuild()
	for i := 0; i < 200; i++ {
		q := queryFromPatient(r, ps[r.IntN(len(ps))])
		checkPatients(t, ix, live, q, 10)
	}
}

func queryFromTerm(r *rand.Rand, t Term) string {
	var ws []string
	eachWord(fold(t.Term), func(w string, _, joined bool) {
		if !joined {
			ws = append(ws, w)
		}
	})
	if len(ws) == 0 {
		return "x"
	}
	w := ws[r.IntN(len(ws))]
	cut := func(s string, n int) string {
		if n >= len(s) {
			return s
		}
		return s[:n]
	}
	switch r.IntN(10) {
	case 0:
		return cut(w, 1)
	case 1:
		return cut(w, 2)
	case 2:
		if len(w) >= 5 {
			i := 1 + r.IntN(len(w)-2)
			return w[:i] + w[i+1:]
		}
		return w
	case 3:
		var ini []byte
		for _, x := range ws {
			ini = append(ini, x[0])
		}
		return cut(string(ini), 3+r.IntN(3))
	case 4:
		return t.Code
	case 5:
		return cut(t.Code, 4+r.IntN(4))
	case 6:
		w2 := ws[r.IntN(len(ws))]
		return cut(w2, 3) + " " + cut(w, 4)
	case 7:
		return strings.Join(ws, " ")
	case 8:
		return cut(w, 3) + " " + cut(ws[0], 2)
	default:
		return w
	}
}

func TestTermsMatchReference(t *testing.T) {
	ts := SyntheticTerms(6000, 3)
	ix := BuildTerms(ts)
	r := rand.New(rand.NewPCG(5, 6))
	keepActive := func(i int) bool { return ts[i].Active }
	for i := 0; i < 600; i++ {
		q := queryFromTerm(r, ts[r.IntN(len(ts))])
		limit := []int{1, 5, 10, 50}[r.IntN(4)]
		var keep func(int) bool
		if r.IntN(3) == 0 {
			keep = keepActive
		}
		got := ix.Search(context.Background(), q, limit, keep)
		want := referenceTermsOn(ts, refTermsOf(ts), q, limit, keep)
		if !slices.Equal(got, want) {
			t.Fatalf("query %q limit %d:\n got  %v\n want %v", q, limit, got, want)
		}
	}
}

// waitRebuilt waits for a background rebuild, if one is running.
func waitRebuilt(ix *Patients) {
	ix.mu.RLock()
	done, running := ix.rebuilt, ix.compacting
	ix.mu.RUnlock()
	if running {
		<-done
	}
}

func TestBackgroundRebuildMatchesReference(t *testing.T) {
	ps := SyntheticPatients(deltaMax+1500, 21)
	ix := NewPatients()
	ix.SetClock(func() time.Time { return testNow })
	r := rand.New(rand.NewPCG(8, 9))
	for i, p := range ps {
		ix.Put(p)
		if i%500 == 0 {
			ix.Opened(p.ID, testNow.Add(-time.Duration(i)*time.Minute))
			ix.Search(context.Background(), queryFromPatient(r, p), 10)
		}
	}
	waitRebuilt(ix)
	ix.mu.RLock()
	baseN := ix.base.n
	ix.mu.RUnlock()
	if baseN == 0 {
		t.Fatalf("no background rebuild after %d puts", len(ps))
	}
	if ix.Len() != len(ps) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(ps))
	}
	for i := 0; i < 300; i++ {
		checkPatients(t, ix, ps, queryFromPatient(r, ps[r.IntN(len(ps))]), 10)
	}
}

func TestEmptyIndex(t *testing.T) {
	ix := NewPatients()
	if h := ix.Search(context.Background(), "smith", 10); len(h) != 0 || ix.Len() != 0 {
		t.Fatalf("empty: %v", h)
	}
	ix.Put(Patient{ID: "x", Family: "Smith"})
	if h := ix.Search(context.Background(), "smith", 10); len(h) != 1 {
		t.Fatalf("after put: %v", h)
	}
	if h := BuildTerms(nil).Search(context.Background(), "a", 10, nil); len(h) != 0 {
		t.Fatalf("terms: %v", h)
	}
}

func TestTermCodeWithSeparatorsFiltered(t *testing.T) {
	ts := append(SyntheticTerms(500, 4), Term{Code: "XaX1.Y", Term: "Something else", Active: true}, Term{Code: "XaX1.Z", Term: "Xax1 y", Active: true})
	ix := BuildTerms(ts)
	withFilterAlways(func() {
		for _, q := range []string{"xax1.y", "XAX1.", "xax1 y", "xax1.z"} {
			got := ix.Search(context.Background(), q, 10, nil)
			want := ReferenceTerms(ts, q, 10, nil)
			if !slices.Equal(got, want) || len(got) == 0 {
				t.Errorf("%q: got %v, want %v", q, got, want)
			}
		}
	})
}
