package remote

import (
	"context"
	"encoding/json"

	"github.com/opengpsoc/gpsoc/record"
)

// The acting user's own passphrase, over gpsoc serve (store.Passphrases):
// its hash never leaves the server, so the server checks and sets it
// (POST /$passphrase, the token's user only). Another vendor's server keeps
// none: there the workstation's idle lock is left by quitting and starting
// again with the token.

type passphraseReq struct {
	Op         string `json:"op"` // has | check | set
	Passphrase string `json:"passphrase,omitempty"`
}

type passphraseRes struct {
	Set bool `json:"set"`
	OK  bool `json:"ok"`
}

func (s *Store) passphrase(ctx context.Context, op, p string) (passphraseRes, error) {
	var out passphraseRes
	if !s.gpsoc {
		return out, &record.PermissionError{Action: "use a passphrase on this server (it is not gpsoc serve)"}
	}
	body, _ := json.Marshal(passphraseReq{Op: op, Passphrase: p})
	err := s.do(ctx, "POST", "$passphrase", body, map[string]string{"Content-Type": "application/json", "Accept": "application/json"}, &out)
	return out, err
}

// HasPassphrase reports whether the token's user has set one.
func (s *Store) HasPassphrase(ctx context.Context) (bool, error) {
	r, err := s.passphrase(ctx, "has", "")
	return r.Set, err
}

// CheckPassphrase asks the server whether p is the token's user's.
func (s *Store) CheckPassphrase(ctx context.Context, p string) (bool, error) {
	r, err := s.passphrase(ctx, "check", p)
	return r.OK, err
}

// SetPassphrase sets the token's user's own.
func (s *Store) SetPassphrase(ctx context.Context, p string) error {
	_, err := s.passphrase(ctx, "set", p)
	return err
}
