package remote_test

import (
	"errors"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/remote"
)

// The token decides who is acting: the store asks the server whose it is
// (token introspection) and acts as that user with that user's role,
// whatever the options guessed; a token the server does not know is refused
// at open.
func TestTokenDecidesTheUser(t *testing.T) {
	s, _ := serveAs(t, "admin", func(o *remote.Options) { o.User, o.Role = "someone.else", record.RoleGP })
	if u, ok := s.TokenUser(); !ok || u != "admin" {
		t.Errorf("token user %q %v, want admin", u, ok)
	}
	if o := s.Options(); o.User != "admin" || o.Role != record.RoleAdmin {
		t.Errorf("acting as %s (%s), want admin (admin)", o.User, o.Role)
	}
	o := s.Options()
	o.Token = "not-a-token"
	var pe *record.PermissionError
	if _, err := remote.Open(ctx, o); !errors.As(err, &pe) {
		t.Errorf("open with an unknown token: %v, want a permission error", err)
	}
}
