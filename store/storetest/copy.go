package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// Copy is the suite of the whole-store copy (store.Dumper and store.Loader,
// gpsoc migrate) between two backends, which may be the same: from opens an
// empty store of the first, to an empty store of the second; each must be
// both a Dumper and a Loader, since a practice moves both ways. It fills a
// practice with everything a store holds, copies it from → to → from, and
// checks that each copy holds the same, byte for byte where bytes are
// stored (record versions, the audit chain), and goes on working as the
// original would.
func Copy(t *testing.T, from, to func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("lossless both ways", func(t *testing.T) {
		a := from(t)
		Fill(t, a)
		want := Snap(t, a)
		if len(want.Audit) < 10 || want.Counts[record.KindPatient] != 3 || len(want.Tokens) != 2 || len(want.Imported) != len(want.DumpedImported) {
			t.Fatalf("the filled practice is not what Fill writes: %d events, %d patients, %d tokens", len(want.Audit), want.Counts[record.KindPatient], len(want.Tokens))
		}
		b := to(t)
		load(t, b, a)
		want.Diff(t, "the copy", Snap(t, b))
		c := from(t)
		load(t, c, b)
		want.Diff(t, "the copy of the copy", Snap(t, c))
		for _, s := range []store.Store{b, c} {
			if p := VerifyChain(t, s); len(p) > 0 {
				t.Errorf("the copy's audit chain fails: %v", p)
			}
		}
		// `gpsoc audit verify` (each backend's own, record hashes included)
		// says the same of the original and of each copy.
		if av, ok := a.(store.AuditVerifier); ok {
			want, err := av.VerifyAudit()
			if err != nil || len(want.Problems) > 0 || want.Events != len(Snap(t, a).Audit) {
				t.Fatalf("audit verify of the original: %+v %v", want, err)
			}
			for name, s := range map[string]store.Store{"the copy": b, "the copy of the copy": c} {
				v, ok := s.(store.AuditVerifier)
				if !ok {
					continue
				}
				got, err := v.VerifyAudit()
				if err != nil || len(got.Problems) != 0 || got.Events != want.Events || got.Unhashed != want.Unhashed ||
					fmt.Sprint(got.Imported) != fmt.Sprint(want.Imported) {
					t.Errorf("audit verify of %s: %+v %v, of the original %+v", name, got, err, want)
				}
			}
		}
		goesOn(t, a, b)
	})

	// A load that fails part way writes nothing: into an empty store (which
	// then takes a good copy as if nothing had happened), and over a copy
	// already there (which a backend may refuse outright: either way it
	// stays as it was).
	t.Run("a failed load writes nothing", func(t *testing.T) {
		a, b := from(t), to(t)
		Fill(t, a)
		err := b.(store.Loader).Load(ctx, failingDumper{a.(store.Dumper), 5})
		if err == nil || !strings.Contains(err.Error(), "dump cut short") {
			t.Fatalf("a load whose dump fails: %v, want the dump's error", err)
		}
		if err := b.View(ctx, func(tx store.Tx) error {
			_, perr := tx.Practice()
			seq, _, _ := tx.AuditHead()
			us, _ := tx.Users()
			if !record.IsNotFound(perr) || seq != 0 || len(us) != 0 || tx.Count(record.KindPatient) != 0 {
				return fmt.Errorf("practice %v, %d events, %d users, %d patients", perr, seq, len(us), tx.Count(record.KindPatient))
			}
			return nil
		}); err != nil {
			t.Fatalf("a failed load left something behind: %v", err)
		}
		load(t, b, a)
		Snap(t, a).Diff(t, "a copy after a failed one", Snap(t, b))

		before := Snap(t, b)
		if err := b.(store.Loader).Load(ctx, failingDumper{a.(store.Dumper), 5}); err == nil {
			t.Fatal("a load whose dump fails succeeded over a copy")
		}
		before.Diff(t, "the store after a failed load over it", Snap(t, b))
	})
}

func load(t *testing.T, dst, src store.Store) {
	t.Helper()
	if err := dst.(store.Loader).Load(context.Background(), src.(store.Dumper)); err != nil {
		t.Fatalf("load: %v", err)
	}
}

