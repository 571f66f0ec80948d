package store

import (
	"fmt"
	"slices"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
)

// Problem is one finding of a check or an audit verification.
type Problem struct {
	Where string
	What  string
}

func (p Problem) String() string { return p.Where + ": " + p.What }

// AuditReport is what an audit verification found.
type AuditReport struct {
	Problems []Problem
	Events   int
	// Unhashed is the number of events that wrote a record but carry no
	// record hash (written before record hashing): their records are not checked.
	Unhashed int
	// Imported is what was found of audit trails imported from other
	// systems (kept apart, never chained as this practice's events).
	Imported ImportedTrailReport
}

// ImportedTrailReport is what the check of imported audit trails found.
type ImportedTrailReport struct {
	Events int
	// Unverified are the events whose own chain did not verify when they
	// were imported (labelled so; they are history, kept as they came).
	Unverified int
	Sources    []string
}

// AuditVerifier is implemented by backends that keep the audit trail
// themselves (bolt, postgres): `gpsoc audit verify` runs it.
type AuditVerifier interface {
	VerifyAudit() (AuditReport, error)
}

// ChainCheck verifies a trail read in order, event by event: numbering
// from 1 without gaps, each event linked to the one before, each hash
// matching its content, and the head matching the last event. Every
// backend that keeps a trail verifies it with this.
type ChainCheck struct {
	Records *RecordCheck // checks the records the events wrote (nil: not checked)
	prev    string
	want    uint64
	events  int
	out     []Problem
}

// Event checks the event stored at seq with its hash and body (its JSON
// without the hash).
func (c *ChainCheck) Event(seq uint64, hash string, body []byte) {
	if c.want == 0 {
		c.want = 1
	}
	c.events++
	where := fmt.Sprintf("event %d", seq)
	if seq != c.want {
		c.out = append(c.out, Problem{where, fmt.Sprintf("sequence gap: expected event %d", c.want)})
	}
	c.want = seq + 1
	var ev record.AuditEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		c.out = append(c.out, Problem{where, "cannot be decoded: " + err.Error()})
	} else {
		if ev.Seq != seq {
			c.out = append(c.out, Problem{where, fmt.Sprintf("says it is event %d", ev.Seq)})
		}
		if ev.PrevHash != c.prev {
			c.out = append(c.out, Problem{where, "does not link to the event before it"})
		}
		if c.Records != nil {
			c.out = append(c.out, c.Records.Event(&ev)...)
		}
	}
	if AuditHash(c.prev, body) != hash {
		c.out = append(c.out, Problem{where, "hash does not match its content (altered)"})
	}
	c.prev = hash
}

// Broken notes an event whose stored form could not even be split into
// hash and body; the chain goes on from nothing.
func (c *ChainCheck) Broken(seq uint64, what string) {
	c.events++
	c.want = seq + 1
	c.out = append(c.out, Problem{fmt.Sprintf("event %d", seq), what})
	c.prev = ""
}

// End checks the stored head hash against the last event and reports.
func (c *ChainCheck) End(head string) AuditReport {
	if head != c.prev {
		c.out = append(c.out, Problem{"audit head", "does not match the last event (events removed or altered)"})
	}
	r := AuditReport{Problems: c.out, Events: c.events}
	if c.Records != nil {
		r.Unhashed = c.Records.Unhashed
	}
	return r
}

// writeActions are the audit actions that write the record they name; an
// event of one of them without a record hash was written before record
// hashing began (or by a backend that does not hash).
var writeActions = []string{"create", "update", "retract", "prescribe", "token", "init"}

// RecordCheck verifies each record version an audit event wrote against
// the record hash the event carries: an edit to a consultation's text or a
// dose in the store, after it was written, is found and named.
type RecordCheck struct {
	// Version finds the stored bytes of the record version an event names,
	// and how to make them canonical. missing says why it cannot be found;
	// stored is nil for a user or practice version since superseded (only
	// their current version is kept).
	Version func(ev *record.AuditEvent) (stored []byte, canon func([]byte) ([]byte, error), missing string)
	// Unhashed counts write events that carry no record hash.
	Unhashed int
}

// Event checks the record version one event wrote.
func (rc *RecordCheck) Event(ev *record.AuditEvent) []Problem {
	if ev.RecordHash == "" {
		if ev.EntityID != "" && ev.Version > 0 && slices.Contains(writeActions, ev.Action) {
			rc.Unhashed++
		}
		return nil
	}
	where := fmt.Sprintf("%s %s version %d", ev.Kind, ev.EntityID, ev.Version)
	if ev.Kind == "practice" {
		where = fmt.Sprintf("practice version %d", ev.Version)
	}
	stored, canon, missing := rc.Version(ev)
	if missing != "" {
		return []Problem{{where, fmt.Sprintf("%s (audit event %d wrote it)", missing, ev.Seq)}}
	}
	if stored == nil {
		return nil
	}
	if record.HashCanonical(stored) == ev.RecordHash {
		return nil
	}
	// Not byte for byte what was written: the same record in another
	// encoding still verifies (the hash is over the canonical JSON).
	if b, err := canon(stored); err == nil && record.HashCanonical(b) == ev.RecordHash {
		return nil
	}
	return []Problem{{where, fmt.Sprintf("differs from what audit event %d recorded when it was written (altered since)", ev.Seq)}}
}

// VersionOf is the version a stored record says it is (0 if unreadable).
func VersionOf(v []byte) int {
	var m struct {
		Version int `json:"version"`
	}
	_ = json.Unmarshal(v, &m)
	return m.Version
}

// Canonicaliser returns how to make a stored record of kind canonical
// (what its record hash is over): users keep their passphrase hash, the
// practice and records are their own JSON.
func Canonicaliser(kind record.Kind) func([]byte) ([]byte, error) {
	switch kind {
	case "user":
		return func(b []byte) ([]byte, error) {
			var su struct {
				record.User
				PassHash string `json:"passHash,omitempty"`
			}
			if err := json.Unmarshal(b, &su); err != nil {
				return nil, err
			}
			u := su.User
			u.PassHash = su.PassHash
			return record.CanonicalUser(&u)
		}
	case "practice":
		return func(b []byte) ([]byte, error) {
			var p record.Practice
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, err
			}
			return record.Canonical(&p)
		}
	}
	return func(b []byte) ([]byte, error) {
		e, err := record.New(kind)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, e); err != nil {
			return nil, err
		}
		return record.Canonical(e)
	}
}
