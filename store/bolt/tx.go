package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

// Bucket layout (schema 4):
//
//	meta                     schema, counters, audit head
//	practice                 "practice" -> JSON
//	users                    name -> JSON;  tokens: sha256 hex -> token JSON
//	i:<kind>                 id -> key(8 BE): ids are UUIDs; keys are sequential,
//	                         so bulk writes append instead of scattering pages
//	k:<kind>                 key -> JSON of the current version
//	v:<kind>                 key version(4 BE) -> JSON of a superseded version
//	p:<kind>                 patient key(8) key(8) -> nil (a patient's records of a kind:
//	                         one bucket per kind, so loading one kind for every patient
//	                         appends instead of rewriting every patient's index pages)
//	nhs                      10 digits -> patient key
//	search                   patient key -> id 0x00 compact find row
//	changes                  seq(8 BE) -> patient id (patients changed, for other processes' indexes);
//	                         a transaction that changed several: seq of the last -> 0x00 id 0x00 id …
//	                         (theirs are the seqs up to it, in order: one write per bulk chunk)
//	apptime                  start (unix seconds, 8 BE) key(8) -> nil (appointments by time)
//	audit                    seq(8 BE) -> hash hex '\n' JSON (without hash)
var (
	bMeta     = []byte("meta")
	bPractice = []byte("practice")
	bUsers    = []byte("users")
	bTokens   = []byte("tokens")
	bPidxOld  = []byte("pidx") // schema ≤ 3: patient key(8) kind 0x00 key(8)
	bNHS      = []byte("nhs")
	bSearch   = []byte("search")
	bChanges  = []byte("changes")
	bAudit    = []byte("audit")
	bApptTime = []byte("apptime")

	kSchema    = []byte("schema")
	kAuditHash = []byte("auditHash")
	kPractice  = []byte("practice")
)

func kindBucket(k record.Kind) []byte    { return []byte("k:" + string(k)) }
func idBucket(k record.Kind) []byte      { return []byte("i:" + string(k)) }
func pidxBucket(k record.Kind) []byte    { return []byte("p:" + string(k)) }
func versionBucket(k record.Kind) []byte { return []byte("v:" + string(k)) }
func countKey(k record.Kind) []byte      { return []byte("count:" + string(k)) }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

type rtx struct{ tx *bbolt.Tx }

type wtx struct {
	rtx
	// Written to the meta bucket once, when the transaction's work is done
	// (flush), instead of a read and a write per record.
	counts   map[record.Kind]uint64
	auditSet bool
	auditHd  string
	// importedPrev is, per source, the hash of the last imported audit
	// event kept in this transaction (imported.go).
	importedPrev map[string]string
	// lastKey is the key of the last patient Put or looked up, so
	// SetSearchRow and the records of the same patient need no lookup.
	lastID, lastKey string
	// nhs is the NHS number index's changes in this transaction (patient
	// key; "" for a number given up), written by flush in key order: a bulk
	// chunk's numbers are random, and inserting them in order walks the
	// index once instead of jumping about it.
	nhs map[string]string
	// changed is the patients changed in this transaction, each id after a
	// 0x00 (the changes entry written by flush), and nChanged their number.
	changed  []byte
	nChanged uint64
	// highID is, per kind, the greatest id in the kind's id index (read
	// once, then kept as creates add to it). A create whose id is greater
	// cannot clash, so it needs no lookup: new ids are UUIDv7, which grow.
	highID map[record.Kind]string
	// hashes holds the record hash of each record version written in this
	// transaction until the audit event that wrote it takes it (Append).
	hashes map[written]string
}

// written names a record version written in a transaction.
type written struct {
	kind    record.Kind
	id      string
	version int
}

// wrote keeps the record hash of a version just written, for its audit
// event: hash when the caller made it with the encoding, else made here.
func (t *wtx) wrote(kind record.Kind, id string, version int, canonical []byte, hash string) {
	if t.hashes == nil {
		t.hashes = map[written]string{}
	}
	if hash == "" {
		hash = record.HashCanonical(canonical)
	}
	t.hashes[written{kind, id, version}] = hash
}

func newWtx(tx *bbolt.Tx) *wtx { return &wtx{rtx: rtx{tx: tx}} }

// flush writes what was cached during the transaction.
func (t *wtx) flush() error {
	if err := t.flushChanges(); err != nil {
		return err
	}
	if err := t.flushNHS(); err != nil {
		return err
	}
	b := t.b(bMeta)
	for k, add := range t.counts {
		var n uint64
		if v := b.Get(countKey(k)); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		if err := b.Put(countKey(k), u64(n+add)); err != nil {
			return err
		}
	}
	if t.auditSet {
		return b.Put(kAuditHash, []byte(t.auditHd))
	}
	return nil
}

// nhsGet is the key of the patient holding an NHS number, nil when none.
func (t *wtx) nhsGet(nhs string) []byte {
	if k, ok := t.nhs[nhs]; ok {
		if k == "" {
			return nil
		}
		return []byte(k)
	}
	return t.b(bNHS).Get([]byte(nhs))
}

