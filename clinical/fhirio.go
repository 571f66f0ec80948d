package clinical

// FHIR R4 (UK Core) export and import (issue 9, design.md §5). The mapping
// itself is in fhir/; this file reads and writes the store: exports gather a
// patient's record or the whole practice, imports write each bundle in one
// transaction with one audit event per record written.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/find"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ---- export ----

// exportKinds are the record kinds a FHIR export carries (sessions as
// Schedules: they belong to no patient, so a patient's own bundle has none).
var exportKinds = []record.Kind{record.KindPatient, record.KindConsultation, record.KindProblem, record.KindObservation,
	record.KindMedication, record.KindAllergy, record.KindImmunisation, record.KindAppointment, record.KindTask, record.KindRecall,
	record.KindSession}

func exportedKind(k record.Kind) bool {
	for _, x := range exportKinds {
		if x == k {
			return true
		}
	}
	return false
}

func (s *Service) fhirContext(tx store.Tx) (*fhir.Context, []record.User, error) {
	pr, err := tx.Practice()
	if err != nil {
		return nil, nil, err
	}
	users, err := tx.Users()
	if err != nil {
		return nil, nil, err
	}
	c := &fhir.Context{Practice: *pr, Users: map[string]record.User{}}
	for _, u := range users {
		c.Users[u.Name] = u
	}
	return c, users, nil
}

// entityResources maps one record to its FHIR resources (and a Provenance when entered in error).
func entityResources(c *fhir.Context, e record.Entity) []fhir.Resource {
	var out []fhir.Resource
	switch x := e.(type) {
	case *record.Patient:
		out = append(out, c.PatientResource(x))
	case *record.Consultation:
		out = append(out, c.EncounterResources(x)...)
	case *record.Problem:
		out = append(out, c.ConditionResource(x))
	case *record.Observation:
		out = append(out, c.ObservationResource(x))
	case *record.Medication:
		out = append(out, c.MedicationResources(x)...)
	case *record.Allergy:
		out = append(out, c.AllergyResource(x))
	case *record.Immunisation:
		out = append(out, c.ImmunizationResource(x))
	case *record.Appointment:
		out = append(out, c.AppointmentResource(x))
	case *record.Task:
		out = append(out, c.TaskResource(x))
	case *record.Recall:
		out = append(out, c.RecallResource(x))
	case *record.Session:
		out = append(out, c.ScheduleResource(x))
	default:
		return nil
	}
	if m := e.Head(); m.Retraction != nil {
		out = append(out, c.ProvenanceResource(fhir.KindType(e.Kind()), m.ID, m.Retraction))
	}
	return out
}

// FHIRBase is the base of the fullUrls in an exported Bundle (".invalid": a
// RESTful form so relative references resolve, naming no real server).
func FHIRBase(ods string) string { return "https://gpsoc.invalid/fhir/" + ods + "/" }

// ExportFHIRPatientFor is a patient's whole record as a collection Bundle
// (with the practice's Organization and its users as Practitioners), for a
// bulk export (the bulk-export right): a sensitive record needs a reason
// (else a PermissionError, audited); the export is audited as the record
// opened for export.
func (s *Service) ExportFHIRPatientFor(ctx context.Context, ref string, ro ReadOptions) (*fhir.Bundle, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	return s.patientBundle(ctx, ref, ro, "export")
}

