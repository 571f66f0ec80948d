package find

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// PatientLoader builds a patient index straight from the rows of the practice file's
// "search" bucket (EncodePatientRow), without decoding each row into a Patient first:
// for a million rows that saves millions of small allocations at start-up.
//
//	l := find.NewPatientLoader(n)
//	c.ForEach(func(k, v []byte) error { return l.Add(k, v) }) // inside the read transaction
//	ix := l.Build()
//
// Add does not keep k or v, so bbolt's memory may be passed as is.
type PatientLoader struct {
	pb *patBuilder
	n  int
}

// NewPatientLoader starts a loader; sizeHint is the expected number of rows.
func NewPatientLoader(sizeHint int) *PatientLoader {
	pb := newPatBuilder(max(sizeHint, 0))
	return &PatientLoader{pb: pb}
}

// transient views bytes as a string without copying; only for values that are parsed
// or looked up, never kept (patBuilder copies what it keeps).
func transient(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Add adds one row; key is the patient id.
func (l *PatientLoader) Add(key, row []byte) error {
	if len(row) < 2 || row[0] != rowVersion {
		return fmt.Errorf("search row %s: %w", key, errRow)
	}
	status := row[1]
	rest := row[2:]
	var f [5][]byte
	for i := range f {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return fmt.Errorf("search row %s: %w: field %d", key, errRow, i)
		}
		f[i] = rest[k : k+int(n)]
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return fmt.Errorf("search row %s: %w: trailing bytes", key, errRow)
	}
	pb := l.pb
	i := l.n
	if i >= pb.n {
		pb.grow()
	}
	l.n++
	pb.famT[i] = pb.famI.idBytes(f[0])
	pb.givT[i] = pb.givI.idBytes(f[1])
	pb.setID(i, transient(key))
	pb.setDOB(i, transient(f[2]))
	pb.nhs[i] = nhsValue(transient(f[3]))
	pb.setPostcode(i, transient(f[4]))
	pb.status[i] = status
	return nil
}

// Build finishes the index. The loader must not be used afterwards.
func (l *PatientLoader) Build() *Patients {
	pb := l.pb
	if l.n < pb.n {
		pb.n = l.n
		pb.famT, pb.givT, pb.ids = pb.famT[:l.n], pb.givT[:l.n], pb.ids[:16*l.n]
		pb.dob, pb.pcKey, pb.nhs, pb.status = pb.dob[:l.n], pb.pcKey[:l.n], pb.nhs[:l.n], pb.status[:l.n]
	}
	ix := NewPatients()
	ix.installLocked(pb.finish())
	l.pb = nil
	return ix
}
