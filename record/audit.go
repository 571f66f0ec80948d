package record

import "time"

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
