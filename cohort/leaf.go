package cohort

import (
	"strconv"

	"github.com/opengpsoc/gpsoc/record"
)

// Evidence is an entry that decided a criterion, as explanations and the
// "values that matched" show it.
type Evidence struct {
	Role      string      `json:"role"` // latest, first, resolved by, value, medicine, not resolved
	Kind      record.Kind `json:"kind,omitempty"`
	ID        string      `json:"id,omitempty"`
	Code      record.Code `json:"code,omitzero"`
	Date      string      `json:"date,omitempty"`
	Value     string      `json:"value,omitempty"`
	Note      string      `json:"note,omitempty"`
	Sensitive bool        `json:"sensitive,omitempty"`
}

// leafCtx tests one clinical criterion patient by patient.
type leafCtx struct {
	r      *Run
	d      *Def
	n      *Node
	cs, rs []bool
	lo, hi int32
}

func (c *leafCtx) prepare() error {
	var err error
	n := c.n
	meds := n.Op == OpMedCurrent || n.Op == OpMedIssued
	if len(n.Set) > 0 {
		if c.cs, err = c.r.e.codeSet(c.d, n.Set, meds); err != nil {
			return err
		}
	}
	if len(n.Resolved) > 0 {
		if c.rs, err = c.r.e.codeSet(c.d, n.Resolved, false); err != nil {
			return err
		}
	}
	c.lo, c.hi = c.r.bounds(n.Period)
	return nil
}

func (c *leafCtx) entryEv(i int32, role string) Evidence {
	ix := c.r.e.ix
	ev := Evidence{Role: role, Kind: kindOf[ix.eKind[i]], Date: DayString(ix.eDay[i]), Sensitive: ix.eSens[i],
		Code: ix.code(ix.eCode[i])}
	ev.ID = ix.refID(ix.eRef, i)
	return ev
}

func (ix *Index) code(c int32) record.Code {
	return record.Code{System: ix.CodeSys[c], Code: ix.CodeVal[c], Display: ix.CodeName[c]}
}

// positive decides the criterion without its negation (has no code is the
// complement); ev, when not nil, collects the entries that decided it.
func (c *leafCtx) positive(p int32, ev *[]Evidence) bool {
	switch c.n.Op {
	case OpHas:
		return c.has(p, ev)
	case OpValue:
		return c.value(p, ev)
	case OpMedCurrent, OpMedIssued:
		return c.med(p, ev)
	}
	return false
}

func (c *leafCtx) has(p int32, ev *[]Evidence) bool {
	ix, R := c.r.e.ix, c.r.R
	from, to := ix.patE[p], ix.patE[p+1]
	chosen := int32(-1)
	switch c.n.Which {
	case "first":
		for i := from; i < to && ix.eDay[i] <= R; i++ {
			if c.cs[ix.eCode[i]] {
				chosen = i
				break
			}
		}
		if chosen >= 0 && (ix.eDay[chosen] < c.lo || ix.eDay[chosen] > c.hi) {
			if ev != nil {
				e := c.entryEv(chosen, "first")
				e.Note = "the first entry is outside the period"
				*ev = append(*ev, e)
			}
			return false
		}
	case "latest":
		for i := to - 1; i >= from; i-- {
			if ix.eDay[i] <= R && c.cs[ix.eCode[i]] {
				chosen = i
				break
			}
		}
		if chosen >= 0 && (ix.eDay[chosen] < c.lo || ix.eDay[chosen] > c.hi) {
			if ev != nil {
				e := c.entryEv(chosen, "latest")
				e.Note = "the latest entry is outside the period"
				*ev = append(*ev, e)
			}
			return false
		}
	default:
		for i := to - 1; i >= from; i-- {
			if d := ix.eDay[i]; d <= c.hi && d >= c.lo && c.cs[ix.eCode[i]] {
				chosen = i
				break
			}
		}
	}
	if chosen < 0 {
		return false
	}
	role := "latest"
	if c.n.Which == "first" {
		role = "first"
	}
	if c.rs == nil {
		if ev != nil {
			*ev = append(*ev, c.entryEv(chosen, role))
		}
		return true
	}
	// resolved by: any resolving entry on or after the chosen one's day ends it
	day := ix.eDay[chosen]
	for i := to - 1; i >= from && ix.eDay[i] >= day; i-- {
		if ix.eDay[i] <= R && c.rs[ix.eCode[i]] {
			if ev != nil {
				*ev = append(*ev, c.entryEv(chosen, role))
				e := c.entryEv(i, "resolved by")
				e.Note = "a resolving code on or after the diagnosis ends it"
				*ev = append(*ev, e)
			}
			return false
		}
	}
	if ev != nil {
		*ev = append(*ev, c.entryEv(chosen, role))
	}
	return true
}

