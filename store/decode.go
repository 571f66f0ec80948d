package store

import (
	"fmt"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
)

// StoredUser is a user as every backend keeps it: with the passphrase hash
// that record.User never carries out of the store.
type StoredUser struct {
	record.User
	PassHash string `json:"passHash,omitempty"`
}

// DecodeUser reads a user as stored.
func DecodeUser(v []byte) (*record.User, error) {
	var su StoredUser
	if err := json.Unmarshal(v, &su); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	u := su.User
	u.PassHash = su.PassHash
	return &u, nil
}

// DecodeEntity reads a record of kind as stored (its canonical JSON).
func DecodeEntity(kind record.Kind, v []byte) (record.Entity, error) {
	e, err := record.New(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(v, e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return e, nil
}
