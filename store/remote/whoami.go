package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

var _ store.PatientFinder = (*Store)(nil)

// TokenUser is the user the server says the token belongs to, and whether
// it said (token introspection, RFC 7662; `gpsoc serve` answers it, a server
// that does not leaves the options' User and Role as given).
func (s *Store) TokenUser() (string, bool) { return s.tokenUser, s.tokenUser != "" }

// identify asks the server whose the token is; the acting user and role
// become the token holder's, so the local services see what the server will
// enforce.
func (s *Store) identify(ctx context.Context) error {
	if s.o.Token == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.url("introspect"), strings.NewReader(url.Values{"token": {s.o.Token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.o.Token)
	res, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return &record.PermissionError{Action: "use the server: it does not accept the token (remote.token / GPSOC_REMOTE_TOKEN)"}
	case res.StatusCode >= 300:
		return nil // no introspection here: go by the options
	}
	var in struct {
		Active     bool   `json:"active"`
		Username   string `json:"username"`
		Role       string `json:"gpsoc_role"`
		Prescriber bool   `json:"gpsoc_prescriber"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("remote %s: introspect: %w", s.base, err)
	}
	if !in.Active || in.Username == "" {
		return &record.PermissionError{Action: "use the server: it says the token is not active (remote.token / GPSOC_REMOTE_TOKEN)"}
	}
	s.tokenUser = in.Username
	s.o.User = in.Username
	if in.Role != "" {
		s.o.Role = record.Role(in.Role)
	}
	return nil
}

// KeepsOwnAudit reports that the server is another vendor's: it audits the
// standard requests it is sent in its own way, and knows nothing of what
// only a gpsoc workstation says (the reason a sensitive record is opened, a
// find typed into the workstation's own index). Remote mode says so once.
func (s *Store) KeepsOwnAudit() bool { return !s.gpsoc }

// FindPatients asks `gpsoc serve` to find patients (GET Patient/$find), so
// the find is the server's and audited there with its query; ok is false
// against another vendor's server, which has no such operation: the local
// index then serves.
func (s *Store) FindPatients(ctx context.Context, q string, limit int) ([]*record.Patient, bool, error) {
	if !s.gpsoc {
		return nil, false, nil
	}
	t := &tx{s: s, ctx: ctx}
	var out []*record.Patient
	vs := url.Values{"q": {q}}
	if limit > 0 {
		vs.Set("_count", strconv.Itoa(limit))
	}
	var raw []byte
	if err := s.do(ctx, "GET", "Patient/$find?"+vs.Encode(), nil, nil, &raw); err != nil {
		return nil, true, typed(err, "patient find")
	}
	var b fhir.Bundle
	if err := fhir.Unmarshal(raw, &b); err != nil {
		return nil, true, fmt.Errorf("remote: Patient/$find: %w", err)
	}
	for _, e := range b.Entry {
		r, err := fhir.Parse(e.Resource)
		if err != nil {
			return nil, true, err
		}
		if r.FHIRType() != "Patient" {
			continue
		}
		en, err := t.entity(r)
		if err != nil {
			return nil, true, err
		}
		out = append(out, en.(*record.Patient))
	}
	return out, true, nil
}
