package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	json "github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// page is how many rows an iteration reads at a time (keyset pages, so
// the callback may read more between pages on the same connection).
const page = 1000

type rtx struct {
	ctx context.Context
	c   *pgx.Conn
	ods string
	// pre runs before every read: a write transaction sends its queued
	// writes first, so it reads its own writes.
	pre func() error
}

func (t *rtx) before() error {
	if t.pre != nil {
		return t.pre()
	}
	return nil
}

func knownKind(k record.Kind) bool { return slices.Contains(record.Kinds, k) }

func (t *rtx) Practice() (*record.Practice, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	var doc []byte
	err := t.c.QueryRow(t.ctx, "SELECT doc FROM practices WHERE practice = $1", t.ods).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && doc == nil) {
		return nil, &record.NotFoundError{Kind: "practice", ID: t.ods}
	}
	if err != nil {
		return nil, err
	}
	var p record.Practice
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, fmt.Errorf("decode practice: %w", err)
	}
	return &p, nil
}

// storedUser is a user as the database keeps it: with the passphrase hash
// the served JSON leaves out (the same JSON as record.CanonicalUser).
type storedUser struct {
	record.User
	PassHash string `json:"passHash,omitempty"`
}

func decodeUser(v []byte) (*record.User, error) {
	var su storedUser
	if err := json.Unmarshal(v, &su); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	u := su.User
	u.PassHash = su.PassHash
	return &u, nil
}

func (t *rtx) User(name string) (*record.User, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	var doc []byte
	err := t.c.QueryRow(t.ctx, "SELECT doc FROM users WHERE practice = $1 AND name = $2", t.ods, name).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: "user", ID: name}
	}
	if err != nil {
		return nil, err
	}
	return decodeUser(doc)
}

func (t *rtx) Users() ([]record.User, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	rows, err := t.c.Query(t.ctx, "SELECT doc FROM users WHERE practice = $1 ORDER BY name", t.ods)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]record.User, 0, len(docs))
	for _, d := range docs {
		u, err := decodeUser(d)
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, nil
}

func decodeToken(hash string, v []byte) (*record.Token, error) {
	tk := &record.Token{}
	if err := json.Unmarshal(v, tk); err != nil {
		return nil, fmt.Errorf("decode token: %w", err)
	}
	tk.Hash = hash
	return tk, nil
}

func (t *rtx) Token(hash string) (*record.Token, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	var doc []byte
	err := t.c.QueryRow(t.ctx, "SELECT doc FROM tokens WHERE practice = $1 AND hash = $2", t.ods, hash).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: "token", ID: "…"}
	}
	if err != nil {
		return nil, err
	}
	return decodeToken(hash, doc)
}

func (t *rtx) Tokens(user string) ([]record.Token, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	rows, err := t.c.Query(t.ctx, "SELECT hash, doc FROM tokens WHERE practice = $1 AND ($2 = '' OR user_name = $2) ORDER BY hash", t.ods, user)
	if err != nil {
		return nil, err
	}
	var out []record.Token
	var hash string
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&hash, &doc}, func() error {
		tk, err := decodeToken(hash, doc)
		if err != nil {
			return err
		}
		out = append(out, *tk)
		return nil
	})
	return out, err
}

func decode(kind record.Kind, v []byte) (record.Entity, error) {
	e, err := record.New(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(v, e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return e, nil
}

func (t *rtx) Get(kind record.Kind, id string) (record.Entity, error) {
	if !knownKind(kind) {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err := t.before(); err != nil {
		return nil, err
	}
	var doc []byte
	err := t.c.QueryRow(t.ctx, "SELECT doc FROM records WHERE practice = $1 AND kind = $2 AND id = $3", t.ods, string(kind), id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: string(kind), ID: id}
	}
	if err != nil {
		return nil, err
	}
	return decode(kind, doc)
}

func (t *rtx) Versions(kind record.Kind, id string) ([]record.Entity, error) {
	cur, err := t.Get(kind, id)
	if err != nil {
		return nil, err
	}
	rows, err := t.c.Query(t.ctx, "SELECT doc FROM record_versions WHERE practice = $1 AND kind = $2 AND id = $3 ORDER BY version", t.ods, string(kind), id)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]record.Entity, 0, len(docs)+1)
	for _, d := range docs {
		e, err := decode(kind, d)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return append(out, cur), nil
}

func (t *rtx) PatientByNHS(nhs string) (*record.Patient, error) {
	if err := t.before(); err != nil {
		return nil, err
	}
	var doc []byte
	err := t.c.QueryRow(t.ctx, "SELECT doc FROM records WHERE practice = $1 AND nhs = $2", t.ods, nhs).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: "patient with NHS number", ID: record.FormatNHS(nhs)}
	}
	if err != nil {
		return nil, err
	}
	e, err := decode(record.KindPatient, doc)
	if err != nil {
		return nil, err
	}
	return e.(*record.Patient), nil
}

