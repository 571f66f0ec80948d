package postgres

import (
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ---- writes ----

// wtx queues its writes and sends them in one round trip when it next
// reads, and at commit: a consultation of five entries and its audit
// event is a handful of round trips, not a dozen.
type wtx struct {
	rtx
	counts  map[record.Kind]int64
	changed []string // patients changed, in order (the change feed's entries)
	// nhs is this transaction's NHS numbers not yet sent: number -> patient
	// id ("" for a number given up).
	nhs map[string]string
	// patients are the patients known to exist (created here, or checked).
	patients map[string]bool
	// highID is, per kind, the greatest id at the first create: a given id
	// above it is new and needs no lookup (UUIDv7 ids grow).
	highID map[record.Kind]string
	// locked: the practice row is locked; the heads below are its values,
	// moved on by this transaction.
	locked    bool
	changeSeq int64
	auditSeq  int64
	auditHash string
	// practiceDoc is the practice record read with the lock (practiceRead).
	practiceDoc  []byte
	practiceRead bool
	hashes       map[written]string
	// events are the audit events appended and not yet placed in the chain.
	events []*record.AuditEvent
	// docs are the records this transaction has read or written, as stored
	// (kind/id -> doc): a write action reads its patient once per entry it
	// checks, and each read would be a round trip. A record read here is
	// row-locked before it is changed (Put), so a cached copy can never
	// hide a newer version from a version check.
	docs map[docKey][]byte
	// imported is the imported trail this transaction keeps (imported.go).
	imported *importing
	// fed: the transaction added to the change feed (notify.go).
	fed bool
}

type docKey struct {
	kind record.Kind
	id   string
}

type written struct {
	kind    record.Kind
	id      string
	version int
}

// lock takes the practice's lock (its row, FOR NO KEY UPDATE: a record's
// foreign key holds KEY SHARE on the same row, which a plain FOR UPDATE
// would deadlock against) with the queued writes, and reads the heads:
// from here to commit this transaction is the practice's only writer of
// sequences.
func (t *wtx) lock() error {
	if t.practiceRead {
		return nil
	}
	err := t.queryRow("SELECT change_seq, audit_seq, audit_hash, doc FROM practices WHERE practice = $1 FOR NO KEY UPDATE", t.ods).
		Scan(&t.changeSeq, &t.auditSeq, &t.auditHash, &t.practiceDoc)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("practice %s has no row: %w", t.ods, err)
	}
	if err != nil {
		return err
	}
	t.locked, t.practiceRead = true, true
	return nil
}

// The parts of an event's JSON around its middle (store.AppendAuditJSON
// of an event at sequence 0 with no link): the database writes the
// sequence and the link in (gpsoc_place, migration 0002).
const (
	auditJSONHead = `{"seq":0`
	auditJSONTail = `,"prevHash":"","hash":""}`
)

// placing is the call of gpsoc_place for what the transaction has not yet
// placed in the practice's sequences ("" when nothing), with what to fill
// in from its answer.
func (t *wtx) placing() (string, []any, []*record.AuditEvent) {
	if len(t.events) == 0 && len(t.changed) == 0 {
		return "", nil, nil
	}
	mids := auditMids(t.events)
	evs := t.events
	changed := t.changed
	if changed == nil {
		changed = []string{}
	}
	t.fed = t.fed || len(changed) > 0
	t.events, t.changed = nil, nil
	return "SELECT first_seq, prev_hash, hashes, first_change, last_change FROM gpsoc_place($1, $2, $3)", []any{t.ods, mids, changed}, evs
}

// auditMids are the events' JSON between the sequence and the chain link,
// which the database fills in as it places them (gpsoc_place).
func auditMids(evs []*record.AuditEvent) []string {
	mids := make([]string, len(evs))
	buf := make([]byte, 0, 512)
	for i, ev := range evs {
		ev.Seq, ev.PrevHash, ev.Hash = 0, "", ""
		buf = store.AppendAuditJSON(buf[:0], ev)
		mids[i] = string(buf[len(auditJSONHead) : len(buf)-len(auditJSONTail)])
	}
	return mids
}

