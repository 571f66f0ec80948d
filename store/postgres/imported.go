package postgres

// An audit trail imported with a practice from another system
// (store.ImportedTrail), kept in audit_imported (migration 0004) exactly
// as a practice file keeps it: apart from the practice's own chain, each
// event's JSON byte for byte, in the order kept.

import (
	"encoding/binary"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

var (
	_ store.ImportedTrail       = (*wtx)(nil)
	_ store.ImportedTrailReader = (*rtx)(nil)
)

// importing is what a write transaction knows of the practice's imported
// trail once it keeps an event: the last order number, and per source the
// hash of the last event kept from it.
type importing struct {
	seq  int64
	prev map[string]string
}

// AppendImportedAudit keeps one imported event, checking its own hash and
// its link to the last event kept from the same source, as bolt does. The
// first call takes the practice's lock (held to commit, as every writer of
// its sequences does), so two imports into one practice number their
// events one after the other.
func (t *wtx) AppendImportedAudit(ie *record.ImportedAuditEvent) error {
	if t.imported == nil {
		var last int64
		err := t.queryRow(`SELECT coalesce((SELECT max(seq) FROM audit_imported WHERE practice = $1), 0)
			FROM practices WHERE practice = $1 FOR NO KEY UPDATE`, t.ods).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return t.noRow()
		}
		if err != nil {
			return err
		}
		t.imported = &importing{seq: last, prev: map[string]string{}}
	}
	im := t.imported
	prev, known := im.prev[ie.Source]
	if !known {
		var doc []byte
		err := t.queryRow("SELECT doc FROM audit_imported WHERE practice = $1 AND source = $2 ORDER BY seq DESC LIMIT 1",
			t.ods, ie.Source).Scan(&doc)
		switch {
		case err == nil:
			var x record.ImportedAuditEvent
			if err := json.Unmarshal(doc, &x); err != nil {
				return fmt.Errorf("the last imported audit event from %s: %w", ie.Source, err)
			}
			prev, known = x.Event.Hash, true
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
	}
	if !known && ie.Event.Seq == 1 {
		prev, known = "", true // the start of its trail
	}
	ie.Problem = store.VerifyImportedEvent(ie.Event, prev, known)
	v, err := json.Marshal(ie)
	if err != nil {
		return err
	}
	im.seq++
	im.prev[ie.Source] = ie.Event.Hash
	t.push(1, t.noRow, "INSERT INTO audit_imported (practice, seq, source, doc) VALUES ($1, $2, $3, $4)", t.ods, im.seq, ie.Source, v)
	return nil
}

// eachImported calls fn with each kept imported event's order number and
// JSON, in order.
func (t *rtx) eachImported(fn func(seq int64, doc []byte) error) error {
	q := fmt.Sprintf("SELECT seq, doc FROM audit_imported WHERE practice = $1 AND seq > $2 ORDER BY seq LIMIT %d", page)
	return pages(t, q, []any{t.ods}, int64(0), func(r pgx.Rows) (int64, func() error, error) {
		var seq int64
		var doc []byte
		if err := r.Scan(&seq, &doc); err != nil {
			return 0, nil, err
		}
		return seq, func() error { return fn(seq, doc) }, nil
	})
}

// ImportedAudit implements store.ImportedTrailReader (a write transaction
// sees its own: its queued inserts go out before the query).
func (t *rtx) ImportedAudit(fn func(*record.ImportedAuditEvent) error) error {
	return t.eachImported(func(seq int64, doc []byte) error {
		var ie record.ImportedAuditEvent
		if err := json.Unmarshal(doc, &ie); err != nil {
			return fmt.Errorf("imported audit event %d: %w", seq, err)
		}
		return fn(&ie)
	})
}

// verifyImported checks the kept imported trail (store.ImportedCheck)
// against the practice's own events that recorded its imports, in the
// transaction's snapshot.
func (t *rtx) verifyImported() ([]store.Problem, store.ImportedTrailReport, error) {
	var c store.ImportedCheck
	if err := t.eachImported(func(seq int64, doc []byte) error {
		c.Event(fmt.Sprintf("imported audit event %d", seq), doc)
		return nil
	}); err != nil {
		return nil, store.ImportedTrailReport{}, err
	}
	var failed error
	ps, rep := c.End(func(seq uint64) *record.AuditEvent {
		var hash string
		var body []byte
		err := t.queryRow("SELECT hash, body FROM gpsoc_audit($1, $2 - 1, 1) WHERE seq = $2", t.ods, int64(seq)).Scan(&hash, &body)
		if err != nil {
			if !errors.Is(err, pgx.ErrNoRows) && failed == nil {
				failed = err
			}
			return nil
		}
		var ev record.AuditEvent
		if json.Unmarshal(body, &ev) != nil {
			return nil
		}
		ev.Hash = hash
		return &ev
	})
	return ps, rep, failed
}

// importedKey is an imported event's order number as a dump carries it
// (store.DumpWriter.ImportedAudit: 8 bytes, big-endian, as bolt keys it).
func importedKey(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }
