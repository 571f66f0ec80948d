package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// RunSearch asks the server to run a search where the data is (POST
// Group/$search) when its CapabilityStatement declares that operation;
// against any other server ok is false and the workstation runs the search
// itself over standard FHIR search (Scan).
func (s *Store) RunSearch(ctx context.Context, text, on, reason string) (*store.SearchResult, bool, error) {
	if !s.searchOp {
		return nil, false, nil
	}
	path := "Group/$search"
	if on != "" {
		path += "?" + url.Values{"on": {on}}.Encode()
	}
	hdr := map[string]string{"Content-Type": "text/plain; charset=utf-8"}
	if r := strings.TrimSpace(reason); r != "" {
		hdr["X-Access-Reason"] = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, r)
	}
	var raw []byte
	if err := s.do(ctx, "POST", path, []byte(text), hdr, &raw); err != nil {
		return nil, true, typed(err, "search")
	}
	var g fhir.Group
	if err := fhir.Unmarshal(raw, &g); err != nil {
		return nil, true, fmt.Errorf("remote: Group/$search: %w", err)
	}
	out := &store.SearchResult{Title: g.Name}
	for _, e := range g.Extension {
		switch e.URL {
		case fhir.ExtSearchReference:
			if e.ValueString != nil {
				out.Reference = *e.ValueString
			}
		case fhir.ExtSearchRegistered:
			if e.ValueInteger != nil {
				out.Registered = *e.ValueInteger
			}
		case fhir.ExtSearchAchieved:
			if f, err := strconv.ParseFloat(string(e.ValueDecimal), 64); err == nil {
				out.Achievement = &f
			}
		}
	}
	for _, m := range g.Member {
		sm := store.SearchMember{PatientID: strings.TrimPrefix(m.Entity.Reference, "Patient/"), Name: m.Entity.Display}
		if m.Entity.Identifier != nil {
			sm.NHSNumber = m.Entity.Identifier.Value
		}
		for _, e := range m.Extension {
			switch {
			case e.URL == fhir.ExtSearchStatus && e.ValueCode != nil:
				sm.Status = *e.ValueCode
			case e.URL == fhir.ExtSearchSensitive && e.ValueBoolean != nil:
				sm.Sensitive = *e.ValueBoolean
			case e.URL == fhir.ExtSearchMatch && e.ValueString != nil:
				sm.Matched = append(sm.Matched, *e.ValueString)
			}
		}
		out.Members = append(out.Members, sm)
	}
	return out, true, nil
}

var _ store.Scanner = (*tx)(nil)

// Scan reads every record of the kinds over standard FHIR search, one paged
// search per resource type (GET Type?_count=N, following the server's next
// links), patients first: what a population search needs when the server
// cannot run it (another vendor's). Asking patient by patient would cost a
// request per patient and type, and a version number one more per record on
// a server with opaque version ids; a search reads neither, so records come
// with Version 0. A record is kept only when it belongs to one of the
// server's patients (a resource about a device or a group is no one's
// record); one the mapping cannot read fails the scan, naming it, since a
// search that silently skipped it would be wrong.
func (t *tx) Scan(kinds []record.Kind, fn func(record.Entity) error) error {
	want := map[record.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	pats := map[string]bool{}
	q := func() url.Values { return url.Values{"_count": {strconv.Itoa(t.s.o.PageSize)}} }
	if _, err := t.s.search(t.ctx, "Patient", q(), func(r fhir.Resource) error {
		e, err := t.mapped(r, false)
		if err != nil {
			return err
		}
		pats[e.Head().ID] = true
		if !want[record.KindPatient] {
			return nil
		}
		return fn(e)
	}); err != nil {
		return err
	}
	done := map[string]bool{"Patient": true}
	for _, k := range kinds {
		typ := fhir.KindType(k)
		if typ == "" || done[typ] {
			continue
		}
		done[typ] = true
		rs := t.resolver()
		if _, err := t.s.searchRaw(t.ctx, typ, q(), func(raw json.RawMessage, r fhir.Resource) error {
			var about struct {
				Subject, Patient *fhir.Reference
			}
			_ = json.Unmarshal(raw, &about)
			pid := rs.ID(about.Subject, "Patient")
			if pid == "" {
				pid = rs.ID(about.Patient, "Patient")
			}
			if !pats[pid] {
				return nil
			}
			e, err := t.mapped(r, false)
			if err != nil {
				return err
			}
			if !want[e.Kind()] {
				return nil
			}
			return fn(e)
		}); err != nil {
			return fmt.Errorf("read %s resources: %w", typ, err)
		}
	}
	return nil
}
