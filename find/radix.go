package find

// radixSort sorts keys ascending, carrying vals along. It is stable (equal keys keep the
// order they came in) and looks only at the low nbits of each key: LSD, 11 bits a pass,
// skipping passes where every key has the same digit.
func radixSort(keys []uint64, vals []uint32, nbits int) {
	n := len(keys)
	if n < 2 {
		return
	}
	origK, origV := keys, vals
	k2 := make([]uint64, n)
	v2 := make([]uint32, n)
	const digit = 11
	const mask = 1<<digit - 1
	var count [mask + 2]int
	for shift := 0; shift < nbits; shift += digit {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&mask+1]++
		}
		if count[(keys[0]>>shift)&mask+1] == n {
			continue
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for i, k := range keys {
			d := (k >> shift) & mask
			p := count[d]
			count[d]++
			k2[p], v2[p] = k, vals[i]
		}
		keys, k2 = k2, keys
		vals, v2 = v2, vals
	}
	if &keys[0] != &origK[0] {
		copy(origK, keys)
		copy(origV, vals)
	}
}

func bitsFor(n int) int {
	b := 0
	for n > 0 {
		b++
		n >>= 1
	}
	return b
}
