package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// An audit trail imported with a practice from another system is kept in a
// bucket of its own, apart from the practice's chain: each event as the
// other system recorded it, labelled with its source and with what its own
// chain said when it was imported. The bucket is made on first use, so a
// file without one needs no migration.
var bAuditImported = []byte("audit-imported")

var (
	_ store.ImportedTrail       = (*wtx)(nil)
	_ store.ImportedTrailReader = (*rtx)(nil)
)

func (t *wtx) AppendImportedAudit(ie *record.ImportedAuditEvent) error {
	b, err := t.tx.CreateBucketIfNotExists(bAuditImported)
	if err != nil {
		return err
	}
	if t.importedPrev == nil {
		t.importedPrev = map[string]string{}
	}
	prev, known := t.importedPrev[ie.Source]
	if !known {
		// The last event kept from this source before this transaction.
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var x record.ImportedAuditEvent
			if json.Unmarshal(v, &x) == nil && x.Source == ie.Source {
				prev, known = x.Event.Hash, true
				break
			}
		}
	}
	if !known && ie.Event.Seq == 1 {
		prev, known = "", true // the start of its trail
	}
	ie.Problem = store.VerifyImportedEvent(ie.Event, prev, known)
	t.importedPrev[ie.Source] = ie.Event.Hash
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(ie)
	if err != nil {
		return err
	}
	return b.Put(u64(seq), v)
}

func (t *rtx) ImportedAudit(fn func(*record.ImportedAuditEvent) error) error {
	b := t.tx.Bucket(bAuditImported)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var ie record.ImportedAuditEvent
		if err := json.Unmarshal(v, &ie); err != nil {
			return fmt.Errorf("imported audit event %d: %w", binary.BigEndian.Uint64(k), err)
		}
		return fn(&ie)
	})
}

// ImportedTrailReport is what VerifyAudit found of the imported trails.
type ImportedTrailReport = store.ImportedTrailReport

// verifyImportedTrails checks the kept imported events (store.ImportedCheck).
func verifyImportedTrails(tx *bbolt.Tx) ([]Problem, ImportedTrailReport) {
	b := tx.Bucket(bAuditImported)
	if b == nil {
		return nil, ImportedTrailReport{}
	}
	var c store.ImportedCheck
	_ = b.ForEach(func(k, v []byte) error {
		c.Event(fmt.Sprintf("imported audit event %d", binary.BigEndian.Uint64(k)), v)
		return nil
	})
	ab := tx.Bucket(bAudit)
	return c.End(func(seq uint64) *record.AuditEvent {
		v := ab.Get(u64(seq))
		if v == nil {
			return nil
		}
		ev, err := decodeAudit(v)
		if err != nil {
			return nil
		}
		return ev
	})
}
