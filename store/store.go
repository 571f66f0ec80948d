// Package store defines the Store interface every backend implements, in
// record's types; store/storetest holds the conformance suite every backend passes.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// Store is a practice record. Every user action is one Update: its writes
// and its audit event commit together or not at all.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in one read-write transaction; an error from fn rolls it back.
	Update(ctx context.Context, fn func(WTx) error) error
	Close() error
}

// Tx reads. Records returned are copies: they outlive the transaction safely.
type Tx interface {
	// Practice is the practice; a NotFoundError until init.
	Practice() (*record.Practice, error)
	User(name string) (*record.User, error)
	Users() ([]record.User, error)
	// Token finds an API token or a session by the SHA-256 of its secret
	// (a NotFoundError when there is none).
	Token(hash string) (*record.Token, error)
	// Tokens lists a user's tokens and sessions ("" for everyone's).
	Tokens(user string) ([]record.Token, error)

	// Get returns the current version of a record.
	Get(kind record.Kind, id string) (record.Entity, error)
	// Versions returns every version of a record, oldest first.
	Versions(kind record.Kind, id string) ([]record.Entity, error)
	// PatientByNHS finds the patient with an NHS number (10 digits).
	PatientByNHS(nhs string) (*record.Patient, error)
	// List returns the current versions of a patient's records of one kind, oldest first.
	List(patientID string, kind record.Kind) ([]record.Entity, error)
	// ForEach calls fn with the current version of every record of a kind, in id order.
	ForEach(kind record.Kind, fn func(record.Entity) error) error
	// Count is the number of records of a kind.
	Count(kind record.Kind) int

	// SearchRows calls fn once with each current patient's compact find row
	// (what the find index loads from). A backend that stores rows gives the
	// row last set by SetSearchRow; one that derives them (remote, from its
	// Options.SearchRow) gives its own encoding of the current patient.
	SearchRows(fn func(id string, row []byte) error) error
	// Changes calls fn for each patient changed (the patient, or any record
	// of theirs: an open record follows it too) after change sequence after,
	// in increasing sequence, and returns the sequence to ask from next time:
	// a later Changes(last, …) reports every patient changed since, and none
	// that was not (the find index follows other processes' writes with it,
	// and loses nothing). Sequences are the backend's own (bolt: 1, 2, 3…;
	// `gpsoc serve`: the same, from its file); ChangesHead asks for the
	// latest sequence only. A remote backend may answer from its last poll
	// (Options.PollEvery): callers poll.
	Changes(after uint64, fn func(seq uint64, patientID string) error) (uint64, error)

	// Audit calls fn for each audit event with Seq > after, in order. Over a
	// server it reads the server's trail, and only an admin may (a
	// PermissionError otherwise).
	Audit(after uint64, fn func(*record.AuditEvent) error) error
	// AuditHead is the last audit event's sequence and hash.
	AuditHead() (uint64, string, error)
}

// ChangesHead, passed to Changes as after, returns the latest change
// sequence without reporting any change.
const ChangesHead = ^uint64(0) - 1

// WTx reads and writes.
type WTx interface {
	Tx
	PutPractice(p *record.Practice) error
	PutUser(u *record.User) error
	// PutToken stores a token or session; DeleteToken revokes one (a
	// NotFoundError when there is none).
	PutToken(t *record.Token) error
	DeleteToken(hash string) error
	// Put writes a record. With an empty ID it creates one (ID assigned, Version 1).
	// Otherwise the stored version must equal e.Head().Version (else a ConflictError
	// naming who changed it and when); the old version is kept and Version increments.
	// A patient whose NHS number is already held by another patient is a ConflictError.
	Put(e record.Entity) error
	// SetSearchRow stores the compact find row of a patient.
	SetSearchRow(id string, row []byte) error
	// Append adds an audit event to the chain, filling Seq, PrevHash and Hash.
	// Over a server it does nothing: the audit trail is the server's own,
	// written by the server for each request it answers (what only the
	// workstation knows travels with the request it belongs to: the access
	// reason as X-Access-Reason, a find as Patient/$find).
	Append(ev *record.AuditEvent) error
}

