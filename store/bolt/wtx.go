package bolt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/google/uuid"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// ---- writes ----

func (t *wtx) PutPractice(p *record.Practice) error {
	cur, err := t.Practice()
	if err != nil {
		cur = &record.Practice{}
	}
	if p.Version, err = store.NextVersion("practice settings", p.Version, err == nil, cur.Version, cur.RecordedBy, cur.RecordedAt); err != nil {
		return err
	}
	v, err := record.Canonical(p)
	if err != nil {
		return err
	}
	t.wrote("practice", "", p.Version, v, "") // one practice: its events name it by ODS code or by the setting changed
	return t.b(bPractice).Put(kPractice, v)
}

func (t *wtx) PutUser(u *record.User) error {
	b := t.b(bUsers)
	old := b.Get([]byte(u.Name))
	cur := &record.User{}
	if old != nil {
		var err error
		if cur, err = store.DecodeUser(old); err != nil {
			return err
		}
	}
	var err error
	if u.Version, err = store.NextVersion("user "+u.Name, u.Version, old != nil, cur.Version, cur.RecordedBy, cur.RecordedAt); err != nil {
		return err
	}
	v, err := record.CanonicalUser(u)
	if err != nil {
		return err
	}
	t.wrote("user", u.Name, u.Version, v, "")
	return b.Put([]byte(u.Name), v)
}

func (t *wtx) PutToken(tk *record.Token) error {
	if tk.Hash == "" || tk.User == "" {
		return fmt.Errorf("put token: a token needs its hash and its user")
	}
	v, err := json.Marshal(tk)
	if err != nil {
		return err
	}
	return t.b(bTokens).Put([]byte(tk.Hash), v)
}

func (t *wtx) DeleteToken(hash string) error {
	if t.b(bTokens).Get([]byte(hash)) == nil {
		return &record.NotFoundError{Kind: "token", ID: "…"}
	}
	return t.b(bTokens).Delete([]byte(hash))
}

type curMeta struct {
	store.RecordMeta
	// Start is an appointment's start time; a session's "start" is an
	// HH:MM string, so it is read as JSON and parsed only for appointments.
	Start json.RawMessage `json:"start"`
}

// apptStart is the stored start of an appointment (nil when it has none).
func (c *curMeta) apptStart() *time.Time {
	var t time.Time
	if len(c.Start) == 0 || json.Unmarshal(c.Start, &t) != nil {
		return nil
	}
	return &t
}

// Put checks everything before it writes anything, so a refused Put leaves
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
	kb := t.ab(kindBucket(kind))
	if kb == nil {
		return fmt.Errorf("unknown kind %q", kind)
	}
	if strings.IndexByte(m.ID, 0) >= 0 {
		return record.Invalid("id", m.ID, "must not contain a NUL character")
	}
	var key []byte
	var cur curMeta
	if m.ID != "" && !t.aboveHigh(kind, m.ID) {
		key = t.key(kind, m.ID)
	}
	creating := key == nil
	if !creating {
		old := kb.Get(key)
		if err := json.Unmarshal(old, &cur); err != nil {
			return fmt.Errorf("decode %s %s: %w", kind, m.ID, err)
		}
		if err := cur.CheckWrite(kind, m.ID, m.Version, m.PatientID); err != nil {
			return err
		}
	}
	var patientKey []byte
	if kind != record.KindPatient && m.PatientID != "" && creating {
		if m.PatientID == t.lastID {
			patientKey = []byte(t.lastKey) // a bulk run's records come patient by patient
		} else if patientKey = t.key(record.KindPatient, m.PatientID); patientKey == nil {
			return &record.NotFoundError{Kind: "patient", ID: m.PatientID}
		} else {
			t.lastID, t.lastKey = m.PatientID, string(patientKey)
		}
	}
	var nhs string
	if p, ok := e.(*record.Patient); ok && p.NHSNumber != "" {
		nhs = p.NHSNumber
		if holder := t.nhsGet(nhs); holder != nil && (creating || !bytes.Equal(holder, key)) {
			return &record.ConflictError{What: "NHS number " + record.FormatNHS(nhs),
				Msg: "already registered to patient " + t.idOfKey(record.KindPatient, holder)}
		}
	}
	// All checks passed: write.
	if creating {
		if m.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			m.ID = id.String()
		}
		m.Version = 1
		seq, err := kb.NextSequence()
		if err != nil {
			return err
		}
		key = u64(seq)
		if err := t.ab(idBucket(kind)).Put([]byte(m.ID), key); err != nil {
			return err
		}
		if t.aboveHigh(kind, m.ID) {
			t.highID[kind] = m.ID
		}
		t.bump(kind)
		if patientKey != nil {
			if err := t.ab(pidxBucket(kind)).Put(pidxKey(patientKey, key), nil); err != nil {
				return err
			}
		}
	} else {
		old := kb.Get(key)
		vk := make([]byte, 0, 12)
		vk = append(append(vk, key...), byte(cur.Version>>24), byte(cur.Version>>16), byte(cur.Version>>8), byte(cur.Version))
		if err := t.ab(versionBucket(kind)).Put(vk, append([]byte(nil), old...)); err != nil {
			return err
		}
		m.Version = cur.Version + 1
	}
	if kind == record.KindPatient {
		t.lastID, t.lastKey = m.ID, string(key)
		if !creating && cur.NHSNumber != "" && cur.NHSNumber != nhs {
			t.nhsSet(cur.NHSNumber, nil)
		}
		if nhs != "" {
			t.nhsSet(nhs, key)
		}
		t.changed = append(append(t.changed, 0), m.ID...)
		t.nChanged++
	} else if m.PatientID != "" && !t.changedLast(m.PatientID) {
		// A change to any of a patient's records is a change to the patient:
		// an open record (and a remote workstation) follows the same feed.
		t.changed = append(append(t.changed, 0), m.PatientID...)
		t.nChanged++
	}
	if a, ok := e.(*record.Appointment); ok {
		if old := cur.apptStart(); !creating && old != nil && !old.Equal(a.Start) {
			if err := t.b(bApptTime).Delete(apptKey(*old, key)); err != nil {
				return err
			}
		}
		if err := t.b(bApptTime).Put(apptKey(a.Start, key), nil); err != nil {
			return err
		}
	}
	// The stored bytes are the record's canonical JSON (a prepared encoding
	// is made by record.Canonical too), so its record hash costs one SHA-256
	// and no second encoding.
	v := prepared
	if v == nil || !creating || givenID == "" || m.ID != givenID {
		var err error
		if v, err = record.Canonical(e); err != nil {
			return err
		}
		preparedHash = ""
	}
	t.wrote(kind, m.ID, m.Version, v, preparedHash)
	return kb.Put(key, v)
}

