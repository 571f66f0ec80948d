package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// AuditEvent is one entry of the append-only, hash-chained audit trail.
type AuditEvent struct {
	Seq  uint64    `json:"seq"`
	At   time.Time `json:"at"`
	User string    `json:"user"`
	// Login is the OS login of the process that acted (local use), beside
	// the gpsoc user it acted as.
	Login     string `json:"login,omitempty"`
	Role      Role   `json:"role,omitempty"`
	Action    string `json:"action"` // create | update | retract | read | list | find | import | export | backup | restore | denied ...
	Kind      Kind   `json:"kind,omitempty"`
	EntityID  string `json:"entityId,omitempty"`
	PatientID string `json:"patientId,omitempty"`
	Version   int    `json:"version,omitempty"`
	Query     string `json:"query,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Outcome   string `json:"outcome"`          // ok | denied | failed
	Source    string `json:"source,omitempty"` // cli | tui | api
	// RecordHash is the hash of the record version the event wrote
	// (record.RecordHash of its canonical JSON), so an edit to the record
	// after it was written is found. Events written before record hashing,
	// and events that wrote nothing, have none.
	RecordHash string `json:"recordHash,omitempty"`
	PrevHash   string `json:"prevHash"`
	Hash       string `json:"hash"`
}

// ImportedAuditEvent is one event of an audit trail imported with a practice
// from another system. It is history, kept apart from the practice's own
// chain: Event is as the other system recorded it (its sequence number and
// hashes included), Source names that system, and Problem says what of its
// own chain did not verify when it was imported ("" when it did).
type ImportedAuditEvent struct {
	Event      AuditEvent `json:"event"`
	Source     string     `json:"source"`
	ImportedAt time.Time  `json:"importedAt"`
	ImportedBy string     `json:"importedBy"`
	// Batch is the sequence number of the practice's own audit event that
	// records the import (its query carries TrailDigest of the events it
	// brought), so removing or altering a kept event is found.
	Batch   uint64 `json:"batch"`
	Problem string `json:"problem,omitempty"`
}

// TrailDigest is the SHA-256 of an imported trail's events (as the other
// system recorded them), one JSON line each, in order.
func TrailDigest(evs []AuditEvent) string {
	h := sha256.New()
	for i := range evs {
		b, _ := json.Marshal(&evs[i])
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
