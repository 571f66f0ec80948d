package server

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// searchParams are the parameters each type's search takes (also listed in /metadata).
var searchParams = map[string][]paramDoc{
	"Patient": {
		{"_id", "token", "logical id"},
		{"identifier", "token", "NHS number (system|value or value)"},
		{"name", "string", "starts any part of the name (family or given), case-insensitive"},
		{"family", "string", "starts the family name"},
		{"given", "string", "starts a given name"},
		{"birthdate", "date", "date of birth, with eq/ne/lt/le/gt/ge prefixes"},
		{"_lastUpdated", "date", "when the record was last written (for clients following changes)"},
	},
	"Schedule": {
		{"actor", "reference", "the clinician (Practitioner/id)"},
		{"date", "date", "the session's day, with eq/lt/le/gt/ge prefixes (repeatable)"},
	},
	"Appointment": {
		{"patient", "reference", "the patient (Patient/id or id); without it, date is required (the appointment book)"},
		{"subject", "reference", "same as patient"},
		{"actor", "reference", "the clinician (Practitioner/id) or the patient"},
		{"date", "date", "the appointment's start, with eq/lt/le/gt/ge prefixes (repeatable)"},
	},
}

var clinicalParams = []paramDoc{
	{"patient", "reference", "the patient (Patient/id or id); required except for Task"},
	{"subject", "reference", "same as patient"},
	{"code", "token", "system|code or code"},
	{"date", "date", "the record's clinical date, with eq/lt/le/gt/ge prefixes (repeatable)"},
}

type paramDoc struct{ Name, Type, Doc string }

func paramsOf(t string) []paramDoc {
	if ps, ok := searchParams[t]; ok {
		return ps
	}
	return clinicalParams
}

// common parameters every search takes.
var commonParams = map[string]bool{"_count": true, "_offset": true, "_sort": true, "_format": true, "_pretty": true}

const defaultCount, maxCount = 50, 1000

func paging(q url.Values) (count, offset int, err error) {
	count = defaultCount
	if v := q.Get("_count"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "value", "_count %q: not a number", v)
		}
		count = min(n, maxCount)
	}
	if v := q.Get("_offset"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "value", "_offset %q: not a number", v)
		}
		offset = n
	}
	return count, offset, nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	ctx := r.Context()
	t, _, err := kindsOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	known := map[string]bool{}
	for _, p := range paramsOf(t) {
		known[p.Name] = true
	}
	if err := strictParams(q, t, known); err != nil {
		return err
	}
	count, offset, err := paging(q)
	if err != nil {
		return err
	}
	var es []record.Entity
	if t == "Patient" {
		es, err = s.searchPatients(ctx, svc, r, q)
	} else {
		es, err = s.searchEntries(ctx, svc, r, t, q)
	}
	if err != nil {
		return err
	}
	if err := sortEntities(t, es, q.Get("_sort")); err != nil {
		return err
	}
	c, err := s.fhirContext(ctx)
	if err != nil {
		return err
	}
	total := len(es)
	end := min(offset+count, total)
	page := []record.Entity{}
	if offset < total {
		page = es[offset:end]
	}
	b, err := searchBundle(r, c, t, page, total, offset, count)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

// searchBundle is a searchset Bundle of one page with self, first, previous and next links.
func searchBundle(r *http.Request, c *fhir.Context, t string, page []record.Entity, total, offset, count int) (*fhir.Bundle, error) {
	base := baseURL(r)
	b := &fhir.Bundle{ResourceType: "Bundle", Type: "searchset", Total: &total}
	link := func(rel string, off int) {
		q := r.URL.Query()
		q.Set("_count", strconv.Itoa(count))
		q.Set("_offset", strconv.Itoa(off))
		b.Link = append(b.Link, fhir.BundleLink{Relation: rel, URL: base + strings.TrimPrefix(r.URL.Path, "/") + "?" + q.Encode()})
	}
	link("self", offset)
	link("first", 0)
	if offset > 0 {
		link("previous", max(0, offset-count))
	}
	if count > 0 && offset+count < total {
		link("next", offset+count)
	}
	for _, e := range page {
		res := resourceOf(c, t, e)
		if res == nil {
			continue
		}
		raw, err := fhir.Marshal(res)
		if err != nil {
			return nil, err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: base + t + "/" + e.Head().ID, Resource: raw,
			Search: &fhir.BundleSearch{Mode: "match"}})
	}
	return b, nil
}

