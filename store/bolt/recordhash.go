package bolt

import (
	"bytes"
	"fmt"
	"slices"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
	bbolt "go.etcd.io/bbolt"
)

// writeActions are the audit actions that write the record they name; an
// event of one of them without a record hash was written before record
// hashing began (or by a backend that does not hash).
var writeActions = []string{"create", "update", "retract", "prescribe", "token", "init"}

// recordCheck verifies each record version an audit event wrote against
// the record hash the event carries: an edit to a consultation's text or a
// dose in the file, after it was written, is found and named.
type recordCheck struct {
	tx *bbolt.Tx
	// unhashed counts write events that carry no record hash.
	unhashed int
}

func (rc *recordCheck) event(ev *record.AuditEvent) []Problem {
	if ev.RecordHash == "" {
		if ev.EntityID != "" && ev.Version > 0 && slices.Contains(writeActions, ev.Action) {
			rc.unhashed++
		}
		return nil
	}
	where := fmt.Sprintf("%s %s version %d", ev.Kind, ev.EntityID, ev.Version)
	if ev.Kind == "practice" {
		where = fmt.Sprintf("practice version %d", ev.Version)
	}
	stored, canon, missing := rc.version(ev)
	if missing != "" {
		return []Problem{{where, fmt.Sprintf("%s (audit event %d wrote it)", missing, ev.Seq)}}
	}
	if stored == nil {
		return nil // a user or the practice, since changed: only their current version is kept
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

// version finds the stored bytes of the record version an event names, and
// how to make them canonical. missing says why it cannot be found; stored
// is nil for a user or practice version that has been superseded.
func (rc *recordCheck) version(ev *record.AuditEvent) (stored []byte, canon func([]byte) ([]byte, error), missing string) {
	tx := rc.tx
	switch ev.Kind {
	case "user":
		v := tx.Bucket(bUsers).Get([]byte(ev.EntityID))
		if v == nil {
			return nil, nil, "missing: no such user"
		}
		if versionOf(v) != ev.Version {
			return nil, nil, ""
		}
		return v, func(b []byte) ([]byte, error) {
			u, err := decodeUser(b)
			if err != nil {
				return nil, err
			}
			return record.CanonicalUser(u)
		}, ""
	case "practice":
		v := tx.Bucket(bPractice).Get(kPractice)
		if v == nil {
			return nil, nil, "missing: no practice record"
		}
		if versionOf(v) != ev.Version {
			return nil, nil, ""
		}
		return v, func(b []byte) ([]byte, error) {
			var p record.Practice
			if err := json.Unmarshal(b, &p); err != nil {
				return nil, err
			}
			return record.Canonical(&p)
		}, ""
	}
	kb, ib := tx.Bucket(kindBucket(ev.Kind)), tx.Bucket(idBucket(ev.Kind))
	if kb == nil || ib == nil {
		return nil, nil, fmt.Sprintf("missing: unknown kind %q", ev.Kind)
	}
	canon = func(b []byte) ([]byte, error) {
		e, err := decode(ev.Kind, b)
		if err != nil {
			return nil, err
		}
		return record.Canonical(e)
	}
	key := ib.Get([]byte(ev.EntityID))
	if key == nil {
		return nil, nil, "missing: no such record"
	}
	cur := kb.Get(key)
	if cur != nil && versionOf(cur) == ev.Version {
		return cur, canon, ""
	}
	vk := append(bytes.Clone(key), byte(ev.Version>>24), byte(ev.Version>>16), byte(ev.Version>>8), byte(ev.Version))
	if v := tx.Bucket(versionBucket(ev.Kind)).Get(vk); v != nil {
		return v, canon, ""
	}
	return nil, nil, "missing: this version is not in the file"
}

// versionOf is the version a stored record says it is (0 if unreadable).
func versionOf(v []byte) int {
	var m struct {
		Version int `json:"version"`
	}
	_ = json.Unmarshal(v, &m)
	return m.Version
}
