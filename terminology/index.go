package terminology

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/opengpsoc/gpsoc/find"
	bolt "go.etcd.io/bbolt"
)

// findTerms gives the rows as find's terms, the two halves on two goroutines (a full
// release has millions).
func findTerms(codes []string, rows []termRow) []find.Term {
	ts := make([]find.Term, len(rows))
	fill := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := rows[i]
			ts[i] = find.Term{Code: codes[r.id], Term: r.term, Preferred: r.flags&termPreferred != 0, Active: r.flags&termActive != 0}
		}
	}
	mid := len(rows) / 2
	done := make(chan struct{})
	go func() { fill(0, mid); close(done) }()
	fill(mid, len(rows))
	<-done
	return ts
}

// buildTermIndex builds the search backend for one source's terms: the shared fuzzy index
// of find/ (the same one the patient finder uses).
func buildTermIndex(codes []string, rows []termRow) termIndex {
	termIndexBuilds.Add(1)
	return findIndex{find.BuildTerms(findTerms(codes, rows))}
}

// termIndexBuilds counts indexes built rather than loaded (tests).
var termIndexBuilds atomic.Int64

// ---- the term index snapshot ----
//
// Building the index of a full release takes many seconds; a new process instead maps the
// snapshot the first build left beside the terminology file (terms-index-NAME.snap) and
// uses it in place. The snapshot names the generation it was built from and a checksum of
// that generation's terms, so a new import (a new generation) or a terminology file made
// again from scratch never uses an old one: the next search builds and writes it afresh.

// termSnapshotMin is the number of terms from which the index is snapshotted (smaller
// ones build in a blink).
var termSnapshotMin = 50_000

const termSnapMagic = "GPSOCTERMS1\n"

// termSnapHeader is the header's length: magic, checksum, term and code counts and the
// generation name, padded so that the index's arrays are 8-aligned in the mapped file.
const termSnapHeader = 128

// termSums holds each loaded source's terms checksum (crc32c of the stored terms).
var termSums sync.Map // *source -> uint32

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func termSnapshotPath(d *db, name string) string {
	return filepath.Join(filepath.Dir(d.path), "terms-index-"+name+".snap")
}

func (s *source) termSnapKey() ([]byte, bool) {
	sum, ok := termSums.Load(s)
	if !ok || len(s.gen) > termSnapHeader-len(termSnapMagic)-20 {
		return nil, false
	}
	h := make([]byte, 0, termSnapHeader)
	h = append(h, termSnapMagic...)
	h = binary.BigEndian.AppendUint32(h, sum.(uint32))
	h = binary.BigEndian.AppendUint64(h, uint64(len(s.terms)))
	h = binary.BigEndian.AppendUint64(h, uint64(len(s.codes)))
	h = append(h, s.gen...)
	return append(h, make([]byte, termSnapHeader-len(h))...), true
}

// termSnapMap is a snapshot file being mapped in the background.
type termSnapMap struct {
	done chan struct{}
	data []byte
	err  error
}

// mapTermSnapshot starts mapping the source's snapshot file, so that the mapping (a
// hundred MB for a full release) overlaps reading the terms.
func mapTermSnapshot(d *db, name string) *termSnapMap {
	m := &termSnapMap{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		m.data, m.err = find.MapFile(termSnapshotPath(d, name))
	}()
	return m
}

func (m *termSnapMap) wait() ([]byte, error) {
	<-m.done
	return m.data, m.err
}

// release unmaps a snapshot that is not used.
func (m *termSnapMap) release() {
	if data, err := m.wait(); err == nil {
		find.UnmapFile(data)
	}
}

// loadTermIndex returns the source's term index from its snapshot (being mapped by snap)
// when that was made from exactly these terms, else builds it and writes the snapshot
// for next time.
func (s *source) loadTermIndex(d *db, snap *termSnapMap) termIndex {
	key, keyed := s.termSnapKey()
	if !keyed || len(s.terms) < termSnapshotMin {
		snap.release()
		return buildTermIndex(s.codes, s.terms)
	}
	ts := findTerms(s.codes, s.terms)
	data, err := snap.wait()
	if err == nil && len(data) > termSnapHeader && string(data[:termSnapHeader]) == string(key) {
		if ix, err := find.LoadTermsSnapshot(data[termSnapHeader:], ts); err == nil {
			return findIndex{ix}
		}
	}
	snap.release() // stale or damaged: nothing points into it
	termIndexBuilds.Add(1)
	ix := findIndex{find.BuildTerms(ts)}
	_ = d.cacheWrite(func() error { return writeTermSnapshot(termSnapshotPath(d, s.name), key, ix.ix) }) // a cache: failing only costs the next start a build
	return ix
}

// getBlobSized is getBlob (store.go) sized before copying: one allocation for a blob of
// a hundred MB instead of a growing one.
func getBlobSized(g *bolt.Bucket, name string) []byte {
	b := g.Bucket(bktBlob)
	prefix := []byte(name + "\x00")
	ok := func(k []byte) bool { return k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+4 }
	n := 0
	c := b.Cursor()
	for k, v := c.Seek(prefix); ok(k); k, v = c.Next() {
		n += len(v)
	}
	out := make([]byte, 0, n)
	for k, v := c.Seek(prefix); ok(k); k, v = c.Next() {
		out = append(out, v...)
	}
	return out
}

func writeTermSnapshot(path string, key []byte, ix *find.Terms) error {
	if err := find.WriteSnapshotFile(path, key, ix.WriteSnapshot); err != nil {
		return fmt.Errorf("term index snapshot: %w", err)
	}
	return nil
}

type findIndex struct{ ix *find.Terms }

type findTerm = find.Term

// referenceTerms is find's plain matcher: the index's semantics without building it.
func referenceTerms(ts []find.Term, q string, limit int, keep func(int) bool) []termHit {
	hits := find.ReferenceTerms(ts, q, limit, keep)
	out := make([]termHit, len(hits))
	for i, h := range hits {
		out[i] = termHit{Index: h.Index, Score: h.Score}
	}
	return out
}

func (f findIndex) Search(ctx context.Context, q string, limit int, keep func(int) bool) []termHit {
	hits := f.ix.Search(ctx, q, limit, keep)
	out := make([]termHit, len(hits))
	for i, h := range hits {
		out[i] = termHit{Index: h.Index, Score: h.Score}
	}
	return out
}
