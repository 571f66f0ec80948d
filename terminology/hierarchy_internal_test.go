package terminology

import (
	"math/rand/v2"
	"testing"

	"github.com/opengpsoc/gpsoc/terminology/rf2gen"
)

// The upward walk (with its small-slice and map modes) against a plain closure.
func TestSubsumesAgainstClosure(t *testing.T) {
	dir := t.TempDir()
	st, err := rf2gen.Write(dir, rf2gen.Scaled(20_000))
	if err != nil {
		t.Fatal(err)
	}
	r, err := buildRF2([]string{st.Dir})
	if err != nil {
		t.Fatal(err)
	}
	// a few concepts with very many parents, to exercise the map mode of the walk
	n := len(r.codes)
	// leaves only: a concept with nothing below it cannot close a cycle
	orig, _ := decodeCSR(encodeCSR(r.parents))
	children := invert(orig, n)
	var leaves []uint32
	for c := n - 1; c >= 0 && len(leaves) < 50; c-- {
		if len(children.of(uint32(c))) == 0 {
			leaves = append(leaves, uint32(c))
		}
	}
	for _, c := range leaves {
		for j := 0; j < 80; j++ {
			p := uint32(j * 7)
			if p != c {
				r.parents[c] = append(r.parents[c], p)
			}
		}
	}
	s := &source{codes: r.codes}
	lists := r.parents
	s.par, _ = decodeCSR(encodeCSR(lists))
	s.chi = invert(s.par, n)
	closure := make([]map[uint32]bool, n)
	var anc func(uint32) map[uint32]bool
	anc = func(x uint32) map[uint32]bool {
		if closure[x] != nil {
			return closure[x]
		}
		m := map[uint32]bool{}
		closure[x] = m
		for _, p := range lists[x] {
			m[p] = true
			for a := range anc(p) {
				m[a] = true
			}
		}
		return m
	}
	rng := rand.New(rand.NewPCG(3, 4))
	checked, positives := 0, 0
	for k := 0; k < 20000; k++ {
		b := uint32(rng.IntN(n))
		if k%2 == 0 {
			b = leaves[rng.IntN(len(leaves))]
		}
		var a uint32
		if m := anc(b); len(m) > 0 && k%3 == 0 {
			keys := make([]uint32, 0, len(m))
			for x := range m {
				keys = append(keys, x)
			}
			a = keys[rng.IntN(len(keys))]
		} else {
			a = uint32(rng.IntN(n))
		}
		want := a == b || anc(b)[a]
		if got := s.subsumes(a, b); got != want {
			t.Fatalf("subsumes(%s, %s) = %v, want %v", r.codes[a], r.codes[b], got, want)
		}
		checked++
		if want {
			positives++
		}
		// descendants by walk agree with the closure
		if k%500 == 0 {
			set := newBitset(n)
			walk(s.chi, []uint32{a}, false, set)
			for _, d := range s.members(set) {
				if !anc(d)[a] {
					t.Fatalf("%s listed below %s but is not", r.codes[d], r.codes[a])
				}
			}
		}
	}
	if positives < checked/5 {
		t.Errorf("too few positive pairs: %d of %d", positives, checked)
	}
}

func FuzzParseECL(f *testing.F) {
	for _, s := range []string{"<< 73211009", "(<< 1 OR 2) MINUS 3", "^ 999 |x|", "<!1,>>!2", "*", "<<(", "|a|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseECL(s)
		if err == nil && e == nil {
			t.Fatalf("nil expression without error for %q", s)
		}
		if err == nil {
			// canonical form must parse to the same canonical form
			c := canonicalECL(e)
			e2, err := parseECL(c)
			if err != nil || canonicalECL(e2) != c {
				t.Fatalf("%q -> %q does not round-trip: %v", s, c, err)
			}
		}
	})
}
