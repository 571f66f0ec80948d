package bolt

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
)

// scanFile reads a practice file's pages directly (not through bbolt) and
// reports damage, naming the page and the bucket it belongs to.
//
// Why: bbolt trusts its file. On a damaged page it panics (an assertion in
// its page reader), and its own Check runs in a goroutine of its own, so
// the panic cannot be recovered and `gpsoc check` died with a stack trace;
// a page number past the end of the file is a fault outside Go's reach. So
// check, backup (on what it wrote) and restore walk the tree here first, with
// every page number and offset bounded, and only hand a file that passes to
// bbolt. This follows bbolt's documented file layout (meta pages 0 and 1,
// branch and leaf pages, buckets with inline roots, the freelist).
func scanFile(path string) []Problem {
	f, err := os.Open(path)
	if err != nil {
		return []Problem{{Where: "file", What: err.Error()}}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return []Problem{{Where: "file", What: err.Error()}}
	}
	sc := &scanner{f: f, size: st.Size(), seen: map[uint64]string{}}
	m, prob := sc.meta()
	if prob != nil {
		return []Problem{*prob}
	}
	sc.ps, sc.hwm = uint64(m.pageSize), m.hwm
	if sc.hwm*sc.ps > uint64(sc.size) {
		return []Problem{{Where: "file", What: fmt.Sprintf("%d bytes, shorter than its %d pages (truncated)", sc.size, sc.hwm)}}
	}
	sc.visit(m.root, "(top level)", 0)
	if len(sc.probs) == 0 && m.freelist != ^uint64(0) {
		sc.freelist(m.freelist)
	}
	return sc.probs
}

const (
	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10
	bucketLeaf   = 0x01
	headerSize   = 16
	elemSize     = 16
	maxProblems  = 20
	boltMagic    = 0xED0CDAED
)

type scanner struct {
	f        io.ReaderAt
	size     int64
	ps, hwm  uint64
	seen     map[uint64]string // page -> bucket that uses it
	probs    []Problem
	maxDepth int
}

type metaInfo struct {
	pageSize                  uint32
	root, freelist, hwm, txid uint64
}

func (sc *scanner) fail(pgid uint64, bucket, format string, args ...any) {
	if len(sc.probs) < maxProblems {
		where := "page " + strconv.FormatUint(pgid, 10)
		if bucket != "" {
			where += " (bucket " + bucket + ")"
		}
		sc.probs = append(sc.probs, Problem{Where: where, What: fmt.Sprintf(format, args...)})
	}
}

// meta reads both meta pages and picks the valid one with the latest
// transaction, as bbolt does.
func (sc *scanner) meta() (metaInfo, *Problem) {
	var best metaInfo
	found := false
	readAt := func(off int64) (metaInfo, bool) {
		b := make([]byte, headerSize+64)
		if _, err := sc.f.ReadAt(b, off); err != nil {
			return metaInfo{}, false
		}
		m := b[headerSize:]
		le := binary.LittleEndian
		if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != 2 {
			return metaInfo{}, false
		}
		h := fnv.New64a()
		h.Write(m[:56])
		if h.Sum64() != le.Uint64(m[56:]) {
			return metaInfo{}, false
		}
		mi := metaInfo{pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]), hwm: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
		if mi.pageSize < 512 || mi.pageSize > 1<<20 || mi.pageSize&(mi.pageSize-1) != 0 {
			return metaInfo{}, false
		}
		return mi, true
	}
	m0, ok0 := readAt(0)
	ps := int64(m0.pageSize)
	if !ok0 {
		ps = pageSize
	}
	for _, size := range []int64{ps, 4096, pageSize, int64(os.Getpagesize())} {
		if m1, ok := readAt(size); ok && (!ok0 || m1.txid > m0.txid) && m1.pageSize == uint32(size) {
			best, found = m1, true
			break
		}
	}
	if ok0 && (!found || m0.txid >= best.txid) {
		best, found = m0, true
	}
	if !found {
		return best, &Problem{Where: "page 0 and page 1 (meta)", What: "both meta pages are damaged: not a practice file, or destroyed"}
	}
	return best, nil
}

