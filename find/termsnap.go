package find

import (
	"bufio"
	"fmt"
	"io"
)

// The code-picker index is snapshotted like the patient index (snapshot.go): its arrays,
// 8-aligned and little-endian, used in place when loaded. The terms themselves are not
// in it: the caller gives the same slice again, and keys the snapshot to the release it
// was built from (a snapshot made over other terms answers wrongly, and the checks below
// only catch shapes, not contents).
var termSnapshotMagic = []byte("gpsoc-find-terms-2\n")

// WriteSnapshot writes the index's arrays to w.
func (ix *Terms) WriteSnapshot(w io.Writer) error {
	sw := &snapWriter{w: bufio.NewWriterSize(w, 1<<20)}
	sw.write(termSnapshotMagic)
	sw.align()
	sw.u64(uint64(len(ix.ts)))
	sw.u32s(ix.order)
	sw.u32s(ix.wOff)
	sw.u32s(ix.words)
	sw.u64s(ix.initKey)
	sw.u32s(ix.byInit)
	sw.u32s(ix.byCode)
	sw.strs(ix.voc.words)
	sw.u32s(ix.voc.tail)
	sw.u32s(ix.voc.pOff)
	sw.u32s(ix.voc.sOff)
	sw.u32s(ix.voc.post)
	sw.write(termSnapshotMagic)
	return sw.finish()
}

// LoadTermsSnapshot makes the index of ts from a snapshot written by WriteSnapshot for
// the same ts, in place: data must stay unchanged for as long as the index is in use.
func LoadTermsSnapshot(data []byte, ts []Term) (*Terms, error) {
	data, err := openSnapshot(data)
	if err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("%w: terms: %s", errSnapshot, what) }
	sr := &snapReader{data: data, max: 1 << 34}
	if magic := sr.take(len(termSnapshotMagic)); sr.err != nil || string(magic) != string(termSnapshotMagic) {
		return nil, bad("bad header")
	}
	sr.align()
	n := sr.count()
	if sr.err == nil && n != len(ts) {
		return nil, bad(fmt.Sprintf("%d terms, %d given", n, len(ts)))
	}
	sr.max = uint64(64*n + 1<<16)
	ix := &Terms{ts: ts}
	ix.order = sr.u32s()
	ix.wOff = sr.u32s()
	ix.words = sr.u32s()
	ix.initKey = sr.u64s()
	ix.byInit = sr.u32s()
	ix.byCode = sr.u32s()
	ix.voc.words = sr.strs()
	ix.voc.tail = sr.u32s()
	ix.voc.pOff = sr.u32s()
	ix.voc.sOff = sr.u32s()
	ix.voc.post = sr.u32s()
	if tail := sr.take(len(termSnapshotMagic)); sr.err == nil && string(tail) != string(termSnapshotMagic) {
		return nil, bad("bad trailer")
	}
	if sr.err != nil {
		return nil, fmt.Errorf("read term index snapshot: %w", sr.err)
	}
	if err := ix.check(); err != nil {
		return nil, err
	}
	return ix, nil
}

// check verifies the shapes and ranges a search relies on.
func (ix *Terms) check() error {
	n := len(ix.ts)
	bad := func(what string) error { return fmt.Errorf("%w: terms: %s", errSnapshot, what) }
	if len(ix.order) != n || len(ix.wOff) != n+1 || len(ix.initKey) != n || len(ix.byInit) != n || len(ix.byCode) != n {
		return bad("arrays")
	}
	for _, l := range [][]uint32{ix.order, ix.byInit, ix.byCode, ix.voc.post} {
		for _, r := range l {
			if int(r) >= n {
				return bad("ranks")
			}
		}
	}
	if !monotone(ix.wOff, len(ix.words)) || ix.wOff[n] != uint32(len(ix.words)) {
		return bad("words")
	}
	nw := len(ix.voc.words)
	for _, w := range ix.words {
		if int(w&^primaryBit) >= nw {
			return bad("word ids")
		}
	}
	if len(ix.voc.tail) != nw || len(ix.voc.pOff) != nw+1 || len(ix.voc.sOff) != nw+1 || ix.voc.sOff[nw] != uint32(len(ix.voc.post)) ||
		!monotone(ix.voc.pOff, len(ix.voc.post)) || !monotone(ix.voc.sOff, len(ix.voc.post)) {
		return bad("vocabulary")
	}
	for _, w := range ix.voc.tail {
		if int(w) >= nw {
			return bad("vocabulary")
		}
	}
	return nil
}
