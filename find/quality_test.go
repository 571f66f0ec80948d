package find

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Quality: what a clinician types finds what they mean. Each case names the query and the
// record that must come first (or be found), over a corpus with near misses.

var qualityPatients = []Patient{
	{ID: "p-smith-john", Family: "SMITH", Given: "John", BirthDate: "1961-03-12", NHS: "9434765919", Postcode: "LS6 2QT"},
	{ID: "p-smith-joan", Family: "Smith", Given: "Joan Mary", BirthDate: "1970-01-01", NHS: "4010232137", Postcode: "LS16 5AB"},
	{ID: "p-smithers-john", Family: "Smithers", Given: "John", BirthDate: "1980-05-05", NHS: "4857773456", Postcode: "LS1 6AB"},
	{ID: "p-johns-smith", Family: "Johns", Given: "Smith", BirthDate: "1990-02-02", Postcode: "M1 1AE"},
	{ID: "p-brown", Family: "Brown", Given: "Alice", BirthDate: "1955-07-21", NHS: "9876543210", Postcode: "B1 1AA"},
	{ID: "p-browning", Family: "Browning", Given: "Robert", BirthDate: "1956-08-22", Postcode: "B2 2BB"},
	{ID: "p-braun", Family: "Braun", Given: "Karl", BirthDate: "1957-09-23"},
	{ID: "p-obrien", Family: "O'BRIEN", Given: "Siobhan", BirthDate: "1961-03-12", NHS: "1203196100", Postcode: "LS6 3AB"},
	{ID: "p-smith-jones", Family: "Smith-Jones", Given: "Anne", BirthDate: "1945-12-31", Postcode: "LS6 2QU"},
	{ID: "p-jones", Family: "Jones", Given: "Gareth", BirthDate: "1926-12-12", Postcode: "CF10 1AA"},
	{ID: "p-jones-2026", Family: "Jones", Given: "Baby", BirthDate: "2026-03-12", Postcode: "CF10 1AB"},
	{ID: "p-muller", Family: "Müller", Given: "Zoë", BirthDate: "1988-04-04", Postcode: "D02 X285"},
	{ID: "p-943", Family: "Patel", Given: "Priya", BirthDate: "2001-01-01", NHS: "9434700000", Postcode: "LE1 1AA"},
}

func qualityIndex(t *testing.T) *Patients {
	t.Helper()
	ix := BuildPatients(qualityPatients)
	ix.SetClock(func() time.Time { return testNow })
	return ix
}