func (s *Server) searchPatients(ctx context.Context, svc *clinical.Service, r *http.Request, q url.Values) ([]record.Entity, error) {
	if id := q.Get("_id"); id != "" {
		if isNHS(id) { // an id, never an NHS number
			return nil, nil
		}
		p, err := svc.Patient(ctx, id, reason(r))
		if record.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return filterPatients([]*record.Patient{p}, q)
	}
	if v := q.Get("identifier"); v != "" {
		sys, val, ok := strings.Cut(v, "|")
		if !ok {
			val, sys = sys, ""
		}
		if sys != "" && sys != nhsSystem || !isNHS(val) {
			return nil, nil // we hold no other identifier a search can name
		}
		p, err := svc.Patient(ctx, val, reason(r))
		if record.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return filterPatients([]*record.Patient{p}, q)
	}
	ps, err := svc.Patients(ctx, clinical.PatientFilter{})
	if err != nil {
		return nil, err
	}
	return filterPatients(ps, q)
}

const nhsSystem = "https://fhir.nhs.uk/Id/nhs-number"

func filterPatients(ps []*record.Patient, q url.Values) ([]record.Entity, error) {
	dates, err := dateConds(q, "birthdate")
	if err != nil {
		return nil, err
	}
	updated, err := dateConds(q, "_lastUpdated")
	if err != nil {
		return nil, err
	}
	out := []record.Entity{}
	for _, p := range ps {
		if !matchAll(q["name"], append([]string{p.Family}, p.Given...)) ||
			!matchAll(q["family"], []string{p.Family}) || !matchAll(q["given"], p.Given) {
			continue
		}
		ok := true
		for _, d := range dates {
			ok = ok && d.match(p.BirthDate)
		}
		for _, d := range updated {
			ok = ok && d.match(p.RecordedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		}
		if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// matchAll: each value (a comma list is OR) starts one of the parts, case-insensitively.
func matchAll(vals []string, parts []string) bool {
	for _, v := range vals {
		hit := false
		for _, alt := range strings.Split(v, ",") {
			alt = strings.ToLower(strings.TrimSpace(alt))
			for _, p := range parts {
				for _, w := range strings.Fields(strings.ToLower(p)) {
					if strings.HasPrefix(w, alt) {
						hit = true
					}
				}
				if strings.HasPrefix(strings.ToLower(p), alt) {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func (s *Server) searchEntries(ctx context.Context, svc *clinical.Service, r *http.Request, t string, q url.Values) ([]record.Entity, error) {
	ref := q.Get("patient")
	if ref == "" {
		ref = q.Get("subject")
	}
	ref = strings.TrimPrefix(ref, "Patient/")
	if i := strings.LastIndex(ref, "/Patient/"); i >= 0 {
		ref = ref[i+len("/Patient/"):]
	}
	if t == "Schedule" {
		return searchSessions(ctx, svc, q)
	}
	if ref == "" && t == "Appointment" && len(q["date"]) == 0 {
		return nil, errorf(http.StatusBadRequest, "required", "an Appointment search needs patient or date")
	}
	if ref == "" && t != "Task" && t != "Appointment" {
		return nil, errorf(http.StatusBadRequest, "required", "a %s search needs patient (this server searches one patient's record at a time)", t)
	}
	if ref != "" && isNHS(ref) {
		return nil, nil
	}
	lo := clinical.ListOptions{ReadOptions: reason(r), All: true}
	var es []record.Entity
	add := func(n int, at func(i int) record.Entity) {
		for i := 0; i < n; i++ {
			es = append(es, at(i))
		}
	}
	var err error
	switch t {
	case "Observation":
		var l *clinical.Listed[*record.Observation]
		if l, err = svc.Observations(ctx, ref, clinical.ObsFilter{ListOptions: lo}); err == nil {
			add(len(l.Items), func(i int) record.Entity { return l.Items[i] })
		}
	case "Condition":
		var l *clinical.Listed[*record.Problem]
		if l, err = svc.Problems(ctx, ref, clinical.ProblemFilter{ListOptions: lo}); err == nil {
			add(len(l.Items), func(i int) record.Entity { return l.Items[i] })
		}
	case "AllergyIntolerance":
		var l *clinical.Listed[*record.Allergy]
		if l, err = svc.Allergies(ctx, ref, lo); err == nil {
			add(len(l.Items), func(i int) record.Entity { return l.Items[i] })
		}
	case "Immunization":
		var l *clinical.Listed[*record.Immunisation]
		if l, err = svc.Immunisations(ctx, ref, lo); err == nil {
			add(len(l.Items), func(i int) record.Entity { return l.Items[i] })
		}
	case "Encounter":
		var l *clinical.Listed[*record.Consultation]
		if l, err = svc.Consultations(ctx, ref, lo); err == nil {
			add(len(l.Items), func(i int) record.Entity { return l.Items[i] })
		}
	case "MedicationRequest":
		var l *clinical.Listed[*record.Medication]
		if l, err = svc.Medications(ctx, ref, lo); err == nil {
			add(len(l.Items), func(i int) record.Entity { return l.Items[i] })
		}
	case "Appointment":
		var days []string
		if ref == "" {
			if days, err = bookDays(q["date"]); err != nil {
				return nil, err
			}
		}
		for _, day := range append(days, "")[:max(1, len(days))] {
			var as []*record.Appointment
			if as, err = svc.Appointments(ctx, clinical.ApptFilter{PatientRef: ref, Date: day, All: true}); err != nil {
				break
			}
			add(len(as), func(i int) record.Entity { return as[i] })
		}
	case "Task":
		var ts []*record.Task
		if ts, err = svc.Tasks(ctx, clinical.TaskFilter{PatientRef: ref, All: true}); err == nil {
			add(len(ts), func(i int) record.Entity { return ts[i] })
			if ref != "" {
				var rcs []*record.Recall
				if rcs, err = svc.Recalls(ctx, clinical.RecallFilter{PatientRef: ref, All: true}); err == nil {
					add(len(rcs), func(i int) record.Entity { return rcs[i] })
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	dates, err := dateConds(q, "date")
	if err != nil {
		return nil, err
	}
	codes := q["code"]
	out := []record.Entity{}
	for _, e := range es {
		if len(codes) > 0 && !codeMatch(codes, codesOf(e)) {
			continue
		}
		if a, ok := e.(*record.Appointment); ok && !actorMatch(q["actor"], a.Clinician, "Patient/"+a.PatientID) {
			continue
		}
		ok := true
		for _, d := range dates {
			ok = ok && d.match(dateOf(e))
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// bookDays are the UK days an appointment-book search (no patient) covers:
// its dates must bound a range of at most maxBookDays days.
func bookDays(vals []string) ([]string, error) {
	var lo, hi time.Time
	for _, v := range vals {
		d, err := parseDateCond("date", v)
		if err != nil {
			return nil, err
		}
		from, to := d.start, d.end
		switch d.prefix {
		case "gt", "ge", "sa":
			to = time.Time{}
		case "lt", "le", "eb":
			from = time.Time{}
		case "ne":
			from, to = time.Time{}, time.Time{}
		}
		if !from.IsZero() && (lo.IsZero() || from.After(lo)) {
			lo = from
		}
		if !to.IsZero() && (hi.IsZero() || to.Before(hi)) {
			hi = to
		}
	}
	if lo.IsZero() || hi.IsZero() || hi.Sub(lo) > maxBookDays*24*time.Hour {
		return nil, errorf(http.StatusBadRequest, "too-costly", "an Appointment search without patient needs dates that bound at most %d days (date=ge…&date=lt…, or date=YYYY-MM-DD)", maxBookDays)
	}
	var days []string
	for t := lo.In(ukZone); t.Before(hi); t = t.AddDate(0, 0, 1) {
		days = append(days, t.Format(record.DateLayout))
	}
	if last := hi.Add(-time.Nanosecond).In(ukZone).Format(record.DateLayout); len(days) > 0 && days[len(days)-1] != last {
		days = append(days, last)
	}
	return days, nil
}

const maxBookDays = 62

var ukZone = func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
}()

// searchSessions is the Schedule search: the practice's sessions (of every
// status) by actor and date.
func searchSessions(ctx context.Context, svc *clinical.Service, q url.Values) ([]record.Entity, error) {
	dates, err := dateConds(q, "date")
	if err != nil {
		return nil, err
	}
	ses, err := svc.AllSessions(ctx)
	if err != nil {
		return nil, err
	}
	out := []record.Entity{}
	for _, se := range ses {
		ok := actorMatch(q["actor"], se.Clinician, "")
		for _, d := range dates {
			ok = ok && d.match(se.Date)
		}
		if ok {
			out = append(out, se)
		}
	}
	return out, nil
}

// actorMatch: each actor value (a comma list is OR) names the clinician
// (Practitioner/id, or the name) or the other reference given.
func actorMatch(vals []string, clinician, other string) bool {
	for _, v := range vals {
		hit := false
		for _, alt := range strings.Split(v, ",") {
			alt = strings.TrimSpace(alt)
			if i := strings.LastIndex(alt, "Practitioner/"); i >= 0 {
				hit = hit || strings.TrimPrefix(alt[i:], "Practitioner/") == fhir.PractitionerID(clinician)
			} else if i := strings.LastIndex(alt, "Patient/"); i >= 0 {
				hit = hit || other != "" && alt[i:] == other
			} else {
				hit = hit || alt == clinician
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func codeMatch(vals []string, cs []record.Code) bool {
	for _, v := range vals {
		hit := false
		for _, alt := range strings.Split(v, ",") {
			sys, code, ok := strings.Cut(alt, "|")
			if !ok {
				code, sys = sys, ""
			}
			for _, c := range cs {
				if c.Code == code && (sys == "" || sys == c.System) {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func codesOf(e record.Entity) []record.Code {
	switch x := e.(type) {
	case *record.Observation:
		return []record.Code{x.Code}
	case *record.Problem:
		return []record.Code{x.Code}
	case *record.Medication:
		return []record.Code{x.Code}
	case *record.Allergy:
		cs := []record.Code{x.Agent}
		if x.Finding != nil {
			cs = append(cs, *x.Finding)
		}
		return cs
	case *record.Immunisation:
		return []record.Code{x.Code}
	case *record.Recall:
		return []record.Code{x.Code}
	}
	return nil
}

// dateOf is a record's clinical date (RFC 3339 or YYYY-MM-DD; "" when it has none).
func dateOf(e record.Entity) string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	switch x := e.(type) {
	case *record.Patient:
		return x.BirthDate
	case *record.Observation:
		return ts(x.Effective)
	case *record.Consultation:
		return ts(x.Start)
	case *record.Appointment:
		return ts(x.Start)
	case *record.Problem:
		return x.Onset
	case *record.Allergy:
		return x.Onset
	case *record.Immunisation:
		return x.Date
	case *record.Task:
		return x.Due
	case *record.Recall:
		return x.Due
	case *record.Session:
		return x.Date
	}
	return ts(e.Head().RecordedAt)
}

// dateCond is one date search value: a prefix and the range the value covers.
type dateCond struct {
	prefix     string
	start, end time.Time // [start, end)
}

// dateConds reads every value of a date search parameter.
func dateConds(q url.Values, param string) ([]dateCond, error) {
	var out []dateCond
	for _, v := range q[param] {
		d, err := parseDateCond(param, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func parseDateCond(param, v string) (dateCond, error) {
	d := dateCond{prefix: "eq"}
	if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' {
		d.prefix, v = v[:2], v[2:]
	}
	switch d.prefix {
	case "eq", "ne", "lt", "le", "gt", "ge", "sa", "eb":
	default:
		return d, errorf(http.StatusBadRequest, "value", "%s: prefix %q not supported", param, d.prefix)
	}
	var err error
	d.start, d.end, err = dateRange(v)
	if err != nil {
		return d, errorf(http.StatusBadRequest, "value", "%s %q: not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)", param, v)
	}
	return d, nil
}

// dateRange is the instant range a FHIR date or dateTime covers.
func dateRange(v string) (time.Time, time.Time, error) {
	for _, l := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{record.DateLayout, func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	} {
		if t, err := time.ParseInLocation(l.layout, v, time.UTC); err == nil && len(v) == len(l.layout) {
			return t, l.next(t), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, t, err
	}
	if strings.Contains(v, ".") { // fractional seconds: millisecond precision
		return t, t.Add(time.Millisecond), nil
	}
	return t, t.Add(time.Second), nil
}

func (d dateCond) match(v string) bool {
	if v == "" {
		return false
	}
	s, e, err := dateRange(v)
	if err != nil {
		return false
	}
	switch d.prefix {
	case "eq":
		return !s.Before(d.start) && !e.After(d.end)
	case "ne":
		return s.Before(d.start) || e.After(d.end)
	case "lt", "eb":
		return s.Before(d.start)
	case "gt", "sa":
		return e.After(d.end)
	case "le":
		return s.Before(d.end)
	case "ge":
		return e.After(d.start)
	}
	return false
}

// sortEntities applies _sort (default: patients by name, records newest first).
func sortEntities(t string, es []record.Entity, spec string) error {
	type key struct {
		name string
		desc bool
	}
	var keys []key
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k := key{name: strings.TrimPrefix(f, "-"), desc: strings.HasPrefix(f, "-")}
		switch {
		case k.name == "_lastUpdated", k.name == "_id":
		case t == "Patient" && (k.name == "family" || k.name == "given" || k.name == "birthdate" || k.name == "name"):
		case t != "Patient" && k.name == "date":
		default:
			return errorf(http.StatusBadRequest, "not-supported", "_sort %q is not supported for %s", f, t)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		if t == "Patient" {
			keys = []key{{name: "family"}, {name: "given"}, {name: "_id"}}
		} else {
			keys = []key{{name: "date", desc: true}, {name: "_id"}}
		}
	}
	val := func(e record.Entity, k string) string {
		switch k {
		case "_lastUpdated":
			return e.Head().RecordedAt.UTC().Format(time.RFC3339Nano)
		case "_id":
			return e.Head().ID
		case "family", "name":
			return strings.ToLower(e.(*record.Patient).Family)
		case "given":
			return strings.ToLower(strings.Join(e.(*record.Patient).Given, " "))
		case "birthdate", "date":
			return dateOf(e)
		}
		return ""
	}
	sort.SliceStable(es, func(i, j int) bool {
		for _, k := range keys {
			a, b := val(es[i], k.name), val(es[j], k.name)
			if a == b {
				continue
			}
			if k.desc {
				return a > b
			}
			return a < b
		}
		return false
	})
	return nil
}