// Prepared is a record to be created whose JSON encoding was made
// beforehand, off the writing goroutine (bulk imports do it while the
// previous chunk is written). JSON must encode Entity exactly as it will be
// stored: its ID set and Version 1. A backend that keeps JSON uses the bytes
// when it creates the record with that ID, and encodes afresh in any other
// case; every backend accepts a Prepared wherever it accepts the record.
type Prepared struct {
	record.Entity
	JSON []byte
	// Hash, when set, is record.HashCanonical(JSON), made beforehand too; a
	// backend that uses JSON uses it as the record hash.
	Hash string
}

// Unprepared returns the record inside a Prepared, or e itself, and the
// prepared encoding (nil when none).
func Unprepared(e record.Entity) (record.Entity, []byte) {
	if p, ok := e.(*Prepared); ok {
		return p.Entity, p.JSON
	}
	return e, nil
}

// Searcher is implemented by a backend whose server runs population
// searches where the data is (gpsoc serve's POST Group/$search): the
// records never cross the wire, only the patients found.
type Searcher interface {
	// RunSearch runs the text of a search definition on the server; on
	// overrides its reference date, reason shows sensitive records' values
	// (audited there). ok is false when the server cannot (another
	// vendor's): the caller then runs the search itself.
	// purpose ("" a search, or what else the run is for: export, recall/task
	// from) is named in its audit event.
	RunSearch(ctx context.Context, text, on, reason, purpose string) (res *SearchResult, ok bool, err error)
	// RunExplain explains the search for one patient (ref: NHS number or
	// id) on the server, decoding its JSON answer into out; ok as RunSearch.
	RunExplain(ctx context.Context, text, ref, on, reason string, out any) (ok bool, err error)
}

// Scanner is implemented by a read transaction over a network server
// (remote), where ForEach walks a patient's records patient by patient and
// a version number may cost a request of its own: Scan streams the current
// version of every record of the kinds with as few requests as it can (one
// paged standard search per resource type), without version numbers
// (Version 0). It is what a population search reads when the server cannot
// run the search itself.
type Scanner interface {
	Scan(kinds []record.Kind, fn func(record.Entity) error) error
	// ScanPatient is Scan of one patient's records (not the patient).
	ScanPatient(patientID string, kinds []record.Kind, fn func(record.Entity) error) error
}

// SearchResult is what a server's search found.
type SearchResult struct {
	Title       string
	Reference   string
	Registered  int // patients registered on the reference date (for prevalence)
	Achievement *float64
	Members     []SearchMember
}

// SearchMember is one patient a server's search found: the values that
// matched as the server wrote them (none for a sensitive record unless a
// reason was given).
type SearchMember struct {
	PatientID, Name, NHSNumber, Status string
	Sensitive                          bool
	Matched                            []string
	// Evidence are the matching entries as the server's engine gave them
	// (JSON, one an entry), when it sent them.
	Evidence []string
}

// ErrBusy is matched by record.BusyError values the backends return.
var ErrBusy = errors.New("store busy")

// AppointmentIndex is implemented by backends that index appointments by
// start time; services use it when a transaction offers it, else they scan.
type AppointmentIndex interface {
	// AppointmentsBetween calls fn with each appointment starting in [from, to), in start order.
	AppointmentsBetween(from, to time.Time, fn func(*record.Appointment) error) error
}

// Holder is implemented by backends that can keep the practice file open
// across the transactions of one bulk run (an embedded file's lock and
// mapping). Bulk runs call Yield between chunks: it lets in any other
// process waiting for the file, and costs next to nothing when none is.
type Holder interface {
	Hold() (release func() error, err error)
	Yield() error
}

// Passphrases is implemented by a backend that does not hold the users'
// passphrase hashes itself (remote, over gpsoc serve): its server checks
// and sets the acting user's own, since the hash never leaves the server.
type Passphrases interface {
	// HasPassphrase reports whether the acting user has set one.
	HasPassphrase(ctx context.Context) (bool, error)
	// CheckPassphrase reports whether p is the acting user's.
	CheckPassphrase(ctx context.Context, p string) (bool, error)
	// SetPassphrase sets the acting user's own.
	SetPassphrase(ctx context.Context, p string) error
}

