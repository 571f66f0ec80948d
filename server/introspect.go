package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/fhir"
	"github.com/opengpsoc/gpsoc/record"
)

// introspect is token introspection (RFC 7662, as SMART App Launch profiles
// it): POST /introspect with token=… in a form body, authenticated by that
// same bearer token, answers whether it is active and whose it is — the
// user name (username, sub), their Practitioner (fhirUser), and gpsoc's
// role and prescriber flag. A remote workstation asks it once when it opens,
// so the token, not a name typed on the command line, decides who is acting
// (commands/remote.go). A token other than the caller's own is reported
// inactive: a token holder learns nothing about anyone else's.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request, svc *clinical.Service) error {
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "structure", "introspect: %s", err.Error())
	}
	own, _ := bearer(r)
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	out := map[string]any{"active": false}
	if tok != "" && tok == own {
		u := svc.User()
		out = map[string]any{"active": true, "sub": u.Name, "username": u.Name, "token_type": "Bearer",
			"fhirUser":         "Practitioner/" + fhir.PractitionerID(u.Name),
			"gpsoc_role":       string(u.Role),
			"gpsoc_prescriber": u.Prescriber && (u.Role == record.RoleGP || u.Role == record.RoleNurse)}
		if tk := svc.Token(); tk != nil && !tk.ExpiresAt.IsZero() {
			out["exp"], out["iat"] = tk.ExpiresAt.Unix(), tk.IssuedAt.Unix() // RFC 7662: when it stops working
		}
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	return nil
}
