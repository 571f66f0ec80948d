package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/opengpsoc/gpsoc/record"
)

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