// placed fills the events in from gpsoc_place's answer.
func (t *wtx) placed(evs []*record.AuditEvent, first int64, prev string, hashes []string, lastChange int64) error {
	if len(hashes) != len(evs) {
		return fmt.Errorf("practice %s: %d audit events placed for %d appended", t.ods, len(hashes), len(evs))
	}
	for i, ev := range evs {
		ev.Seq, ev.PrevHash, ev.Hash = uint64(first)+uint64(i), prev, hashes[i]
		prev = hashes[i]
	}
	t.locked = true
	t.auditSeq, t.auditHash, t.changeSeq = first+int64(len(evs))-1, prev, lastChange
	return nil
}

// place puts what the transaction has appended so far in the practice's
// sequences now (it reads its own trail or feed), under the lock.
func (t *wtx) place() error {
	q, args, evs := t.placing()
	if q == "" {
		return nil
	}
	var first, fc, lc int64
	var prev string
	var hashes []string
	if err := t.queryRow(q, args...).Scan(&first, &prev, &hashes, &fc, &lc); err != nil {
		return mapErr(err)
	}
	return t.placed(evs, first, prev, hashes, lc)
}

// commit sends what the transaction kept for its end in one batch: its
// queued writes, its audit events and change entries placed in the
// practice's sequences by the database (which takes the practice's lock
// there), the counts, and COMMIT. The lock is held for that batch's
// execution and the commit, never for a round trip to this process.
func (t *wtx) commit() error {
	kinds := make([]string, 0, len(t.counts))
	ns := make([]int64, 0, len(t.counts))
	for k, n := range t.counts {
		kinds, ns = append(kinds, string(k)), append(ns, n)
	}
	q, args, evs := t.placing()
	if !t.begun && len(t.queue) == t.prelude && q == "" && len(kinds) == 0 {
		// Nothing was read or written: no transaction to commit.
		t.queue, t.done = nil, true
		return nil
	}
	if q == "" {
		if len(kinds) > 0 {
			t.push(-1, nil, countsSQL, t.ods, kinds, ns)
		}
		t.push(-1, nil, "COMMIT")
		if err := t.send(); err != nil {
			return err
		}
		t.done = true
		return nil
	}
	br, err := t.batchThen(q, args, func(b *pgx.Batch) {
		if len(kinds) > 0 {
			b.Queue(countsSQL, t.ods, kinds, ns)
		}
		b.Queue("COMMIT")
	})
	if err != nil {
		return err
	}
	var first, fc, lc int64
	var prev string
	var hashes []string
	if err := br.QueryRow().Scan(&first, &prev, &hashes, &fc, &lc); err != nil {
		br.Close()
		return mapErr(err)
	}
	if len(kinds) > 0 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return mapErr(err)
		}
	}
	if _, err := br.Exec(); err != nil { // COMMIT
		br.Close()
		return mapErr(err)
	}
	if err := br.Close(); err != nil {
		return mapErr(err)
	}
	t.done = true
	return t.placed(evs, first, prev, hashes, lc)
}

const countsSQL = `INSERT INTO record_counts (practice, kind, n) SELECT $1, k, n FROM unnest($2::text[], $3::bigint[]) AS u(k, n)
	ON CONFLICT (practice, kind) DO UPDATE SET n = record_counts.n + excluded.n`

func (t *wtx) noRow() error { return fmt.Errorf("practice %s: its row is missing", t.ods) }

// wrote keeps the record hash of a version just written, for its audit event.
func (t *wtx) wrote(kind record.Kind, id string, version int, canonical []byte, hash string) {
	if t.hashes == nil {
		t.hashes = map[written]string{}
	}
	if hash == "" {
		hash = record.HashCanonical(canonical)
	}
	t.hashes[written{kind, id, version}] = hash
}

// Count sees the transaction's own creates.
func (t *wtx) Count(kind record.Kind) int { return t.rtx.Count(kind) + int(t.counts[kind]) }

// AuditHead sees the transaction's own events.
func (t *wtx) AuditHead() (uint64, string, error) {
	if err := t.place(); err != nil {
		return 0, "", err
	}
	return t.rtx.AuditHead()
}

// Audit sees the transaction's own events.
func (t *wtx) Audit(after uint64, fn func(*record.AuditEvent) error) error {
	if err := t.place(); err != nil {
		return err
	}
	return t.rtx.Audit(after, fn)
}

// Changes sees the transaction's own changes.
func (t *wtx) Changes(after uint64, fn func(uint64, string) error) (uint64, error) {
	if err := t.place(); err != nil {
		return 0, err
	}
	return t.rtx.Changes(after, fn)
}

