package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Conformance runs the suite every backend must pass. open returns a new
// store for each subtest, holding no patients and no audit event the suite
// wrote; a server's store may hold its practice and the users it needs.
// role is the role the subtest acts in, for a backend that acts as a user
// (a server's client, where the server applies the role table): patients
// and clinical records are written as a GP; the practice, users and the
// audit trail are an admin's. A backend without users ignores it.
func Conformance(t *testing.T, open func(t *testing.T, role record.Role) store.Store) {
	conformance(t, open, false)
}

// ConformanceOverServer is the suite for a server's client (store/remote):
// the audit trail is the server's own, so a client's Append writes nothing
// to it (the server records each request it answers), and the suite checks
// exactly that instead of the chain a local backend keeps.
func ConformanceOverServer(t *testing.T, open func(t *testing.T, role record.Role) store.Store) {
	conformance(t, open, true)
}

func conformance(t *testing.T, open func(t *testing.T, role record.Role) store.Store, overServer bool) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	newPatient := func(nhs, family string) *record.Patient {
		p := &record.Patient{NHSNumber: nhs, Family: family, Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female"}
		if nhs == "" {
			p.NoNHSReason = "temporary-resident"
		}
		p.RecordedAt, p.RecordedBy = now, "admin"
		if err := p.Validate(); err != nil {
			t.Fatalf("fixture patient: %v", err)
		}
		return p
	}
	put := func(t *testing.T, s store.Store, e record.Entity) error {
		return s.Update(ctx, func(tx store.WTx) error { return tx.Put(e) })
	}

	// An embedded file opens empty, and the practice is created by init; a
	// server opens with the practice it serves and the users it
	// authenticates. Either way the practice is read, changed on the version
	// it was read at, and a stale change conflicts; users are added, read,
	// changed and conflict the same way. (An empty file's "not found" and the
	// API token lookup, a secret a server never gives out, are asserted in
	// store/bolt's tests.)
	t.Run("practice and users", func(t *testing.T) {
		s := open(t, record.RoleAdmin)
		var cur *record.Practice
		err := s.View(ctx, func(tx store.Tx) error { var err error; cur, err = tx.Practice(); return err })
		if record.IsNotFound(err) {
			cur = &record.Practice{Name: "Test", ODS: "B86001", RecordedAt: now, RecordedBy: "admin", Settings: map[string]string{}}
			err = s.Update(ctx, func(tx store.WTx) error { return tx.PutPractice(cur) })
			if err == nil && cur.Version != 1 {
				t.Errorf("a new practice is at version %d", cur.Version)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if cur.ODS == "" || cur.Version < 1 {
			t.Fatalf("practice = %+v", cur)
		}
		next := *cur
		next.Name = "Renamed Surgery"
		next.Settings = map[string]string{"idle-lock": "5m0s"}
		next.RecordedAt, next.RecordedBy = now, "admin"
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.PutPractice(&next) }); err != nil {
			t.Fatal(err)
		}
		if next.Version != cur.Version+1 {
			t.Errorf("practice version after a change = %d, want %d", next.Version, cur.Version+1)
		}
		stale := *cur
		stale.Name = "Other"
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.PutPractice(&stale) }); !isConflict(err) {
			t.Errorf("stale practice write: err = %v, want conflict", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			got, err := tx.Practice()
			if err != nil || got.Name != "Renamed Surgery" || got.ODS != cur.ODS || got.Settings["idle-lock"] != "5m0s" || got.Version != next.Version {
				t.Errorf("practice after a change and a refused stale one = %+v, %v", got, err)
			}
			return nil
		})

		u := &record.User{Name: "nurse.joy", Role: record.RoleNurse, Prescriber: true, RegNumber: "12A3456E", RecordedAt: now, RecordedBy: "admin"}
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.PutUser(u) }); err != nil {
			t.Fatal(err)
		}
		if u.Version != 1 {
			t.Errorf("a new user is at version %d", u.Version)
		}
		var got *record.User
		_ = s.View(ctx, func(tx store.Tx) error {
			var err error
			if got, err = tx.User("nurse.joy"); err != nil || got.Role != record.RoleNurse || !got.Prescriber || got.RegNumber != "12A3456E" || got.Version != 1 {
				t.Fatalf("user = %+v, %v", got, err)
			}
			us, err := tx.Users()
			n := 0
			for _, x := range us {
				if x.Name == "nurse.joy" && x.Role == record.RoleNurse {
					n++
				}
			}
			if err != nil || n != 1 {
				t.Errorf("users = %+v, %v; want nurse.joy once", us, err)
			}
			if _, err := tx.User("no.such.user"); !record.IsNotFound(err) {
				t.Errorf("a missing user: err = %v, want not found", err)
			}
			return nil
		})
		changed := *got
		changed.Prescriber = false
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.PutUser(&changed) }); err != nil || changed.Version != 2 {
			t.Errorf("user change: version %d, %v", changed.Version, err)
		}
		staleU := *got
		staleU.Role = record.RoleGP
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.PutUser(&staleU) }); !isConflict(err) {
			t.Errorf("stale user write: err = %v, want conflict", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			if x, err := tx.User("nurse.joy"); err != nil || x.Prescriber || x.Role != record.RoleNurse || x.Version != 2 {
				t.Errorf("user after a change and a refused stale one = %+v, %v", x, err)
			}
			return nil
		})
	})

	t.Run("versions are kept and stale writes conflict", func(t *testing.T) {
		s := open(t, record.RoleGP)
		p := newPatient("9434765919", "Smith")
		if err := put(t, s, p); err != nil {
			t.Fatal(err)
		}
		if p.ID == "" || p.Version != 1 {
			t.Fatalf("after create: id %q version %d", p.ID, p.Version)
		}
		p2 := *p
		p2.Family = "Smyth"
		p2.RecordedBy = "dr.who"
		if err := put(t, s, &p2); err != nil {
			t.Fatal(err)
		}
		if p2.Version != 2 {
			t.Fatalf("version after update = %d, want 2", p2.Version)
		}
		stale := *p // still version 1
		stale.Family = "Jones"
		err := put(t, s, &stale)
		var ce *record.ConflictError
		if !errors.As(err, &ce) || ce.By != "dr.who" {
			t.Fatalf("stale update: err = %v, want a conflict naming dr.who", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			vs, err := tx.Versions(record.KindPatient, p.ID)
			if err != nil || len(vs) != 2 {
				t.Fatalf("versions = %d, %v", len(vs), err)
			}
			if vs[0].(*record.Patient).Family != "Smith" || vs[1].(*record.Patient).Family != "Smyth" {
				t.Errorf("history lost: %s then %s", vs[0].(*record.Patient).Family, vs[1].(*record.Patient).Family)
			}
			cur, _ := tx.Get(record.KindPatient, p.ID)
			if cur.(*record.Patient).Family != "Smyth" {
				t.Errorf("current = %s", cur.(*record.Patient).Family)
			}
			return nil
		})
	})

	t.Run("a prepared record is stored as itself", func(t *testing.T) {
		s := open(t, record.RoleGP)
		p := newPatient("9434765919", "Smith")
		p.ID = "019a0000-0000-7000-8000-000000000001"
		enc := *p
		enc.Version = 1
		b, err := json.Marshal(&enc)
		if err != nil {
			t.Fatal(err)
		}
		if err := put(t, s, &store.Prepared{Entity: p, JSON: b}); err != nil {
			t.Fatal(err)
		}
		if p.Version != 1 {
			t.Fatalf("version after a prepared create = %d", p.Version)
		}
		// An update never uses a prepared encoding: the bytes here are stale.
		p2 := *p
		p2.Family = "Smyth"
		if err := put(t, s, &store.Prepared{Entity: &p2, JSON: b}); err != nil {
			t.Fatal(err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			got, err := tx.PatientByNHS("9434765919")
			if err != nil || got.Family != "Smyth" || got.Version != 2 || got.ID != p.ID {
				t.Errorf("after a prepared create and an update: %+v, %v", got, err)
			}
			return nil
		})
	})

	t.Run("one NHS number one patient", func(t *testing.T) {
		s := open(t, record.RoleGP)
		a := newPatient("9434765919", "Smith")
		if err := put(t, s, a); err != nil {
			t.Fatal(err)
		}
		b := newPatient("9434765919", "Jones")
		if err := put(t, s, b); !isConflict(err) {
			t.Fatalf("duplicate NHS number: err = %v, want conflict", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			if n := tx.Count(record.KindPatient); n != 1 {
				t.Errorf("count = %d after a refused duplicate", n)
			}
			got, err := tx.PatientByNHS("9434765919")
			if err != nil || got.ID != a.ID {
				t.Errorf("by NHS = %v, %v", got, err)
			}
			return nil
		})
		// Changing the NHS number frees the old one.
		a.NHSNumber = "4010232137"
		if err := put(t, s, a); err != nil {
			t.Fatal(err)
		}
		c := newPatient("9434765919", "Brown")
		if err := put(t, s, c); err != nil {
			t.Fatalf("old NHS number not freed: %v", err)
		}
	})

	t.Run("records belong to patients", func(t *testing.T) {
		s := open(t, record.RoleGP)
		p := newPatient("", "Nowak")
		if err := put(t, s, p); err != nil {
			t.Fatal(err)
		}
		orphan := &record.Problem{Meta: record.Meta{PatientID: "no-such-patient"}, Code: record.Code{System: record.SystemSNOMED, Code: "38341003"}}
		_ = orphan.Validate()
		if err := put(t, s, orphan); !record.IsNotFound(err) {
			t.Errorf("problem for a missing patient: err = %v, want not found", err)
		}
		for _, code := range []string{"38341003", "44054006"} {
			pr := &record.Problem{Meta: record.Meta{PatientID: p.ID}, Code: record.Code{System: record.SystemSNOMED, Code: code}}
			if err := pr.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := put(t, s, pr); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			ps, err := tx.List(p.ID, record.KindProblem)
			if err != nil || len(ps) != 2 {
				t.Errorf("list = %d, %v", len(ps), err)
			}
			obs, _ := tx.List(p.ID, record.KindObservation)
			if len(obs) != 0 {
				t.Errorf("observations = %d, want 0", len(obs))
			}
			return nil
		})
	})

	// A server audits every request itself, so the trail grows between the
	// suite's own events: the contracts are about the suite's events, and
	// that the chain links. (That an embedded file's trail is exactly the
	// events appended, numbered from 1, is asserted in store/bolt's tests.)
	auditHead := func(t *testing.T, s store.Store) (seq uint64, hash string) {
		t.Helper()
		if err := s.View(ctx, func(tx store.Tx) error {
			var err error
			seq, hash, err = tx.AuditHead()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return seq, hash
	}
	trail := func(t *testing.T, s store.Store, after uint64) []*record.AuditEvent {
		t.Helper()
		var evs []*record.AuditEvent
		if err := s.View(ctx, func(tx store.Tx) error {
			return tx.Audit(after, func(ev *record.AuditEvent) error { evs = append(evs, ev); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		return evs
	}

	t.Run("a failed transaction writes nothing", func(t *testing.T) {
		s := open(t, record.RoleAdmin)
		before, _ := auditHead(t, s)
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx store.WTx) error {
			if err := tx.Put(newPatient("9434765919", "Smith")); err != nil {
				return err
			}
			if err := tx.Append(&record.AuditEvent{User: "admin", Action: "create", Reason: "conformance: rolled back"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			if n := tx.Count(record.KindPatient); n != 0 {
				t.Errorf("patients after rollback = %d", n)
			}
			return nil
		})
		for _, ev := range trail(t, s, before) {
			if ev.Reason == "conformance: rolled back" {
				t.Errorf("the rolled-back transaction's audit event is in the trail (seq %d)", ev.Seq)
			}
		}
	})

	t.Run("audit chain", func(t *testing.T) {
		s := open(t, record.RoleAdmin)
		before, beforeHash := auditHead(t, s)
		var appended []*record.AuditEvent
		for i := 0; i < 3; i++ {
			ev := &record.AuditEvent{At: now, User: "admin", Action: "read", Kind: record.KindPatient, EntityID: "x",
				Reason: "conformance " + string(rune('a'+i))}
			if err := s.Update(ctx, func(tx store.WTx) error { return tx.Append(ev) }); err != nil {
				t.Fatal(err)
			}
			if overServer {
				continue
			}
			if ev.Seq <= before || ev.Hash == "" || (i > 0 && ev.Seq <= appended[i-1].Seq) {
				t.Errorf("event %d appended at seq %d hash %q (trail head was %d)", i, ev.Seq, ev.Hash, before)
			}
			appended = append(appended, ev)
		}
		evs := trail(t, s, before)
		var ours []*record.AuditEvent
		prevSeq, prevHash := before, beforeHash
		for _, ev := range evs {
			if ev.Seq != prevSeq+1 || ev.Hash == "" || ev.PrevHash != prevHash {
				t.Errorf("event %d (prev %q) does not follow event %d (hash %q)", ev.Seq, ev.PrevHash, prevSeq, prevHash)
			}
			prevSeq, prevHash = ev.Seq, ev.Hash
			if strings.HasPrefix(ev.Reason, "conformance ") {
				ours = append(ours, ev)
			}
		}
		if overServer {
			if len(ours) != 0 {
				t.Fatalf("a client wrote %d events into the server's trail: the trail is the server's own", len(ours))
			}
			return
		}
		if len(ours) != 3 {
			t.Fatalf("the trail after %d holds %d of the 3 appended events", before, len(ours))
		}
		for i, ev := range ours {
			if ev.Reason != appended[i].Reason || ev.Seq != appended[i].Seq || ev.Hash != appended[i].Hash || ev.Action != "read" || ev.EntityID != "x" {
				t.Errorf("trail event %d = %+v, appended %+v", i, ev, appended[i])
			}
		}
		if head, hash := auditHead(t, s); head < prevSeq || (head == prevSeq && hash != prevHash) {
			t.Errorf("audit head %d %q, behind the trail's last event %d %q", head, hash, prevSeq, prevHash)
		}
	})

	// The find index loads itself from SearchRows and follows other
	// processes' writes with Changes as a cursor: what it relies on is that
	// every current patient has one row, that a cursor loses no change and
	// reports none twice, and that store.ChangesHead names the cursor's present.
	// (That bolt numbers changes 1, 2, 3 and keeps rows byte for byte is
	// asserted in store/bolt's tests.)
	t.Run("changes and search rows", func(t *testing.T) {
		s := open(t, record.RoleGP)
		putRow := func(ps ...*record.Patient) {
			t.Helper()
			if err := s.Update(ctx, func(tx store.WTx) error {
				for _, p := range ps {
					if err := tx.Put(p); err != nil {
						return err
					}
					if err := tx.SetSearchRow(p.ID, []byte("row "+p.Family)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		changes := func(after uint64) (ids []string, last uint64) {
			t.Helper()
			if err := s.View(ctx, func(tx store.Tx) error {
				prev := after
				var err error
				last, err = tx.Changes(after, func(seq uint64, id string) error {
					if seq <= prev {
						t.Errorf("change %s at sequence %d after %d: sequences must increase", id, seq, prev)
					}
					prev = seq
					ids = append(ids, id)
					return nil
				})
				if err == nil && prev > last {
					t.Errorf("Changes returned %d, before the change it reported at %d", last, prev)
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ids, last
		}
		a, b := newPatient("9434765919", "Smith"), newPatient("", "Nowak")
		putRow(a)
		putRow(b)
		ids, last := changes(0)
		if !sameIDs(ids, a.ID, b.ID) || last == 0 {
			t.Errorf("changes after 0 = %v last %d, want %s and %s once each", ids, last, a.ID, b.ID)
		}
		if ids, again := changes(last); len(ids) != 0 || again != last {
			t.Errorf("changes after the last sequence, with no write since = %v last %d, want none and %d", ids, again, last)
		}
		a2 := *a
		a2.Family = "Smyth"
		c := newPatient("4010232137", "Brown")
		putRow(&a2, c)
		ids, last2 := changes(last)
		if !sameIDs(ids, a.ID, c.ID) || last2 <= last {
			t.Errorf("changes after %d = %v last %d, want the updated %s and the new %s, and a later sequence", last, ids, last2, a.ID, c.ID)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			head, err := tx.Changes(store.ChangesHead, func(seq uint64, id string) error {
				t.Errorf("store.ChangesHead reported a change (%d %s)", seq, id)
				return nil
			})
			if err != nil || head != last2 {
				t.Errorf("store.ChangesHead = %d, %v, want %d", head, err, last2)
			}
			var rows []string
			err = tx.SearchRows(func(id string, row []byte) error {
				if len(row) == 0 {
					t.Errorf("patient %s: empty find row", id)
				}
				rows = append(rows, id)
				return nil
			})
			if err != nil || !sameIDs(rows, a.ID, b.ID, c.ID) {
				t.Errorf("search rows for %v, %v; want one for each of the 3 patients", rows, err)
			}
			return nil
		})
	})

	if overServer {
		return // the rest is what a backend that keeps the practice itself does
	}

	// Tokens and sessions are kept by the SHA-256 of their secret, listed
	// per user, and revoked; a passphrase hash is kept with its user.
	t.Run("tokens and passphrases", func(t *testing.T) {
		s := open(t, record.RoleAdmin)
		tk := func(hash, user string) *record.Token {
			return &record.Token{Hash: hash, User: user, Kind: record.TokenAPI, IssuedAt: now, IssuedBy: "admin", ExpiresAt: now.Add(time.Hour)}
		}
		h1, h2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
		if err := s.Update(ctx, func(tx store.WTx) error {
			if err := tx.PutUser(&record.User{Name: "dr.who", Role: record.RoleGP, PassHash: "argon2id$test", RecordedAt: now, RecordedBy: "admin"}); err != nil {
				return err
			}
			if err := tx.PutToken(tk(h1, "dr.who")); err != nil {
				return err
			}
			return tx.PutToken(tk(h2, "nurse.joy"))
		}); err != nil {
			t.Fatal(err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			if u, err := tx.User("dr.who"); err != nil || u.PassHash != "argon2id$test" {
				t.Errorf("a user's passphrase hash: %+v, %v", u, err)
			}
			if got, err := tx.Token(h1); err != nil || got.User != "dr.who" || got.Hash != h1 || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
				t.Errorf("token by hash = %+v, %v", got, err)
			}
			if ts, err := tx.Tokens("dr.who"); err != nil || len(ts) != 1 || ts[0].Hash != h1 {
				t.Errorf("dr.who's tokens = %+v, %v", ts, err)
			}
			if ts, err := tx.Tokens(""); err != nil || len(ts) != 2 {
				t.Errorf("everyone's tokens = %d, %v; want 2", len(ts), err)
			}
			return nil
		})
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.DeleteToken(h1) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, func(tx store.WTx) error { return tx.DeleteToken(h1) }); !record.IsNotFound(err) {
			t.Errorf("revoking a revoked token: err = %v, want not found", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			if _, err := tx.Token(h1); !record.IsNotFound(err) {
				t.Errorf("a revoked token is still found: %v", err)
			}
			return nil
		})
	})

	// A refused write leaves its transaction usable: a bulk import rejects
	// the line and goes on with the next, and what it wrote commits.
	t.Run("a refused write leaves the transaction usable", func(t *testing.T) {
		s := open(t, record.RoleGP)
		a := newPatient("9434765919", "Smith")
		if err := put(t, s, a); err != nil {
			t.Fatal(err)
		}
		b, c := newPatient("4010232137", "Jones"), newPatient("", "Brown")
		err := s.Update(ctx, func(tx store.WTx) error {
			if err := tx.Put(b); err != nil {
				return err
			}
			if err := tx.Put(newPatient("9434765919", "Dup")); !isConflict(err) {
				t.Errorf("a duplicate NHS number in a bulk transaction: err = %v, want conflict", err)
			}
			orphan := &record.Problem{Meta: record.Meta{PatientID: "no-such-patient"}, Code: record.Code{System: record.SystemSNOMED, Code: "38341003"}}
			if err := tx.Put(orphan); !record.IsNotFound(err) {
				t.Errorf("a record of a missing patient in a bulk transaction: err = %v, want not found", err)
			}
			return tx.Put(c)
		})
		if err != nil {
			t.Fatalf("the transaction after refused writes: %v", err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			if n := tx.Count(record.KindPatient); n != 3 {
				t.Errorf("patients = %d, want 3 (the refused ones not written)", n)
			}
			return nil
		})
	})

	// Appointments are found by their start time, when the backend indexes them.
	t.Run("appointments by time", func(t *testing.T) {
		s := open(t, record.RoleGP)
		p := newPatient("", "Nowak")
		if err := put(t, s, p); err != nil {
			t.Fatal(err)
		}
		var indexed bool
		_ = s.View(ctx, func(tx store.Tx) error { _, indexed = tx.(store.AppointmentIndex); return nil })
		if !indexed {
			t.Skip("this backend does not index appointments by time (services scan)")
		}
		at := func(h int) time.Time { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC) }
		var appts []*record.Appointment
		for _, h := range []int{11, 9, 14} {
			a := &record.Appointment{Meta: record.Meta{PatientID: p.ID, RecordedAt: now, RecordedBy: "admin", Status: "booked"},
				Clinician: "dr.who", Start: at(h), Minutes: 10, Mode: "in-person"}
			if err := put(t, s, a); err != nil {
				t.Fatal(err)
			}
			appts = append(appts, a)
		}
		moved := *appts[2] // 14:00 moves to 08:00, out of the window below
		moved.Start = at(8)
		if err := put(t, s, &moved); err != nil {
			t.Fatal(err)
		}
		_ = s.View(ctx, func(tx store.Tx) error {
			var got []int
			err := tx.(store.AppointmentIndex).AppointmentsBetween(at(9), at(15), func(a *record.Appointment) error {
				got = append(got, a.Start.Hour())
				return nil
			})
			if err != nil || len(got) != 2 || got[0] != 9 || got[1] != 11 {
				t.Errorf("appointments 09:00-15:00 = %v, %v; want 9 and 11 in order (14:00 moved to 8:00)", got, err)
			}
			return nil
		})
	})
}

// sameIDs reports whether got holds exactly the ids want, once each, in any order.
func sameIDs(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			return false
		}
	}
	return true
}

func isConflict(err error) bool {
	var ce *record.ConflictError
	return errors.As(err, &ce)
}