func ids(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func TestPatientQuality(t *testing.T) {
	ix := qualityIndex(t)
	cases := []struct {
		q     string
		first string   // must come first ("" = no hit at all)
		also  []string // must be found too
		not   []string // must not be found
	}{
		{q: "jo smi", first: "*", also: []string{"p-smith-john", "p-smith-joan", "p-smithers-john", "p-johns-smith"}},
		{q: "smith john", first: "p-smith-john", also: []string{"p-smithers-john", "p-johns-smith"}},
		{q: "john smith", first: "p-smith-john"},
		{q: "SMITH, John", first: "p-smith-john"},
		{q: "smith", first: "p-smith-joan", also: []string{"p-smith-john", "p-smithers-john", "p-smith-jones"}}, // exact surname before prefix; Joan before John
		{q: "brwn", first: "p-brown", not: []string{"p-smith-john"}},
		{q: "brown", first: "p-brown", also: []string{"p-browning"}},
		{q: "obrien", first: "p-obrien"},
		{q: "o'brien", first: "p-obrien"},
		{q: "O BRIEN", first: "p-obrien"}, // "o" a prefix, "brien" one letter short of "obrien"
		{q: "smithjones", first: "p-smith-jones"},
		{q: "smith-jones", first: "p-smith-jones"},
		{q: "jones anne", first: "p-smith-jones"},
		{q: "muller", first: "p-muller"},
		{q: "zoe", first: "p-muller"},
		{q: "9434765919", first: "p-smith-john", not: []string{"p-943"}},
		{q: "943 476 5919", first: "p-smith-john"},
		{q: "943 476", first: "p-smith-john", not: []string{"p-943"}},
		{q: "943", first: "p-943", also: []string{"p-smith-john"}}, // partial NHS: ties by surname
		{q: "12/3/61", first: "p-obrien", also: []string{"p-smith-john"}, not: []string{"p-jones-2026"}},
		{q: "12-Mar-1961", first: "p-obrien", also: []string{"p-smith-john"}},
		{q: "12 march 1961", first: "p-obrien", also: []string{"p-smith-john"}},
		{q: "1961-03-12", first: "p-obrien", also: []string{"p-smith-john"}},
		{q: "120361", first: "p-obrien", also: []string{"p-smith-john"}},
		{q: "12031961", first: "p-obrien", also: []string{"p-smith-john"}}, // DOB first, then NHS prefix 12031961..
		{q: "12/3/26", first: "p-jones-2026"},                              // 2026-03-12 is in the past today
		{q: "12/12/26", first: "p-jones", not: []string{"p-jones-2026"}},   // 2026-12-12 is not: 1926
		{q: "ls6", first: "p-obrien", also: []string{"p-smith-john", "p-smith-jones"}, not: []string{"p-smith-joan", "p-smithers-john"}},
		{q: "ls6 2qt", first: "p-smith-john", not: []string{"p-smith-jones", "p-obrien"}},
		{q: "LS62QT", first: "p-smith-john", not: []string{"p-smith-jones"}},
		{q: "ls6 2", first: "p-smith-john", also: []string{"p-smith-jones"}, not: []string{"p-obrien"}},
		{q: "d02", first: "p-muller"},
		{q: "smith 12/3/61", first: "p-smith-john", not: []string{"p-obrien", "p-smith-joan"}},
		{q: "jo smi ls6", first: "p-smith-john", not: []string{"p-smith-joan", "p-smithers-john"}},
		{q: "smith 1/1/99", first: ""},
		{q: "31/2/61", first: ""},
		{q: "s", first: "p-smith-joan"},
	}
	for _, c := range cases {
		got := ix.Search(context.Background(), c.q, 50)
		gi := ids(got)
		if c.first == "" {
			if c.also == nil && len(got) != 0 {
				t.Errorf("%q: want nothing, got %v", c.q, gi)
			}
			continue
		}
		if len(got) == 0 || (c.first != "*" && got[0].ID != c.first) {
			t.Errorf("%q: want %s first, got %v", c.q, c.first, got)
		}
		for _, id := range c.also {
			if !slices.Contains(gi, id) {
				t.Errorf("%q: want %s found, got %v", c.q, id, gi)
			}
		}
		for _, id := range c.not {
			if slices.Contains(gi, id) {
				t.Errorf("%q: %s must not be found, got %v", c.q, id, gi)
			}
		}
		// and the reference agrees
		if want := ReferencePatients(qualityPatients, nil, c.q, 50, testNow); !slices.Equal(got, want) {
			t.Errorf("%q: index %v, reference %v", c.q, got, want)
		}
	}
}

func TestPatientRankingOrder(t *testing.T) {
	ix := qualityIndex(t)
	// exact NHS, then exact DOB, then partial NHS
	got := ids(ix.Search(context.Background(), "12031961", 10))
	if !slices.Equal(got[:2], []string{"p-obrien", "p-smith-john"}) {
		t.Errorf("12031961: DOB matches first, by surname: got %v", got)
	}
	// exact surname, then prefix, then typo
	got = ids(ix.Search(context.Background(), "brown", 10))
	if !slices.Equal(got, []string{"p-brown", "p-browning"}) {
		t.Errorf("brown: got %v", got)
	}
	got = ids(ix.Search(context.Background(), "brow", 10))
	if !slices.Equal(got, []string{"p-brown", "p-browning"}) {
		t.Errorf("brow: got %v", got)
	}
	got = ids(ix.Search(context.Background(), "brwn", 10))
	if !slices.Equal(got, []string{"p-brown", "p-browning"}) { // a typo in the whole word first
		t.Errorf("brwn: got %v", got)
	}
	got = ids(ix.Search(context.Background(), "brawn", 10))
	if !slices.Equal(got, []string{"p-braun", "p-brown", "p-browning"}) { // one substitution from each (Browning by its prefix)
		t.Errorf("brawn: got %v", got)
	}
}

func TestRecentlyOpenedLifted(t *testing.T) {
	ix := qualityIndex(t)
	before := ids(ix.Search(context.Background(), "smith", 10))
	if before[0] != "p-smith-joan" {
		t.Fatalf("smith: %v", before)
	}
	ix.Opened("p-smith-john", testNow.Add(-time.Hour))
	after := ix.Search(context.Background(), "smith", 10)
	if after[0].ID != "p-smith-john" || after[0].Score != ScorePrimaryExact+RecentLift {
		t.Errorf("smith after opening John: %v", after)
	}
	// lifted, but not above a better match class
	ix.Opened("p-smithers-john", testNow.Add(-time.Minute))
	got := ids(ix.Search(context.Background(), "smith", 10))
	if got[0] != "p-smith-john" || got[1] != "p-smith-joan" {
		t.Errorf("a recently opened prefix match must not beat exact surnames: %v", got)
	}
	// opened long ago: no lift, but first among equals
	ix.Opened("p-smith-john", testNow.Add(-90*24*time.Hour))
	got2 := ix.Search(context.Background(), "smith", 10)
	if got2[0].ID != "p-smith-john" || got2[0].Score != ScorePrimaryExact {
		t.Errorf("opened 90 days ago: %v", got2)
	}
	if r := ix.Recent(5); !slices.Equal(r, []string{"p-smithers-john", "p-smith-john"}) {
		t.Errorf("Recent: %v", r)
	}
}

func TestTiesBySurnameGivenDOBID(t *testing.T) {
	ps := []Patient{
		{ID: "c", Family: "Ash", Given: "Bea", BirthDate: "1990-01-01"},
		{ID: "b", Family: "Ash", Given: "Bea", BirthDate: "1990-01-01"},
		{ID: "a", Family: "Ash", Given: "Bea", BirthDate: "1991-01-01"},
		{ID: "d", Family: "Ash", Given: "Al", BirthDate: "1999-01-01"},
		{ID: "e", Family: "ASH", Given: "Zed", BirthDate: "1980-01-01"},
		{ID: "f", Family: "Ashby", Given: "Al", BirthDate: "1980-01-01"},
	}
	ix := BuildPatients(ps)
	got := ids(ix.Search(context.Background(), "ash", 10))
	want := []string{"d", "b", "c", "a", "e", "f"} // "ASH" sorts with "Ash" by folded form, after it as written
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestPutDeleteGet(t *testing.T) {
	ix := qualityIndex(t)
	n := ix.Len()
	p := Patient{ID: "p-new", Family: "Zebedee", Given: "Zak", BirthDate: "2000-02-29", NHS: "4505577104", Postcode: "ZE1 0AA"}
	ix.Put(p)
	if got, ok := ix.Get("p-new"); !ok || got != p {
		t.Fatalf("Get after Put: %v %v", got, ok)
	}
	if ix.Len() != n+1 {
		t.Errorf("Len %d, want %d", ix.Len(), n+1)
	}
	if h := ix.Search(context.Background(), "zeb", 5); len(h) != 1 || h[0].ID != "p-new" {
		t.Errorf("zeb: %v", h)
	}
	// replace a bulk-built patient: the old name no longer finds them
	q := qualityPatients[4]
	q.Family = "Greenwood"
	ix.Put(q)
	if h := ids(ix.Search(context.Background(), "brown", 5)); slices.Contains(h, q.ID) {
		t.Errorf("brown after rename: %v", h)
	}
	if h := ids(ix.Search(context.Background(), "greenwood", 5)); !slices.Equal(h, []string{q.ID}) {
		t.Errorf("greenwood: %v", h)
	}
	if ix.Len() != n+1 {
		t.Errorf("Len after replace %d", ix.Len())
	}
	ix.Delete("p-new")
	ix.Delete(q.ID)
	if _, ok := ix.Get(q.ID); ok {
		t.Errorf("Get after Delete")
	}
	if h := ix.Search(context.Background(), "greenwood", 5); len(h) != 0 {
		t.Errorf("greenwood after delete: %v", h)
	}
	if ix.Len() != n-1 {
		t.Errorf("Len after deletes %d, want %d", ix.Len(), n-1)
	}
	if got, ok := ix.Get("p-smith-john"); !ok || got != qualityPatients[0] {
		t.Errorf("Get bulk patient: %v %v", got, ok)
	}
}

func TestBuildDuplicateIDsLaterWins(t *testing.T) {
	ps := SyntheticPatients(50, 1)
	dup := ps[10]
	dup.Family = "Laterwins"
	ps = append(ps, dup)
	ix := BuildPatients(ps)
	if ix.Len() != 50 {
		t.Errorf("Len %d", ix.Len())
	}
	if got, _ := ix.Get(dup.ID); got.Family != "Laterwins" {
		t.Errorf("Get %v", got)
	}
}

func TestGetRoundTripsEveryField(t *testing.T) {
	ps := append(SyntheticPatients(2000, 11), qualityPatients...)
	ps = append(ps, Patient{ID: "odd id", Family: "X", BirthDate: "12/03/1961", Postcode: "ls6  2qt", NHS: "943 476 5919"},
		Patient{ID: "odd-2", Family: "Y", Postcode: "SW1A1AA"}, Patient{ID: "odd-3", Family: "Z", Postcode: "75011 Paris Cedex"})
	ix := BuildPatients(ps)
	for _, p := range ps {
		got, ok := ix.Get(p.ID)
		want := p
		want.NHS = formatNHS(nhsValue(p.NHS))
		if !ok || got != want {
			t.Fatalf("Get(%s) = %+v, want %+v", p.ID, got, want)
		}
	}
}

func TestTermQuality(t *testing.T) {
	ts := []Term{
		{Code: "44054006", Term: "Type 2 diabetes mellitus", Preferred: true, Active: true},
		{Code: "44054006", Term: "Type II diabetes mellitus", Active: true},
		{Code: "44054006", Term: "Type 2 diabetes mellitus (disorder)", Active: true},
		{Code: "46635009", Term: "Type 1 diabetes mellitus", Preferred: true, Active: true},
		{Code: "73211009", Term: "Diabetes mellitus", Preferred: true, Active: true},
		{Code: "13645005", Term: "Chronic obstructive pulmonary disease", Preferred: true, Active: true},
		{Code: "13645005", Term: "Chronic obstructive lung disease", Active: true},
		{Code: "195967001", Term: "Asthma", Preferred: true, Active: true},
		{Code: "38341003", Term: "Hypertensive disorder", Preferred: true, Active: true},
		{Code: "59621000", Term: "Essential hypertension", Preferred: true, Active: true},
		{Code: "C10E.", Term: "Type 1 diabetes mellitus", Active: true},
		{Code: "4405", Term: "Old diabetes code", Preferred: true, Active: false},
		{Code: "34486009", Term: "Crohn's disease", Preferred: true, Active: true},
		{Code: "168537006", Term: "X-ray of chest", Preferred: true, Active: true},
	}
	ix := BuildTerms(ts)
	cases := []struct {
		q     string
		first int
		also  []int
		not   []int
	}{
		{q: "t2dm", first: 0, not: []int{3}},
		{q: "copd", first: 5, not: []int{6}},
		{q: "diabtes", first: 4, also: []int{0, 1, 3}},
		{q: "diabetes", first: 4},                    // first word of the term, exact
		{q: "diab mell type 2", first: 0},            // preferred above synonyms and the FSN
		{q: "diab mell type", first: 3},              // equal scores, preferred, same length: by term
		{q: "type 2", first: 0, also: []int{2}},      // preferred above the FSN
		{q: "44054006", first: 0, also: []int{1, 2}}, // code typed: exact code first, preferred first
		{q: "4405", first: 11, also: []int{0}},       // exact code, then code prefix
		{q: "c10e.", first: 10},
		{q: "hypert", first: 8, also: []int{9}}, // first word prefix above later word prefix
		{q: "crohns", first: 12},
		{q: "crohn's dis", first: 12},
		{q: "xray", first: 13},
		{q: "ray chest", first: 13},
		{q: "zzzz", first: -1},
	}
	for _, c := range cases {
		got := ix.Search(context.Background(), c.q, 20, nil)
		if want := ReferenceTerms(ts, c.q, 20, nil); !slices.Equal(got, want) {
			t.Errorf("%q: index %v, reference %v", c.q, got, want)
		}
		if c.first < 0 {
			if len(got) != 0 {
				t.Errorf("%q: want nothing, got %v", c.q, got)
			}
			continue
		}
		if len(got) == 0 || got[0].Index != c.first {
			t.Errorf("%q: want %d (%s) first, got %v", c.q, c.first, ts[c.first].Term, got)
		}
		var idx []int
		for _, h := range got {
			idx = append(idx, h.Index)
		}
		for _, i := range c.also {
			if !slices.Contains(idx, i) {
				t.Errorf("%q: want %d found: %v", c.q, i, idx)
			}
		}
		for _, i := range c.not {
			if slices.Contains(idx, i) {
				t.Errorf("%q: %d must not be found: %v", c.q, i, idx)
			}
		}
	}
	// keep filters, e.g. active only
	got := ix.Search(context.Background(), "4405", 20, func(i int) bool { return ts[i].Active })
	if len(got) == 0 || got[0].Index != 0 {
		t.Errorf("4405 active only: %v", got)
	}
	if ix.Len() != len(ts) {
		t.Errorf("Len %d", ix.Len())
	}
}

func TestCancelledSearchReturnsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h := qualityIndex(t).Search(ctx, "smith", 10); h != nil {
		t.Errorf("patients: %v", h)
	}
	if h := BuildTerms(SyntheticTerms(100, 1)).Search(ctx, "a", 10, nil); h != nil {
		t.Errorf("terms: %v", h)
	}
}

func TestPatientRowRoundTrip(t *testing.T) {
	for _, p := range append(SyntheticPatients(200, 3), qualityPatients...) {
		row := EncodePatientRow(p)
		got, err := DecodePatientRow(p.ID, row)
		if err != nil || got != p {
			t.Fatalf("%v: %+v %v", p, got, err)
		}
		if _, err := DecodePatientRow(p.ID, row[:len(row)-1]); err == nil {
			t.Fatalf("truncated row decoded")
		}
	}
	if _, err := DecodePatientRow("x", []byte{9, 0}); err == nil {
		t.Error("unknown version decoded")
	}
}

func TestConcurrentPutAndSearch(t *testing.T) {
	ps := SyntheticPatients(deltaMax+2000, 5) // enough puts for a background rebuild
	ix := BuildPatients(ps[:1000])
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range ps[1000:] {
			ix.Put(p)
		}
		for _, p := range ps[:200] {
			ix.Delete(p.ID)
		}
	}()
	for i := 0; i < 300; i++ {
		ix.Search(context.Background(), fmt.Sprint([]string{"s", "jo smi", "ls6", "brwn"}[i%4]), 10)
		ix.Opened(ps[i].ID, testNow)
	}
	<-done
	waitRebuilt(ix)
	if ix.Len() != len(ps)-200 {
		t.Errorf("Len %d, want %d", ix.Len(), len(ps)-200)
	}
	if _, ok := ix.Get(ps[100].ID); ok {
		t.Errorf("deleted patient still there")
	}
}