func (t *wtx) PutPractice(p *record.Practice) error {
	if err := t.lock(); err != nil {
		return err
	}
	var cur *record.Practice
	err := error(&record.NotFoundError{Kind: "practice", ID: t.ods})
	if t.practiceDoc != nil {
		cur = &record.Practice{}
		if err = json.Unmarshal(t.practiceDoc, cur); err != nil {
			return fmt.Errorf("decode practice: %w", err)
		}
	}
	if err == nil && cur.Version != p.Version {
		return store.StaleVersion("practice settings", p.Version, cur.Version, cur.RecordedBy, cur.RecordedAt)
	}
	if err != nil && !record.IsNotFound(err) {
		return err
	}
	if err == nil {
		p.Version = cur.Version + 1
	} else {
		p.Version = 1
	}
	v, err := record.Canonical(p)
	if err != nil {
		return err
	}
	t.wrote("practice", "", p.Version, v, "")
	t.practiceDoc = v
	t.push(1, t.noRow, "UPDATE practices SET doc = $2 WHERE practice = $1", t.ods, v)
	return nil
}

func (t *wtx) PutUser(u *record.User) error {
	if err := t.send(); err != nil {
		return err
	}
	var old []byte
	err := t.queryRow("SELECT doc FROM users WHERE practice = $1 AND name = $2 FOR UPDATE", t.ods, u.Name).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	creating := old == nil
	cur := &record.User{}
	if !creating {
		if cur, err = store.DecodeUser(old); err != nil {
			return err
		}
	}
	if u.Version, err = store.NextVersion("user "+u.Name, u.Version, !creating, cur.Version, cur.RecordedBy, cur.RecordedAt); err != nil {
		return err
	}
	v, err := record.CanonicalUser(u)
	if err != nil {
		return err
	}
	t.wrote("user", u.Name, u.Version, v, "")
	if creating {
		// Two replicas adding the same name at once: the second conflicts.
		name := u.Name
		t.push(1, func() error {
			return &record.ConflictError{What: "user " + name, Msg: "added at the same moment by another writer"}
		}, "INSERT INTO users (practice, name, doc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", t.ods, u.Name, v)
	} else {
		t.push(1, t.noRow, "UPDATE users SET doc = $3 WHERE practice = $1 AND name = $2", t.ods, u.Name, v)
	}
	return nil
}

func (t *wtx) PutToken(tk *record.Token) error {
	if tk.Hash == "" || tk.User == "" {
		return fmt.Errorf("put token: a token needs its hash and its user")
	}
	v, err := json.Marshal(tk)
	if err != nil {
		return err
	}
	t.push(1, func() error { return &record.ConflictError{What: "token", Msg: "its hash is another practice's"} },
		`INSERT INTO tokens (hash, practice, user_name, doc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hash) DO UPDATE SET user_name = excluded.user_name, doc = excluded.doc`, tk.Hash, t.ods, tk.User, v)
	return nil
}

func (t *wtx) DeleteToken(hash string) error {
	if err := t.send(); err != nil {
		return err
	}
	tag, err := t.exec("DELETE FROM tokens WHERE practice = $1 AND hash = $2", t.ods, hash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return &record.NotFoundError{Kind: "token", ID: "…"}
	}
	return nil
}

// curMeta is what Put reads of a record's current version.
type curMeta = store.RecordMeta

// aboveHigh reports whether id is greater than every id of its kind (read
// for every kind at the transaction's first create, one round trip, then
// kept as creates add to it).
func (t *wtx) aboveHigh(kind record.Kind, id string) (bool, error) {
	if t.highID == nil {
		// One index probe per kind (ORDER BY … LIMIT 1, not max(id): under
		// row-level security the planner does not turn max() into a probe,
		// and it read every row of the kind, 7 ms at 7,500 observations).
		rows, err := t.query(`SELECT k, coalesce((SELECT id FROM records WHERE practice = $1 AND kind = k ORDER BY id DESC LIMIT 1), '')
			FROM unnest($2::text[]) AS u(k)`, t.ods, kindNames)
		if err != nil {
			return false, err
		}
		highs := map[record.Kind]string{}
		var k, hi string
		if _, err := pgx.ForEachRow(rows, []any{&k, &hi}, func() error { highs[record.Kind(k)] = hi; return nil }); err != nil {
			return false, err
		}
		t.highID = highs
	}
	return id > t.highID[kind], nil
}