// nhsSet gives an NHS number to the patient with key (nil: to nobody).
func (t *wtx) nhsSet(nhs string, key []byte) {
	if t.nhs == nil {
		t.nhs = map[string]string{}
	}
	t.nhs[nhs] = string(key)
}

func (t *wtx) flushNHS() error {
	if len(t.nhs) == 0 {
		return nil
	}
	nums := make([]string, 0, len(t.nhs))
	for n := range t.nhs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	b := t.b(bNHS)
	for _, n := range nums {
		var err error
		if k := t.nhs[n]; k == "" {
			err = b.Delete([]byte(n))
		} else {
			err = b.Put([]byte(n), []byte(k))
		}
		if err != nil {
			return err
		}
	}
	t.nhs = nil
	return nil
}

// flushChanges writes the transaction's change entry: one patient's id as
// it is, several in one entry keyed by the last one's seq.
func (t *wtx) flushChanges() error {
	if t.nChanged == 0 {
		return nil
	}
	cb := t.ab(bChanges)
	last := cb.Sequence() + t.nChanged
	if err := cb.SetSequence(last); err != nil {
		return err
	}
	v := t.changed
	if t.nChanged == 1 {
		v = v[1:]
	}
	t.changed, t.nChanged = nil, 0
	return cb.Put(u64(last), v)
}

// changedLast reports whether the transaction's last change named this
// patient: a bulk run writes a patient's records together, so it is named once.
func (t *wtx) changedLast(id string) bool {
	n := len(t.changed) - len(id)
	return n > 0 && t.changed[n-1] == 0 && string(t.changed[n:]) == id
}

// Changes sees the transaction's own changes.
func (t *wtx) Changes(after uint64, fn func(uint64, string) error) (uint64, error) {
	if err := t.flushChanges(); err != nil {
		return 0, err
	}
	return t.rtx.Changes(after, fn)
}

func (t *wtx) Count(kind record.Kind) int { return t.rtx.Count(kind) + int(t.counts[kind]) }

func (t *wtx) AuditHead() (uint64, string, error) {
	seq, h, err := t.rtx.AuditHead()
	if t.auditSet {
		h = t.auditHd
	}
	return seq, h, err
}

// appendFill is the fill percent of buckets whose keys only grow (sequences,
// UUIDv7 ids): bbolt's default of 0.5 leaves appended pages half empty.
const appendFill = 0.95

// ab returns an append-mostly bucket ready for writing.
func (t *wtx) ab(name []byte) *bbolt.Bucket {
	b := t.tx.Bucket(name)
	if b != nil {
		b.FillPercent = appendFill
	}
	return b
}

func (t *rtx) b(name []byte) *bbolt.Bucket { return t.tx.Bucket(name) }

func (t *rtx) Practice() (*record.Practice, error) {
	v := t.b(bPractice).Get(kPractice)
	if v == nil {
		return nil, &record.NotFoundError{Kind: "practice", ID: "practice"}
	}
	var p record.Practice
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("decode practice: %w", err)
	}
	return &p, nil
}

func (t *rtx) User(name string) (*record.User, error) {
	v := t.b(bUsers).Get([]byte(name))
	if v == nil {
		return nil, &record.NotFoundError{Kind: "user", ID: name}
	}
	return store.DecodeUser(v)
}

// storedUser is a user as stored (store.StoredUser).
type storedUser = store.StoredUser

func (t *rtx) Users() ([]record.User, error) {
	var out []record.User
	err := t.b(bUsers).ForEach(func(k, v []byte) error {
		u, err := store.DecodeUser(v)
		if err != nil {
			return err
		}
		out = append(out, *u)
		return nil
	})
	return out, err
}

func (t *rtx) Token(hash string) (*record.Token, error) {
	v := t.b(bTokens).Get([]byte(hash))
	if v == nil {
		return nil, &record.NotFoundError{Kind: "token", ID: "…"}
	}
	return decodeToken(hash, v)
}

// decodeToken reads a token; schema 4 kept only the user's name.
func decodeToken(hash string, v []byte) (*record.Token, error) {
	tk := &record.Token{Hash: hash}
	if len(v) == 0 || v[0] != '{' {
		tk.User, tk.Kind = string(v), record.TokenAPI
		return tk, nil
	}
	if err := json.Unmarshal(v, tk); err != nil {
		return nil, fmt.Errorf("decode token: %w", err)
	}
	tk.Hash = hash
	return tk, nil
}

func (t *rtx) Tokens(user string) ([]record.Token, error) {
	var out []record.Token
	err := t.b(bTokens).ForEach(func(k, v []byte) error {
		tk, err := decodeToken(string(k), v)
		if err != nil {
			return err
		}
		if user == "" || tk.User == user {
			out = append(out, *tk)
		}
		return nil
	})
	return out, err
}

// key is the internal key of a record id, nil when there is none.
func (t *rtx) key(kind record.Kind, id string) []byte {
	ib := t.b(idBucket(kind))
	if ib == nil {
		return nil
	}
	return ib.Get([]byte(id))
}