// page reads page pgid (with its overflow) after checking that it lies in
// the file and says it is itself.
func (sc *scanner) page(pgid uint64, bucket string) []byte {
	if pgid < 2 || pgid >= sc.hwm {
		sc.fail(pgid, bucket, "is referred to but lies outside the file's %d pages", sc.hwm)
		return nil
	}
	hdr := make([]byte, headerSize)
	if _, err := sc.f.ReadAt(hdr, int64(pgid*sc.ps)); err != nil {
		sc.fail(pgid, bucket, "cannot be read: %v", err)
		return nil
	}
	le := binary.LittleEndian
	if id := le.Uint64(hdr); id != pgid {
		sc.fail(pgid, bucket, "damaged: it says it is page %d", id)
		return nil
	}
	over := uint64(le.Uint32(hdr[12:]))
	if pgid+over >= sc.hwm {
		sc.fail(pgid, bucket, "damaged: its %d overflow pages run past the end of the file", over)
		return nil
	}
	b := make([]byte, (over+1)*sc.ps)
	if _, err := sc.f.ReadAt(b, int64(pgid*sc.ps)); err != nil {
		sc.fail(pgid, bucket, "cannot be read: %v", err)
		return nil
	}
	for p := pgid; p <= pgid+over; p++ {
		if prev, ok := sc.seen[p]; ok {
			sc.fail(pgid, bucket, "damaged: page %d is also used by bucket %s", p, prev)
			return nil
		}
		sc.seen[p] = bucket
	}
	return b
}

// visit checks the tree of one bucket from its root page.
func (sc *scanner) visit(pgid uint64, bucket string, depth int) {
	if depth > 64 || len(sc.probs) >= maxProblems {
		if depth > 64 {
			sc.fail(pgid, bucket, "damaged: the tree is deeper than any real file")
		}
		return
	}
	b := sc.page(pgid, bucket)
	if b == nil {
		return
	}
	sc.node(pgid, b, bucket, depth)
}

// node checks one branch or leaf page (b starts at its header), and what hangs from it.
func (sc *scanner) node(pgid uint64, b []byte, bucket string, depth int) {
	le := binary.LittleEndian
	flags, count := le.Uint16(b[8:]), int(le.Uint16(b[10:]))
	if headerSize+count*elemSize > len(b) {
		sc.fail(pgid, bucket, "damaged: %d elements do not fit in the page", count)
		return
	}
	switch flags {
	case flagBranch:
		for i := 0; i < count; i++ {
			e := b[headerSize+i*elemSize:]
			pos, ksize := uint64(le.Uint32(e)), uint64(le.Uint32(e[4:]))
			if uint64(headerSize+i*elemSize)+pos+ksize > uint64(len(b)) {
				sc.fail(pgid, bucket, "damaged: element %d points past the page", i)
				return
			}
			sc.visit(le.Uint64(e[8:]), bucket, depth+1)
		}
	case flagLeaf:
		for i := 0; i < count; i++ {
			off := uint64(headerSize + i*elemSize)
			e := b[off:]
			fl, pos, ksize, vsize := le.Uint32(e), uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
			if off+pos+ksize+vsize > uint64(len(b)) {
				sc.fail(pgid, bucket, "damaged: element %d points past the page", i)
				return
			}
			if fl&bucketLeaf == 0 {
				continue
			}
			key := string(b[off+pos : off+pos+ksize])
			name := key
			if bucket != "(top level)" {
				name = bucket + "/" + key
			}
			v := b[off+pos+ksize : off+pos+ksize+vsize]
			if len(v) < 16 {
				sc.fail(pgid, bucket, "damaged: bucket %q has a short header", key)
				return
			}
			if root := le.Uint64(v); root != 0 {
				sc.visit(root, name, depth+1)
			} else if len(v) >= 16+headerSize {
				sc.node(pgid, v[16:], name, depth+1) // an inline bucket
			}
		}
	default:
		sc.fail(pgid, bucket, "damaged: page type %#x is neither a branch nor a leaf", flags)
	}
}

func (sc *scanner) freelist(pgid uint64) {
	b := sc.page(pgid, "freelist")
	if b == nil {
		return
	}
	le := binary.LittleEndian
	if le.Uint16(b[8:]) != flagFreelist {
		sc.fail(pgid, "freelist", "damaged: not a freelist page")
		return
	}
	n, data := uint64(le.Uint16(b[10:])), b[headerSize:]
	if n == 0xFFFF {
		n, data = le.Uint64(data), data[8:]
	}
	if n*8 > uint64(len(data)) {
		sc.fail(pgid, "freelist", "damaged: %d free pages do not fit", n)
		return
	}
	for i := uint64(0); i < n; i++ {
		if id := le.Uint64(data[i*8:]); id < 2 || id >= sc.hwm {
			sc.fail(pgid, "freelist", "damaged: lists page %d, outside the file", id)
			return
		}
	}
}
