package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

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

// verifyImported checks an imported event's own hash and, when the event
// before it from the same source is known, its link to it.
func verifyImported(ev record.AuditEvent, prev string, prevKnown bool) string {
	if ev.Hash == "" {
		return "carries no hash: its chain cannot be verified"
	}
	h := ev.Hash
	ev.Hash = ""
	if store.AuditHash(ev.PrevHash, store.AppendAuditJSON(nil, &ev)) != h {
		return "its hash does not match its content (altered, or not a chain this program verifies)"
	}
	if prevKnown && ev.PrevHash != prev {
		return "does not link to the event before it (events missing or out of order)"
	}
	return ""
}

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
	ie.Problem = verifyImported(ie.Event, prev, known)
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

// verifyImportedTrails checks the kept imported events against the
// practice's own events that record their imports (count and digest), and
// each event's own hash again: an event removed, added or altered since its
// import is a problem of this file, not of the other system.
func verifyImportedTrails(tx *bbolt.Tx) ([]Problem, ImportedTrailReport) {
	var rep ImportedTrailReport
	var out []Problem
	b := tx.Bucket(bAuditImported)
	if b == nil {
		return nil, rep
	}
	batches := map[uint64][]record.AuditEvent{}
	var order []uint64
	seen := map[string]bool{}
	_ = b.ForEach(func(k, v []byte) error {
		where := fmt.Sprintf("imported audit event %d", binary.BigEndian.Uint64(k))
		var ie record.ImportedAuditEvent
		if err := json.Unmarshal(v, &ie); err != nil {
			out = append(out, Problem{Where: where, What: "cannot be decoded: " + err.Error()})
			return nil
		}
		rep.Events++
		if ie.Problem != "" {
			rep.Unverified++
		} else if verifyImported(ie.Event, "", false) != "" {
			out = append(out, Problem{Where: where, What: "verified when imported, but its hash no longer matches its content (altered since)"})
		}
		if !seen[ie.Source] {
			seen[ie.Source] = true
			rep.Sources = append(rep.Sources, ie.Source)
		}
		if _, ok := batches[ie.Batch]; !ok {
			order = append(order, ie.Batch)
		}
		batches[ie.Batch] = append(batches[ie.Batch], ie.Event)
		return nil
	})
	ab := tx.Bucket(bAudit)
	for _, seq := range order {
		evs := batches[seq]
		where := fmt.Sprintf("imported trail recorded at event %d", seq)
		v := ab.Get(u64(seq))
		ev, err := decodeAudit(v)
		if v == nil || err != nil || ev.Action != "import" || ev.Kind != "audit" {
			out = append(out, Problem{Where: where, What: "no event of this practice records its import"})
			continue
		}
		want := fmt.Sprintf("%d events", len(evs))
		if !strings.Contains(ev.Query, want) || !strings.Contains(ev.Query, record.TrailDigest(evs)) {
			out = append(out, Problem{Where: where, What: "its events differ from those the import recorded (removed, added or altered since)"})
		}
	}
	return out, rep
}
