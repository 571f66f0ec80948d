package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	bbolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout this build writes. Older files are migrated
// forward on open, after an automatic backup; newer files are refused.
const SchemaVersion = 6

// migrations[n] takes a file from schema n to n+1.
var migrations = map[int]func(tx *bbolt.Tx) error{
	// 5 -> 6: the results inbox. Its buckets (kind "report") are made by
	// prepare, as every kind's are; no record changes.
	5: func(tx *bbolt.Tx) error { return nil },
	// 4 -> 5: identity. Acting as a user now needs a credential, so that
	// the practice keeps working on upgrade each admin is bound to the OS
	// login of its own name (and no one else to any login). Tokens, which
	// never expired, become records that do: the default lifetime from now.
	4: func(tx *bbolt.Tx) error {
		now := time.Now().UTC()
		users, tokens := tx.Bucket(bUsers), tx.Bucket(bTokens)
		type put struct {
			b    *bbolt.Bucket
			k, v []byte
		}
		var ps []put // written after the walk: bbolt forbids writes inside ForEach
		err := users.ForEach(func(k, v []byte) error {
			var su struct {
				storedUser
				TokenHash string `json:"tokenHash"`
			}
			if err := json.Unmarshal(v, &su); err != nil {
				return fmt.Errorf("user %s: %w", k, err)
			}
			u := su.storedUser
			if u.Role == record.RoleAdmin && len(u.Logins) == 0 {
				u.Logins = []string{u.Name}
			}
			// A new version, so the audit event that wrote the old one
			// (and its record hash) names a superseded version, not an
			// altered one.
			u.Version++
			u.RecordedAt, u.RecordedBy = now, "(upgrade)"
			nv, err := json.Marshal(u)
			if err != nil {
				return err
			}
			ps = append(ps, put{users, append([]byte(nil), k...), nv})
			if su.TokenHash != "" && tokens.Get([]byte(su.TokenHash)) != nil {
				tk, err := json.Marshal(record.Token{Hash: su.TokenHash, User: u.Name, Kind: record.TokenAPI,
					IssuedAt: now, IssuedBy: "(upgrade)", ExpiresAt: now.Add(12 * time.Hour)})
				if err != nil {
					return err
				}
				ps = append(ps, put{tokens, []byte(su.TokenHash), tk})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := p.b.Put(p.k, p.v); err != nil {
				return err
			}
		}
		// The one practice-wide passphrase (a salted SHA-256 any user could
		// read and crack) is dropped: each user has their own now.
		if v := tx.Bucket(bPractice).Get(kPractice); v != nil {
			var pr map[string]json.RawMessage
			if err := json.Unmarshal(v, &pr); err != nil {
				return fmt.Errorf("practice: %w", err)
			}
			var st map[string]string
			if raw, ok := pr["settings"]; ok && json.Unmarshal(raw, &st) == nil && st["passphrase"] != "" {
				delete(st, "passphrase")
				pr["settings"], _ = json.Marshal(st)
				var ver int
				_ = json.Unmarshal(pr["version"], &ver)
				pr["version"], _ = json.Marshal(ver + 1) // superseded, not altered (as users above)
				pr["recordedBy"], _ = json.Marshal("(upgrade)")
				pr["recordedAt"], _ = json.Marshal(now)
				nv, err := json.Marshal(pr)
				if err != nil {
					return err
				}
				if err := tx.Bucket(bPractice).Put(kPractice, nv); err != nil {
					return err
				}
			}
		}
		// A token whose user no longer names it (replaced) is dropped.
		var stale [][]byte
		_ = tokens.ForEach(func(k, v []byte) error {
			if len(v) == 0 || v[0] != '{' {
				stale = append(stale, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range stale {
			if err := tokens.Delete(k); err != nil {
				return err
			}
		}
		return nil
	},
	// 3 -> 4: the patient index split by kind (p:<kind>), so that loading
	// one kind for every patient appends to its own bucket.
	3: func(tx *bbolt.Tx) error {
		old := tx.Bucket(bPidxOld)
		if old == nil {
			return nil
		}
		err := old.ForEach(func(k, _ []byte) error {
			if len(k) < 8+1+1+8 || k[len(k)-9] != 0 {
				return fmt.Errorf("patient index: malformed key %x", k)
			}
			kind := record.Kind(k[8 : len(k)-9])
			b := tx.Bucket(pidxBucket(kind))
			if b == nil {
				return fmt.Errorf("patient index: unknown kind %q in key %x", kind, k)
			}
			return b.Put(pidxKey(k[:8], k[len(k)-8:]), nil)
		})
		if err != nil {
			return err
		}
		return tx.DeleteBucket(bPidxOld)
	},
	// 2 -> 3: appointments indexed by start time.
	2: func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bApptTime)
		if err != nil {
			return err
		}
		return tx.Bucket(kindBucket(record.KindAppointment)).ForEach(func(k, v []byte) error {
			var a record.Appointment
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			return b.Put(apptKey(a.Start, k), nil)
		})
	},
	// 1 -> 2: the change log that lets other processes refresh their find index.
	1: func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bChanges)
		if err != nil {
			return err
		}
		return tx.Bucket(kindBucket(record.KindPatient)).ForEach(func(k, v []byte) error {
			var m struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			return b.Put(u64(seq), []byte(m.ID))
		})
	},
}

func allBuckets() [][]byte {
	bs := [][]byte{bMeta, bPractice, bUsers, bTokens, bNHS, bSearch, bChanges, bAudit, bApptTime}
	for _, k := range record.Kinds {
		bs = append(bs, kindBucket(k), versionBucket(k), idBucket(k))
		if k != record.KindPatient {
			bs = append(bs, pidxBucket(k))
		}
	}
	return bs
}

func schemaOf(tx *bbolt.Tx) int {
	mb := tx.Bucket(bMeta)
	if mb == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(mb.Get(kSchema)))
	return n
}

// prepare creates a new file's buckets or migrates an old one.
func (s *Store) prepare(db *bbolt.DB) error {
	var have int
	if err := db.View(func(tx *bbolt.Tx) error { have = schemaOf(tx); return nil }); err != nil {
		return err
	}
	switch {
	case have == SchemaVersion:
		return nil
	case have > SchemaVersion:
		return fmt.Errorf("practice file %s has schema %d; this gpsoc understands up to %d: upgrade gpsoc", s.path, have, SchemaVersion)
	case have > 0:
		bk := fmt.Sprintf("%s.schema%d-%s.bak", s.path, have, time.Now().UTC().Format("20060102T150405Z"))
		if err := backupTo(db, bk); err != nil {
			return fmt.Errorf("backup before migration: %w", err)
		}
	}
	return db.Update(func(tx *bbolt.Tx) error {
		from := schemaOf(tx)
		for _, name := range allBuckets() {
			if (string(name) == string(bChanges) && from > 0 && from < 2) || (string(name) == string(bApptTime) && from > 0 && from < 3) {
				continue // made by a migration, which also fills it
			}
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if from == 0 {
			from = SchemaVersion
		}
		for v := from; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		return tx.Bucket(bMeta).Put(kSchema, []byte(strconv.Itoa(SchemaVersion)))
	})
}

func backupTo(db *bbolt.DB, path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = db.View(func(tx *bbolt.Tx) error { _, err := tx.WriteTo(f); return err })
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// Backup writes a hot, consistent copy of the practice to w (a read
// transaction: writers in other processes wait only for the copy).
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
	})
	return n, err
}

