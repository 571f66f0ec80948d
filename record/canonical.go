package record

import (
	"crypto/sha256"
	"encoding/hex"

	json "github.com/goccy/go-json"
)

// Canonical is the canonical JSON of a record version: the record's
// fields in their declaration order, empty optional fields left out, no
// insignificant whitespace, strings escaped as encoding/json escapes them.
// It is what a record hash is computed over (RecordHash), so a record's hash
// does not depend on how a backend stores it: a backend that stores these
// very bytes hashes them as it writes, any other re-encodes what it read.
// Decoding canonical JSON and encoding it again gives the same bytes.
func Canonical(v any) ([]byte, error) { return json.Marshal(v) }

// HashCanonical is the record hash of canonical JSON: SHA-256, in hex.
func HashCanonical(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// RecordHash is the hash of a record version's canonical JSON.
func RecordHash(v any) (string, error) {
	b, err := Canonical(v)
	if err != nil {
		return "", err
	}
	return HashCanonical(b), nil
}

// CanonicalUser is the canonical JSON of a user, passphrase hash included (a
// passphrase planted in a user's record is as much an edit as a changed
// role). Tokens are records of their own (Token).
func CanonicalUser(u *User) ([]byte, error) {
	return Canonical(struct {
		User
		PassHash string `json:"passHash,omitempty"`
	}{*u, u.PassHash})
}
