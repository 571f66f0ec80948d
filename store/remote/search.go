package remote

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/store"
)

// RunSearch asks `gpsoc serve` to run a search where the data is (POST
// Group/$search); against another vendor's server ok is false and the
// workstation runs the search itself over standard FHIR search.
func (s *Store) RunSearch(ctx context.Context, text, on, reason string) (*store.SearchResult, bool, error) {
	if !s.gpsoc {
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