// BackupFile writes a backup to path, created owner-only; it never overwrites.
func (s *Store) BackupFile(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create backup %s: %w", path, err)
	}
	n, err := s.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A backup is only worth keeping if it restores: check what was
		// written (a damaged page of the practice is copied as it is).
		if verr := ValidateFile(path); verr != nil {
			err = fmt.Errorf("backup %s was written but fails its check, so it was removed: %w", path, verr)
		}
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return n, nil
}

// scan runs scanFile on the practice file, under the file lock when the
// store does not hold it (a writer mid-commit would look like damage).
func (s *Store) scan() []Problem {
	var ps []Problem
	err := s.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			ps = scanFile(s.path)
			return nil
		})
	})
	if err != nil && len(ps) == 0 {
		var de *DamagedError
		if errors.As(err, &de) {
			// bbolt could not even open it: read the pages without it.
			return scanFile(s.path)
		}
		return []Problem{{Where: "file", What: err.Error()}}
	}
	return ps
}

// Problem is one finding of Check or VerifyAudit.
type Problem = store.Problem

// Check verifies the file's structure (bbolt's own check), the indexes and the audit chain.
func (s *Store) Check() ([]Problem, error) {
	// Pages first, read directly: bbolt's own check panics on a damaged page
	// in a goroutine of its own (see scanFile).
	if ps := s.scan(); len(ps) > 0 {
		return ps, nil
	}
	var out []Problem
	err := s.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				out = append(out, Problem{Where: "structure", What: err.Error()})
			}
			if v := schemaOf(tx); v != SchemaVersion {
				out = append(out, Problem{Where: "schema", What: fmt.Sprintf("version %d, expected %d", v, SchemaVersion)})
			}
			for _, name := range allBuckets() {
				if tx.Bucket(name) == nil {
					out = append(out, Problem{Where: "bucket " + string(name), What: "missing"})
				}
			}
			if len(out) > 0 {
				return nil
			}
			out = append(out, checkIndexes(tx)...)
			probs, _ := verifyAudit(tx)
			ip, _ := verifyImportedTrails(tx)
			out = append(append(out, probs...), ip...)
			return nil
		})
	})
	return out, err
}

