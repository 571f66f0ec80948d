package bolt

import (
	"bytes"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

// recordCheck verifies each record version an audit event wrote against
// the record hash the event carries, finding the versions in the file.
func recordCheck(tx *bbolt.Tx) *store.RecordCheck {
	return &store.RecordCheck{Version: func(ev *record.AuditEvent) ([]byte, func([]byte) ([]byte, error), string) {
		return storedVersion(tx, ev)
	}}
}

// storedVersion finds the stored bytes of the record version an event
// names; missing says why it cannot be found, and stored is nil for a user
// or practice version that has been superseded.
func storedVersion(tx *bbolt.Tx, ev *record.AuditEvent) (stored []byte, canon func([]byte) ([]byte, error), missing string) {
	canon = store.Canonicaliser(ev.Kind)
	switch ev.Kind {
	case "user":
		v := tx.Bucket(bUsers).Get([]byte(ev.EntityID))
		if v == nil {
			return nil, nil, "missing: no such user"
		}
		if store.VersionOf(v) != ev.Version {
			return nil, nil, ""
		}
		return v, canon, ""
	case "practice":
		v := tx.Bucket(bPractice).Get(kPractice)
		if v == nil {
			return nil, nil, "missing: no practice record"
		}
		if store.VersionOf(v) != ev.Version {
			return nil, nil, ""
		}
		return v, canon, ""
	}
	kb, ib := tx.Bucket(kindBucket(ev.Kind)), tx.Bucket(idBucket(ev.Kind))
	if kb == nil || ib == nil {
		return nil, nil, "missing: unknown kind \"" + string(ev.Kind) + "\""
	}
	key := ib.Get([]byte(ev.EntityID))
	if key == nil {
		return nil, nil, "missing: no such record"
	}
	cur := kb.Get(key)
	if cur != nil && store.VersionOf(cur) == ev.Version {
		return cur, canon, ""
	}
	vk := append(bytes.Clone(key), byte(ev.Version>>24), byte(ev.Version>>16), byte(ev.Version>>8), byte(ev.Version))
	if v := tx.Bucket(versionBucket(ev.Kind)).Get(vk); v != nil {
		return v, canon, ""
	}
	return nil, nil, "missing: this version is not in the file"
}
