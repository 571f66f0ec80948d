package find

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unsafe"
)

// A snapshot is the built patient index written out as its flat arrays, so that start-up
// uses it in place (LoadSnapshot over a mapped file) instead of building. Every array
// starts 8-aligned from the snapshot's start and is stored little-endian, so on the
// usual machines the index's slices point straight into the file's bytes. It carries no
// checksum of the practice: the caller stores it with the change sequence it was made at
// and rebuilds (PatientLoader) when they differ. A CRC-32C of everything before it ends
// the snapshot, so a damaged file is refused rather than searched.
var snapshotMagic = []byte("gpsoc-find-patients-3\n")

var errSnapshot = errors.New("malformed patient index snapshot")

// littleEndian: the machine's own order is the snapshot's, so arrays are used in place.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

type snapWriter struct {
	w   *bufio.Writer
	off int
	crc uint32
	buf [8]byte
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *snapWriter) write(b []byte) {
	s.w.Write(b)
	s.off += len(b)
	s.crc = crc32.Update(s.crc, castagnoli, b)
}

func (s *snapWriter) writeString(x string) {
	s.write(unsafe.Slice(unsafe.StringData(x), len(x)))
}

// finish ends the snapshot with the checksum of all written before it, and flushes.
func (s *snapWriter) finish() error {
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:], s.crc)
	s.w.Write(b[:])
	return s.w.Flush()
}

// verifySnapshot checks the trailing checksum and returns the snapshot without it.
func verifySnapshot(data []byte) ([]byte, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: truncated", errSnapshot)
	}
	body := data[:len(data)-8]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-8:]) {
		return nil, fmt.Errorf("%w: checksum does not match (damaged file)", errSnapshot)
	}
	return body, nil
}

func (s *snapWriter) align() {
	var zero [8]byte
	if r := s.off % 8; r != 0 {
		s.write(zero[:8-r])
	}
}

func (s *snapWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(s.buf[:], v)
	s.write(s.buf[:])
}

func (s *snapWriter) bytes(b []byte) {
	s.u64(uint64(len(b)))
	s.write(b)
	s.align()
}

func (s *snapWriter) u32s(v []uint32) {
	s.u64(uint64(len(v)))
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], x)
		s.write(b[:])
	}
	s.align()
}

func (s *snapWriter) u64s(v []uint64) {
	s.u64(uint64(len(v)))
	for _, x := range v {
		s.u64(x)
	}
}

func (s *snapWriter) strs(v []string) {
	s.u64(uint64(len(v)))
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], uint32(len(x)))
		s.write(b[:])
		s.writeString(x)
	}
	s.align()
}

func (s *snapWriter) strMap(m map[uint32]string) {
	keys := make([]uint32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s.u64(uint64(len(keys)))
	for _, k := range keys {
		s.u64(uint64(k))
		s.u64(uint64(len(m[k])))
		s.writeString(m[k])
	}
	s.align()
}

// snapReader reads a snapshot held whole in memory; slices and strings it returns point
// into data, which must therefore outlive them and never change.
type snapReader struct {
	data []byte
	off  int
	err  error
	max  uint64 // no count may exceed this (guards allocations on corrupt input)
}

func (s *snapReader) take(n int) []byte {
	if s.err != nil {
		return nil
	}
	if n < 0 || n > len(s.data)-s.off {
		s.err = fmt.Errorf("%w: truncated", errSnapshot)
		return nil
	}
	b := s.data[s.off : s.off+n : s.off+n]
	s.off += n
	return b
}

func (s *snapReader) align() {
	if r := s.off % 8; r != 0 {
		s.take(8 - r)
	}
}

func (s *snapReader) u64() uint64 {
	b := s.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (s *snapReader) count() int {
	n := s.u64()
	if n > s.max {
		if s.err == nil {
			s.err = fmt.Errorf("%w: count %d", errSnapshot, n)
		}
		return 0
	}
	return int(n)
}

func (s *snapReader) bytes() []byte {
	b := s.take(s.count())
	s.align()
	return b
}

func (s *snapReader) u32s() []uint32 {
	n := s.count()
	raw := s.take(4 * n)
	s.align()
	if len(raw) == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&raw[0]))%4 == 0 {
		return unsafe.Slice((*uint32)(unsafe.Pointer(&raw[0])), n)
	}
	v := make([]uint32, n)
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	return v
}

func (s *snapReader) u64s() []uint64 {
	n := s.count()
	raw := s.take(8 * n)
	if len(raw) == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&raw[0]))%8 == 0 {
		return unsafe.Slice((*uint64)(unsafe.Pointer(&raw[0])), n)
	}
	v := make([]uint64, n)
	for i := range v {
		v[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	return v
}

// view is b as a string without copying (b is the snapshot's memory, never changed).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (s *snapReader) strs() []string {
	n := s.count()
	v := make([]string, n)
	for i := range v {
		b := s.take(4)
		if b == nil {
			break
		}
		v[i] = view(s.take(int(binary.LittleEndian.Uint32(b))))
	}
	s.align()
	return v
}