func checkIndexes(tx *bbolt.Tx) []Problem {
	var out []Problem
	pb := tx.Bucket(kindBucket(record.KindPatient))
	seenNHS := map[string]string{}
	for _, kind := range record.Kinds {
		kb, ib := tx.Bucket(kindBucket(kind)), tx.Bucket(idBucket(kind))
		n := 0
		_ = kb.ForEach(func(k, v []byte) error {
			n++
			var m struct {
				ID        string `json:"id"`
				PatientID string `json:"patientId"`
				NHSNumber string `json:"nhsNumber"`
			}
			if err := json.Unmarshal(v, &m); err != nil {
				out = append(out, Problem{Where: fmt.Sprintf("%s key %x", kind, k), What: "cannot be decoded: " + err.Error()})
				return nil
			}
			where := string(kind) + " " + m.ID
			if got := ib.Get([]byte(m.ID)); !bytes.Equal(got, k) {
				out = append(out, Problem{Where: where, What: "id index missing or wrong"})
			}
			if kind != record.KindPatient {
				if m.PatientID != "" {
					pk := tx.Bucket(idBucket(record.KindPatient)).Get([]byte(m.PatientID))
					if pk == nil {
						out = append(out, Problem{Where: where, What: "belongs to missing patient " + m.PatientID})
					} else if tx.Bucket(pidxBucket(kind)).Get(pidxKey(pk, k)) == nil {
						out = append(out, Problem{Where: where, What: "missing from its patient's index"})
					}
				}
				return nil
			}
			if m.NHSNumber != "" {
				if other, dup := seenNHS[m.NHSNumber]; dup {
					out = append(out, Problem{Where: where, What: fmt.Sprintf("NHS number also held by patient key %x", other)})
				}
				seenNHS[m.NHSNumber] = string(k)
				if got := tx.Bucket(bNHS).Get([]byte(m.NHSNumber)); !bytes.Equal(got, k) {
					out = append(out, Problem{Where: where, What: "NHS number index missing or wrong"})
				}
			}
			if row := tx.Bucket(bSearch).Get(k); row == nil || !bytes.HasPrefix(row, append([]byte(m.ID), 0)) {
				out = append(out, Problem{Where: where, What: "no find row"})
			}
			return nil
		})
		if ib.Stats().KeyN != n {
			out = append(out, Problem{Where: string(kind) + " id index", What: fmt.Sprintf("%d ids for %d records", ib.Stats().KeyN, n)})
		}
		if c := countOf(tx, kind); c != n {
			out = append(out, Problem{Where: string(kind) + " count", What: fmt.Sprintf("counter says %d, file holds %d", c, n)})
		}
	}
	if a, n := tx.Bucket(bApptTime).Stats().KeyN, countOf(tx, record.KindAppointment); a != n {
		out = append(out, Problem{Where: "appointment time index", What: fmt.Sprintf("%d entries for %d appointments", a, n)})
	}
	_ = tx.Bucket(bNHS).ForEach(func(k, v []byte) error {
		if seenNHS[string(k)] != string(v) {
			out = append(out, Problem{Where: "NHS index " + string(k), What: fmt.Sprintf("names patient key %x, who does not hold it", v)})
		}
		return nil
	})
	_ = tx.Bucket(bSearch).ForEach(func(k, v []byte) error {
		if pb.Get(k) == nil {
			out = append(out, Problem{Where: fmt.Sprintf("find row %x", k), What: "no such patient"})
		}
		return nil
	})
	for _, kind := range record.Kinds {
		if kind == record.KindPatient {
			continue
		}
		kb := tx.Bucket(kindBucket(kind))
		_ = tx.Bucket(pidxBucket(kind)).ForEach(func(k, _ []byte) error {
			switch {
			case len(k) != 16:
				out = append(out, Problem{Where: string(kind) + " patient index", What: fmt.Sprintf("malformed key %x", k)})
			case pb.Get(k[:8]) == nil:
				out = append(out, Problem{Where: string(kind) + " patient index", What: fmt.Sprintf("names missing patient key %x", k[:8])})
			case kb.Get(k[8:]) == nil:
				out = append(out, Problem{Where: string(kind) + " patient index", What: fmt.Sprintf("names missing %s key %x", kind, k[8:])})
			}
			return nil
		})
	}
	return out
}

func countOf(tx *bbolt.Tx, k record.Kind) int {
	v := tx.Bucket(bMeta).Get(countKey(k))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

// AuditReport is what VerifyAudit found.
type AuditReport = store.AuditReport

// VerifyAudit recomputes the hash chain and checks each record version an
// event wrote against the record hash it carries; each failure is reported.
func (s *Store) VerifyAudit() (AuditReport, error) {
	var r AuditReport
	err := s.with(true, func(db *bbolt.DB) error {
		return db.View(func(tx *bbolt.Tx) error {
			r.Events = tx.Bucket(bAudit).Stats().KeyN
			r.Problems, r.Unhashed = verifyAudit(tx)
			ip, irep := verifyImportedTrails(tx)
			r.Problems, r.Imported = append(r.Problems, ip...), irep
			return nil
		})
	})
	return r, err
}

func verifyAudit(tx *bbolt.Tx) ([]Problem, int) {
	cc := &store.ChainCheck{Records: recordCheck(tx)}
	c := tx.Bucket(bAudit).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			cc.Broken(seq, "no hash stored")
			continue
		}
		cc.Event(seq, string(v[:i]), v[i+1:])
	}
	r := cc.End(string(tx.Bucket(bMeta).Get(kAuditHash)))
	return r.Problems, r.Unhashed
}