func TestPatientLoaderMatchesBuild(t *testing.T) {
	ps := append(SyntheticPatients(3000, 12), qualityPatients...)
	ps = append(ps, Patient{ID: "odd id", Family: "X", BirthDate: "12/03/1961", Postcode: "ls6  2qt"}, ps[5])
	ps[len(ps)-1].Family = "Laterwins"
	l := NewPatientLoader(100) // grows past the hint
	for _, p := range ps {
		row := EncodePatientRow(p)
		key := []byte(p.ID)
		if err := l.Add(key, row); err != nil {
			t.Fatal(err)
		}
		clear(row) // the loader must not keep the caller's memory
		clear(key)
	}
	if err := l.Add([]byte("bad"), []byte{1}); err == nil {
		t.Error("short row accepted")
	}
	ix := l.Build()
	want := BuildPatients(ps)
	ix.SetClock(func() time.Time { return testNow })
	want.SetClock(func() time.Time { return testNow })
	if ix.Len() != want.Len() {
		t.Fatalf("Len %d, want %d", ix.Len(), want.Len())
	}
	for _, p := range ps[:len(ps)-1] {
		g, _ := ix.Get(p.ID)
		w, _ := want.Get(p.ID)
		if g != w {
			t.Fatalf("Get(%s) = %+v, want %+v", p.ID, g, w)
		}
	}
	for _, q := range []string{"s", "smith", "jo smi", "ls6", "12/3/61", "943 476", "laterwins", "brwn"} {
		if g, w := ix.Search(context.Background(), q, 20), want.Search(context.Background(), q, 20); !slices.Equal(g, w) {
			t.Errorf("%q: loader %v, build %v", q, g, w)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	ps := append(SyntheticPatients(3000, 13), qualityPatients...)
	ps = append(ps, Patient{ID: "odd id", Family: "X", BirthDate: "12/03/1961", Postcode: "ls6  2qt"}, ps[7])
	ps[len(ps)-1].Family = "Laterwins"
	ix := BuildPatients(ps)
	ix.SetClock(func() time.Time { return testNow })
	ix.Put(Patient{ID: "p-put", Family: "Putnam", Given: "Pat", BirthDate: "1999-09-09"})
	ix.Delete(ps[3].ID)
	ix.Opened(ps[20].ID, testNow.Add(-time.Hour))
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	got, err := ReadSnapshot(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got.SetClock(func() time.Time { return testNow })
	if got.Len() != ix.Len() {
		t.Fatalf("Len %d, want %d", got.Len(), ix.Len())
	}
	for _, p := range ps {
		g, gok := got.Get(p.ID)
		w, wok := ix.Get(p.ID)
		if g != w || gok != wok {
			t.Fatalf("Get(%s) = %+v %v, want %+v %v", p.ID, g, gok, w, wok)
		}
	}
	for _, q := range []string{"s", "smith", "jo smi", "ls6", "12/3/61", "943 476", "laterwins", "brwn", "putnam", "x"} {
		if g, w := got.Search(context.Background(), q, 20), ix.Search(context.Background(), q, 20); !slices.Equal(g, w) {
			t.Errorf("%q: snapshot %v, index %v", q, g, w)
		}
	}
	if !slices.Equal(got.Recent(5), ix.Recent(5)) {
		t.Errorf("Recent: %v, want %v", got.Recent(5), ix.Recent(5))
	}
	// damaged snapshots are errors, never panics
	for _, cut := range []int{0, 10, len(data) / 3, len(data) / 2, len(data) - 1} {
		if _, err := ReadSnapshot(bytes.NewReader(data[:cut])); err == nil {
			t.Errorf("snapshot cut at %d read without error", cut)
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 200; i++ {
		bad := bytes.Clone(data)
		bad[len(snapshotMagic)+r.IntN(len(bad)-2*len(snapshotMagic))] ^= byte(1 + r.IntN(255))
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("flip %d: panic %v", i, p)
				}
			}()
			if ix2, err := ReadSnapshot(bytes.NewReader(bad)); err == nil {
				for _, q := range []string{"s", "smith", "ls6", "943", "12/3/61"} {
					ix2.Search(context.Background(), q, 10)
				}
			}
		}()
	}
}