func (s *snapReader) strMap() map[uint32]string {
	n := s.count()
	var m map[uint32]string
	if n > 0 {
		m = make(map[uint32]string, n)
	}
	for i := 0; i < n && s.err == nil; i++ {
		k := uint32(s.u64())
		if l := s.count(); l <= 1<<20 {
			m[k] = view(s.take(l))
		} else {
			s.err = fmt.Errorf("%w: string of %d bytes", errSnapshot, l)
		}
	}
	s.align()
	return m
}

// WriteSnapshot writes the index (changes folded in first) and the remembered opening
// times to w: about the index's size in memory. Patients put while it runs may be
// missing from it.
func (ix *Patients) WriteSnapshot(w io.Writer) error {
	ix.mu.RLock()
	pending := len(ix.delta) > 0 || ix.dead > len(ix.base.dups)
	ix.mu.RUnlock()
	if pending {
		ix.Rebuild()
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	b := ix.base
	sw := &snapWriter{w: bufio.NewWriterSize(w, 1<<20)}
	sw.write(snapshotMagic)
	sw.align()
	sw.u64(uint64(b.n))
	sw.bytes(b.ids)
	sw.strMap(b.oddIDs)
	sw.u32s(b.fam)
	sw.u32s(b.giv)
	sw.u32s(b.dob)
	sw.strMap(b.dobOdd)
	sw.u64s(b.pcKey)
	sw.strMap(b.pcOdd)
	sw.u32s(b.pcFree)
	sw.u64s(b.nhs)
	sw.bytes(b.status)
	for _, t := range []*strTable{&b.famTab, &b.givTab} {
		sw.strs(t.strs)
		sw.strs(t.folds)
		sw.u32s(t.wOff)
		sw.u32s(t.words)
	}
	sw.strs(b.voc.words)
	sw.u32s(b.voc.tail)
	sw.u32s(b.voc.pOff)
	sw.u32s(b.voc.sOff)
	sw.u32s(b.voc.post)
	sw.u32s(b.idTab)
	sw.u32s(b.byNHS)
	sw.u32s(b.nhs3)
	sw.u32s(b.nhs3Of[:])
	sw.u32s(b.byDOB)
	sw.u32s(b.byPC)
	sw.u32s(b.byDist)
	sw.u32s(b.dups)
	ids := make([]string, 0, len(ix.opened))
	for id := range ix.opened {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sw.u64(uint64(len(ids)))
	for _, id := range ids {
		sw.u64(uint64(len(id)))
		sw.writeString(id)
		sw.align()
		sw.u64(uint64(ix.opened[id]))
	}
	sw.write(snapshotMagic)
	return sw.finish()
}

// ReadSnapshot reads an index written by WriteSnapshot.
func ReadSnapshot(r io.Reader) (*Patients, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read patient index snapshot: %w", err)
	}
	return LoadSnapshot(data)
}

// openSnapshot checks a snapshot and returns its body, 8-aligned (copied
// only when data itself is not) so arrays can be used in place.
func openSnapshot(data []byte) ([]byte, error) {
	if len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%8 != 0 {
		aligned := make([]uint64, (len(data)+7)/8)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(&aligned[0])), len(data))
		copy(buf, data)
		data = buf
	}
	return verifySnapshot(data)
}

