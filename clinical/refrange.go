package clinical

import (
	"errors"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// A result is read against a normal range: the laboratory's when it sent
// one, else the adult reference interval of the observables table where
// its cited source states one (labelled as the table's, so no one takes it
// for the laboratory's). Where neither exists there is no range and no
// computed flag: none is made up.

// ResultRange is the range a result is read against and whose it is.
type ResultRange struct {
	record.ReferenceRange
	// Lab is true for the laboratory's own range; otherwise Source cites
	// the table's.
	Lab    bool
	Source string
}

// Label is the range as a table cell: "3.5-5.3" for the laboratory's,
// "3.5-5.3 (ref table)" for the table's.
func (r *ResultRange) Label() string {
	if r == nil {
		return ""
	}
	s := r.ReferenceRange.String()
	if !r.Lab {
		s += " (ref table)"
	}
	return s
}

// RangeOf is the range a result is read against, or nil.
func RangeOf(o *record.Observation) *ResultRange {
	if o.ReferenceRange != nil && (o.ReferenceRange.Low != nil || o.ReferenceRange.High != nil || o.ReferenceRange.Text != "") {
		return &ResultRange{ReferenceRange: *o.ReferenceRange, Lab: true}
	}
	if o.Value == nil || o.IsBP() {
		return nil
	}
	ob := observables.Lookup(o.Code.System, o.Code.Code)
	if ob == nil {
		return nil
	}
	row := ob.row(o.Unit, "")
	if row == nil || row.Reference == nil {
		return nil
	}
	r := row.Reference
	return &ResultRange{ReferenceRange: record.ReferenceRange{Low: r.Low, High: r.High}, Source: r.Source + ", " + r.Section}
}

// ResultFlag is a result's abnormal flag: the laboratory's as sent (H, L,
// HH, LL, A…; none for normal), else H or L against the range it is read
// against, else "" (normal, or nothing to read it against).
func ResultFlag(o *record.Observation) string {
	if f := strings.ToUpper(strings.TrimSpace(o.Interpretation)); !record.NormalFlags[f] {
		return f
	}
	r := RangeOf(o)
	if r == nil || o.Value == nil {
		return ""
	}
	switch v := *o.Value; {
	case r.Low != nil && v < *r.Low:
		return "L"
	case r.High != nil && v > *r.High:
		return "H"
	}
	return ""
}

func checkReference(r *TableReference, u *UnitRange) error {
	if r.Low == nil && r.High == nil {
		return errors.New("low or high is required")
	}
	if r.Low != nil && r.High != nil && *r.Low > *r.High {
		return errors.New("low is above high")
	}
	if strings.TrimSpace(r.Source) == "" || strings.TrimSpace(r.Section) == "" {
		return errors.New("a reference interval cites its source and section")
	}
	if _, err := time.Parse(record.DateLayout, r.Date); err != nil {
		return errors.New("date must be YYYY-MM-DD")
	}
	for _, x := range []*float64{r.Low, r.High} {
		if x != nil && u.Implausible.outside(*x) {
			return errors.New("the interval must lie inside the implausible range")
		}
	}
	return nil
}
