package find

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// A term index loaded from its snapshot answers exactly as the one built, and as the
// reference; a snapshot of other terms, or a damaged one, is an error, never a panic.
func TestTermsSnapshotMatchesBuilt(t *testing.T) {
	ts := SyntheticTerms(3000, 11)
	built := BuildTerms(ts)
	var buf bytes.Buffer
	if err := built.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	loaded, err := LoadTermsSnapshot(data, ts)
	if err != nil {
		t.Fatal(err)
	}
	mis := make([]byte, len(data)+1)
	copy(mis[1:], data)
	misLoaded, err := LoadTermsSnapshot(mis[1:], ts)
	if err != nil {
		t.Fatal(err)
	}
	active := func(i int) bool { return ts[i].Active }
	r := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	for i := 0; i < 400; i++ {
		q := queryFromTerm(r, ts[r.IntN(len(ts))])
		if i%4 == 0 {
			q = randomQuery(r)
		}
		var keep func(int) bool
		if i%2 == 0 {
			keep = active
		}
		want := built.Search(ctx, q, 10, keep)
		if got := loaded.Search(ctx, q, 10, keep); !slices.Equal(got, want) {
			t.Fatalf("%q: loaded %v, built %v", q, got, want)
		}
		if got := misLoaded.Search(ctx, q, 10, keep); !slices.Equal(got, want) {
			t.Fatalf("%q: misaligned %v, built %v", q, got, want)
		}
		if ref := referenceTermsOn(ts, refTermsOf(ts), q, 10, keep); !slices.Equal(want, ref) {
			t.Fatalf("%q: built %v, reference %v", q, want, ref)
		}
	}
	if _, err := LoadTermsSnapshot(data, ts[:len(ts)-1]); err == nil {
		t.Fatal("a snapshot of other terms was accepted")
	}
	for cut := 0; cut < len(data); cut += 1 + len(data)/50 {
		if _, err := LoadTermsSnapshot(data[:cut], ts); err == nil {
			t.Fatalf("a snapshot cut at %d was accepted", cut)
		}
	}
	for i := 0; i < 200; i++ {
		bad := slices.Clone(data)
		bad[24+r.IntN(len(bad)-24)] ^= byte(1 + r.IntN(255))
		if ix, err := LoadTermsSnapshot(bad, ts); err == nil {
			ix.Search(ctx, "dia", 10, nil) // may answer differently, must not panic
		}
	}
	empty := BuildTerms(nil)
	buf.Reset()
	if err := empty.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if ix, err := LoadTermsSnapshot(buf.Bytes(), nil); err != nil || ix.Len() != 0 {
		t.Fatalf("empty: %v", err)
	}
}
