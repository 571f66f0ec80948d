package postgres

import (
	"errors"
	"fmt"
	"slices"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// page is how many rows an iteration reads at a time (keyset pages, so
// the callback may read more between pages on the same connection).
const page = 1000

func knownKind(k record.Kind) bool { return slices.Contains(record.Kinds, k) }

func (t *rtx) Practice() (*record.Practice, error) {
	var doc []byte
	err := t.queryRow("SELECT doc FROM practices WHERE practice = $1", t.ods).Scan(&doc)
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

func (t *rtx) User(name string) (*record.User, error) {
	var doc []byte
	err := t.queryRow("SELECT doc FROM users WHERE practice = $1 AND name = $2", t.ods, name).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: "user", ID: name}
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeUser(doc)
}

func (t *rtx) Users() ([]record.User, error) {
	rows, err := t.query("SELECT doc FROM users WHERE practice = $1 ORDER BY name", t.ods)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]record.User, 0, len(docs))
	for _, d := range docs {
		u, err := store.DecodeUser(d)
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
	var doc []byte
	err := t.queryRow("SELECT doc FROM tokens WHERE practice = $1 AND hash = $2", t.ods, hash).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: "token", ID: "…"}
	}
	if err != nil {
		return nil, err
	}
	return decodeToken(hash, doc)
}

func (t *rtx) Tokens(user string) ([]record.Token, error) {
	rows, err := t.query("SELECT hash, doc FROM tokens WHERE practice = $1 AND ($2 = '' OR user_name = $2) ORDER BY hash", t.ods, user)
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

func (t *rtx) Get(kind record.Kind, id string) (record.Entity, error) {
	if !knownKind(kind) {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	doc, err := t.getDoc(kind, id)
	if err != nil {
		return nil, err
	}
	return store.DecodeEntity(kind, doc)
}

func (t *rtx) getDoc(kind record.Kind, id string) ([]byte, error) {
	var doc []byte
	err := t.queryRow("SELECT doc FROM records WHERE practice = $1 AND kind = $2 AND id = $3", t.ods, string(kind), id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: string(kind), ID: id}
	}
	return doc, err
}

func (t *rtx) Versions(kind record.Kind, id string) ([]record.Entity, error) {
	cur, err := t.Get(kind, id)
	if err != nil {
		return nil, err
	}
	rows, err := t.query("SELECT doc FROM record_versions WHERE practice = $1 AND kind = $2 AND id = $3 ORDER BY version", t.ods, string(kind), id)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]record.Entity, 0, len(docs)+1)
	for _, d := range docs {
		e, err := store.DecodeEntity(kind, d)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return append(out, cur), nil
}

func (t *rtx) PatientByNHS(nhs string) (*record.Patient, error) {
	var doc []byte
	err := t.queryRow("SELECT doc FROM records WHERE practice = $1 AND nhs = $2", t.ods, nhs).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &record.NotFoundError{Kind: "patient with NHS number", ID: record.FormatNHS(nhs)}
	}
	if err != nil {
		return nil, err
	}
	e, err := store.DecodeEntity(record.KindPatient, doc)
	if err != nil {
		return nil, err
	}
	return e.(*record.Patient), nil
}

func (t *rtx) List(patientID string, kind record.Kind) ([]record.Entity, error) {
	if !knownKind(kind) {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	// The patient's existence and their records in one round trip.
	rows, err := t.query(`SELECT r.doc FROM (SELECT 1 FROM records WHERE practice = $1 AND kind = 'patient' AND id = $2) p
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
		e, err := store.DecodeEntity(kind, d)
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
		rows, err := t.query(query, append(args, after)...)
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
	q := fmt.Sprintf("SELECT id, doc FROM records WHERE practice = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT %d", page)
	return pages(t, q, []any{t.ods, string(kind)}, "", func(r pgx.Rows) (string, func() error, error) {
		var id string
		var doc []byte
		if err := r.Scan(&id, &doc); err != nil {
			return "", nil, err
		}
		return id, func() error {
			e, err := store.DecodeEntity(kind, doc)
			if err != nil {
				return err
			}
			return fn(e)
		}, nil
	})
}

func (t *rtx) Count(kind record.Kind) int {
	var n int
	_ = t.queryRow("SELECT coalesce((SELECT n FROM record_counts WHERE practice = $1 AND kind = $2), 0)", t.ods, string(kind)).Scan(&n)
	return n
}

func (t *rtx) SearchRows(fn func(id string, row []byte) error) error {
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
	err := t.queryRow("SELECT coalesce((SELECT change_seq FROM practices WHERE practice = $1), 0)", t.ods).Scan(&last)
	return uint64(last), err
}

func (t *rtx) Changes(after uint64, fn func(uint64, string) error) (uint64, error) {
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

// auditPage reads the practice's trail a page at a time, after the event
// number given last: its rows of audit and its runs (migration 0006).
var auditPage = fmt.Sprintf("SELECT seq, hash, body FROM gpsoc_audit($1, $2, %d)", page)

func (t *rtx) Audit(after uint64, fn func(*record.AuditEvent) error) error {
	q := auditPage
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
	var seq int64
	var hash string
	err := t.queryRow("SELECT audit_seq, audit_hash FROM practices WHERE practice = $1", t.ods).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	return uint64(seq), hash, err
}

// AppointmentsBetween implements store.AppointmentIndex.
func (t *rtx) AppointmentsBetween(from, to time.Time, fn func(*record.Appointment) error) error {
	rows, err := t.query(`SELECT doc FROM records WHERE practice = $1 AND appt_start >= $2 AND appt_start < $3
		ORDER BY appt_start, seq`, t.ods, from, to)
	if err != nil {
		return err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	for _, d := range docs {
		e, err := store.DecodeEntity(record.KindAppointment, d)
		if err != nil {
			return err
		}
		if err := fn(e.(*record.Appointment)); err != nil {
			return err
		}
	}
	return nil
}