func apptKey(start time.Time, key []byte) []byte {
	return append(u64(uint64(start.Unix())), key...)
}

// AppointmentsBetween implements store.AppointmentIndex.
func (t *rtx) AppointmentsBetween(from, to time.Time, fn func(*record.Appointment) error) error {
	kb := t.b(kindBucket(record.KindAppointment))
	c := t.b(bApptTime).Cursor()
	end := u64(uint64(to.Unix()))
	for k, _ := c.Seek(u64(uint64(from.Unix()))); k != nil && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
		e, err := store.DecodeEntity(record.KindAppointment, kb.Get(k[8:]))
		if err != nil {
			return err
		}
		if err := fn(e.(*record.Appointment)); err != nil {
			return err
		}
	}
	return nil
}

// aboveHigh reports whether id is greater than every id of its kind, and
// so new. It loads the kind's greatest id on first use (highID also serves
// the id-index update in Put, which needs it loaded).
func (t *wtx) aboveHigh(kind record.Kind, id string) bool {
	if t.highID == nil {
		t.highID = map[record.Kind]string{}
	}
	hi, ok := t.highID[kind]
	if !ok {
		if b := t.b(idBucket(kind)); b != nil {
			k, _ := b.Cursor().Last()
			hi = string(k)
		}
		t.highID[kind] = hi
	}
	return id > hi
}

func (t *wtx) bump(kind record.Kind) {
	if t.counts == nil {
		t.counts = map[record.Kind]uint64{}
	}
	t.counts[kind]++
}

func (t *wtx) SetSearchRow(id string, row []byte) error {
	var k []byte
	if id == t.lastID {
		k = []byte(t.lastKey)
	} else {
		k = t.key(record.KindPatient, id)
	}
	if k == nil {
		return &record.NotFoundError{Kind: "patient", ID: id}
	}
	v := make([]byte, 0, len(id)+1+len(row))
	return t.ab(bSearch).Put(k, append(append(append(v, id...), 0), row...))
}

func (t *wtx) Append(ev *record.AuditEvent) error {
	ab := t.ab(bAudit)
	seq, err := ab.NextSequence()
	if err != nil {
		return err
	}
	prev := t.auditHd
	if !t.auditSet {
		prev = string(t.b(bMeta).Get(kAuditHash))
	}
	ev.Seq = seq
	ev.PrevHash = prev
	// The record hash is the store's own, of what this transaction wrote:
	// a caller cannot vouch for a record it did not write.
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
	// One buffer: "prev\nbody" is hashed (AuditHash, without its
	// allocations), then prev is overwritten by the new hash, which is what
	// is stored: "hash\nbody".
	buf := append(append(make([]byte, 0, 64+1+448), prev...), '\n')
	buf = store.AppendAuditJSON(buf, ev)
	sum := sha256.Sum256(buf)
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	ev.Hash = string(hx[:])
	v := buf
	if len(prev) == len(hx) {
		copy(v, hx[:])
	} else {
		body := buf[len(prev)+1:]
		v = append(append(append(make([]byte, 0, len(hx)+1+len(body)), hx[:]...), '\n'), body...)
	}
	if err := ab.Put(u64(seq), v); err != nil {
		return err
	}
	t.auditHd, t.auditSet = ev.Hash, true
	return nil
}