func (t *rtx) Get(kind record.Kind, id string) (record.Entity, error) {
	b := t.b(kindBucket(kind))
	if b == nil {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	k := t.key(kind, id)
	if k == nil {
		return nil, &record.NotFoundError{Kind: string(kind), ID: id}
	}
	v := b.Get(k)
	if v == nil {
		return nil, fmt.Errorf("%s %s: key index names a missing record", kind, id)
	}
	return store.DecodeEntity(kind, v)
}

func (t *rtx) Versions(kind record.Kind, id string) ([]record.Entity, error) {
	cur, err := t.Get(kind, id)
	if err != nil {
		return nil, err
	}
	var out []record.Entity
	prefix := t.key(kind, id)
	c := t.b(versionBucket(kind)).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		e, err := store.DecodeEntity(kind, v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return append(out, cur), nil
}

func (t *rtx) PatientByNHS(nhs string) (*record.Patient, error) {
	return t.patientByNHSKey(nhs, t.b(bNHS).Get([]byte(nhs)))
}

// PatientByNHS sees the transaction's own NHS numbers.
func (t *wtx) PatientByNHS(nhs string) (*record.Patient, error) {
	return t.patientByNHSKey(nhs, t.nhsGet(nhs))
}

func (t *rtx) patientByNHSKey(nhs string, key []byte) (*record.Patient, error) {
	if key == nil {
		return nil, &record.NotFoundError{Kind: "patient with NHS number", ID: record.FormatNHS(nhs)}
	}
	v := t.b(kindBucket(record.KindPatient)).Get(key)
	if v == nil {
		return nil, fmt.Errorf("NHS number index names a missing patient (key %x)", key)
	}
	e, err := store.DecodeEntity(record.KindPatient, v)
	if err != nil {
		return nil, err
	}
	return e.(*record.Patient), nil
}

// idOfKey is the id of the record stored under key.
func (t *rtx) idOfKey(kind record.Kind, key []byte) string {
	var m struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(t.b(kindBucket(kind)).Get(key), &m)
	return m.ID
}

// pidxKey is a record's key in its kind's patient index.
func pidxKey(patientKey, key []byte) []byte {
	return append(append(make([]byte, 0, 16), patientKey...), key...)
}

func (t *rtx) List(patientID string, kind record.Kind) ([]record.Entity, error) {
	kb := t.b(kindBucket(kind))
	if kb == nil {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	pk := t.key(record.KindPatient, patientID)
	if pk == nil {
		return nil, &record.NotFoundError{Kind: "patient", ID: patientID}
	}
	prefix := pk
	var out []record.Entity
	c := t.b(pidxBucket(kind)).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		id := k[len(prefix):]
		v := kb.Get(id)
		if v == nil {
			return nil, fmt.Errorf("index names %s %s, which is missing", kind, id)
		}
		e, err := store.DecodeEntity(kind, v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (t *rtx) ForEach(kind record.Kind, fn func(record.Entity) error) error {
	b := t.b(kindBucket(kind))
	if b == nil {
		return fmt.Errorf("unknown kind %q", kind)
	}
	return b.ForEach(func(k, v []byte) error {
		e, err := store.DecodeEntity(kind, v)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

func (t *rtx) Count(kind record.Kind) int {
	v := t.b(bMeta).Get(countKey(kind))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

func (t *rtx) SearchRows(fn func(id string, row []byte) error) error {
	return t.b(bSearch).ForEach(func(k, v []byte) error {
		i := bytes.IndexByte(v, 0)
		if i < 0 {
			return fmt.Errorf("find row %x: no id", k)
		}
		return fn(string(v[:i]), v[i+1:])
	})
}

func (t *rtx) Changes(after uint64, fn func(uint64, string) error) (uint64, error) {
	b := t.b(bChanges)
	last := b.Sequence()
	c := b.Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if len(v) == 0 || v[0] != 0 {
			if err := fn(seq, string(v)); err != nil {
				return last, err
			}
			continue
		}
		ids := bytes.Split(v[1:], []byte{0})
		first := seq + 1 - uint64(len(ids))
		for i, id := range ids {
			if s := first + uint64(i); s > after {
				if err := fn(s, string(id)); err != nil {
					return last, err
				}
			}
		}
	}
	return last, nil
}

func (t *rtx) Audit(after uint64, fn func(*record.AuditEvent) error) error {
	c := t.b(bAudit).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		ev, err := decodeAudit(v)
		if err != nil {
			return fmt.Errorf("audit event %d: %w", binary.BigEndian.Uint64(k), err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

func decodeAudit(v []byte) (*record.AuditEvent, error) {
	i := bytes.IndexByte(v, '\n')
	if i < 0 {
		return nil, fmt.Errorf("no hash")
	}
	var ev record.AuditEvent
	if err := json.Unmarshal(v[i+1:], &ev); err != nil {
		return nil, err
	}
	ev.Hash = string(v[:i])
	return &ev, nil
}

func (t *rtx) AuditHead() (uint64, string, error) {
	b := t.b(bAudit)
	return b.Sequence(), string(t.b(bMeta).Get(kAuditHash)), nil
}