var kindNames = func() []string {
	out := make([]string, len(record.Kinds))
	for i, k := range record.Kinds {
		out[i] = string(k)
	}
	return out
}()

// Get reads through the transaction's own records (docs).
func (t *wtx) Get(kind record.Kind, id string) (record.Entity, error) {
	if doc, ok := t.docs[docKey{kind, id}]; ok {
		return store.DecodeEntity(kind, doc)
	}
	if !knownKind(kind) {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	doc, err := t.getDoc(kind, id)
	if err != nil {
		return nil, err
	}
	t.keep(kind, id, doc)
	return store.DecodeEntity(kind, doc)
}

func (t *wtx) keep(kind record.Kind, id string, doc []byte) {
	if t.docs == nil {
		t.docs = map[docKey][]byte{}
	}
	t.docs[docKey{kind, id}] = doc
}

// Put checks everything before it queues anything, so a refused Put leaves
// the transaction usable (bulk imports go on with the next line).
func (t *wtx) Put(e record.Entity) error {
	var preparedHash string
	if p, ok := e.(*store.Prepared); ok {
		preparedHash = p.Hash
	}
	e, prepared := store.Unprepared(e)
	givenID := e.Head().ID
	m := e.Head()
	kind := e.Kind()
	if !knownKind(kind) {
		return fmt.Errorf("unknown kind %q", kind)
	}
	for _, c := range m.ID {
		if c == 0 {
			return record.Invalid("id", m.ID, "must not contain a NUL character")
		}
	}
	var old []byte
	var cur curMeta
	if m.ID != "" {
		fresh, err := t.aboveHigh(kind, m.ID)
		if err != nil {
			return err
		}
		if !fresh {
			if err := t.send(); err != nil {
				return err
			}
			// The row stays locked to this transaction until it ends: a
			// second writer of the same record waits, then sees this
			// version and conflicts.
			err := t.queryRow("SELECT doc FROM records WHERE practice = $1 AND kind = $2 AND id = $3 FOR UPDATE",
				t.ods, string(kind), m.ID).Scan(&old)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
	}
	creating := old == nil
	if !creating {
		if err := json.Unmarshal(old, &cur); err != nil {
			return fmt.Errorf("decode %s %s: %w", kind, m.ID, err)
		}
		if err := cur.CheckWrite(kind, m.ID, m.Version, m.PatientID); err != nil {
			return err
		}
	}
	if kind != record.KindPatient && m.PatientID != "" && creating {
		if err := t.patientExists(m.PatientID); err != nil {
			return err
		}
	}
	var nhs string
	if p, ok := e.(*record.Patient); ok && p.NHSNumber != "" {
		nhs = p.NHSNumber
		holder, err := t.nhsHolder(nhs)
		if err != nil {
			return err
		}
		if holder != "" && (creating || holder != m.ID) {
			return &record.ConflictError{What: "NHS number " + record.FormatNHS(nhs), Msg: "already registered to patient " + holder}
		}
	}
	// All checks passed: queue the writes.
	if creating {
		if m.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			m.ID = id.String()
		}
		m.Version = 1
		if hi, ok := t.highID[kind]; ok && m.ID > hi {
			t.highID[kind] = m.ID
		}
		if t.counts == nil {
			t.counts = map[record.Kind]int64{}
		}
		t.counts[kind]++
	} else {
		t.push(1, t.noRow, `INSERT INTO record_versions (practice, kind, id, version, doc) VALUES ($1, $2, $3, $4, $5)`,
			t.ods, string(kind), m.ID, cur.Version, old)
		m.Version = cur.Version + 1
	}
	if kind == record.KindPatient {
		if t.patients == nil {
			t.patients = map[string]bool{}
		}
		t.patients[m.ID] = true
		if !creating && cur.NHSNumber != "" && cur.NHSNumber != nhs {
			t.nhsSet(cur.NHSNumber, "")
		}
		if nhs != "" {
			t.nhsSet(nhs, m.ID)
		}
		t.changed = append(t.changed, m.ID)
	} else if m.PatientID != "" && (len(t.changed) == 0 || t.changed[len(t.changed)-1] != m.PatientID) {
		// A change to any of a patient's records is a change to the patient.
		t.changed = append(t.changed, m.PatientID)
	}
	var apptStart *time.Time
	if a, ok := e.(*record.Appointment); ok && !a.Start.IsZero() {
		s := a.Start
		apptStart = &s
	}
	v := prepared
	if v == nil || !creating || givenID == "" || m.ID != givenID {
		var err error
		if v, err = record.Canonical(e); err != nil {
			return err
		}
		preparedHash = ""
	}
	t.wrote(kind, m.ID, m.Version, v, preparedHash)
	var pid, nhsCol *string
	if m.PatientID != "" {
		pid = &m.PatientID
	}
	if nhs != "" {
		nhsCol = &nhs
	}
	t.keep(kind, m.ID, v)
	if creating {
		id := m.ID
		t.push(1, func() error {
			return &record.ConflictError{What: string(kind) + " " + id, Msg: "created at the same moment by another writer"}
		}, `INSERT INTO records (practice, kind, id, version, patient_id, nhs, appt_start, doc) VALUES ($1, $2, $3, 1, $4, $5, $6, $7)
			ON CONFLICT DO NOTHING`, t.ods, string(kind), m.ID, pid, nhsCol, apptStart, v)
	} else {
		t.push(1, t.noRow, `UPDATE records SET version = $4, nhs = $5, appt_start = $6, doc = $7
			WHERE practice = $1 AND kind = $2 AND id = $3`, t.ods, string(kind), m.ID, m.Version, nhsCol, apptStart, v)
	}
	return nil
}

func (t *wtx) nhsSet(nhs, id string) {
	if t.nhs == nil {
		t.nhs = map[string]string{}
	}
	t.nhs[nhs] = id
}

// nhsHolder is the id of the patient holding an NHS number ("" for none),
// this transaction's own changes included.
func (t *wtx) nhsHolder(nhs string) (string, error) {
	if id, ok := t.nhs[nhs]; ok {
		return id, nil
	}
	var id string
	err := t.queryRow("SELECT id FROM records WHERE practice = $1 AND nhs = $2", t.ods, nhs).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// patientExists is nil when the patient exists (a NotFoundError when not).
func (t *wtx) patientExists(id string) error {
	if t.patients[id] {
		return nil
	}
	if _, ok := t.docs[docKey{record.KindPatient, id}]; ok {
		return nil
	}
	var one int
	err := t.queryRow("SELECT 1 FROM records WHERE practice = $1 AND kind = 'patient' AND id = $2", t.ods, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return &record.NotFoundError{Kind: "patient", ID: id}
	}
	if err != nil {
		return err
	}
	if t.patients == nil {
		t.patients = map[string]bool{}
	}
	t.patients[id] = true
	return nil
}

func (t *wtx) SetSearchRow(id string, row []byte) error {
	if err := t.patientExists(id); err != nil {
		return err
	}
	t.push(1, t.noRow, `INSERT INTO search_rows (practice, patient_id, row) VALUES ($1, $2, $3)
		ON CONFLICT (practice, patient_id) DO UPDATE SET row = excluded.row`, t.ods, id, append([]byte(nil), row...))
	return nil
}

// Append adds an audit event to the practice's chain. Its place (Seq,
// PrevHash, Hash) is given by the database at commit, under the
// practice's lock (gpsoc_place), so the lock is held for the commit's
// execution only; the event is filled in when Update returns (or when the
// transaction reads its own trail).
func (t *wtx) Append(ev *record.AuditEvent) error {
	// The record hash is the store's own, of what this transaction wrote.
	ev.RecordHash = ""
	if t.hashes != nil && ev.EntityID != "" {
		w := written{ev.Kind, ev.EntityID, ev.Version}
		if ev.Kind == "practice" {
			w.id = ""
		}
		if h, ok := t.hashes[w]; ok {
			ev.RecordHash = h
			delete(t.hashes, w)
		}
	}
	ev.Seq, ev.PrevHash, ev.Hash = 0, "", ""
	defaults(ev)
	t.events = append(t.events, ev)
	return nil
}

// defaults fills in what an event given without them has: when, and "ok".
func defaults(ev *record.AuditEvent) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	if ev.Outcome == "" {
		ev.Outcome = "ok"
	}
}
