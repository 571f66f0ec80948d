package find

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// rowVersion is the first byte of an encoded patient row.
const rowVersion = 1

// EncodePatientRow encodes the searchable fields of p compactly for the practice file's
// "search" bucket (the key is the id, which is not repeated in the row): a version byte,
// the status, then family, given, birth date, NHS number and postcode, each as a uvarint
// length and its bytes.
func EncodePatientRow(p Patient) []byte {
	n := 2 + len(p.Family) + len(p.Given) + len(p.BirthDate) + len(p.NHS) + len(p.Postcode) + 5*binary.MaxVarintLen32
	b := make([]byte, 0, n)
	b = append(b, rowVersion, p.Status)
	for _, s := range [...]string{p.Family, p.Given, p.BirthDate, p.NHS, p.Postcode} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errRow = errors.New("malformed search row")

// DecodePatientRow decodes a row written by EncodePatientRow.
func DecodePatientRow(id string, row []byte) (Patient, error) {
	p := Patient{ID: id}
	if len(row) < 2 {
		return p, fmt.Errorf("search row %s: %w: %d bytes", id, errRow, len(row))
	}
	if row[0] != rowVersion {
		return p, fmt.Errorf("search row %s: %w: version %d", id, errRow, row[0])
	}
	p.Status = row[1]
	row = row[2:]
	var fields [5]string
	for i := range fields {
		l, k := binary.Uvarint(row)
		if k <= 0 || uint64(len(row)-k) < l {
			return p, fmt.Errorf("search row %s: %w: field %d", id, errRow, i)
		}
		fields[i] = string(row[k : k+int(l)])
		row = row[k+int(l):]
	}
	if len(row) != 0 {
		return p, fmt.Errorf("search row %s: %w: %d trailing bytes", id, errRow, len(row))
	}
	p.Family, p.Given, p.BirthDate, p.NHS, p.Postcode = fields[0], fields[1], fields[2], fields[3], fields[4]
	return p, nil
}
