package find

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/internal/findcorpus"
)

// clustered gives the patients the postcodes of a practice whose patients share a few
// districts: a third in LS6, most of the rest in four neighbours, and districts that
// are prefixes of one another (L6, LS6, LS62), odd spellings and no postcode at all.
func clustered(ps []Patient, seed uint64) []Patient {
	r := rand.New(rand.NewPCG(seed, 5))
	out := slices.Clone(ps)
	districts := []string{"LS6", "LS6", "LS6", "LS2", "LS16", "LS62", "L6", "LS7", "LS6"}
	inward := func() string {
		return fmt.Sprintf("%d%c%c", r.IntN(10), findcorpus.InwardLetters[r.IntN(3)], findcorpus.InwardLetters[r.IntN(3)])
	}
	for i := range out {
		switch x := r.IntN(100); {
		case x < 3:
			out[i].Postcode = ""
		case x < 6:
			out[i].Postcode = "ls6" + inward() // no space, lower case
		case x < 8:
			out[i].Postcode = "LS6  " + inward() // two spaces: not canonical
		case x < 9:
			out[i].Postcode = "LS6"
		case x < 10:
			out[i].Postcode = fmt.Sprintf("%05d", r.IntN(100)) // foreign
		default:
			out[i].Postcode = districts[r.IntN(len(districts))] + " " + inward()
		}
	}
	return out
}

var clusterQueries = []string{"ls6", "LS6", "ls62", "ls6 2", "ls6 2aa", "ls62aa", "ls6 0bb", "l6", "ls", "ls16",
	"ls2", "l", "ls7 1ab", "00012", "jo smi ls6", "smith ls6", "ls6 smith", "s ls6", "ls6 ls62", "ls6 12/3/61"}

func clusterQuery(r *rand.Rand, p Patient) string {
	if r.IntN(3) == 0 {
		return queryFromPatient(r, p)
	}
	pc, out := normPostcode(p.Postcode)
	q := clusterQueries[r.IntN(len(clusterQueries))]
	switch r.IntN(4) {
	case 0:
		if pc != "" {
			q = pc[:out]
		}
	case 1:
		q = fold(p.Given)[:1] + " " + q
	case 2:
		if pc != "" {
			q = fold(p.Family) + " " + pc[:min(len(pc), out+1)]
		}
	}
	return q
}

// Postcode districts shared by a third of the practice answer exactly as the reference,
// alone and with names, in every path: the bulk index, filtered, with changes, and
// after a snapshot round trip.
func TestClusteredPostcodesMatchReference(t *testing.T) {
	ps := clustered(SyntheticPatients(4000, 21), 1)
	run := func(t *testing.T, ix *Patients, live []Patient, r *rand.Rand, n int) {
		t.Helper()
		for _, q := range clusterQueries {
			checkPatients(t, ix, live, q, 10)
		}
		for i := 0; i < n; i++ {
			checkPatients(t, ix, live, clusterQuery(r, ps[r.IntN(len(ps))]), []int{1, 5, 10, 50}[r.IntN(4)])
		}
	}
	ix := BuildPatients(ps[:3500])
	ix.SetClock(func() time.Time { return testNow })
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 20; i++ {
		ix.Opened(ps[r.IntN(3500)].ID, testNow.Add(-time.Duration(r.IntN(60*24))*time.Hour))
	}
	run(t, ix, ps[:3500], r, 300)
	withFilterAlways(func() { run(t, ix, ps[:3500], r, 200) })

	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadSnapshot(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	loaded.SetClock(func() time.Time { return testNow })
	run(t, loaded, ps[:3500], r, 200)

	for _, p := range ps[3500:] {
		loaded.Put(p)
	}
	for i := 0; i < 40; i++ {
		p := ps[r.IntN(3500)]
		p.Postcode = ps[r.IntN(len(ps))].Postcode
		loaded.Put(p)
	}
	live := livePatients(loaded)
	run(t, loaded, live, r, 200)
}

// A snapshot used in place from misaligned memory (a copy is made) answers the same.
func TestSnapshotMisaligned(t *testing.T) {
	ps := clustered(SyntheticPatients(500, 3), 2)
	ix := BuildPatients(ps)
	ix.SetClock(func() time.Time { return testNow })
	var buf bytes.Buffer
	if err := ix.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	mis := make([]byte, buf.Len()+1)
	copy(mis[1:], buf.Bytes())
	got, err := LoadSnapshot(mis[1:])
	if err != nil {
		t.Fatal(err)
	}
	got.SetClock(func() time.Time { return testNow })
	for _, q := range clusterQueries {
		if a, b := got.Search(context.Background(), q, 10), ix.Search(context.Background(), q, 10); !slices.Equal(a, b) {
			t.Fatalf("%q: %v, want %v", q, a, b)
		}
	}
}