func (t *rtx) List(patientID string, kind record.Kind) ([]record.Entity, error) {
	if !knownKind(kind) {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	if err := t.before(); err != nil {
		return nil, err
	}
	// The patient's existence and their records in one round trip.
	rows, err := t.c.Query(t.ctx, `SELECT r.doc FROM (SELECT 1 FROM records WHERE practice = $1 AND kind = 'patient' AND id = $2) p
		LEFT JOIN LATERAL (SELECT doc, seq FROM records WHERE practice = $1 AND patient_id = $2 AND kind = $3) r ON true
		ORDER BY r.seq`, t.ods, patientID, string(kind))
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, &record.NotFoundError{Kind: "patient", ID: patientID}
	}
	out := make([]record.Entity, 0, len(docs))
	for _, d := range docs {
		if d == nil {
			continue // the patient, with no records of the kind
		}
		e, err := decode(kind, d)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// pages runs query, which takes the key to read after as its last
// parameter and returns (key, …) rows ordered by it, a page at a time;
// row is called for each row after its page has been read, so it may use
// the transaction.
func pages[K any](t *rtx, query string, args []any, start K, scan func(pgx.Rows) (K, func() error, error)) error {
	after := start
	for {
		rows, err := t.c.Query(t.ctx, query, append(args, after)...)
		if err != nil {
			return err
		}
		var todo []func() error
		for rows.Next() {
			k, do, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			after = k
			todo = append(todo, do)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, do := range todo {
			if err := do(); err != nil {
				return err
			}
		}
		if len(todo) < page {
			return nil
		}
	}
}

func (t *rtx) ForEach(kind record.Kind, fn func(record.Entity) error) error {
	if !knownKind(kind) {
		return fmt.Errorf("unknown kind %q", kind)
	}
	if err := t.before(); err != nil {
		return err
	}
	q := fmt.Sprintf("SELECT id, doc FROM records WHERE practice = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT %d", page)
	return pages(t, q, []any{t.ods, string(kind)}, "", func(r pgx.Rows) (string, func() error, error) {
		var id string
		var doc []byte
		if err := r.Scan(&id, &doc); err != nil {
			return "", nil, err
		}
		return id, func() error {
			e, err := decode(kind, doc)
			if err != nil {
				return err
			}
			return fn(e)
		}, nil
	})
}

func (t *rtx) Count(kind record.Kind) int {
	if t.before() != nil {
		return 0
	}
	var n int
	_ = t.c.QueryRow(t.ctx, "SELECT coalesce((SELECT n FROM record_counts WHERE practice = $1 AND kind = $2), 0)", t.ods, string(kind)).Scan(&n)
	return n
}

func (t *rtx) SearchRows(fn func(id string, row []byte) error) error {
	if err := t.before(); err != nil {
		return err
	}
	q := fmt.Sprintf("SELECT patient_id, row FROM search_rows WHERE practice = $1 AND patient_id > $2 ORDER BY patient_id LIMIT %d", page)
	return pages(t, q, []any{t.ods}, "", func(r pgx.Rows) (string, func() error, error) {
		var id string
		var row []byte
		if err := r.Scan(&id, &row); err != nil {
			return "", nil, err
		}
		return id, func() error { return fn(id, row) }, nil
	})
}

func (t *rtx) changeHead() (uint64, error) {
	var last int64
	err := t.c.QueryRow(t.ctx, "SELECT coalesce((SELECT change_seq FROM practices WHERE practice = $1), 0)", t.ods).Scan(&last)
	return uint64(last), err
}

func (t *rtx) Changes(after uint64, fn func(uint64, string) error) (uint64, error) {
	if err := t.before(); err != nil {
		return 0, err
	}
	last, err := t.changeHead()
	if err != nil || after >= last {
		return last, err
	}
	// Only up to the head read above: a write transaction's own changes
	// (its snapshot moves) are reported from the next call.
	q := fmt.Sprintf("SELECT seq, patient_id FROM changes WHERE practice = $1 AND seq <= $2 AND seq > $3 ORDER BY seq LIMIT %d", page)
	err = pages(t, q, []any{t.ods, int64(last)}, int64(after), func(r pgx.Rows) (int64, func() error, error) {
		var seq int64
		var id string
		if err := r.Scan(&seq, &id); err != nil {
			return 0, nil, err
		}
		return seq, func() error { return fn(uint64(seq), id) }, nil
	})
	return last, err
}

func (t *rtx) Audit(after uint64, fn func(*record.AuditEvent) error) error {
	if err := t.before(); err != nil {
		return err
	}
	q := fmt.Sprintf("SELECT seq, hash, body FROM audit WHERE practice = $1 AND seq > $2 ORDER BY seq LIMIT %d", page)
	return pages(t, q, []any{t.ods}, int64(after), func(r pgx.Rows) (int64, func() error, error) {
		var seq int64
		var hash string
		var body []byte
		if err := r.Scan(&seq, &hash, &body); err != nil {
			return 0, nil, err
		}
		return seq, func() error {
			var ev record.AuditEvent
			if err := json.Unmarshal(body, &ev); err != nil {
				return fmt.Errorf("audit event %d: %w", seq, err)
			}
			ev.Hash = hash
			return fn(&ev)
		}, nil
	})
}

func (t *rtx) AuditHead() (uint64, string, error) {
	if err := t.before(); err != nil {
		return 0, "", err
	}
	var seq int64
	var hash string
	err := t.c.QueryRow(t.ctx, "SELECT audit_seq, audit_hash FROM practices WHERE practice = $1", t.ods).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	return uint64(seq), hash, err
}

// AppointmentsBetween implements store.AppointmentIndex.
func (t *rtx) AppointmentsBetween(from, to time.Time, fn func(*record.Appointment) error) error {
	if err := t.before(); err != nil {
		return err
	}
	rows, err := t.c.Query(t.ctx, `SELECT doc FROM records WHERE practice = $1 AND appt_start >= $2 AND appt_start < $3
		ORDER BY appt_start, seq`, t.ods, from, to)
	if err != nil {
		return err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	for _, d := range docs {
		e, err := decode(record.KindAppointment, d)
		if err != nil {
			return err
		}
		if err := fn(e.(*record.Appointment)); err != nil {
			return err
		}
	}
	return nil
}

// ---- writes ----

// wtx queues its writes and sends them in one round trip when it next
// reads, and at commit: a consultation of five entries and its audit
// event is a handful of round trips, not a dozen.
type wtx struct {
	rtx
	queue   []queued
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
	// practiceDoc is the practice record read with the lock.
	practiceDoc []byte
	hashes      map[written]string
}

// queued is a write sent with the next batch; want is the rows it must
// touch (-1: any), else the transaction fails with err.
type queued struct {
	sql  string
	args []any
	want int64
	err  func() error
}

type written struct {
	kind    record.Kind
	id      string
	version int
}

func (t *wtx) push(want int64, onMiss func() error, sql string, args ...any) {
	t.queue = append(t.queue, queued{sql: sql, args: args, want: want, err: onMiss})
}

// send sends the queued writes (and extra, a query whose row is scanned
// into dst, in the same round trip).
func (t *wtx) send(extra string, args []any, dst ...any) error {
	if len(t.queue) == 0 && extra == "" {
		return nil
	}
	b := &pgx.Batch{}
	for _, q := range t.queue {
		b.Queue(q.sql, q.args...)
	}
	if extra != "" {
		b.Queue(extra, args...)
	}
	qs := t.queue
	t.queue = nil
	br := t.c.SendBatch(t.ctx, b)
	for _, q := range qs {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return mapErr(err)
		}
		if q.want >= 0 && tag.RowsAffected() != q.want {
			br.Close()
			return q.err()
		}
	}
	if extra != "" {
		if err := br.QueryRow().Scan(dst...); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

func newWtx(r rtx) *wtx {
	t := &wtx{rtx: r}
	t.pre = func() error { return t.send("", nil) }
	return t
}

// lock takes the practice's lock (its row, FOR NO KEY UPDATE: a record's
// foreign key holds KEY SHARE on the same row, which a plain FOR UPDATE
// would deadlock against) with the queued writes, and reads the heads:
// from here to commit this transaction is the practice's only writer of
// sequences.
func (t *wtx) lock() error {
	if t.locked {
		return nil
	}
	if err := t.send("SELECT change_seq, audit_seq, audit_hash, doc FROM practices WHERE practice = $1 FOR NO KEY UPDATE", []any{t.ods},
		&t.changeSeq, &t.auditSeq, &t.auditHash, &t.practiceDoc); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("practice %s has no row: %w", t.ods, err)
		}
		return err
	}
	t.locked = true
	return nil
}

// flush writes what the transaction kept for its end: its change entries,
// counts and the heads, under the practice's lock.
func (t *wtx) flush() error {
	if len(t.changed) > 0 {
		if err := t.lock(); err != nil {
			return err
		}
		t.push(-1, nil, `INSERT INTO changes (practice, seq, patient_id)
			SELECT $1, $2 + u.n, u.id FROM unnest($3::text[]) WITH ORDINALITY AS u(id, n)`, t.ods, t.changeSeq, t.changed)
		t.changeSeq += int64(len(t.changed))
		t.changed = nil
	}
	kinds := make([]string, 0, len(t.counts))
	ns := make([]int64, 0, len(t.counts))
	for k, n := range t.counts {
		kinds, ns = append(kinds, string(k)), append(ns, n)
	}
	if len(kinds) > 0 {
		t.push(-1, nil, `INSERT INTO record_counts (practice, kind, n) SELECT $1, k, n FROM unnest($2::text[], $3::bigint[]) AS u(k, n)
			ON CONFLICT (practice, kind) DO UPDATE SET n = record_counts.n + excluded.n`, t.ods, kinds, ns)
		t.counts = nil
	}
	if t.locked {
		t.push(1, t.noRow, "UPDATE practices SET change_seq = $2, audit_seq = $3, audit_hash = $4 WHERE practice = $1",
			t.ods, t.changeSeq, t.auditSeq, t.auditHash)
	}
	return t.send("", nil)
}

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
	if t.locked {
		return uint64(t.auditSeq), t.auditHash, t.send("", nil)
	}
	return t.rtx.AuditHead()
}

// Changes sees the transaction's own changes.
func (t *wtx) Changes(after uint64, fn func(uint64, string) error) (uint64, error) {
	if len(t.changed) > 0 {
		if err := t.lock(); err != nil {
			return 0, err
		}
		t.push(-1, nil, `INSERT INTO changes (practice, seq, patient_id)
			SELECT $1, $2 + u.n, u.id FROM unnest($3::text[]) WITH ORDINALITY AS u(id, n)`, t.ods, t.changeSeq, t.changed)
		t.changeSeq += int64(len(t.changed))
		t.changed = nil
		t.push(1, t.noRow, "UPDATE practices SET change_seq = $2 WHERE practice = $1", t.ods, t.changeSeq)
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
		return &record.ConflictError{What: "practice settings", Msg: fmt.Sprintf("stale version %d (current %d)", p.Version, cur.Version), By: cur.RecordedBy, At: cur.RecordedAt}
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
	if err := t.send("", nil); err != nil {
		return err
	}
	var old []byte
	err := t.c.QueryRow(t.ctx, "SELECT doc FROM users WHERE practice = $1 AND name = $2 FOR UPDATE", t.ods, u.Name).Scan(&old)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	creating := old == nil
	if !creating {
		cur, err := decodeUser(old)
		if err != nil {
			return err
		}
		if cur.Version != u.Version {
			return &record.ConflictError{What: "user " + u.Name, Msg: fmt.Sprintf("stale version %d (current %d)", u.Version, cur.Version), By: cur.RecordedBy, At: cur.RecordedAt}
		}
		u.Version = cur.Version + 1
	} else {
		u.Version = 1
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
	if err := t.send("", nil); err != nil {
		return err
	}
	tag, err := t.c.Exec(t.ctx, "DELETE FROM tokens WHERE practice = $1 AND hash = $2", t.ods, hash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return &record.NotFoundError{Kind: "token", ID: "…"}
	}
	return nil
}

// curMeta is what Put reads of a record's current version.
type curMeta struct {
	Version    int       `json:"version"`
	RecordedBy string    `json:"recordedBy"`
	RecordedAt time.Time `json:"recordedAt"`
	PatientID  string    `json:"patientId"`
	NHSNumber  string    `json:"nhsNumber"`
}

// aboveHigh reports whether id is greater than every id of its kind
// (read once per transaction and kind, then kept as creates add to it).
func (t *wtx) aboveHigh(kind record.Kind, id string) (bool, error) {
	if t.highID == nil {
		t.highID = map[record.Kind]string{}
	}
	hi, ok := t.highID[kind]
	if !ok {
		if err := t.c.QueryRow(t.ctx, "SELECT coalesce(max(id), '') FROM records WHERE practice = $1 AND kind = $2", t.ods, string(kind)).Scan(&hi); err != nil {
			return false, err
		}
		t.highID[kind] = hi
	}
	return id > hi, nil
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
			if err := t.send("", nil); err != nil {
				return err
			}
			// The row stays locked to this transaction until it ends: a
			// second writer of the same record waits, then sees this
			// version and conflicts.
			err := t.c.QueryRow(t.ctx, "SELECT doc FROM records WHERE practice = $1 AND kind = $2 AND id = $3 FOR UPDATE",
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
		if cur.Version != m.Version {
			return &record.ConflictError{What: string(kind) + " " + m.ID,
				Msg: fmt.Sprintf("stale version %d: the record is now at version %d", m.Version, cur.Version),
				By:  cur.RecordedBy, At: cur.RecordedAt}
		}
		if cur.PatientID != m.PatientID {
			return record.Invalid("patientId", m.PatientID, "a record cannot move to another patient")
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
	err := t.c.QueryRow(t.ctx, "SELECT id FROM records WHERE practice = $1 AND nhs = $2", t.ods, nhs).Scan(&id)
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
	var one int
	err := t.c.QueryRow(t.ctx, "SELECT 1 FROM records WHERE practice = $1 AND kind = 'patient' AND id = $2", t.ods, id).Scan(&one)
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

// Append adds an audit event to the practice's chain: under the practice's
// lock, so the sequence and the link are the next ones when it commits.
func (t *wtx) Append(ev *record.AuditEvent) error {
	if err := t.lock(); err != nil {
		return err
	}
	prev := t.auditHash
	ev.Seq = uint64(t.auditSeq + 1)
	ev.PrevHash = prev
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
	ev.Hash = ""
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	if ev.Outcome == "" {
		ev.Outcome = "ok"
	}
	buf := append(append(make([]byte, 0, 64+1+448), prev...), '\n')
	buf = store.AppendAuditJSON(buf, ev)
	sum := sha256.Sum256(buf)
	ev.Hash = hex.EncodeToString(sum[:])
	body := buf[len(prev)+1:]
	t.push(1, t.noRow, "INSERT INTO audit (practice, seq, hash, body) VALUES ($1, $2, $3, $4)", t.ods, int64(ev.Seq), ev.Hash, body)
	t.auditSeq, t.auditHash = int64(ev.Seq), ev.Hash
	return nil
}
