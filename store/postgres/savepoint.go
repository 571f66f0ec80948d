package postgres

import (
	"maps"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

var _ store.Savepoints = (*wtx)(nil)

// mark is what a savepoint keeps of the transaction's own state, beside
// the database's.
type mark struct {
	events    []*record.AuditEvent
	changed   []string
	counts    map[record.Kind]int64
	nhs       map[string]string
	patients  map[string]bool
	highID    map[record.Kind]string
	docs      map[docKey][]byte
	hashes    map[written]string
	locked    bool
	changeSeq int64
	auditSeq  int64
	auditHash string
	pDoc      []byte
	pRead     bool
}

// Savepoint implements store.Savepoints. SAVEPOINT is queued (it goes
// with the next statement); keep sends what is queued with RELEASE, so a
// refused insert fails this part; undo drops what was queued since the
// mark when none of it was sent, else queues ROLLBACK TO.
func (t *wtx) Savepoint() (keep, undo func() error) {
	m := mark{events: append([]*record.AuditEvent(nil), t.events...), changed: append([]string(nil), t.changed...),
		counts: maps.Clone(t.counts), nhs: maps.Clone(t.nhs), patients: maps.Clone(t.patients), highID: maps.Clone(t.highID),
		docs: maps.Clone(t.docs), hashes: maps.Clone(t.hashes), locked: t.locked, changeSeq: t.changeSeq, auditSeq: t.auditSeq,
		auditHash: t.auditHash, pDoc: t.practiceDoc, pRead: t.practiceRead}
	at := t.sent + len(t.queue) // SAVEPOINT's place among the statements
	// One name for every part: each is released or rolled back before the
	// next, and one statement text stays one prepared statement.
	t.push(-1, nil, "SAVEPOINT part")
	keep = func() error {
		t.push(-1, nil, "RELEASE SAVEPOINT part")
		return t.send()
	}
	undo = func() error {
		t.events, t.changed, t.counts, t.nhs, t.patients, t.highID = m.events, m.changed, m.counts, m.nhs, m.patients, m.highID
		t.docs, t.hashes, t.locked, t.changeSeq, t.auditSeq, t.auditHash = m.docs, m.hashes, m.locked, m.changeSeq, m.auditSeq, m.auditHash
		t.practiceDoc, t.practiceRead = m.pDoc, m.pRead
		t.imported = nil // read again: the undone part's imported events are not kept
		if at >= t.sent {
			t.queue = t.queue[:at-t.sent] // nothing since the mark reached the database
			return nil
		}
		// Whatever is queued came after the mark. The simple protocol: a
		// statement prepared first would be refused by a transaction in
		// error.
		t.queue = nil
		if _, err := t.c.Exec(t.ctx, "ROLLBACK TO SAVEPOINT part; RELEASE SAVEPOINT part"); err != nil {
			return mapErr(err)
		}
		return nil
	}
	return keep, undo
}
