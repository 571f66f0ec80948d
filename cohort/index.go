package cohort

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Index is the compact form of a practice that searches run over: per
// patient, the demographics that population criteria read, and the coded
// entries, observations and medicines, each sorted by date. Codes are small
// integers; dates are day numbers. It is built once (one scan of the record)
// and read by any number of searches; it is never changed after Build, so
// searches may share it across goroutines.
type Index struct {
	Patients []PatientRow
	byID     map[string]int32
	// Records is how many records were read into it (patients included).
	Records int

	// codes interned: system|code
	codeKey  map[string]int32
	CodeSys  []string
	CodeVal  []string
	CodeName []string // a display seen in the record

	// coded entries in patient order (by day within a patient)
	ePat, eCode, eDay []int32
	eKind             []uint8
	eSens             []bool
	eRef              []int32 // index into refs, or -1 (nil unless the index keeps refs)
	patE              []int32 // patient p's entries are [patE[p], patE[p+1])
	byCode            []int32 // entry indices ordered by code
	codeE             []int32 // code c's entries are byCode[codeE[c]:codeE[c+1]]

	// observations with a value, in patient order (by day)
	oPat, oCode, oDay, oUnit []int32
	oVal, oSys, oDia         []float64
	oHas                     []uint8 // hasValue, hasBP, hasSys, hasDia
	oSens                    []bool
	oRef                     []int32
	patO                     []int32
	units                    []string
	unitKey                  map[string]int32
	bpPats                   []int32 // patients with any blood pressure

	// medicines in patient order
	mPat, mCode, mStart, mStop []int32
	mType                      []uint8 // 0 acute, 1 repeat, 2 elsewhere
	mIss                       []int32 // issues of m are issueDay[mIss[m]:mIss[m+1]], sorted
	issueDay                   []int32
	mSens                      []bool
	mRef                       []int32
	patM                       []int32
	byMedCode, medCodeE        []int32

	refs []Ref // what an explanation names, in one-patient indexes
}

// PatientRow is what a search prints and what population criteria read.
type PatientRow struct {
	ID        string
	Name      string
	NHSNumber string
	BirthDate string
	Sex       string
	Status    string
	Sensitive bool
	birth     int32
	birthYMD  int32 // YYYYMMDD, for whole-year ages
	regStart  int32
	left      int32
	died      int32
}

// Ref names a record an explanation shows.
type Ref struct {
	Kind record.Kind
	ID   string
}

// Entry kinds, as explanations name them.
const (
	kProblem uint8 = iota
	kConsult
	kObs
	kImm
	kAllergy
	kMed
)

var kindOf = []record.Kind{record.KindProblem, record.KindConsultation, record.KindObservation,
	record.KindImmunisation, record.KindAllergy, record.KindMedication}

const noDay = math.MaxInt32

// uk is the practice's time zone: a date is the day in the UK.
var uk = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

// Day is a day number (days since 1970-01-01).
func Day(t time.Time) int32 {
	y, m, d := t.In(uk).Date()
	return civilDay(y, int(m), d)
}