// FileKeeper is implemented by backends that are one file on this machine
// (bolt): they can be copied hot and replaced by a copy. The services'
// Backup and Restore use it, with their role check and audit events.
type FileKeeper interface {
	// BackupFile writes a consistent copy of the store to path (created
	// owner-only; an existing path is never overwritten).
	BackupFile(path string) (int64, error)
	// RestoreFrom closes the store and puts the backup src in its place,
	// after backing up what is there; it returns that backup's name.
	RestoreFrom(src string) (string, error)
}

// Operations is implemented by a backend whose server runs some actions
// through its own services (gpsoc serve): the results inbox, whose reports
// and filings are gpsoc's own workflow rather than records a FHIR server
// keeps. Operation posts in, as JSON, to the server's named operation and
// decodes its JSON answer into out; the server checks the role and audits.
// A backend on a server that does not offer the operation (another
// vendor's) returns an error matching ErrNoOperation, saying so.
type Operations interface {
	Operation(ctx context.Context, name string, in, out any) error
}

// ErrNoOperation is matched by the error of an operation the server does not offer.
var ErrNoOperation = errors.New("the server does not offer this operation")

// ImportedTrail is implemented by a write transaction of a backend that
// keeps an audit trail imported with a practice from another system: apart
// from the practice's own hash chain (never chained as its events), each
// event as the other system recorded it, labelled with where it came from
// and whether its own chain verified when it was imported.
type ImportedTrail interface {
	// AppendImportedAudit keeps one imported event, checking its own hash
	// and its link to the event before it from the same source (ie.Problem
	// says what failed; the event is kept either way: it is history).
	AppendImportedAudit(ie *record.ImportedAuditEvent) error
}

// ErrNoImportedTrail is what a wrapper's AppendImportedAudit returns when
// the store beneath it keeps no imported trail.
var ErrNoImportedTrail = errors.New("this store does not keep an audit trail imported from another system")

// ImportedTrailReader is implemented by a transaction of a backend that
// keeps imported trails.
type ImportedTrailReader interface {
	// ImportedAudit calls fn with each kept imported event, in the order kept.
	ImportedAudit(fn func(*record.ImportedAuditEvent) error) error
}

// AuditAppender is implemented by a store that takes an action's audit
// event on its own, outside any write of records (record opened, list,
// find, refusal), and may commit it together with others' (a server's
// group commit). AppendAudit returns once the event is durable.
type AuditAppender interface {
	AppendAudit(ctx context.Context, ev *record.AuditEvent) error
}

// DurableAuditor is implemented by a backend that can make audit events
// durable before they have their place in the practice's chain
// (PostgreSQL: many servers append to one chain, whose lock is held through
// each commit's flush to disk). AppendDurable returns once the events are
// committed; the backend places them in the chain, in the order they were
// committed and before any event placed after them, by the next
// transaction that places events for the practice, or on its own within a
// fraction of a second.
type DurableAuditor interface {
	AppendDurable(ctx context.Context, evs []*record.AuditEvent) error
}

// OneReader is implemented by a backend for which a View that makes a
// single read costs less when it is known beforehand (PostgreSQL: no
// transaction to begin and end, one round trip instead of two).
type OneReader interface {
	// ViewOne is View for an fn that makes exactly one read; a second
	// fails.
	ViewOne(ctx context.Context, fn func(Tx) error) error
}

// ViewOne runs fn, which makes one read, with st's ViewOne when it has
// one, else in a View.
func ViewOne(ctx context.Context, st Store, fn func(Tx) error) error {
	if o, ok := st.(OneReader); ok {
		return o.ViewOne(ctx, fn)
	}
	return st.View(ctx, fn)
}

// Savepoints is implemented by a write transaction that can undo part of
// itself (PostgreSQL): a server's group commit runs several requests'
// writes in one transaction, each from a savepoint, so that one refused
// write is undone alone and the others commit, with one flush to disk.
type Savepoints interface {
	// Savepoint marks the transaction's state. keep makes what was done
	// since final, or fails (a write the database refuses is found there,
	// not in a later request's part); undo takes the transaction back to
	// the mark. One of the two is called, before the next Savepoint.
	Savepoint() (keep, undo func() error)
}
