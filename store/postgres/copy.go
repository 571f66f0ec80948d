package postgres

// The whole-practice copy (store.Dumper, store.Loader) for gpsoc migrate.
// Written by the operations half of issue 24; the tables are those of
// migrations/0001.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	json "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

var (
	_ store.Dumper = (*Store)(nil)
	_ store.Loader = (*Store)(nil)
)

// Dump implements store.Dumper from one snapshot (View's REPEATABLE READ
// transaction), after placing the events a server left pending so that the
// copy's trail holds them. Records come kind by kind in the order they were
// created, so that a patient's lists keep their order in the copy.
func (s *Store) Dump(ctx context.Context, w store.DumpWriter) error {
	if err := s.PlacePending(ctx); err != nil {
		return err
	}
	return s.View(ctx, func(tx store.Tx) error { return dumpTx(tx.(*rtx), w) })
}

func dumpTx(t *rtx, w store.DumpWriter) error {
	if err := t.send(); err != nil { // the snapshot's BEGIN and the practice, queued by begin
		return err
	}
	var doc []byte
	var changeSeq int64
	err := t.c.QueryRow(t.ctx, "SELECT doc, change_seq FROM practices WHERE practice = $1", t.ods).Scan(&doc, &changeSeq)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if doc != nil {
		if err := w.Practice(doc); err != nil {
			return err
		}
	}
	if err := eachRow(t, "SELECT doc FROM users WHERE practice = $1 ORDER BY name", func(r pgx.Rows) error {
		var d []byte
		if err := r.Scan(&d); err != nil {
			return err
		}
		return w.User(d)
	}); err != nil {
		return err
	}
	if err := eachRow(t, "SELECT hash, doc FROM tokens WHERE practice = $1 ORDER BY hash", func(r pgx.Rows) error {
		var h string
		var d []byte
		if err := r.Scan(&h, &d); err != nil {
			return err
		}
		tk, err := decodeToken(h, d)
		if err != nil {
			return err
		}
		return w.Token(tk)
	}); err != nil {
		return err
	}
	for _, kind := range record.Kinds {
		if err := dumpKind(t, kind, w); err != nil {
			return err
		}
	}
	q := fmt.Sprintf("SELECT patient_id, row FROM search_rows WHERE practice = $1 AND patient_id > $2 ORDER BY patient_id LIMIT %d", page)
	if err := pages(t, q, []any{t.ods}, "", func(r pgx.Rows) (string, func() error, error) {
		var id string
		var row []byte
		if err := r.Scan(&id, &row); err != nil {
			return "", nil, err
		}
		return id, func() error { return w.SearchRow(id, row) }, nil
	}); err != nil {
		return err
	}
	q = auditPage
	if err := pages(t, q, []any{t.ods}, int64(0), func(r pgx.Rows) (int64, func() error, error) {
		var a store.DumpAudit
		var seq int64
		if err := r.Scan(&seq, &a.Hash, &a.Body); err != nil {
			return 0, nil, err
		}
		a.Seq = uint64(seq)
		return seq, func() error { return w.Audit(&a) }, nil
	}); err != nil {
		return err
	}
	q = fmt.Sprintf("SELECT seq, patient_id FROM changes WHERE practice = $1 AND seq > $2 ORDER BY seq LIMIT %d", page)
	if err := pages(t, q, []any{t.ods}, int64(0), func(r pgx.Rows) (int64, func() error, error) {
		var seq int64
		var id string
		if err := r.Scan(&seq, &id); err != nil {
			return 0, nil, err
		}
		return seq, func() error { return w.Change(uint64(seq), id) }, nil
	}); err != nil {
		return err
	}
	if err := w.Feed(uint64(changeSeq)); err != nil {
		return err
	}
	return t.eachImported(func(seq int64, doc []byte) error { return w.ImportedAudit(importedKey(seq), doc) })
}