func civilDay(y, m, d int) int32 {
	return int32(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// parseDay reads YYYY-MM-DD; ok false when it is not a date.
func parseDay(s string) (int32, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	n := func(a string) int {
		v := 0
		for _, c := range a {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m, d := n(s[:4]), n(s[5:7]), n(s[8:10])
	if y < 0 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	return civilDay(y, m, d), true
}

// DayString formats a day number.
func DayString(d int32) string {
	if d == noDay || d == -noDay {
		return ""
	}
	return time.Unix(int64(d)*86400, 0).UTC().Format(record.DateLayout)
}

// Builder collects records into an Index.
type Builder struct {
	keepRefs bool
	ix       *Index
	ents     []rawEntry
	obs      []rawObs
	meds     []rawMed
}

type rawEntry struct {
	pat, code, day, ref int32
	kind                uint8
	sens                bool
}

type rawObs struct {
	pat, code, day, unit, ref int32
	val, sys, dia             float64
	at                        int64  // effective time: the order within a day
	tie                       uint64 // then a hash of the record id: the same order every run
	has                       uint8
	sens                      bool
}

// oHas bits.
const (
	hasValue uint8 = 1 << iota // a number
	hasBP                      // a blood pressure (systolic, diastolic or both)
	hasSys
	hasDia
)

// idHash orders records of the same moment the same way every run.
func idHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return h
}

type rawMed struct {
	pat, code, start, stop, ref int32
	typ                         uint8
	issues                      []int32
	sens                        bool
}

// NewBuilder starts an index; keepRefs keeps each entry's record id (for
// explanations over a one-patient index).
func NewBuilder(keepRefs bool) *Builder {
	return &Builder{keepRefs: keepRefs, ix: &Index{byID: map[string]int32{}, codeKey: map[string]int32{},
		unitKey: map[string]int32{}}}
}

func (b *Builder) patient(id string) int32 {
	if n, ok := b.ix.byID[id]; ok {
		return n
	}
	// a record whose patient has not been seen yet: a placeholder row the
	// patient record fills in (records may arrive in any kind order)
	n := int32(len(b.ix.Patients))
	b.ix.Patients = append(b.ix.Patients, PatientRow{ID: id, birth: noDay, regStart: -noDay, left: noDay, died: noDay})
	b.ix.byID[id] = n
	return n
}

func (b *Builder) code(c record.Code) int32 {
	key := c.System + "|" + c.Code
	if n, ok := b.ix.codeKey[key]; ok {
		if b.ix.CodeName[n] == "" {
			b.ix.CodeName[n] = c.Display
		}
		return n
	}
	n := int32(len(b.ix.CodeSys))
	b.ix.codeKey[key] = n
	b.ix.CodeSys = append(b.ix.CodeSys, c.System)
	b.ix.CodeVal = append(b.ix.CodeVal, c.Code)
	b.ix.CodeName = append(b.ix.CodeName, c.Display)
	return n
}

func (b *Builder) ref(k record.Kind, id string) int32 {
	if !b.keepRefs {
		return -1
	}
	b.ix.refs = append(b.ix.refs, Ref{Kind: k, ID: id})
	return int32(len(b.ix.refs) - 1)
}

func (b *Builder) entry(pat int32, c record.Code, day int32, kind uint8, sens bool, ref int32) {
	if c.Code == "" {
		return
	}
	b.ents = append(b.ents, rawEntry{pat: pat, code: b.code(c), day: day, kind: kind, sens: sens, ref: ref})
}

func dayOr(s string, t time.Time) int32 {
	if d, ok := parseDay(s); ok {
		return d
	}
	return Day(t)
}

// Add takes one record (the current version). Entries entered in error are
// left out here, once, so that no criterion can count them.
func (b *Builder) Add(e record.Entity) {
	m := e.Head()
	if m.Status == record.StatusEnteredInError {
		return
	}
	b.ix.Records++
	switch r := e.(type) {
	case *record.Patient:
		n := b.patient(r.ID)
		row := &b.ix.Patients[n]
		row.Name, row.NHSNumber, row.BirthDate, row.Sex, row.Status, row.Sensitive =
			r.Name(), r.NHSNumber, r.BirthDate, r.Sex, r.Status, r.Sensitive
		if d, ok := parseDay(r.BirthDate); ok {
			row.birth = d
			t := time.Unix(int64(d)*86400, 0).UTC()
			row.birthYMD = int32(t.Year()*10000 + int(t.Month())*100 + t.Day())
		}
		row.regStart = -noDay
		if d, ok := parseDay(r.Registration.RegisteredOn); ok {
			row.regStart = d
		}
		row.left, row.died = noDay, noDay
		if d, ok := parseDay(r.Registration.LeftOn); ok {
			row.left = d
		} else if r.Status == record.PatientLeft {
			row.left = -noDay + 1 // left, date unknown: never registered on any date we can check
		}
		if d, ok := parseDay(r.Registration.DeceasedOn); ok {
			row.died = d
		} else if r.Status == record.PatientDeceased {
			row.died = -noDay + 1
		}
	case *record.Problem:
		p := b.patient(r.PatientID)
		b.entry(p, r.Code, dayOr(r.Onset, r.RecordedAt), kProblem, r.Sensitive, b.ref(record.KindProblem, r.ID))
	case *record.Consultation:
		p := b.patient(r.PatientID)
		d := Day(r.Start)
		ref := int32(-1)
		if len(r.Entries) > 0 {
			ref = b.ref(record.KindConsultation, r.ID)
		}
		for _, en := range r.Entries {
			b.entry(p, en.Code, d, kConsult, r.Sensitive, ref)
			if en.Mapped != nil {
				b.entry(p, *en.Mapped, d, kConsult, r.Sensitive, ref)
			}
		}
	case *record.Observation:
		p := b.patient(r.PatientID)
		d := Day(r.Effective)
		ref := b.ref(record.KindObservation, r.ID)
		b.entry(p, r.Code, d, kObs, r.Sensitive, ref)
		if r.ValueCode != nil {
			b.entry(p, *r.ValueCode, d, kObs, r.Sensitive, ref)
		}
		o := rawObs{pat: p, code: b.code(r.Code), day: d, unit: b.unit(r.Unit), ref: ref, sens: r.Sensitive,
			at: r.Effective.UnixNano(), tie: idHash(r.ID)}
		if r.Value != nil {
			o.val, o.has = *r.Value, hasValue
		}
		// A blood pressure missing one of its numbers is still the latest
		// blood pressure: it decides, and fails (an older one never stands in).
		if r.Systolic != nil {
			o.sys, o.has = *r.Systolic, o.has|hasBP|hasSys
		}
		if r.Diastolic != nil {
			o.dia, o.has = *r.Diastolic, o.has|hasBP|hasDia
		}
		b.obs = append(b.obs, o)
	case *record.Immunisation:
		p := b.patient(r.PatientID)
		b.entry(p, r.Code, dayOr(r.Date, r.RecordedAt), kImm, r.Sensitive, b.ref(record.KindImmunisation, r.ID))
	case *record.Allergy:
		p := b.patient(r.PatientID)
		d := dayOr(r.Onset, r.RecordedAt)
		ref := b.ref(record.KindAllergy, r.ID)
		b.entry(p, r.Agent, d, kAllergy, r.Sensitive, ref)
		if r.Finding != nil {
			b.entry(p, *r.Finding, d, kAllergy, r.Sensitive, ref)
		}
	case *record.Medication:
		p := b.patient(r.PatientID)
		md := rawMed{pat: p, code: b.code(r.Code), ref: b.ref(record.KindMedication, r.ID), sens: r.Sensitive, stop: noDay}
		md.start = dayOr(r.AuthorisedOn, r.RecordedAt)
		if d, ok := parseDay(r.StoppedOn); ok {
			md.stop = d
		} else if r.Status == "stopped" {
			md.stop = Day(r.RecordedAt) // stopped without a date: from when the stop was recorded
		}
		switch r.Type {
		case "repeat":
			md.typ = 1
		case record.MedElsewhere:
			md.typ = 2
		}
		for _, is := range r.Issues {
			md.issues = append(md.issues, Day(is.At))
		}
		sort.Slice(md.issues, func(i, j int) bool { return md.issues[i] < md.issues[j] })
		b.meds = append(b.meds, md)
	}
}

func (b *Builder) unit(u string) int32 {
	if n, ok := b.ix.unitKey[u]; ok {
		return n
	}
	n := int32(len(b.ix.units))
	b.ix.unitKey[u] = n
	b.ix.units = append(b.ix.units, u)
	return n
}

// normUnit compares units ignoring case and spaces; mm[Hg] is mmHg.
func normUnit(u string) string {
	u = strings.ToLower(strings.ReplaceAll(u, " ", ""))
	return strings.ReplaceAll(strings.ReplaceAll(u, "[", ""), "]", "")
}

// Build sorts what was added into the index.
func (b *Builder) Build() *Index {
	ix := b.ix
	np := len(ix.Patients)
	nc := len(ix.CodeSys)
	// coded entries: by patient, then day
	b.ents = byPatient(b.ents, np, func(e *rawEntry) int32 { return e.pat }, func(a, c *rawEntry) bool { return a.day < c.day })
	n := len(b.ents)
	ix.ePat, ix.eCode, ix.eDay = make([]int32, n), make([]int32, n), make([]int32, n)
	ix.eKind, ix.eSens = make([]uint8, n), make([]bool, n)
	if b.keepRefs { // record ids only where an explanation names them: memory at 1M patients
		ix.eRef = make([]int32, n)
	}
	for i, e := range b.ents {
		ix.ePat[i], ix.eCode[i], ix.eDay[i], ix.eKind[i], ix.eSens[i] = e.pat, e.code, e.day, e.kind, e.sens
		if b.keepRefs {
			ix.eRef[i] = e.ref
		}
	}
	ix.patE = offsets(ix.ePat, np)
	ix.byCode, ix.codeE = invert(ix.eCode, nc)
	b.ents = nil

	b.obs = byPatient(b.obs, np, func(o *rawObs) int32 { return o.pat }, func(a, c *rawObs) bool {
		if a.day != c.day {
			return a.day < c.day
		}
		if a.at != c.at {
			return a.at < c.at
		}
		return a.tie < c.tie
	})
	n = len(b.obs)
	ix.oPat, ix.oCode, ix.oDay, ix.oUnit = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	ix.oVal, ix.oSys, ix.oDia = make([]float64, n), make([]float64, n), make([]float64, n)
	ix.oHas, ix.oSens = make([]uint8, n), make([]bool, n)
	if b.keepRefs {
		ix.oRef = make([]int32, n)
	}
	last := int32(-1)
	for i, o := range b.obs {
		ix.oPat[i], ix.oCode[i], ix.oDay[i], ix.oUnit[i] = o.pat, o.code, o.day, o.unit
		ix.oVal[i], ix.oSys[i], ix.oDia[i], ix.oHas[i], ix.oSens[i] = o.val, o.sys, o.dia, o.has, o.sens
		if b.keepRefs {
			ix.oRef[i] = o.ref
		}
		if o.has&hasBP != 0 && o.pat != last {
			ix.bpPats = append(ix.bpPats, o.pat)
			last = o.pat
		}
	}
	ix.patO = offsets(ix.oPat, np)
	b.obs = nil

	b.meds = byPatient(b.meds, np, func(m *rawMed) int32 { return m.pat }, func(a, c *rawMed) bool { return a.start < c.start })
	n = len(b.meds)
	ix.mPat, ix.mCode, ix.mStart, ix.mStop = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	ix.mType, ix.mSens, ix.mIss = make([]uint8, n), make([]bool, n), make([]int32, n+1)
	if b.keepRefs {
		ix.mRef = make([]int32, n)
	}
	for i, m := range b.meds {
		ix.mPat[i], ix.mCode[i], ix.mStart[i], ix.mStop[i] = m.pat, m.code, m.start, m.stop
		ix.mType[i], ix.mSens[i] = m.typ, m.sens
		if b.keepRefs {
			ix.mRef[i] = m.ref
		}
		ix.mIss[i] = int32(len(ix.issueDay))
		ix.issueDay = append(ix.issueDay, m.issues...)
	}
	ix.mIss[n] = int32(len(ix.issueDay))
	ix.patM = offsets(ix.mPat, np)
	ix.byMedCode, ix.medCodeE = invert(ix.mCode, nc)
	b.meds = nil
	b.ix = nil
	return ix
}

// offsets turns a sorted owner column into start offsets per owner.
func offsets(owner []int32, n int) []int32 {
	off := make([]int32, n+1)
	for _, o := range owner {
		off[o+1]++
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	return off
}

// invert orders row indices by key (a counting sort, stable: rows of a key
// stay in patient order).
func invert(key []int32, n int) (rows, off []int32) {
	off = make([]int32, n+1)
	for _, k := range key {
		off[k+1]++
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	rows = make([]int32, len(key))
	next := append([]int32(nil), off[:n]...)
	for i, k := range key {
		rows[next[k]] = int32(i)
		next[k]++
	}
	return rows, off
}

// Len is the number of patients.
func (ix *Index) Len() int { return len(ix.Patients) }

// Lookup finds a patient's number by id.
func (ix *Index) Lookup(id string) (int, bool) {
	n, ok := ix.byID[id]
	return int(n), ok
}

// refID is the record id of ref column refs at i ("" when not kept).
func (ix *Index) refID(refs []int32, i int32) string {
	if refs == nil || refs[i] < 0 {
		return ""
	}
	return ix.refs[refs[i]].ID
}

// byPatient orders rows by patient, then by less (stable: rows equal under
// less keep the order they were added in): a counting sort by patient, then
// a sort of each patient's few rows. At a million patients a comparison sort
// of tens of millions of rows would cost seconds.
func byPatient[T any](rows []T, np int, pat func(*T) int32, less func(a, b *T) bool) []T {
	off := make([]int32, np+1)
	for i := range rows {
		off[pat(&rows[i])+1]++
	}
	for i := 1; i <= np; i++ {
		off[i] += off[i-1]
	}
	out := make([]T, len(rows))
	next := append([]int32(nil), off[:np]...)
	for i := range rows {
		p := pat(&rows[i])
		out[next[p]] = rows[i]
		next[p]++
	}
	for p := 0; p < np; p++ {
		seg := out[off[p]:off[p+1]]
		sort.SliceStable(seg, func(i, j int) bool { return less(&seg[i], &seg[j]) })
	}
	return out
}
