package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

var (
	_ store.Dumper = (*Store)(nil)
	_ store.Loader = (*Store)(nil)
)

// Dump implements store.Dumper from one read transaction (a consistent
// snapshot; writers in other processes wait only for its length).
func (s *Store) Dump(ctx context.Context, w store.DumpWriter) error {
	return s.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error { return dumpTx(ctx, tx, w) })
	})
}

func dumpTx(ctx context.Context, tx *bbolt.Tx, w store.DumpWriter) error {
	if v := tx.Bucket(bPractice).Get(kPractice); v != nil {
		if err := w.Practice(v); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bUsers).ForEach(func(_, v []byte) error { return w.User(v) }); err != nil {
		return err
	}
	err := tx.Bucket(bTokens).ForEach(func(k, v []byte) error {
		tk, err := decodeToken(string(k), v)
		if err != nil {
			return err
		}
		return w.Token(tk)
	})
	if err != nil {
		return err
	}
	n := 0
	for _, kind := range record.Kinds {
		vc := tx.Bucket(versionBucket(kind)).Cursor()
		err := tx.Bucket(kindBucket(kind)).ForEach(func(k, v []byte) error {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var m struct {
				ID        string `json:"id"`
				PatientID string `json:"patientId"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("%s key %x: %w", kind, k, err)
			}
			r := store.DumpRecord{Kind: kind, ID: m.ID, PatientID: m.PatientID}
			for vk, vv := vc.Seek(k); vk != nil && len(vk) == len(k)+4 && bytes.HasPrefix(vk, k); vk, vv = vc.Next() {
				r.Versions = append(r.Versions, vv)
			}
			r.Versions = append(r.Versions, v)
			return w.Record(&r)
		})
		if err != nil {
			return err
		}
	}
	err = tx.Bucket(bSearch).ForEach(func(k, v []byte) error {
		i := bytes.IndexByte(v, 0)
		if i < 0 {
			return fmt.Errorf("find row %x: no id", k)
		}
		return w.SearchRow(string(v[:i]), v[i+1:])
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bAudit).ForEach(func(k, v []byte) error {
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			return fmt.Errorf("audit event %d: no hash stored", binary.BigEndian.Uint64(k))
		}
		return w.Audit(&store.DumpAudit{Seq: binary.BigEndian.Uint64(k), Hash: string(v[:i]), Body: v[i+1:]})
	})
	if err != nil {
		return err
	}
	if _, err := (&rtx{tx: tx}).Changes(0, w.Change); err != nil {
		return err
	}
	if err := w.Feed(tx.Bucket(bChanges).Sequence()); err != nil {
		return err
	}
	if b := tx.Bucket(bAuditImported); b != nil {
		return b.ForEach(w.ImportedAudit)
	}
	return nil
}

// Load implements store.Loader. The dump is written into a new file beside
// the practice file, in chunks (a large practice never sits in one
// transaction's memory), synced, and put through the same check as a
// backup (structure, indexes, the audit chain and every record hash); only
// then does it replace the practice file, under its lock, by a rename. A
// failure anywhere leaves the practice file as it was. A practice that was
// there is backed up first (name.before-migrate-TIME.bak).
func (s *Store) Load(ctx context.Context, src store.Dumper) error {
	dir := filepath.Dir(s.path)
	f, err := os.CreateTemp(dir, ".migrate-*")
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp) // gone after the rename; removed on any failure
	if err := os.Remove(tmp); err != nil {
		return err // bbolt makes a new file of its own size; an empty one is not a bbolt file
	}
	db, err := bbolt.Open(tmp, 0o600, &bbolt.Options{NoSync: true, FreelistType: bbolt.FreelistMapType,
		InitialMmapSize: 1 << 30, PageSize: pageSize})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	ns := &Store{path: tmp, opt: Options{}}
	err = ns.prepare(db)
	if err == nil {
		l := &loader{ctx: ctx, db: db, patients: map[string][]byte{}, counts: map[record.Kind]uint64{}}
		err = src.Dump(ctx, l)
		if err == nil {
			err = l.finish()
		} else if l.tx != nil {
			_ = l.tx.Rollback()
		}
	}
	if err == nil {
		err = db.Sync()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := ValidateFile(tmp); err != nil {
		return fmt.Errorf("load: the copy fails its check, so the practice file was left as it was: %w", err)
	}
	return s.replaceWith(tmp)
}

// replaceWith puts the checked file tmp in place of the practice file,
// holding the current file's exclusive lock so that no other process is in
// a transaction on it; a practice there is backed up first.
func (s *Store) replaceWith(tmp string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasHeld := s.held != nil
	if wasHeld {
		if err := s.held.Close(); err != nil {
			return err
		}
		s.held = nil
	}
	cur, err := s.open(false)
	if err != nil {
		return err
	}
	var hasPractice bool
	_ = cur.View(func(tx *bbolt.Tx) error {
		hasPractice = tx.Bucket(bPractice) != nil && tx.Bucket(bPractice).Get(kPractice) != nil
		return nil
	})
	if hasPractice {
		old := fmt.Sprintf("%s.before-migrate-%s.bak", s.path, time.Now().UTC().Format("20060102T150405.000000000Z"))
		if err := backupTo(cur, old); err != nil {
			cur.Close()
			return fmt.Errorf("backup of the practice being replaced: %w", err)
		}
	}
	err = os.Rename(tmp, s.path)
	cerr := cur.Close()
	if err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	if wasHeld {
		db, err := s.open(false)
		if err != nil {
			return err
		}
		s.held = db
	}
	return nil
}

// loaderChunk is how many items one transaction of a load writes.
const loaderChunk = 20000

// loader writes a dump into a new file, a chunk per transaction.
type loader struct {
	ctx context.Context
	db  *bbolt.DB
	tx  *bbolt.Tx
	n   int
	// patients maps each patient's id to its key, for the indexes of the
	// records and find rows that follow it.
	patients  map[string][]byte
	counts    map[record.Kind]uint64
	auditSeq  uint64
	auditHash string
	changeSeq uint64
}

// b returns a bucket of the current transaction, beginning a new one when
// the last chunk is full.
func (l *loader) b(name []byte) (*bbolt.Bucket, error) {
	if l.tx != nil && l.n >= loaderChunk {
		if err := l.tx.Commit(); err != nil {
			return nil, err
		}
		l.tx, l.n = nil, 0
	}
	if l.tx == nil {
		if err := l.ctx.Err(); err != nil {
			return nil, err
		}
		tx, err := l.db.Begin(true)
		if err != nil {
			return nil, err
		}
		l.tx = tx
	}
	l.n++
	b := l.tx.Bucket(name)
	b.FillPercent = appendFill
	return b, nil
}

func (l *loader) Practice(v []byte) error {
	b, err := l.b(bPractice)
	if err != nil {
		return err
	}
	return b.Put(kPractice, bytes.Clone(v))
}

func (l *loader) User(v []byte) error {
	var u struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(v, &u); err != nil || u.Name == "" {
		return fmt.Errorf("user %q: cannot be read (%v)", v, err)
	}
	b, err := l.b(bUsers)
	if err != nil {
		return err
	}
	return b.Put([]byte(u.Name), bytes.Clone(v))
}

func (l *loader) Token(tk *record.Token) error {
	v, err := json.Marshal(tk)
	if err != nil {
		return err
	}
	b, err := l.b(bTokens)
	if err != nil {
		return err
	}
	return b.Put([]byte(tk.Hash), v)
}

func (l *loader) Record(r *store.DumpRecord) error {
	if len(r.Versions) == 0 {
		return fmt.Errorf("%s %s: no version", r.Kind, r.ID)
	}
	kb, err := l.b(kindBucket(r.Kind))
	if err != nil {
		return err
	}
	if kb == nil {
		return fmt.Errorf("%s %s: unknown kind", r.Kind, r.ID)
	}
	tx := l.tx
	seq, err := kb.NextSequence()
	if err != nil {
		return err
	}
	key := u64(seq)
	if err := tx.Bucket(idBucket(r.Kind)).Put([]byte(r.ID), key); err != nil {
		return err
	}
	vb := tx.Bucket(versionBucket(r.Kind))
	vb.FillPercent = appendFill
	for _, v := range r.Versions[:len(r.Versions)-1] {
		var m struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("%s %s: a version cannot be read: %w", r.Kind, r.ID, err)
		}
		vk := binary.BigEndian.AppendUint32(bytes.Clone(key), uint32(m.Version))
		if err := vb.Put(vk, bytes.Clone(v)); err != nil {
			return err
		}
	}
	cur := r.Versions[len(r.Versions)-1]
	if err := kb.Put(key, bytes.Clone(cur)); err != nil {
		return err
	}
	l.counts[r.Kind]++
	var m curMeta
	if err := json.Unmarshal(cur, &m); err != nil {
		return fmt.Errorf("%s %s: cannot be read: %w", r.Kind, r.ID, err)
	}
	if r.Kind == record.KindPatient {
		l.patients[r.ID] = key
		if m.NHSNumber != "" {
			if tx.Bucket(bNHS).Get([]byte(m.NHSNumber)) != nil {
				return fmt.Errorf("patient %s: NHS number %s is held by another patient in the copy", r.ID, record.FormatNHS(m.NHSNumber))
			}
			if err := tx.Bucket(bNHS).Put([]byte(m.NHSNumber), key); err != nil {
				return err
			}
		}
	} else if r.PatientID != "" {
		pk, ok := l.patients[r.PatientID]
		if !ok {
			return fmt.Errorf("%s %s: belongs to patient %s, who is not in the copy", r.Kind, r.ID, r.PatientID)
		}
		if err := tx.Bucket(pidxBucket(r.Kind)).Put(pidxKey(pk, key), nil); err != nil {
			return err
		}
	}
	if r.Kind == record.KindAppointment {
		if start := m.apptStart(); start != nil {
			if err := tx.Bucket(bApptTime).Put(apptKey(*start, key), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *loader) SearchRow(id string, row []byte) error {
	key, ok := l.patients[id]
	if !ok {
		return fmt.Errorf("find row of patient %s, who is not in the copy", id)
	}
	b, err := l.b(bSearch)
	if err != nil {
		return err
	}
	v := make([]byte, 0, len(id)+1+len(row))
	return b.Put(key, append(append(append(v, id...), 0), row...))
}

func (l *loader) Audit(a *store.DumpAudit) error {
	if a.Seq <= l.auditSeq {
		return fmt.Errorf("audit event %d comes after event %d", a.Seq, l.auditSeq)
	}
	b, err := l.b(bAudit)
	if err != nil {
		return err
	}
	v := make([]byte, 0, len(a.Hash)+1+len(a.Body))
	if err := b.Put(u64(a.Seq), append(append(append(v, a.Hash...), '\n'), a.Body...)); err != nil {
		return err
	}
	l.auditSeq, l.auditHash = a.Seq, a.Hash
	return nil
}

// Change writes one entry of the feed as its own (the file's format for a
// transaction that changed one patient).
func (l *loader) Change(seq uint64, patientID string) error {
	if seq <= l.changeSeq {
		return fmt.Errorf("change %d comes after change %d", seq, l.changeSeq)
	}
	b, err := l.b(bChanges)
	if err != nil {
		return err
	}
	l.changeSeq = seq
	return b.Put(u64(seq), []byte(patientID))
}

// ImportedAudit keeps an event of an imported trail as it was kept, under
// its order number, and moves the bucket's sequence past it: the next
// event imported into the copy must not take (overwrite) a copied one's key.
func (l *loader) ImportedAudit(k, v []byte) error {
	if len(k) != 8 {
		return fmt.Errorf("imported audit event: key %x is not an 8-byte order number", k)
	}
	if _, err := l.b(bMeta); err != nil { // begins the chunk's transaction
		return err
	}
	b, err := l.tx.CreateBucketIfNotExists(bAuditImported)
	if err != nil {
		return err
	}
	if seq := binary.BigEndian.Uint64(k); seq > b.Sequence() {
		if err := b.SetSequence(seq); err != nil {
			return err
		}
	}
	return b.Put(bytes.Clone(k), bytes.Clone(v))
}

func (l *loader) Feed(head uint64) error {
	b, err := l.b(bChanges)
	if err != nil {
		return err
	}
	return b.SetSequence(head)
}

// finish writes the counters and the audit head, and commits.
func (l *loader) finish() error {
	mb, err := l.b(bMeta)
	if err != nil {
		return err
	}
	for k, n := range l.counts {
		if err := mb.Put(countKey(k), u64(n)); err != nil {
			return err
		}
	}
	if err := l.tx.Bucket(bAudit).SetSequence(l.auditSeq); err != nil {
		return err
	}
	if err := mb.Put(kAuditHash, []byte(l.auditHash)); err != nil {
		return err
	}
	if err := mb.Put(kSchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return err
	}
	err = l.tx.Commit()
	l.tx = nil
	return err
}