// EverythingFHIR is the API's Patient/$everything: the whole record read
// through the Patient read's rules. It needs the right to read the clinical
// record (an admin or a receptionist is refused, as on the journal), a
// sensitive record needs a reason, a sensitive entry is left out without
// one, and the read is audited with the reason.
func (s *Service) EverythingFHIR(ctx context.Context, ref string, ro ReadOptions) (*fhir.Bundle, error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	p, err := s.lookupPatient(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.require(ctx, ActReadClinical, p.ID); err != nil {
		return nil, err
	}
	return s.patientBundle(ctx, ref, ro, "read")
}

func (s *Service) patientBundle(ctx context.Context, ref string, ro ReadOptions, action string) (*fhir.Bundle, error) {
	ctx = store.WithAccessReason(ctx, ro.Reason)
	var res []fhir.Resource
	var pat *record.Patient
	var c *fhir.Context
	withheld := strings.TrimSpace(ro.Reason) == ""
	err := s.store().View(ctx, func(tx store.Tx) error {
		var err error
		if pat, err = resolvePatient(tx, ref); err != nil {
			return err
		}
		var users []record.User
		if c, users, err = s.fhirContext(tx); err != nil {
			return err
		}
		res = append(res, c.OrganizationResource())
		for _, u := range users {
			res = append(res, c.PractitionerResource(u))
		}
		res = append(res, entityResources(c, pat)...)
		for _, k := range exportKinds[1:] {
			if k == record.KindSession { // the practice's, not the patient's
				continue
			}
			es, err := tx.List(pat.ID, k)
			if err != nil {
				return err
			}
			for _, e := range es {
				if action == "read" && withheld && e.Head().Sensitive {
					continue // as a list leaves it out without a reason
				}
				res = append(res, entityResources(c, e)...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.opened(ctx, pat, ro, action); err != nil {
		return nil, err
	}
	return BundleOf(c, "collection", res, s.p.now())
}

// BundleOf wraps resources in a Bundle of a type, with RESTful fullUrls.
func BundleOf(c *fhir.Context, typ string, res []fhir.Resource, now time.Time) (*fhir.Bundle, error) {
	b := &fhir.Bundle{ResourceType: "Bundle", ID: uuid.NewString(), Type: typ, Timestamp: now.UTC().Format(time.RFC3339)}
	if c.Practice.Demo {
		b.Meta = &fhir.Meta{Tag: []fhir.Coding{{System: fhir.CSActReason, Code: fhir.TagDemoCode, Display: fhir.TagDemoDisplay}}}
	}
	base := FHIRBase(c.Practice.ODS)
	for _, r := range res {
		raw, err := fhir.Marshal(r)
		if err != nil {
			return nil, err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + r.FHIRType() + "/" + *r.Head().ID, Resource: raw})
	}
	return b, nil
}

// ExportCounts is how many resources of each type an export wrote.
type ExportCounts map[string]int

// ExportFHIRAll streams the whole practice as FHIR resources, type by type
// (Organization, Practitioner, Patient, the clinical records, Task for tasks
// and recalls, Provenance for entered-in-error, and AuditEvent for the whole
// audit trail): FHIR Bulk Data's content, a complete exit. Audited.
func (s *Service) ExportFHIRAll(ctx context.Context, emit func(fhir.Resource) error) (ExportCounts, error) {
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	counts := ExportCounts{}
	put := func(r fhir.Resource) error {
		counts[r.FHIRType()]++
		return emit(r)
	}
	err := s.store().View(ctx, func(tx store.Tx) error {
		c, users, err := s.fhirContext(tx)
		if err != nil {
			return err
		}
		if err := put(c.OrganizationResource()); err != nil {
			return err
		}
		for _, u := range users {
			if err := put(c.PractitionerResource(u)); err != nil {
				return err
			}
		}
		for _, k := range exportKinds {
			if err := tx.ForEach(k, func(e record.Entity) error {
				for _, r := range entityResources(c, e) {
					if err := put(r); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return tx.Audit(0, func(ev *record.AuditEvent) error {
			return put(c.AuditEventResource(ev, exportedKind))
		})
	})
	if err != nil {
		return counts, err
	}
	ev := s.event("export", "", "", "", 0)
	ev.Query = "fhir bulk"
	return counts, s.audit(ctx, ev)
}

// ---- import ----

// FHIRInput is one file (or stdin) of an import, already decompressed.
type FHIRInput struct {
	Name string
	Data []byte
}

// LoadFHIRInputs reads files and directories (every *.json, *.ndjson, and the
// same gzipped, in name order); "-" is r. Gzip is recognised by its magic.
// MaxFHIRInputBytes bounds one FHIR input file (a Bundle, or an NDJSON
// file), decompressed: each is read whole, so this bounds the memory an
// import may take, and a gzip bomb stops here with an error naming the file.
const MaxFHIRInputBytes = 1 << 30

func LoadFHIRInputs(paths []string, r io.Reader) ([]FHIRInput, error) {
	var out []FHIRInput
	tooBig := func(name string) error {
		return record.Invalid("file", name, "is larger than %d MiB (after decompression): import it in parts (a Bulk FHIR export is one file per resource type)", MaxFHIRInputBytes>>20)
	}
	add := func(name string, rd io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(rd, MaxFHIRInputBytes+1))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(b) > MaxFHIRInputBytes {
			return tooBig(name)
		}
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			// Bounded: a small .gz can expand to anything.
			if b, err = io.ReadAll(io.LimitReader(zr, MaxFHIRInputBytes+1)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if len(b) > MaxFHIRInputBytes {
				return tooBig(name)
			}
		}
		out = append(out, FHIRInput{Name: name, Data: b})
		return nil
	}
	for _, p := range paths {
		if p == "-" {
			if err := add("-", r); err != nil {
				return nil, err
			}
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			f, err := os.Open(p)
			if err != nil {
				return nil, err
			}
			err = add(p, f)
			f.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			n := strings.TrimSuffix(e.Name(), ".gz")
			if e.IsDir() || !(strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".ndjson")) {
				continue
			}
			f, err := os.Open(filepath.Join(p, e.Name()))
			if err != nil {
				return nil, err
			}
			err = add(filepath.Join(p, e.Name()), f)
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// FHIRRejection is one problem that made a bundle (or a patient's part of a bulk set) rejected.
type FHIRRejection struct {
	File      string `json:"file"`
	Entry     int    `json:"entry"` // bundle entry index from 0, or NDJSON line from 1
	Path      string `json:"path"`
	Reason    string `json:"reason"`
	patientID string
}

func (r FHIRRejection) String() string {
	return fmt.Sprintf("%s: entry %d: %s: %s", r.File, r.Entry, r.Path, r.Reason)
}

// FHIRTypeCount is what happened to the resources of one type.
type FHIRTypeCount struct {
	Imported int `json:"imported"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`
}

// FHIRSkip says why resources were skipped.
type FHIRSkip struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// FHIRImportSummary is what an import did (or, dry, would do).
type FHIRImportSummary struct {
	Imported   int                       `json:"imported"`
	Skipped    int                       `json:"skipped"`
	Rejected   int                       `json:"rejected"`
	ByType     map[string]*FHIRTypeCount `json:"byType"`
	Rejections []FHIRRejection           `json:"rejections"`
	Skips      []FHIRSkip                `json:"skips"`
	// Flagged counts what was kept but flagged (codes outside the UK terminologies, degraded codes, partial dates).
	Flagged map[string]int `json:"flagged,omitempty"`
	// RejectedBundles is how many bundles (or patients of a bulk set) were rejected.
	RejectedBundles int `json:"rejectedBundles"`
}

// FHIRImportOptions control an import.
type FHIRImportOptions struct {
	DryRun   bool
	OnReject func(FHIRRejection)
}

type outcome int

const (
	outNone outcome = iota
	outImported
	outSkipped
	outRejected
)

type fitem struct {
	file    string
	entry   int
	fullURL string
	base    string // RESTful base of fullUrl, for relative references
	res     fhir.Resource
	typ     string
	id      string // the resource's id
	fixed   bool   // skipped when read (not by the transaction, so kept if it is retried)
	raw     []byte // undecoded resource (decoded just before its unit is written)
	dres    fhir.Resource
	derr    error
	unit    *funit

	recID  string // record id this resource maps to
	kind   record.Kind
	target *ftarget // the record this resource was written into
	out    outcome
	why    string
}

// ftarget is a record to write, and the items that make it up.
type ftarget struct {
	e       record.Entity
	written bool
	same    bool
	user    *record.User
	first   *fitem
}

type funit struct {
	file     string
	items    []*fitem
	rejected bool // at parse time
	pats     []*record.Patient
	rejs     []FHIRRejection
}

type importer struct {
	s       *Service
	o       FHIRImportOptions
	sum     *FHIRImportSummary
	byFull  map[string]*fitem
	byTID   map[string]*fitem
	byIdent map[string]*fitem
	skips   map[[2]string]int

	// per practice, loaded lazily within a transaction
	patIdent  map[string]string          // system|value -> patient id
	pats      map[string]*record.Patient // patients read for the date checks (never changed by an import)
	auditSeen map[string]bool
	users     map[string]record.User
	practice  record.Practice
	written   []*record.Patient
}

var idNamespace = uuid.MustParse("5b0e6a1e-7c1c-4f0e-9a53-0b5e0f6a9d21")

// ImportFHIR imports Bundles (transaction, batch, collection, searchset…) and
// FHIR Bulk NDJSON. Each Bundle is written in one transaction, all or nothing;
// bulk NDJSON is written per patient (the patient and every record that
// refers to it). References (urn:uuid:, Type/id, absolute, conditional
// Type?identifier=system|value, and logical identifiers) resolve across every
// file of the import and against the practice. Patients are matched by NHS
// number, id and other identifiers; records by id, so a re-run changes nothing.
func (s *Service) ImportFHIR(ctx context.Context, inputs []FHIRInput, o FHIRImportOptions) (*FHIRImportSummary, error) {
	// A bulk import of history needs the bulk-import right; an API
	// transaction is not an import: the server applies each of its entries
	// by the service action a single request takes.
	if err := s.require(ctx, ActBulk, ""); err != nil {
		return nil, err
	}
	im := &importer{s: s, o: o, sum: &FHIRImportSummary{ByType: map[string]*FHIRTypeCount{}, Rejections: []FHIRRejection{}, Skips: []FHIRSkip{}},
		byFull: map[string]*fitem{}, byTID: map[string]*fitem{}, byIdent: map[string]*fitem{}, skips: map[[2]string]int{}}
	var units []*funit
	var pool []*fitem
	ps := make([]*parsed, len(inputs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ps[i] = parseGuarded(inputs[i])
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, p := range ps {
		if p.err != nil {
			return nil, p.err
		}
		for _, r := range p.rejs {
			im.reject(r)
		}
		im.sum.RejectedBundles += p.rejBundles
		units = append(units, p.units...)
		pool = append(pool, p.pool...)
	}
	all := pool
	for _, u := range units {
		all = append(all, u.items...)
	}
	for _, it := range all {
		im.index(it)
	}
	units = append(im.group(pool), units...)
	if err := im.loadUsers(ctx); err != nil {
		return nil, err
	}
	// Decode each bundle's remaining resources one unit ahead of the writer.
	ready := make(chan *funit, 4)
	go func() {
		defer close(ready)
		for _, u := range units {
			for _, it := range u.items {
				if it.raw != nil {
					it.dres, it.derr = fhir.Parse(it.raw)
				}
			}
			ready <- u
		}
	}()
	defer func() {
		for range ready {
		}
	}()
	var batch []*funit
	n := 0
	flush := func() error {
		err := im.runBatch(ctx, batch)
		batch, n = batch[:0], 0
		return err
	}
	for u := range ready {
		im.decoded(u)
		if err := ctx.Err(); err != nil {
			return im.sum, err
		}
		batch = append(batch, u)
		n += len(u.items)
		if n >= batchItems || len(ready) == 0 && n >= batchItems/4 {
			if err := flush(); err != nil {
				return im.sum, err
			}
		}
	}
	if err := flush(); err != nil {
		return im.sum, err
	}
	for _, it := range all {
		im.count(it)
	}
	for k, n := range im.skips {
		im.sum.Skips = append(im.sum.Skips, FHIRSkip{Type: k[0], Reason: k[1], Count: n})
	}
	sort.Slice(im.sum.Skips, func(i, j int) bool {
		a, b := im.sum.Skips[i], im.sum.Skips[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Reason < b.Reason
	})
	if !o.DryRun {
		for _, p := range im.written {
			s.p.indexPut(p)
		}
	}
	return im.sum, nil
}

// decoded takes the resources the decoder read for a unit (on the writer's
// goroutine: the channel orders it after the decoding) and rejects the unit
// when one of them is unreadable.
func (im *importer) decoded(u *funit) {
	bad := ""
	for _, it := range u.items {
		if it.raw == nil {
			continue
		}
		it.res, it.raw = it.dres, nil
		if it.derr != nil && bad == "" {
			bad = "entry " + strconv.Itoa(it.entry) + ": " + it.derr.Error()
		}
	}
	if bad != "" && !u.rejected {
		for _, it := range u.items {
			it.out = outRejected
		}
		im.reject(FHIRRejection{File: u.file, Entry: -1, Path: "Bundle", Reason: bad})
		im.sum.RejectedBundles++
		u.rejected = true
	}
}

func (im *importer) count(it *fitem) {
	tc := im.sum.ByType[it.typ]
	if tc == nil {
		tc = &FHIRTypeCount{}
		im.sum.ByType[it.typ] = tc
	}
	out, why := it.out, it.why
	if out == outNone && it.target != nil {
		switch {
		case it.target.written:
			out = outImported
		case it.target.same:
			out, why = outSkipped, "unchanged: already in the record"
		}
	}
	switch out {
	case outImported:
		tc.Imported++
		im.sum.Imported++
	case outRejected:
		tc.Rejected++
		im.sum.Rejected++
	default:
		if why == "" {
			why = "not written"
		}
		tc.Skipped++
		im.sum.Skipped++
		im.skips[[2]string{it.typ, why}]++
	}
}

func (im *importer) flag(n []fhir.Note) {
	for _, x := range n {
		if im.sum.Flagged == nil {
			im.sum.Flagged = map[string]int{}
		}
		im.sum.Flagged[x.Msg]++
	}
}

type parsed struct {
	units      []*funit
	pool       []*fitem
	rejs       []FHIRRejection
	rejBundles int
	err        error
}

// parseGuarded is parse on a worker goroutine, where a panic would end the
// process with a stack trace (no recover at the command reaches it): the
// last line of defence, the input refused whole with an error naming it.
func parseGuarded(in FHIRInput) (p *parsed) {
	defer func() {
		if r := recover(); r != nil {
			p = &parsed{err: fmt.Errorf("%s: internal error while reading it (nothing was imported; please report this): %v", in.Name, r)}
		}
	}()
	return parse(in)
}

// parse splits one input into bundles (units) and loose resources (the pool).
// It touches nothing shared, so inputs are parsed in parallel.
func parse(in FHIRInput) *parsed {
	out := &parsed{}
	data := bytes.TrimSpace(in.Data)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	nd := strings.HasSuffix(strings.TrimSuffix(in.Name, ".gz"), ".ndjson")
	if !nd && len(data) > 0 && data[0] == '{' {
		// One JSON document (a Bundle or a resource), unless it is NDJSON after all.
		if fhir.ResourceTypeOf(data) == "Bundle" {
			b, err := fhir.SplitBundle(data)
			if err == nil {
				out.bundleUnit(in.Name, b)
				return out
			}
			if !bytes.Contains(data, []byte("}\n{")) && !bytes.Contains(data, []byte("}\r\n{")) {
				// A truncated or malformed Bundle is refused whole: the entries
				// before the damage are not imported on their own.
				out.err = fmt.Errorf("%s: %w", in.Name, err)
				return out
			}
		}
		if r, err := fhir.Parse(data); err == nil {
			if b, ok := r.(*fhir.Bundle); ok {
				out.bundleUnit(in.Name, b)
				return out
			}
			out.pool = []*fitem{{file: in.Name, entry: 1, res: r, typ: r.FHIRType(), id: *r.Head().ID}}
			return out
		} else if !bytes.Contains(data, []byte("}\n{")) && !bytes.Contains(data, []byte("}\r\n{")) {
			out.err = fmt.Errorf("%s: %w", in.Name, err)
			return out
		}
	}
	line := 0
	for len(data) > 0 {
		line++
		var b []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			b, data = data[:i], data[i+1:]
		} else {
			b, data = data, nil
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		r, err := fhir.Parse(b)
		if err != nil {
			it := &fitem{file: in.Name, entry: line, typ: "(not a resource)", out: outSkipped, why: "not a FHIR resource (e.g. a bulk export log line)"}
			if !bytes.Contains(b, []byte(`"resourceType"`)) && json.Valid(b) {
				out.pool = append(out.pool, it)
				continue
			}
			it.out, it.why = outRejected, ""
			out.rejs = append(out.rejs, FHIRRejection{File: in.Name, Entry: line, Path: "", Reason: err.Error()})
			out.rejBundles++
			out.pool = append(out.pool, it)
			continue
		}
		if b, ok := r.(*fhir.Bundle); ok {
			out.bundleUnit(fmt.Sprintf("%s:%d", in.Name, line), b)
			continue
		}
		out.pool = append(out.pool, &fitem{file: in.Name, entry: line, res: r, typ: r.FHIRType(), id: *r.Head().ID})
	}
	return out
}

func (im *importer) reject(r FHIRRejection) {
	im.sum.Rejections = append(im.sum.Rejections, r)
	if im.o.OnReject != nil {
		im.o.OnReject(r)
	}
}

func (out *parsed) bundleUnit(name string, b *fhir.Bundle) {
	u := &funit{file: name}
	bad := ""
	switch b.Type {
	case "transaction", "batch", "collection", "searchset", "document", "message", "history":
	default:
		bad = "a bundle of type " + strconv.Quote(b.Type) + " carries nothing to import (use transaction, batch, collection or searchset)"
	}
	for i, e := range b.Entry {
		it := &fitem{file: name, entry: i, fullURL: e.FullURL, unit: u}
		if i := strings.LastIndex(e.FullURL, "/"); strings.HasPrefix(e.FullURL, "http") && i > 0 {
			if j := strings.LastIndex(e.FullURL[:i], "/"); j > 0 {
				it.base = e.FullURL[:j+1]
			}
		}
		u.items = append(u.items, it)
		if len(e.Resource) == 0 {
			it.typ, it.out, it.why = "(no resource)", outSkipped, "entry without a resource"
			continue
		}
		it.typ, it.id = fhir.Probe(e.Resource)
		if it.typ == "" {
			it.typ = "(unreadable)"
			if bad == "" {
				bad = "entry " + strconv.Itoa(i) + ": no resourceType"
			}
			continue
		}
		if identTypes[it.typ] || !fhir.Modelled(it.typ) {
			// What other resources look up is decoded now; the rest just before its bundle is written.
			r, err := fhir.Parse(e.Resource)
			if err != nil {
				it.typ = "(unreadable)"
				if bad == "" {
					bad = "entry " + strconv.Itoa(i) + ": " + err.Error()
				}
				continue
			}
			it.res = r
		} else {
			it.raw = e.Resource
		}
		if e.Request != nil && e.Request.Method != "" && e.Request.Method != "POST" && e.Request.Method != "PUT" {
			it.out, it.why, it.fixed = outSkipped, "request method "+e.Request.Method+" is not an import", true
		}
		if e.Search != nil && e.Search.Mode == "outcome" {
			it.out, it.why, it.fixed = outSkipped, "search outcome", true
		}
	}
	if bad != "" {
		for _, it := range u.items {
			it.out = outRejected
		}
		out.rejs = append(out.rejs, FHIRRejection{File: name, Entry: -1, Path: "Bundle", Reason: bad})
		out.rejBundles++
		u.rejected = true
	}
	out.units = append(out.units, u)
}

// targets: types other resources refer to, indexed by identifier.
var identTypes = map[string]bool{"Patient": true, "Practitioner": true, "Organization": true, "Encounter": true,
	"Location": true, "Medication": true, "Condition": true, "MedicationRequest": true, "PractitionerRole": true}

func (im *importer) index(it *fitem) {
	if it.res == nil && it.raw == nil {
		return
	}
	if it.fullURL != "" {
		im.byFull[it.fullURL] = it
	}
	id := it.id
	if id != "" {
		im.byTID[it.typ+"/"+id] = it
		if it.base != "" {
			im.byFull[it.base+it.typ+"/"+id] = it
		}
	}
	if !identTypes[it.typ] || it.res == nil {
		return
	}
	for _, x := range identifiersOf(it.res) {
		if x.System != "" && x.Value != "" {
			k := it.typ + "|" + x.System + "|" + x.Value
			if _, dup := im.byIdent[k]; !dup {
				im.byIdent[k] = it
			}
		}
	}
}

func identifiersOf(r fhir.Resource) []fhir.Identifier {
	switch x := r.(type) {
	case *fhir.Patient:
		return x.Identifier
	case *fhir.Practitioner:
		return x.Identifier
	case *fhir.Organization:
		return x.Identifier
	case *fhir.Encounter:
		return x.Identifier
	case *fhir.Condition:
		return x.Identifier
	case *fhir.MedicationRequest:
		return x.Identifier
	case *fhir.Raw:
		var v struct {
			Identifier []fhir.Identifier `json:"identifier"`
		}
		_ = json.Unmarshal(x.JSON, &v)
		return v.Identifier
	}
	return nil
}

// lookup finds the import item a reference points at (nil when it is not in this import).
func (im *importer) lookup(from *fitem, r *fhir.Reference, want string) *fitem {
	if r == nil {
		return nil
	}
	s := r.Reference
	switch {
	case s == "":
	case strings.HasPrefix(s, "#"):
		return nil
	case strings.HasPrefix(s, "urn:"):
		return im.byFull[s]
	case strings.Contains(s, "?"):
		t, sys, val := conditional(s)
		if t == "" {
			return nil
		}
		return im.byIdent[t+"|"+sys+"|"+val]
	default:
		if it := im.byFull[s]; it != nil {
			return it
		}
		if i := strings.Index(s, "/_history/"); i > 0 {
			s = s[:i]
		}
		if from != nil && from.base != "" && !strings.Contains(s, "://") {
			if it := im.byFull[from.base+s]; it != nil {
				return it
			}
		}
		parts := strings.Split(s, "/")
		if len(parts) >= 2 {
			if it := im.byTID[parts[len(parts)-2]+"/"+parts[len(parts)-1]]; it != nil {
				return it
			}
		}
	}
	if r.Identifier != nil {
		t := r.Type
		if t == "" {
			t = want
		}
		return im.byIdent[t+"|"+r.Identifier.System+"|"+r.Identifier.Value]
	}
	return nil
}

// conditional parses Type?identifier=system|value (the system part may be absent).
func conditional(s string) (typ, system, value string) {
	i := strings.IndexByte(s, '?')
	typ = s[:i]
	if j := strings.LastIndexByte(typ, '/'); j >= 0 {
		typ = typ[j+1:]
	}
	for _, kv := range strings.Split(s[i+1:], "&") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k != "identifier" {
			continue
		}
		if u, err := unescape(v); err == nil {
			v = u
		}
		if sys, val, ok := strings.Cut(v, "|"); ok {
			return typ, sys, val
		}
		return typ, "", v
	}
	return "", "", ""
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return s, err
			}
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// patientRef is the reference a pooled resource makes to its patient.
func patientRef(r fhir.Resource) *fhir.Reference {
	switch x := r.(type) {
	case *fhir.Encounter:
		return x.Subject
	case *fhir.Condition:
		return x.Subject
	case *fhir.Observation:
		return x.Subject
	case *fhir.Procedure:
		return &x.Subject
	case *fhir.MedicationRequest:
		return &x.Subject
	case *fhir.MedicationStatement:
		return &x.Subject
	case *fhir.AllergyIntolerance:
		return &x.Patient
	case *fhir.Immunization:
		return &x.Patient
	case *fhir.Task:
		return x.For
	case *fhir.Appointment:
		for _, p := range x.Participant {
			if p.Actor != nil && (strings.Contains(p.Actor.Reference, "Patient") || p.Actor.Type == "Patient") {
				return p.Actor
			}
		}
	}
	return nil
}

// group turns the pool (bulk NDJSON and loose resources) into units: the
// practice's (Organization, Practitioner) first, one per patient with what
// refers to it, then the rest (provenance follows its target; audit events last).
func (im *importer) group(pool []*fitem) []*funit {
	if len(pool) == 0 {
		return nil
	}
	first := &funit{file: "(practice)"}
	byPat := map[*fitem]*funit{}
	var order []*funit
	rest := &funit{file: "(other)"}
	audit := &funit{file: "(audit trail)"}
	add := func(u *funit, it *fitem) {
		it.unit = u
		u.items = append(u.items, it)
	}
	var later []*fitem
	for _, it := range pool {
		if it.res == nil {
			continue
		}
		switch it.typ {
		case "Organization", "Practitioner":
			add(first, it)
		case "Patient":
			u := &funit{file: it.file}
			byPat[it] = u
			order = append(order, u)
			add(u, it)
		case "AuditEvent":
			add(audit, it)
		default:
			later = append(later, it)
		}
	}
	for _, it := range later {
		var u *funit
		if pr := patientRef(it.res); pr != nil {
			if p := im.lookup(it, pr, "Patient"); p != nil {
				u = byPat[p]
			}
		}
		if pv, ok := it.res.(*fhir.Provenance); ok && len(pv.Target) > 0 {
			if t := im.lookup(it, &pv.Target[0], ""); t != nil && t.unit != nil && t.unit != first {
				u = t.unit
			}
		}
		if u == nil {
			u = rest
		}
		add(u, it)
	}
	out := []*funit{first}
	out = append(out, order...)
	return append(out, rest, audit)
}

// phase orders the resources of a unit for mapping.
func phase(it *fitem) int {
	switch x := it.res.(type) {
	case *fhir.Organization, *fhir.Practitioner:
		return 0
	case *fhir.Patient:
		return 1
	case *fhir.Encounter:
		return 2
	case *fhir.MedicationRequest:
		if x.Intent == "order" && len(x.BasedOn) > 0 {
			return 4
		}
		return 3
	case *fhir.Provenance:
		return 6
	case *fhir.AuditEvent:
		return 7
	case *fhir.Raw, *fhir.Bundle, *fhir.OperationOutcome:
		return 8
	}
	return 3
}

// resolver answers the mappings' questions within one unit's transaction.
type resolver struct {
	im   *importer
	tx   store.WTx
	from *fitem
}

func (rs *resolver) ID(r *fhir.Reference, want string) string {
	if it := rs.im.lookup(rs.from, r, want); it != nil {
		if want != "" && it.typ != want {
			return ""
		}
		return it.recID
	}
	// Not in this import: the practice.
	kind := kindOfType(want)
	if kind == "" || r == nil {
		return ""
	}
	var sys, val, id string
	switch s := r.Reference; {
	case strings.Contains(s, "?"):
		_, sys, val = conditional(s)
	case s != "" && !strings.HasPrefix(s, "urn:") && !strings.HasPrefix(s, "#"):
		parts := strings.Split(strings.Split(s, "/_history/")[0], "/")
		if len(parts) >= 2 && parts[len(parts)-2] == want {
			id = parts[len(parts)-1]
		}
	}
	if sys == "" && r.Identifier != nil {
		sys, val = r.Identifier.System, r.Identifier.Value
	}
	if id != "" {
		if _, err := rs.tx.Get(kind, id); err == nil {
			return id
		}
	}
	if kind == record.KindPatient && val != "" {
		if sys == record.SystemNHS {
			if n, err := record.NormaliseNHS(val); err == nil {
				if p, err := rs.tx.PatientByNHS(n); err == nil {
					return p.ID
				}
			}
			return ""
		}
		return rs.im.patientsByIdent(rs.tx)[sys+"|"+val]
	}
	return ""
}

func kindOfType(t string) record.Kind {
	switch t {
	case "Patient":
		return record.KindPatient
	case "Encounter":
		return record.KindConsultation
	case "Condition":
		return record.KindProblem
	case "MedicationRequest":
		return record.KindMedication
	case "Observation":
		return record.KindObservation
	}
	return ""
}

func (rs *resolver) User(r *fhir.Reference) (string, bool) {
	if r == nil {
		return "", false
	}
	if r.Identifier != nil && r.Identifier.System == fhir.SystemUserName {
		return r.Identifier.Value, true
	}
	if it := rs.im.lookup(rs.from, r, "Practitioner"); it != nil {
		if p, ok := it.res.(*fhir.Practitioner); ok {
			if u, ok := fhir.UserFrom(p); ok {
				return u.Name, true
			}
		}
		return "", false
	}
	if strings.HasPrefix(r.Reference, "Practitioner/") && r.Display != "" {
		if _, ok := rs.im.users[r.Display]; ok {
			return r.Display, true
		}
	}
	if id, ok := strings.CutPrefix(r.Reference, "Practitioner/"); ok {
		for name := range rs.im.users { // the id the server gives a user's Practitioner
			if fhir.PractitionerID(name) == id {
				return name, true
			}
		}
	}
	return "", false
}

func (rs *resolver) Who(r *fhir.Reference) string {
	if u, ok := rs.User(r); ok {
		return u
	}
	if it := rs.im.lookup(rs.from, r, "Practitioner"); it != nil {
		switch x := it.res.(type) {
		case *fhir.Practitioner:
			if n := fhir.PractitionerName(x); n != "" {
				return n
			}
		case *fhir.Organization:
			if x.Name != "" {
				return x.Name
			}
		case *fhir.Raw:
			var v struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(x.JSON, &v) == nil && v.Name != "" {
				return v.Name
			}
		}
	}
	if r.Display != "" {
		return r.Display
	}
	if r.Identifier != nil && r.Identifier.Value != "" {
		return r.Identifier.System + "|" + r.Identifier.Value
	}
	return ""
}

func (im *importer) patientsByIdent(tx store.Tx) map[string]string {
	if im.patIdent == nil {
		im.patIdent = map[string]string{}
		_ = tx.ForEach(record.KindPatient, func(e record.Entity) error {
			p := e.(*record.Patient)
			for _, x := range p.Identifiers {
				im.patIdent[x.System+"|"+x.Value] = p.ID
			}
			return nil
		})
	}
	return im.patIdent
}

// recordID is the id a resource's record gets: its own id when it is a UUID
// (ours are), else a name-based UUID of where it came from, so a re-run maps
// it to the same record.
func recordID(it *fitem, salt string) string {
	id := it.id
	if len(id) == 36 {
		if _, err := uuid.Parse(id); err == nil {
			return strings.ToLower(id)
		}
	}
	key := it.typ + "/" + id + "|" + salt
	switch {
	case id != "":
	case it.fullURL != "":
		key = it.fullURL + "|" + salt
	default:
		// Neither id nor fullUrl: the content names it, so a re-run still
		// matches and two different resources never share a record.
		raw := it.raw // not yet decoded (records are named after decoding)
		if it.res != nil {
			raw, _ = fhir.Marshal(it.res)
		}
		sum := sha256.Sum256(raw)
		key = it.typ + "|content:" + hex.EncodeToString(sum[:]) + "|" + salt
	}
	return uuid.NewSHA1(idNamespace, []byte(key)).String()
}

var errUnitRejected = errors.New("unit rejected")

// run writes one unit in one transaction, all or nothing.
// batchItems is how many resources are written per transaction: several
// bundles go in one transaction (fewer fsyncs); when one of them is
// rejected the transaction is rolled back and its bundles are written one
// transaction each, so each bundle is still all or nothing.
const batchItems = 4000

// runBatch writes units in one transaction.
func (im *importer) runBatch(ctx context.Context, units []*funit) error {
	var live []*funit
	for _, u := range units {
		if len(u.items) > 0 && !u.rejected {
			live = append(live, u)
		}
	}
	if len(live) == 0 {
		return nil
	}
	var failed *funit
	err := im.s.store().Update(ctx, func(tx store.WTx) error {
		failed = nil
		for _, u := range live {
			if err := im.apply(tx, u); err != nil {
				if err == errUnitRejected {
					failed = u
				}
				return err
			}
		}
		if im.o.DryRun {
			return errDryRun
		}
		return nil
	})
	if err == errUnitRejected || err == errDryRun {
		// The caches may hold what was rolled back.
		im.patIdent, im.auditSeen = nil, nil
		if lerr := im.loadUsers(ctx); lerr != nil {
			return lerr
		}
	}
	if err == errUnitRejected {
		if len(live) > 1 {
			for _, u := range live {
				if err := im.runBatch(ctx, []*funit{u}); err != nil {
					return err
				}
			}
			return nil
		}
		for _, it := range failed.items {
			it.out, it.why = outRejected, ""
		}
		for _, r := range failed.rejs {
			im.reject(r)
		}
		im.sum.RejectedBundles++
		return nil
	}
	if err != nil && err != errDryRun {
		return err
	}
	for _, u := range live {
		im.written = append(im.written, u.pats...)
	}
	return nil
}

// apply maps and writes one unit within a transaction; errUnitRejected (with
// u.rejs) when any of its resources cannot be taken.
func (im *importer) apply(tx store.WTx, u *funit) error {
	// Reset what a retried transaction may have set.
	u.rejs, u.pats = nil, nil
	var audits []*record.AuditEvent
	for _, it := range u.items {
		if !it.fixed && it.res != nil {
			it.out, it.why, it.target, it.recID = outNone, "", nil, ""
		}
	}
	rs := &resolver{im: im, tx: tx}
	patientFailed := false
	fail := func(it *fitem, err error) {
		if it.typ == "Patient" {
			patientFailed = true
		} else if patientFailed && strings.Contains(err.Error(), "resolve") {
			return // follows from the patient's own rejection
		}
		rj := FHIRRejection{File: it.file, Entry: it.entry, Path: it.typ, Reason: err.Error()}
		var pe *fhir.PathError
		var ve *record.ValidationError
		switch {
		case errors.As(err, &pe):
			rj.Path, rj.Reason = pe.Path, pe.Msg
		case errors.As(err, &ve):
			rj.Path = it.typ + "(" + ve.Field + ")"
			rj.Reason = fmt.Sprintf("%q: %s", ve.Value, ve.Reason)
		}
		u.rejs = append(u.rejs, rj)
	}
	items := append([]*fitem(nil), u.items...)
	sort.SliceStable(items, func(i, j int) bool { return phase(items[i]) < phase(items[j]) })
	var targets []*ftarget
	newTarget := func(it *fitem, e record.Entity) *ftarget {
		t := &ftarget{e: e, first: it}
		if e != nil && fhir.Sensitive(it.res) {
			e.Head().Sensitive = true
		}
		it.target = t
		targets = append(targets, t)
		return t
	}
	consults := map[string]*ftarget{} // record id -> consultation target
	meds := map[string]*ftarget{}
	byItem := map[*fitem]*ftarget{}
	// Pre-assign record ids so references resolve whatever the order.
	for _, it := range items {
		if it.res == nil || it.out == outSkipped {
			continue
		}
		switch it.typ {
		case "Encounter", "Condition", "Observation", "Procedure", "MedicationRequest", "MedicationStatement",
			"AllergyIntolerance", "Immunization", "Appointment", "Task", "Schedule":
			salt := ""
			if pr := patientRef(it.res); pr != nil {
				salt = pr.Reference
			}
			it.recID = recordID(it, salt)
		}
	}
	for _, it := range items {
		if it.res == nil || it.out == outSkipped {
			continue
		}
		rs.from = it
		var e record.Entity
		var n []fhir.Note
		var err error
		switch x := it.res.(type) {
		case *fhir.Organization:
			it.out, it.why = outSkipped, "reference data: an organisation is not written (its name is used by the records that refer to it)"
			for _, id := range x.Identifier {
				if id.System == record.SystemODS && id.Value == im.practice.ODS {
					it.out, it.why = outSkipped, "this practice"
				}
			}
			continue
		case *fhir.Practitioner:
			usr, ok := fhir.UserFrom(x)
			switch {
			case !ok:
				it.out, it.why = outSkipped, "reference data: not a user of this practice (its name is kept on the records that refer to it)"
			case im.users[usr.Name].Name != "":
				it.out, it.why = outSkipped, "unchanged: user already exists"
			case im.s.user.Role != record.RoleAdmin:
				it.out, it.why = outSkipped, "a new user is created only when an admin imports"
			case record.ValidUserName(usr.Name) != nil:
				err = record.Invalid("name", usr.Name, "not a valid user name")
			default:
				t := newTarget(it, nil)
				t.user = &usr
			}
			if err != nil {
				fail(it, err)
			}
			continue
		case *fhir.Patient:
			if err = im.patient(tx, rs, it); err != nil {
				fail(it, err)
			}
			continue
		case *fhir.Encounter:
			var c *record.Consultation
			if c, n, err = fhir.ConsultationFrom(x, rs); err == nil {
				e = c
				c.ID = it.recID
				consults[c.ID] = newTarget(it, c)
				byItem[it] = it.target
				e = nil
			}
		case *fhir.Condition:
			e, n, err = fhir.ProblemFrom(x, rs)
		case *fhir.Observation:
			if fhir.IsCodedEntry(x) {
				var ce record.CodedEntry
				if ce, n, err = fhir.EntryFromObservation(x); err == nil {
					t, err2 := im.entryTarget(tx, rs, it, x.Encounter, x.Subject, x.EffectiveDateTime, consults, newTarget)
					if err = err2; err == nil {
						addEntry(t, ce, it)
					}
				}
				e = nil
			} else {
				e, n, err = fhir.ObservationFrom(x, rs)
			}
		case *fhir.Procedure:
			var ce record.CodedEntry
			if ce, n, err = fhir.EntryFromProcedure(x); err == nil {
				when := x.PerformedDateTime
				if when == "" && x.PerformedPeriod != nil {
					when = x.PerformedPeriod.Start
				}
				t, err2 := im.entryTarget(tx, rs, it, x.Encounter, &x.Subject, when, consults, newTarget)
				if err = err2; err == nil {
					addEntry(t, ce, it)
				}
			}
		case *fhir.MedicationRequest:
			if plan := im.planOf(it, x); plan != nil {
				var is record.Issue
				if is, err = fhir.IssueFrom(x, rs); err == nil {
					t := byItem[plan]
					if t == nil {
						t, err = im.storedMed(tx, plan.recID, meds, newTarget, it)
					}
					if err == nil && t != nil {
						m := t.e.(*record.Medication)
						if !hasIssue(m, is) {
							m.Issues = append(m.Issues, is)
						}
						it.target = t
					} else if err == nil {
						it.out, it.why = outSkipped, "an issue whose authorisation is not in the import or the record"
					}
				}
			} else {
				var m *record.Medication
				if m, n, err = fhir.MedicationFrom(x, im.medCode(it, x.MedicationReference), rs); err == nil {
					m.ID = it.recID
					e = m
					t := newTarget(it, m)
					meds[m.ID], byItem[it] = t, t
					e = nil
				}
			}
		case *fhir.MedicationStatement:
			rep := false
			for i := range x.BasedOn {
				if t := im.lookup(it, &x.BasedOn[i], "MedicationRequest"); t != nil {
					rep = true
				}
			}
			if rep {
				it.out, it.why = outSkipped, "represented by the MedicationRequest it is based on"
				continue
			}
			e, n, err = fhir.MedicationFromStatement(x, im.medCode(it, x.MedicationReference), rs)
		case *fhir.AllergyIntolerance:
			e, n, err = fhir.AllergyFrom(x, rs)
		case *fhir.Immunization:
			e, n, err = fhir.ImmunisationFrom(x, rs)
		case *fhir.Appointment:
			e, n, err = fhir.AppointmentFrom(x, rs)
		case *fhir.Schedule:
			e, n, err = fhir.ScheduleFrom(x, rs)
		case *fhir.Task:
			if fhir.IsRecall(x) {
				e, n, err = fhir.RecallFrom(x, rs)
			} else {
				e, n, err = fhir.TaskFrom(x, rs)
			}
		case *fhir.Provenance:
			rt, ok := fhir.RetractionFrom(x, rs)
			if !ok {
				it.out, it.why = outSkipped, "provenance from the source system is not kept"
				continue
			}
			var tt *fitem
			if len(x.Target) > 0 {
				tt = im.lookup(it, &x.Target[0], "")
			}
			if tt == nil || tt.target == nil || tt.target.e == nil || fhir.KindType(tt.target.e.Kind()) != tt.typ {
				it.out, it.why = outSkipped, "its target is not a record in this import"
				continue
			}
			tt.target.e.Head().Retraction = rt
			it.target = tt.target
			continue
		case *fhir.AuditEvent:
			ev, ok := fhir.AuditEventFrom(x)
			if !ok {
				it.out, it.why = outSkipped, "an audit event from another system is not kept"
				continue
			}
			if im.auditSeenIn(tx)[auditKey(ev)] {
				it.out, it.why = outSkipped, "unchanged: already in the audit trail"
				continue
			}
			im.auditSeen[auditKey(ev)] = true
			audits = append(audits, ev)
			it.out = outImported
			continue
		case *fhir.Raw:
			switch it.typ {
			case "Medication":
				it.out, it.why = outSkipped, "reference data: its code is kept on the medication that refers to it"
			case "Location", "PractitionerRole":
				it.out, it.why = outSkipped, "reference data: its name is kept on the records that refer to it"
			default:
				it.out, it.why = outSkipped, "unsupported resource type: not part of the GP record"
			}
			continue
		case *fhir.Bundle:
			it.out, it.why = outSkipped, "a bundle inside a bundle is not read"
			continue
		case *fhir.OperationOutcome:
			it.out, it.why = outSkipped, "an OperationOutcome carries no record"
			continue
		default:
			it.out, it.why = outSkipped, "unsupported resource type"
			continue
		}
		im.flag(n)
		if err != nil {
			fail(it, err)
			continue
		}
		if e != nil {
			e.Head().ID = it.recID
			newTarget(it, e)
		}
	}
	if len(u.rejs) > 0 {
		return errUnitRejected
	}
	// Link consultations to what was written in them.
	for _, t := range targets {
		if t.e == nil {
			continue
		}
		var cid string
		switch x := t.e.(type) {
		case *record.Problem:
			cid = x.ConsultationID
		case *record.Observation:
			cid = x.ConsultationID
		case *record.Allergy:
			cid = x.ConsultationID
		}
		if c := consults[cid]; c != nil {
			cn := c.e.(*record.Consultation)
			cn.Linked = mergeLinks(cn.Linked, []record.LinkedEntry{{Kind: t.e.Kind(), ID: t.e.Head().ID}})
		}
	}
	// Write.
	reason := "import fhir " + u.file
	for _, t := range targets {
		it := t.first
		if t.user != nil {
			usr := t.user
			usr.RecordedAt, usr.RecordedBy = im.s.p.now().UTC(), im.s.user.Name
			if err := tx.PutUser(usr); err != nil {
				fail(it, err)
				return errUnitRejected
			}
			im.users[usr.Name] = *usr
			t.written = true
			ev := im.s.event("create", "user", usr.Name, "", usr.Version)
			ev.Reason = reason
			if err := tx.Append(ev); err != nil {
				return err
			}
			continue
		}
		if t.e == nil || t.same {
			continue
		}
		if err := im.write(tx, t, reason); err != nil {
			fail(it, err)
			return errUnitRejected
		}
		if p, ok := t.e.(*record.Patient); ok && t.written {
			u.pats = append(u.pats, p)
		}
	}
	for _, ev := range audits {
		if err := tx.Append(ev); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) loadUsers(ctx context.Context) error {
	return im.s.store().View(ctx, func(tx store.Tx) error {
		pr, err := tx.Practice()
		if err != nil {
			return err
		}
		im.practice = *pr
		us, err := tx.Users()
		im.users = map[string]record.User{}
		for _, u := range us {
			im.users[u.Name] = u
		}
		return err
	})
}

func auditKey(ev *record.AuditEvent) string {
	return ev.At.UTC().Format(time.RFC3339Nano) + "|" + ev.User + "|" + ev.Action + "|" + string(ev.Kind) + "|" + ev.EntityID + "|" +
		strconv.Itoa(ev.Version) + "|" + ev.Outcome + "|" + ev.Query + "|" + ev.Reason
}

func (im *importer) auditSeenIn(tx store.Tx) map[string]bool {
	if im.auditSeen == nil {
		im.auditSeen = map[string]bool{}
		_ = tx.Audit(0, func(ev *record.AuditEvent) error {
			im.auditSeen[auditKey(ev)] = true
			return nil
		})
	}
	return im.auditSeen
}

// patient matches a Patient against the practice (NHS number, id, other
// identifiers): an existing patient is never changed by an import.
func (im *importer) patient(tx store.WTx, rs *resolver, it *fitem) error {
	p, n, err := fhir.PatientFrom(it.res.(*fhir.Patient), rs)
	im.flag(n)
	if err != nil {
		return err
	}
	im.s.stamp(&p.Meta)
	if err := p.Validate(); err != nil {
		return err
	}
	var existing *record.Patient
	how := ""
	if p.NHSNumber != "" {
		if e, err := tx.PatientByNHS(p.NHSNumber); err == nil {
			existing, how = e, "NHS number"
		}
	}
	recID := recordID(it, "")
	if existing == nil {
		if e, err := tx.Get(record.KindPatient, recID); err == nil {
			existing, how = e.(*record.Patient), "id"
		}
	}
	if existing == nil {
		for _, x := range p.Identifiers {
			if id := im.patientsByIdent(tx)[x.System+"|"+x.Value]; id != "" {
				if e, err := tx.Get(record.KindPatient, id); err == nil {
					existing, how = e.(*record.Patient), "identifier "+x.System
					break
				}
			}
		}
	}
	if existing != nil {
		it.recID = existing.ID
		t := &ftarget{e: existing, first: it}
		it.target = t
		if samePatient(existing, p) {
			t.same = true
		} else {
			it.out, it.why = outSkipped, "matched an existing patient by "+how+": demographics are not changed by an import (use patient update)"
		}
		return nil
	}
	p.ID = recID
	it.recID = recID
	t := &ftarget{e: p, first: it}
	it.target = t
	if err := im.write(tx, t, "import fhir "+it.file); err != nil {
		return err
	}
	for _, x := range p.Identifiers {
		im.patientsByIdent(tx)[x.System+"|"+x.Value] = p.ID
	}
	it.unit.pats = append(it.unit.pats, p)
	return nil
}

// write validates and writes one record (new, or a new version when the
// import says something else about a record it wrote before), with its audit event.
func (im *importer) write(tx store.WTx, t *ftarget, reason string) error {
	e := t.e
	m := e.Head()
	im.s.stamp(m)
	if err := e.Validate(); err != nil {
		return err
	}
	if err := im.s.checkImported(e); err != nil {
		return err
	}
	if im.pats == nil {
		im.pats = map[string]*record.Patient{}
	}
	if err := im.s.checkWriteIn(tx, e, im.pats); err != nil {
		return err
	}
	action := "create"
	if old, err := tx.Get(e.Kind(), m.ID); err == nil {
		if len(m.FHIRExtra) == 0 {
			// A record written again (a consultation gaining entries from
			// another file) keeps what its first resource had unmapped.
			m.FHIRExtra = old.Head().FHIRExtra
		}
		if oc, ok := old.(*record.Consultation); ok {
			// What was written in it stays linked; a re-run links nothing new.
			nc := e.(*record.Consultation)
			nc.Linked = mergeLinks(oc.Linked, nc.Linked)
		}
		if sameRecord(old, e) {
			t.same = true
			return nil
		}
		m.Version = old.Head().Version
		action = "update"
	} else {
		m.Version = 0
	}
	if err := tx.Put(e); err != nil {
		return err
	}
	pid := m.PatientID
	if p, ok := e.(*record.Patient); ok {
		pid = p.ID
		if err := tx.SetSearchRow(p.ID, find.EncodePatientRow(findDoc(p))); err != nil {
			return err
		}
	}
	t.written = true
	ev := im.s.event(action, e.Kind(), m.ID, pid, m.Version)
	ev.Reason = reason
	return tx.Append(ev)
}

// sameRecord compares what an import says with what is stored, ignoring who wrote it and when.
func sameRecord(a, b record.Entity) bool {
	norm := func(e record.Entity) []byte {
		m := *e.Head()
		h := e.Head()
		saved := *h
		h.Version, h.RecordedAt, h.RecordedBy = 0, time.Time{}, ""
		if c, ok := e.(*record.Consultation); ok {
			links := c.Linked
			c.Linked = nil
			defer func() { c.Linked = links }()
		}
		b, _ := json.Marshal(e)
		*h = saved
		_ = m
		return b
	}
	return bytes.Equal(norm(a), norm(b))
}

func addEntry(t *ftarget, ce record.CodedEntry, it *fitem) {
	c := t.e.(*record.Consultation)
	for _, x := range c.Entries {
		if x.Code == ce.Code && x.Text == ce.Text {
			it.target = t
			return
		}
	}
	c.Entries = append(c.Entries, ce)
	it.target = t
}

// entryTarget is the consultation a coded entry (Procedure, value-less
// Observation) goes into: its Encounter's, else one of its own.
func (im *importer) entryTarget(tx store.WTx, rs *resolver, it *fitem, enc, subj *fhir.Reference, when string,
	consults map[string]*ftarget, newTarget func(*fitem, record.Entity) *ftarget) (*ftarget, error) {
	if enc != nil {
		if id := rs.ID(enc, "Encounter"); id != "" {
			if t := consults[id]; t != nil {
				return t, nil
			}
			if e, err := tx.Get(record.KindConsultation, id); err == nil {
				t := newTarget(it, e)
				consults[id] = t
				return t, nil
			}
		}
	}
	pid := ""
	if subj != nil {
		pid = rs.ID(subj, "Patient")
	}
	if pid == "" {
		return nil, &fhir.PathError{Path: it.typ + ".subject", Msg: "reference does not resolve to a patient in this import or the practice"}
	}
	start, err := fhir.Time(when, it.typ+".performed[x]")
	if err != nil {
		return nil, err
	}
	if start.IsZero() {
		return nil, &fhir.PathError{Path: it.typ, Msg: "outside a consultation, a coded entry needs its date"}
	}
	c := &record.Consultation{Type: "surgery", Start: start, Clinician: fhir.ClinicianNotRecorded}
	c.ID, c.PatientID = it.recID, pid
	if t := consults[c.ID]; t != nil {
		return t, nil
	}
	t := newTarget(it, c)
	consults[c.ID] = t
	return t, nil
}

func (im *importer) planOf(it *fitem, x *fhir.MedicationRequest) *fitem {
	if x.Intent != "order" {
		return nil
	}
	for i := range x.BasedOn {
		if t := im.lookup(it, &x.BasedOn[i], "MedicationRequest"); t != nil {
			if p, ok := t.res.(*fhir.MedicationRequest); ok && p != x {
				return t
			}
		}
	}
	return nil
}

func (im *importer) storedMed(tx store.WTx, id string, meds map[string]*ftarget, newTarget func(*fitem, record.Entity) *ftarget, it *fitem) (*ftarget, error) {
	if t := meds[id]; t != nil {
		return t, nil
	}
	e, err := tx.Get(record.KindMedication, id)
	if err != nil {
		return nil, nil
	}
	t := newTarget(it, e)
	meds[id] = t
	return t, nil
}

func hasIssue(m *record.Medication, is record.Issue) bool {
	for _, x := range m.Issues {
		if x.At.Equal(is.At) && x.Quantity == is.Quantity {
			return true
		}
	}
	return false
}

// medCode reads the code of a Medication resource a request refers to.
func (im *importer) medCode(it *fitem, r *fhir.Reference) *fhir.CodeableConcept {
	if r == nil {
		return nil
	}
	t := im.lookup(it, r, "Medication")
	if t == nil {
		return nil
	}
	raw, ok := t.res.(*fhir.Raw)
	if !ok {
		return nil
	}
	var v struct {
		Code *fhir.CodeableConcept `json:"code"`
	}
	_ = json.Unmarshal(raw.JSON, &v)
	return v.Code
}

// mergeLinks is a's links followed by those of b that a lacks.
func mergeLinks(a, b []record.LinkedEntry) []record.LinkedEntry {
	out := a
	for _, l := range b {
		if !slices.Contains(out, l) {
			if len(out) == len(a) {
				out = slices.Clone(a) // never append into the stored record's slice
			}
			out = append(out, l)
		}
	}
	return out
}
