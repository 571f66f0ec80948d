package store

import (
	"context"

	"github.com/opengpsoc/gpsoc/record"
)

// A whole-store copy (gpsoc migrate: a data dir to PostgreSQL and back) is
// the one write that does not go through a clinical service action: it
// carries what the services wrote, as it was stored, so nothing is
// re-validated, re-versioned or re-chained. Bytes pass through unchanged:
// each record version's canonical JSON (so the record hashes in the audit
// trail still match) and each audit event's hashed JSON (so the chain, and
// `gpsoc audit verify`, are the same in the copy, byte for byte). Only
// clinical.(*Service).Migrate calls Load (internal/house holds it to that).

// Dumper is a store that can hand over everything it holds.
type Dumper interface {
	// Dump writes the store's whole content to w from one consistent
	// snapshot, in the order of DumpWriter's methods: practice, users,
	// tokens, records (patients first, then what refers to them), find
	// rows, audit events in sequence order, the change feed's entries in
	// sequence order, its position, and last any imported audit trail.
	Dump(ctx context.Context, w DumpWriter) error
}

// DumpWriter receives a store's content. A byte slice passed to it is
// valid only during the call.
type DumpWriter interface {
	// Practice is the practice as stored (record.Canonical).
	Practice(canonical []byte) error
	// User is a user as stored, with its passphrase hash (record.CanonicalUser).
	User(canonical []byte) error
	// Token is an API token or a session.
	Token(t *record.Token) error
	// Record is one record with every version it has had.
	Record(r *DumpRecord) error
	// SearchRow is a patient's compact find row.
	SearchRow(patientID string, row []byte) error
	// Audit is one event as stored.
	Audit(a *DumpAudit) error
	// Change is one entry of the change feed: a patient changed at seq. A
	// reader that followed the original from any position follows the
	// copy from there and misses nothing.
	Change(seq uint64, patientID string) error
	// Feed is the change feed's position (what Changes(ChangesHead) gives):
	// the copy's feed goes on from it, so a sequence never goes back.
	Feed(head uint64) error
	// ImportedAudit is one event of an audit trail imported with the
	// practice from another system (ImportedTrail), in the order kept: key
	// is its order number (8 bytes, big-endian), value its JSON as stored
	// (record.ImportedAuditEvent). A backend that keeps no imported trail
	// refuses it, so a copy never drops one silently.
	ImportedAudit(key, value []byte) error
}

// DumpRecord is a record and its history.
type DumpRecord struct {
	Kind      record.Kind
	ID        string
	PatientID string // "" for a patient, or a record that belongs to none
	// Versions is each version's canonical JSON, oldest first; the last is current.
	Versions [][]byte
}

// DumpAudit is an audit event as the chain hashed it.
type DumpAudit struct {
	Seq  uint64
	Hash string
	// Body is the event's JSON with an empty hash, the bytes its Hash was
	// made from (with the previous event's hash).
	Body []byte
}

// Loader is a store that can take another store's content whole.
type Loader interface {
	// Load replaces the store's content with src's dump, all or nothing: a
	// failure leaves the store as it was. The caller decides whether what
	// is there may be replaced (clinical.(*Service).Migrate).
	Load(ctx context.Context, src Dumper) error
}