// LoadSnapshot makes an index of a snapshot held in memory (a mapped file, say) without
// copying its arrays: data must stay mapped and unchanged for as long as the index (or
// anything it returned) is in use. Changes made afterwards go to the index's own memory,
// never into data.
func LoadSnapshot(data []byte) (*Patients, error) {
	data, err := openSnapshot(data)
	if err != nil {
		return nil, err
	}
	sr := &snapReader{data: data, max: 1 << 34}
	if magic := sr.take(len(snapshotMagic)); sr.err != nil || string(magic) != string(snapshotMagic) {
		return nil, fmt.Errorf("%w: bad header", errSnapshot)
	}
	sr.align()
	b := &patBase{}
	b.n = int(sr.u64())
	sr.max = uint64(64*b.n + 1<<16) // nothing is longer than a few entries a patient
	b.ids = sr.bytes()
	b.oddIDs = sr.strMap()
	b.fam = sr.u32s()
	b.giv = sr.u32s()
	b.dob = sr.u32s()
	b.dobOdd = sr.strMap()
	b.pcKey = sr.u64s()
	b.pcOdd = sr.strMap()
	b.pcFree = sr.u32s()
	b.nhs = sr.u64s()
	b.status = sr.bytes()
	for _, t := range []*strTable{&b.famTab, &b.givTab} {
		t.strs = sr.strs()
		t.folds = sr.strs()
		t.wOff = sr.u32s()
		t.words = sr.u32s()
	}
	b.voc.words = sr.strs()
	b.voc.tail = sr.u32s()
	b.voc.pOff = sr.u32s()
	b.voc.sOff = sr.u32s()
	b.voc.post = sr.u32s()
	b.idTab = sr.u32s()
	b.byNHS = sr.u32s()
	b.nhs3 = sr.u32s()
	nhs3Of := sr.u32s()
	b.byDOB = sr.u32s()
	b.byPC = sr.u32s()
	b.byDist = sr.u32s()
	b.dups = sr.u32s()
	opened := make(map[string]int64)
	for i, n := 0, sr.count(); i < n && sr.err == nil; i++ {
		l := sr.count()
		if l > 1<<10 {
			sr.err = fmt.Errorf("%w: id of %d bytes", errSnapshot, l)
			break
		}
		id := string(sr.take(l))
		sr.align()
		opened[id] = int64(sr.u64())
	}
	if tail := sr.take(len(snapshotMagic)); sr.err == nil && string(tail) != string(snapshotMagic) {
		sr.err = fmt.Errorf("%w: bad trailer", errSnapshot)
	}
	if sr.err != nil {
		return nil, fmt.Errorf("read patient index snapshot: %w", sr.err)
	}
	if err := b.check(nhs3Of); err != nil {
		return nil, err
	}
	copy(b.nhs3Of[:], nhs3Of)
	ix := NewPatients()
	ix.mu.Lock()
	ix.opened = opened
	ix.installLocked(b)
	ix.mu.Unlock()
	return ix, nil
}

// monotone reports whether offsets never decrease and end within end.
func monotone(off []uint32, end int) bool {
	for i := 1; i < len(off); i++ {
		if off[i] < off[i-1] {
			return false
		}
	}
	return len(off) > 0 && int(off[len(off)-1]) <= end
}

// check verifies the shapes and ranges a search relies on, so that a damaged snapshot
// is an error rather than a panic later.
func (b *patBase) check(nhs3Of []uint32) error {
	n := b.n
	bad := func(what string) error { return fmt.Errorf("%w: %s", errSnapshot, what) }
	if len(b.ids) != 16*n || len(b.fam) != n || len(b.giv) != n || len(b.dob) != n || len(b.pcKey) != n || len(b.nhs) != n || len(b.status) != n {
		return bad("record arrays")
	}
	if len(nhs3Of) != 1001 {
		return bad("NHS groups")
	}
	for _, t := range []*strTable{&b.famTab, &b.givTab} {
		if len(t.folds) != len(t.strs) || len(t.wOff) != len(t.strs)+1 || t.wOff[len(t.strs)] != uint32(len(t.words)) || !monotone(t.wOff, len(t.words)) {
			return bad("name tables")
		}
		for _, w := range t.words {
			if int(w&^primaryBit) >= len(b.voc.words) {
				return bad("word ids")
			}
		}
	}
	for i := 0; i < n; i++ {
		if int(b.fam[i]) >= len(b.famTab.strs) || int(b.giv[i]) >= len(b.givTab.strs) {
			return bad("name ids")
		}
	}
	nw := len(b.voc.words)
	if len(b.voc.tail) != nw || len(b.voc.pOff) != nw+1 || len(b.voc.sOff) != nw+1 || b.voc.sOff[nw] != uint32(len(b.voc.post)) ||
		!monotone(b.voc.pOff, len(b.voc.post)) || !monotone(b.voc.sOff, len(b.voc.post)) {
		return bad("vocabulary")
	}
	for _, w := range b.voc.tail {
		if int(w) >= nw {
			return bad("vocabulary")
		}
	}
	if len(b.byDist) != len(b.byPC) {
		return bad("postcode lists")
	}
	for _, l := range [][]uint32{b.voc.post, b.byNHS, b.nhs3, b.byDOB, b.byPC, b.byDist, b.pcFree, b.dups} {
		for _, r := range l {
			if int(r) >= n {
				return bad("posting lists")
			}
		}
	}
	if nhs3Of[1000] != uint32(len(b.nhs3)) || !monotone(nhs3Of, len(b.nhs3)) {
		return bad("NHS groups")
	}
	if len(b.idTab) == 0 || len(b.idTab)&(len(b.idTab)-1) != 0 {
		return bad("id table")
	}
	for _, x := range b.idTab {
		if int(x) > n {
			return bad("id table")
		}
	}
	return nil
}

// WriteSnapshotFile writes header then a snapshot to path atomically: a
// temporary file beside it (owner-only), renamed over path when complete, so
// a reader never maps a half-written snapshot.
func WriteSnapshotFile(path string, header []byte, snapshot func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".snap-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	bw.Write(header)
	if err := snapshot(bw); err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