func (c *leafCtx) value(p int32, ev *[]Evidence) bool {
	ix, n := c.r.e.ix, c.n
	bp := n.Which != "value"
	from, to := ix.patO[p], ix.patO[p+1]
	for i := to - 1; i >= from; i-- {
		d := ix.oDay[i]
		if d > c.hi {
			continue
		}
		if d < c.lo {
			break
		}
		if c.cs != nil && !c.cs[ix.oCode[i]] {
			continue
		}
		if c.cs == nil && ix.oHas[i]&2 == 0 {
			continue
		}
		// the latest matching observation decides
		e := Evidence{Role: "latest " + n.Which, Kind: record.KindObservation, Date: DayString(d),
			Sensitive: ix.oSens[i], Code: ix.code(ix.oCode[i])}
		e.ID = ix.refID(ix.oRef, i)
		unit := ix.units[ix.oUnit[i]]
		ok := false
		switch {
		case bp && ix.oHas[i]&2 == 0:
			e.Note = "not a blood pressure"
		case !bp && ix.oHas[i]&1 == 0:
			e.Note = "no number recorded"
		case n.Unit != "" && normUnit(n.Unit) != normUnit(unit):
			e.Note = "unit " + strconv.Quote(unit) + ", not " + strconv.Quote(n.Unit)
		}
		if e.Note == "" {
			switch n.Which {
			case "value":
				e.Value = fmtNum(ix.oVal[i])
				ok = n.Cmp == "" || compare(ix.oVal[i], n.Cmp, n.V1, n.V2)
			case "systolic":
				e.Value = fmtNum(ix.oSys[i])
				ok = n.Cmp == "" || compare(ix.oSys[i], n.Cmp, n.V1, n.V2)
			case "diastolic":
				e.Value = fmtNum(ix.oDia[i])
				ok = n.Cmp == "" || compare(ix.oDia[i], n.Cmp, n.V1, n.V2)
			case "bp":
				e.Value = fmtNum(ix.oSys[i]) + "/" + fmtNum(ix.oDia[i])
				ok = n.Cmp == "" || compare(ix.oSys[i], n.Cmp, n.V1, n.V2) && compare(ix.oDia[i], n.Cmp, n.D1, n.D2)
			}
			if unit != "" {
				e.Value += " " + unit
			}
		}
		if ev != nil {
			*ev = append(*ev, e)
		}
		return ok
	}
	return false
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// acuteDays is how long an acute medicine stays current after its last
// issue: 3 months (docs/search.md).
const acuteMonths = 3

func (c *leafCtx) med(p int32, ev *[]Evidence) bool {
	ix, R := c.r.e.ix, c.r.R
	from, to := ix.patM[p], ix.patM[p+1]
	for m := to - 1; m >= from; m-- {
		if !c.cs[ix.mCode[m]] || ix.mStart[m] > R {
			continue
		}
		iss := ix.issueDay[ix.mIss[m]:ix.mIss[m+1]]
		ok := false
		when := ix.mStart[m]
		switch c.n.Op {
		case OpMedCurrent:
			if ix.mStop[m] <= R {
				continue
			}
			ok = true
			if ix.mType[m] == 0 { // acute: current for 3 months after its last issue
				last := ix.mStart[m]
				for _, d := range iss {
					if d <= R && d > last {
						last = d
					}
				}
				when = last
				ok = last > addUnits(R, -acuteMonths, "month")
			}
		case OpMedIssued:
			for j := len(iss) - 1; j >= 0; j-- {
				if iss[j] >= c.lo && iss[j] <= c.hi {
					ok, when = true, iss[j]
					break
				}
			}
			if len(iss) == 0 && ix.mType[m] == 2 && ix.mStart[m] >= c.lo && ix.mStart[m] <= c.hi {
				ok = true // recorded elsewhere: its date stands for the issue
			}
		}
		if !ok {
			continue
		}
		if ev != nil {
			e := Evidence{Role: "medicine", Kind: record.KindMedication, Date: DayString(when), Sensitive: ix.mSens[m],
				Code: ix.code(ix.mCode[m])}
			e.ID = ix.refID(ix.mRef, m)
			*ev = append(*ev, e)
		}
		return true
	}
	return false
}