func eachRow(t *rtx, q string, fn func(pgx.Rows) error) error {
	rows, err := t.c.Query(t.ctx, q, t.ods)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dumpKind dumps a kind's records a page at a time, each page's superseded
// versions read in one query.
func dumpKind(t *rtx, kind record.Kind, w store.DumpWriter) error {
	q := fmt.Sprintf("SELECT seq, id, coalesce(patient_id, ''), doc FROM records WHERE practice = $1 AND kind = $2 AND seq > $3 ORDER BY seq LIMIT %d", page)
	var after int64
	for {
		rows, err := t.c.Query(t.ctx, q, t.ods, string(kind), after)
		if err != nil {
			return err
		}
		var recs []*store.DumpRecord
		var cur [][]byte
		var ids []string
		for rows.Next() {
			r := &store.DumpRecord{Kind: kind}
			var d []byte
			if err := rows.Scan(&after, &r.ID, &r.PatientID, &d); err != nil {
				rows.Close()
				return err
			}
			recs, cur, ids = append(recs, r), append(cur, d), append(ids, r.ID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		old := map[string][][]byte{}
		vrows, err := t.c.Query(t.ctx, "SELECT id, doc FROM record_versions WHERE practice = $1 AND kind = $2 AND id = ANY($3) ORDER BY id, version",
			t.ods, string(kind), ids)
		if err != nil {
			return err
		}
		for vrows.Next() {
			var id string
			var d []byte
			if err := vrows.Scan(&id, &d); err != nil {
				vrows.Close()
				return err
			}
			old[id] = append(old[id], d)
		}
		vrows.Close()
		if err := vrows.Err(); err != nil {
			return err
		}
		for i, r := range recs {
			r.Versions = append(old[r.ID], cur[i])
			if err := w.Record(r); err != nil {
				return err
			}
		}
		if len(recs) < page {
			return nil
		}
	}
}

// Load implements store.Loader for a practice that holds nothing yet, in
// one transaction under the practice's lock: inserts of a chunk of rows each, then the
// practice row's record, sequences and audit head. A practice with rows
// of its own is refused and left as it is (the store's role may not
// delete: superseded versions and the audit trail are only ever added to).
// The dump must be of this practice (the same ODS code).
func (s *Store) Load(ctx context.Context, src store.Dumper) error {
	c, r, err := s.begin(ctx, false)
	if err != nil {
		return err
	}
	defer c.Release()
	t := &r
	commit := false
	defer func() {
		if !commit {
			t.end(false)
		}
	}()
	if err := t.send(); err != nil { // BEGIN and the practice, queued by begin
		return err
	}
	conn := t.c
	var doc []byte
	var auditSeq, changeSeq int64
	if err := conn.QueryRow(ctx, "SELECT doc, audit_seq, change_seq FROM practices WHERE practice = $1 FOR NO KEY UPDATE", s.ods).Scan(&doc, &auditSeq, &changeSeq); err != nil {
		return fmt.Errorf("lock practice %s: %w", s.ods, err)
	}
	var rows int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users WHERE practice = $1) + (SELECT count(*) FROM records WHERE practice = $1)
		+ (SELECT count(*) FROM tokens WHERE practice = $1) + (SELECT count(*) FROM audit_imported WHERE practice = $1)`, s.ods).Scan(&rows); err != nil {
		return err
	}
	if doc != nil || auditSeq != 0 || changeSeq != 0 || rows != 0 {
		return &record.ConflictError{What: "practice " + s.ods + " in " + s.db.URL(),
			Msg: "it already holds data, and a copy is loaded only into a practice that holds nothing (the store's role may not delete: versions and the audit trail are only ever added to)"}
	}
	l := &pgLoader{ctx: ctx, conn: conn, ods: s.ods, counts: map[record.Kind]int64{}}
	if err := src.Dump(ctx, l); err != nil {
		return err
	}
	if err := l.flushAll(); err != nil {
		return mapErr(err)
	}
	if l.practice == nil {
		return fmt.Errorf("the copy holds no practice")
	}
	kinds := make([]string, 0, len(l.counts))
	ns := make([]int64, 0, len(l.counts))
	for k, n := range l.counts {
		kinds, ns = append(kinds, string(k)), append(ns, n)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO record_counts (practice, kind, n) SELECT $1, k, n FROM unnest($2::text[], $3::bigint[]) AS u(k, n)",
		s.ods, kinds, ns); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "UPDATE practices SET doc = $2, change_seq = $3, audit_seq = $4, audit_hash = $5 WHERE practice = $1",
		s.ods, l.practice, int64(l.feed), int64(l.auditSeq), l.auditHash); err != nil {
		return err
	}
	commit = true
	if err := t.end(true); err != nil {
		return err
	}
	s.ensured.Store(true)
	s.db.feed.committed(s.ods) // the whole feed is new here
	return nil
}

// loadChunk is how many rows one insert of a load sends.
const loadChunk = 5000

// pgLoader takes a dump into one practice's tables, a table's rows a
// chunk at a time.
type pgLoader struct {
	ctx       context.Context
	conn      *pgx.Conn
	ods       string
	practice  []byte
	counts    map[record.Kind]int64
	auditSeq  uint64
	auditHash string
	feed      uint64

	users, tokens, records, versions, rows, audit, changes, imported [][]any
	changeSeq, importedSeq                                           uint64
}

// loadInsert is each table's insert of a chunk, one array a column
// (COPY is refused on tables under row-level security). The practice is
// the first parameter, the columns the rest.
var loadInsert = map[string]string{
	"users":           "INSERT INTO users (practice, name, doc) SELECT $1, * FROM unnest($2::text[], $3::bytea[])",
	"tokens":          "INSERT INTO tokens (practice, hash, user_name, doc) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bytea[])",
	"records":         "INSERT INTO records (practice, kind, id, version, patient_id, nhs, appt_start, doc) SELECT $1, k, i, v, p, n, a, d FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::bytea[]) WITH ORDINALITY AS u(k, i, v, p, n, a, d, o) ORDER BY o",
	"record_versions": "INSERT INTO record_versions (practice, kind, id, version, doc) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bytea[])",
	"search_rows":     "INSERT INTO search_rows (practice, patient_id, row) SELECT $1, * FROM unnest($2::text[], $3::bytea[])",
	"audit":           "INSERT INTO audit (practice, seq, hash, body) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bytea[])",
	"changes":         "INSERT INTO changes (practice, seq, patient_id) SELECT $1, * FROM unnest($2::bigint[], $3::text[])",
	"audit_imported":  "INSERT INTO audit_imported (practice, seq, source, doc) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bytea[])",
}

// copyIn inserts a table's buffered rows when a chunk is full (or force).
// Each buffered row is the table's columns after practice.
func (l *pgLoader) copyIn(table string, buf *[][]any, force bool) error {
	if len(*buf) == 0 || (!force && len(*buf) < loadChunk) {
		return nil
	}
	ncol := len((*buf)[0])
	cols := make([][]any, ncol)
	for _, row := range *buf {
		for i, v := range row {
			cols[i] = append(cols[i], v)
		}
	}
	args := []any{l.ods}
	for _, c := range cols {
		args = append(args, c)
	}
	_, err := l.conn.Exec(l.ctx, loadInsert[table], args...)
	*buf = (*buf)[:0]
	if err != nil {
		return fmt.Errorf("load into %s: %w", table, err)
	}
	return nil
}

// flushAll sends what is buffered, parents first (the records a find row
// or a version names are in before it).
func (l *pgLoader) flushAll() error {
	for _, b := range []struct {
		table string
		buf   *[][]any
	}{{"users", &l.users}, {"tokens", &l.tokens}, {"records", &l.records}, {"record_versions", &l.versions},
		{"search_rows", &l.rows}, {"audit", &l.audit}, {"changes", &l.changes}, {"audit_imported", &l.imported}} {
		if err := l.copyIn(b.table, b.buf, true); err != nil {
			return err
		}
	}
	return nil
}

func (l *pgLoader) Practice(v []byte) error {
	var p struct {
		ODS string `json:"odsCode"`
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return fmt.Errorf("practice: %w", err)
	}
	if code, err := record.NormaliseODS(p.ODS); err != nil || code != l.ods {
		return fmt.Errorf("the copy is of practice %q, not %s", p.ODS, l.ods)
	}
	l.practice = append([]byte(nil), v...)
	return nil
}

func (l *pgLoader) User(v []byte) error {
	var u struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(v, &u); err != nil || u.Name == "" {
		return fmt.Errorf("user %q: cannot be read (%v)", v, err)
	}
	l.users = append(l.users, []any{u.Name, append([]byte(nil), v...)})
	return l.copyIn("users", &l.users, false)
}

func (l *pgLoader) Token(tk *record.Token) error {
	h := tk.Hash
	v, err := json.Marshal(tk)
	if err != nil {
		return err
	}
	l.tokens = append(l.tokens, []any{h, tk.User, v})
	return l.copyIn("tokens", &l.tokens, false)
}

func (l *pgLoader) Record(r *store.DumpRecord) error {
	if len(r.Versions) == 0 {
		return fmt.Errorf("%s %s: no version", r.Kind, r.ID)
	}
	if !knownKind(r.Kind) {
		return fmt.Errorf("%s %s: unknown kind", r.Kind, r.ID)
	}
	cur := r.Versions[len(r.Versions)-1]
	var m struct {
		Version   int             `json:"version"`
		NHSNumber string          `json:"nhsNumber"`
		Start     json.RawMessage `json:"start"`
	}
	if err := json.Unmarshal(cur, &m); err != nil {
		return fmt.Errorf("%s %s: cannot be read: %w", r.Kind, r.ID, err)
	}
	var pid, nhs *string
	var appt *time.Time
	if r.PatientID != "" {
		pid = &r.PatientID
	}
	if r.Kind == record.KindPatient && m.NHSNumber != "" {
		nhs = &m.NHSNumber
	}
	if r.Kind == record.KindAppointment {
		var t time.Time
		if len(m.Start) > 0 && json.Unmarshal(m.Start, &t) == nil && !t.IsZero() {
			appt = &t
		}
	}
	l.records = append(l.records, []any{string(r.Kind), r.ID, int32(m.Version), pid, nhs, appt, append([]byte(nil), cur...)})
	for _, v := range r.Versions[:len(r.Versions)-1] {
		var vm struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(v, &vm); err != nil {
			return fmt.Errorf("%s %s: a version cannot be read: %w", r.Kind, r.ID, err)
		}
		l.versions = append(l.versions, []any{string(r.Kind), r.ID, int32(vm.Version), append([]byte(nil), v...)})
	}
	l.counts[r.Kind]++
	if len(l.records) >= loadChunk || len(l.versions) >= loadChunk {
		if err := l.copyIn("records", &l.records, true); err != nil {
			return err
		}
		return l.copyIn("record_versions", &l.versions, true)
	}
	return nil
}

func (l *pgLoader) SearchRow(id string, row []byte) error {
	if err := l.copyIn("records", &l.records, true); err != nil {
		return err
	}
	if err := l.copyIn("record_versions", &l.versions, true); err != nil {
		return err
	}
	l.rows = append(l.rows, []any{id, append([]byte(nil), row...)})
	return l.copyIn("search_rows", &l.rows, false)
}

func (l *pgLoader) Audit(a *store.DumpAudit) error {
	if a.Seq <= l.auditSeq {
		return fmt.Errorf("audit event %d comes after event %d", a.Seq, l.auditSeq)
	}
	l.audit = append(l.audit, []any{int64(a.Seq), a.Hash, append([]byte(nil), a.Body...)})
	l.auditSeq, l.auditHash = a.Seq, a.Hash
	return l.copyIn("audit", &l.audit, false)
}

func (l *pgLoader) Change(seq uint64, patientID string) error {
	if seq <= l.changeSeq {
		return fmt.Errorf("change %d comes after change %d", seq, l.changeSeq)
	}
	l.changeSeq = seq
	l.changes = append(l.changes, []any{int64(seq), patientID})
	return l.copyIn("changes", &l.changes, false)
}

// ImportedAudit keeps an event of an imported trail as it was kept: its
// order number and its JSON byte for byte.
func (l *pgLoader) ImportedAudit(k, v []byte) error {
	if len(k) != 8 {
		return fmt.Errorf("imported audit event: key %x is not an 8-byte order number", k)
	}
	seq := binary.BigEndian.Uint64(k)
	if seq <= l.importedSeq || seq > math.MaxInt64 {
		return fmt.Errorf("imported audit event %d comes after event %d", seq, l.importedSeq)
	}
	var ie struct {
		Source string `json:"source"`
	}
	if err := json.Unmarshal(v, &ie); err != nil {
		return fmt.Errorf("imported audit event %d: cannot be read: %w", seq, err)
	}
	l.importedSeq = seq
	l.imported = append(l.imported, []any{int64(seq), ie.Source, append([]byte(nil), v...)})
	return l.copyIn("audit_imported", &l.imported, false)
}

func (l *pgLoader) Feed(head uint64) error {
	l.feed = head
	return nil
}