// goesOn checks that the copy b of a takes the next writes as a would: a
// record changes from its latest version (a stale one conflicts), the
// audit chain goes on from its last event, the change feed moves past the
// original's position, and the NHS-number index holds.
func goesOn(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	var p *record.Patient
	var head uint64
	var hash string
	if err := a.View(ctx, func(tx store.Tx) error {
		return tx.ForEach(record.KindPatient, func(e record.Entity) error {
			if q := e.(*record.Patient); q.NHSNumber != "" && p == nil {
				p = q
			}
			return nil
		})
	}); err != nil || p == nil {
		t.Fatalf("no patient with an NHS number (%v)", err)
	}
	feed := changesHead(t, a)
	head, hash = auditHeadOf(t, a)

	stale := *p
	stale.Version--
	if err := b.Update(ctx, func(tx store.WTx) error { return tx.Put(&stale) }); !isConflict(err) {
		t.Errorf("a stale change in the copy: %v, want a conflict", err)
	}
	next := *p
	next.Phone = "01632 960001"
	ev := &record.AuditEvent{At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), User: "dr.who", Action: "update", Kind: record.KindPatient, EntityID: p.ID}
	if err := b.Update(ctx, func(tx store.WTx) error {
		if err := tx.Put(&next); err != nil {
			return err
		}
		ev.Version = next.Version
		return tx.Append(ev)
	}); err != nil {
		t.Fatalf("a change in the copy: %v", err)
	}
	if next.Version != p.Version+1 {
		t.Errorf("the copy wrote version %d after version %d", next.Version, p.Version)
	}
	if ev.Seq != head+1 || ev.PrevHash != hash {
		t.Errorf("the copy's next event is %d after %q; the original's trail ended at %d %q", ev.Seq, ev.PrevHash, head, hash)
	}
	var seen []string
	if err := b.View(ctx, func(tx store.Tx) error {
		_, err := tx.Changes(feed, func(_ uint64, id string) error { seen = append(seen, id); return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{p.ID}) {
		t.Errorf("the copy's change feed after the original's position %d gives %v, want the patient just changed", feed, seen)
	}
	dup := &record.Patient{NHSNumber: p.NHSNumber, Family: "Other", Given: []string{"Bea"}, BirthDate: "1980-01-01", Sex: "female"}
	dup.RecordedAt, dup.RecordedBy = ev.At, "dr.who"
	if err := b.Update(ctx, func(tx store.WTx) error { return tx.Put(dup) }); !isConflict(err) {
		t.Errorf("a second patient with a copied NHS number: %v, want a conflict", err)
	}
	// A trail imported into the copy is kept after the copied one, which
	// stays as it was (the copy numbers its imported events on from it).
	if was := importedOf(t, b); len(was) > 0 {
		KeepTrail(t, b, "Third Surgery", OtherTrail(1, "", 2))
		now := importedOf(t, b)
		w, _ := json.Marshal(was)
		n, _ := json.Marshal(now[:min(len(was), len(now))])
		if len(now) != len(was)+2 || !bytes.Equal(w, n) {
			t.Errorf("a trail imported into the copy: %d kept events after %d, or the copied ones changed", len(now), len(was))
		}
		if r, err := b.(store.AuditVerifier).VerifyAudit(); err != nil || len(r.Problems) != 0 {
			t.Errorf("audit verify of the copy after another import: %v %v", r.Problems, err)
		}
	}
}

type failingDumper struct {
	store.Dumper
	after int
}

func (f failingDumper) Dump(ctx context.Context, w store.DumpWriter) error {
	return f.Dumper.Dump(ctx, &failingWriter{DumpWriter: w, left: f.after})
}

type failingWriter struct {
	store.DumpWriter
	left int
}

func (f *failingWriter) Audit(a *store.DumpAudit) error {
	if f.left--; f.left < 0 {
		return errors.New("dump cut short")
	}
	return f.DumpWriter.Audit(a)
}

// Fill writes a practice with something of everything a store holds: the
// practice changed once, users (one with a passphrase hash), a token and a
// session, patients changed and with records of several kinds (one
// changed, one retracted), an appointment, find rows, and an audit event
// for every write.
func Fill(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tick := func() time.Time { at = at.Add(time.Minute); return at }
	write := func(user string, e record.Entity) {
		t.Helper()
		if err := s.Update(ctx, func(tx store.WTx) error {
			if err := tx.Put(e); err != nil {
				return err
			}
			h := e.Head()
			return tx.Append(&record.AuditEvent{At: h.RecordedAt, User: user, Action: "create", Kind: e.Kind(),
				EntityID: h.ID, PatientID: h.PatientID, Version: h.Version, Source: "cli"})
		}); err != nil {
			t.Fatalf("fill: %s: %v", e.Kind(), err)
		}
	}
	pr := &record.Practice{Name: "Copy Surgery", ODS: "B86002", RecordedAt: tick(), RecordedBy: "admin", Settings: map[string]string{}}
	err := s.Update(ctx, func(tx store.WTx) error {
		if err := tx.PutPractice(pr); err != nil {
			return err
		}
		for _, u := range []*record.User{
			{Name: "admin", Role: record.RoleAdmin, Logins: []string{"admin"}, PassHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", RecordedAt: at, RecordedBy: "(init)"},
			{Name: "dr.who", Role: record.RoleGP, Prescriber: true, RegNumber: "1234567", RecordedAt: at, RecordedBy: "admin"},
		} {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		exp := at.Add(12 * time.Hour)
		for _, tk := range []*record.Token{
			{Hash: strings.Repeat("ab", 32), User: "dr.who", Kind: record.TokenAPI, IssuedAt: at, IssuedBy: "admin", ExpiresAt: exp},
			{Hash: strings.Repeat("cd", 32), User: "admin", Kind: record.TokenSession, IssuedAt: at, ExpiresAt: exp, Login: "admin"},
		} {
			if err := tx.PutToken(tk); err != nil {
				return err
			}
		}
		return tx.Append(&record.AuditEvent{At: at, User: "admin", Action: "init", Kind: "practice", EntityID: pr.ODS, Version: 1,
			Reason: "naïve <café> & \"quotes\""}) // escaped in its JSON: the copy must keep those bytes
	})
	if err != nil {
		t.Fatalf("fill: practice: %v", err)
	}
	pr.Settings = map[string]string{"nurse-prescribing": "true"}
	pr.RecordedAt = tick()
	if err := s.Update(ctx, func(tx store.WTx) error { return tx.PutPractice(pr) }); err != nil {
		t.Fatalf("fill: practice change: %v", err)
	}
	var pats []*record.Patient
	for i, nhs := range []string{"9434765919", "9434765870", ""} {
		p := &record.Patient{NHSNumber: nhs, Family: []string{"Smith", "Nowak", "Okafor"}[i], Given: []string{"Ann"}, BirthDate: "1970-01-02", Sex: "female"}
		if nhs == "" {
			p.NoNHSReason = "temporary-resident"
		}
		p.RecordedAt, p.RecordedBy = tick(), "admin"
		write("admin", p)
		pats = append(pats, p)
	}
	pats[0].Phone, pats[0].RecordedAt = "01632 960000", tick()
	write("admin", pats[0]) // version 2
	if err := s.Update(ctx, func(tx store.WTx) error {
		for _, p := range pats {
			if err := tx.SetSearchRow(p.ID, []byte("row\x00"+p.Family)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("fill: find rows: %v", err)
	}
	c := &record.Consultation{Type: "surgery", Start: tick(), Clinician: "dr.who", Text: "Cough for 3 weeks; naïve — “quoted”"}
	c.PatientID, c.RecordedAt, c.RecordedBy = pats[0].ID, at, "dr.who"
	write("dr.who", c)
	v150, v151 := 150.0, 151.0
	obs := &record.Observation{Code: record.Code{System: record.SystemSNOMED, Code: "271649006", Display: "Systolic blood pressure"}, Value: &v150, Unit: "mm[Hg]", Effective: at}
	obs.PatientID, obs.RecordedAt, obs.RecordedBy = pats[1].ID, tick(), "dr.who"
	write("dr.who", obs)
	obs.Value, obs.RecordedAt = &v151, tick()
	write("dr.who", obs) // version 2
	obs.Status, obs.RecordedAt = record.StatusEnteredInError, tick()
	obs.Retraction = &record.Retraction{Reason: "wrong patient", By: "dr.who", At: at}
	write("dr.who", obs) // retracted: version 3
	ap := &record.Appointment{Clinician: "dr.who", Start: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), Minutes: 10, Mode: "in-person", Extra: true}
	ap.PatientID, ap.RecordedAt, ap.RecordedBy = pats[2].ID, tick(), "admin"
	write("admin", ap)
	// An audit trail imported from another system, where the backend keeps one.
	var keeps bool
	_ = s.Update(ctx, func(tx store.WTx) error { _, keeps = tx.(store.ImportedTrail); return nil })
	if keeps {
		KeepTrail(t, s, "Other Surgery (naïve “quotes”)", OtherTrail(1, "", 3))
	}
}

// Snapshot is what a store holds, read through its interface (and its dump
// where it has one), in a form two stores can be compared by.
type Snapshot struct {
	Practice string
	Users    []string
	Tokens   []string
	Counts   map[record.Kind]int
	// Records: kind/id -> each version's canonical JSON.
	Records map[string][]string
	// Lists: patient/kind -> the ids List gives.
	Lists   map[string][]string
	NHS     map[string]string
	Rows    map[string]string
	Appts   []string
	Audit   []string // each event as Audit gives it, with its hash
	Dumped  []string // each event as the dump gives it: seq, hash, the hashed bytes
	Head    string
	Changes uint64
	// Feed is every entry of the change feed: seq patient.
	Feed []string
	// Imported is each kept event of an imported trail as ImportedAudit
	// gives it; DumpedImported as the dump gives it: its order number and
	// its stored bytes.
	Imported       []string
	DumpedImported []string
}

// Snap reads everything s holds.
func Snap(t *testing.T, s store.Store) *Snapshot {
	t.Helper()
	sn := &Snapshot{Counts: map[record.Kind]int{}, Records: map[string][]string{}, Lists: map[string][]string{},
		NHS: map[string]string{}, Rows: map[string]string{}}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	err := s.View(context.Background(), func(tx store.Tx) error {
		p, err := tx.Practice()
		if err != nil {
			return err
		}
		sn.Practice = js(p)
		us, err := tx.Users()
		if err != nil {
			return err
		}
		for _, u := range us {
			c, _ := record.CanonicalUser(&u)
			sn.Users = append(sn.Users, string(c))
		}
		slices.Sort(sn.Users)
		tks, err := tx.Tokens("")
		if err != nil {
			return err
		}
		for _, tk := range tks {
			sn.Tokens = append(sn.Tokens, js(tk))
		}
		slices.Sort(sn.Tokens)
		var patients []*record.Patient
		for _, kind := range record.Kinds {
			sn.Counts[kind] = tx.Count(kind)
			err := tx.ForEach(kind, func(e record.Entity) error {
				vs, err := tx.Versions(kind, e.Head().ID)
				if err != nil {
					return err
				}
				key := string(kind) + "/" + e.Head().ID
				for _, v := range vs {
					c, _ := record.Canonical(v)
					sn.Records[key] = append(sn.Records[key], string(c))
				}
				if p, ok := e.(*record.Patient); ok {
					patients = append(patients, p)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, p := range patients {
			if p.NHSNumber != "" {
				q, err := tx.PatientByNHS(p.NHSNumber)
				if err != nil {
					return err
				}
				sn.NHS[p.NHSNumber] = q.ID
			}
			for _, kind := range record.Kinds[1:] {
				es, err := tx.List(p.ID, kind)
				if err != nil {
					return err
				}
				for _, e := range es {
					sn.Lists[p.ID+"/"+string(kind)] = append(sn.Lists[p.ID+"/"+string(kind)], e.Head().ID)
				}
			}
		}
		if ai, ok := tx.(store.AppointmentIndex); ok {
			err := ai.AppointmentsBetween(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
				func(a *record.Appointment) error { sn.Appts = append(sn.Appts, a.ID); return nil })
			if err != nil {
				return err
			}
		}
		if err := tx.SearchRows(func(id string, row []byte) error { sn.Rows[id] = string(row); return nil }); err != nil {
			return err
		}
		if err := tx.Audit(0, func(ev *record.AuditEvent) error { sn.Audit = append(sn.Audit, js(ev)); return nil }); err != nil {
			return err
		}
		seq, hash, err := tx.AuditHead()
		sn.Head = fmt.Sprintf("%d %s", seq, hash)
		if err != nil {
			return err
		}
		if sn.Changes, err = tx.Changes(store.ChangesHead, func(uint64, string) error { return nil }); err != nil {
			return err
		}
		_, err = tx.Changes(0, func(seq uint64, id string) error {
			sn.Feed = append(sn.Feed, fmt.Sprintf("%d %s", seq, id))
			return nil
		})
		if r, ok := tx.(store.ImportedTrailReader); ok && err == nil {
			err = r.ImportedAudit(func(ie *record.ImportedAuditEvent) error { sn.Imported = append(sn.Imported, js(ie)); return nil })
		}
		return err
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if d, ok := s.(store.Dumper); ok {
		c := dumped(t, d)
		for _, a := range c.evs {
			sn.Dumped = append(sn.Dumped, fmt.Sprintf("%d %s %s", a.Seq, a.Hash, a.Body))
		}
		sn.DumpedImported = c.imported
	}
	return sn
}

// Diff reports each way got differs from sn.
func (sn *Snapshot) Diff(t *testing.T, what string, got *Snapshot) {
	t.Helper()
	w, _ := json.MarshalIndent(sn, "", " ")
	g, _ := json.MarshalIndent(got, "", " ")
	if bytes.Equal(w, g) {
		return
	}
	wl, gl := strings.Split(string(w), "\n"), strings.Split(string(g), "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var a, b string
		if i < len(wl) {
			a = wl[i]
		}
		if i < len(gl) {
			b = gl[i]
		}
		if a != b {
			t.Errorf("%s differs from the original at line %d:\n want %s\n  got %s", what, i+1, a, b)
			return
		}
	}
}

type auditCollector struct {
	nopWriter
	evs      []store.DumpAudit
	imported []string
}

func (c *auditCollector) Audit(a *store.DumpAudit) error {
	c.evs = append(c.evs, store.DumpAudit{Seq: a.Seq, Hash: a.Hash, Body: bytes.Clone(a.Body)})
	return nil
}

func (c *auditCollector) ImportedAudit(k, v []byte) error {
	c.imported = append(c.imported, fmt.Sprintf("%x %s", k, v))
	return nil
}

func dumped(t *testing.T, d store.Dumper) *auditCollector {
	t.Helper()
	var c auditCollector
	if err := d.Dump(context.Background(), &c); err != nil {
		t.Fatalf("dump: %v", err)
	}
	return &c
}

func dumpedAudit(t *testing.T, d store.Dumper) []store.DumpAudit {
	t.Helper()
	return dumped(t, d).evs
}

// VerifyChain recomputes s's audit chain from its dump, as `gpsoc audit
// verify` does: each event's hash is SHA-256 of the previous hash, a
// newline and the stored JSON, which names the previous hash and its own
// sequence.
func VerifyChain(t *testing.T, s store.Store) []string {
	t.Helper()
	var out []string
	prev := ""
	for i, a := range dumpedAudit(t, s.(store.Dumper)) {
		h := sha256.New()
		h.Write([]byte(prev + "\n"))
		h.Write(a.Body)
		var ev record.AuditEvent
		switch {
		case a.Seq != uint64(i+1):
			out = append(out, fmt.Sprintf("event %d: expected %d", a.Seq, i+1))
		case hex.EncodeToString(h.Sum(nil)) != a.Hash:
			out = append(out, fmt.Sprintf("event %d: hash does not match its content", a.Seq))
		case json.Unmarshal(a.Body, &ev) != nil || ev.Seq != a.Seq || ev.PrevHash != prev:
			out = append(out, fmt.Sprintf("event %d: does not link to the event before it", a.Seq))
		}
		prev = a.Hash
	}
	return out
}

// nopWriter is a DumpWriter that keeps nothing.
type nopWriter struct{}

func (nopWriter) Practice([]byte) error              { return nil }
func (nopWriter) User([]byte) error                  { return nil }
func (nopWriter) Token(*record.Token) error          { return nil }
func (nopWriter) Record(*store.DumpRecord) error     { return nil }
func (nopWriter) SearchRow(string, []byte) error     { return nil }
func (nopWriter) Audit(*store.DumpAudit) error       { return nil }
func (nopWriter) Change(uint64, string) error        { return nil }
func (nopWriter) Feed(uint64) error                  { return nil }
func (nopWriter) ImportedAudit(_, _ []byte) error    { return nil }
func changesHead(t *testing.T, s store.Store) uint64 { t.Helper(); return Snap(t, s).Changes }
func auditHeadOf(t *testing.T, s store.Store) (uint64, string) {
	t.Helper()
	var seq uint64
	var hash string
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		seq, hash, err = tx.AuditHead()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return seq, hash
}
