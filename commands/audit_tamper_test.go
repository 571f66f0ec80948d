package commands

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
	"github.com/opengpsoc/gpsoc/store/bolt"
	bbolt "go.etcd.io/bbolt"
)

// tamperEnv is a practice with a consultation and a prescription, and the
// ids of both.
func tamperEnv(t *testing.T) (e *practiceEnv, consID, medID string) {
	e = medEnv(t)
	e.ok("--as", "dr.patel", "allergy", "add", "9434765919", "--nkda")
	var c struct{ Consultation record.Consultation }
	e.jsonOf(&c, "--as", "dr.patel", "consult", "add", "9434765919", "--text", "Sore throat for three days, no fever")
	var m record.Medication
	e.jsonOf(&m, "--as", "dr.patel", "med", "prescribe", "9434765919", "--code", rxRamipril, "--dose", "1 od", "--quantity", "28")
	return e, c.Consultation.ID, m.ID
}

// editFile changes the practice file directly, as someone with write access
// to it (and no gpsoc) could.
func editFile(t *testing.T, dir string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// replaceIn replaces old by new in the one stored value of bucket that holds it.
func replaceIn(t *testing.T, dir, bucket, old, new string) {
	t.Helper()
	editFile(t, dir, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		var key, val []byte
		_ = b.ForEach(func(k, v []byte) error {
			if bytes.Contains(v, []byte(old)) {
				key, val = bytes.Clone(k), bytes.ReplaceAll(v, []byte(old), []byte(new))
			}
			return nil
		})
		if key == nil {
			t.Fatalf("%q not found in bucket %s", old, bucket)
		}
		return b.Put(key, val)
	})
}

func TestEditedConsultationTextFailsCheckNamingIt(t *testing.T) {
	e, consID, _ := tamperEnv(t)
	if out := e.ok("check"); strings.TrimSpace(out) != "ok" {
		t.Fatalf("check of a clean file: %q", out)
	}
	replaceIn(t, e.dir, "k:consultation", "Sore throat", "Sore thumb")
	for _, args := range [][]string{{"check"}, {"audit", "verify"}} {
		msg := e.want(ExitFailure, args...)
		if !strings.Contains(msg, "consultation "+consID+" version 1: differs from what audit event") {
			t.Errorf("gpsoc %s does not name the edited consultation:\n%s", args[0], msg)
		}
	}
}

func TestEditedDoseFailsVerifyNamingIt(t *testing.T) {
	e, _, medID := tamperEnv(t)
	e.ok("audit", "verify")
	replaceIn(t, e.dir, "k:medication", `"dose":"1 od"`, `"dose":"4 od"`)
	msg := e.want(ExitFailure, "audit", "verify")
	if !strings.Contains(msg, "medication "+medID+" version 1") || !strings.Contains(msg, "altered since") {
		t.Fatalf("audit verify does not name the edited prescription:\n%s", msg)
	}
	// A superseded version edited in the history is found too.
	e2, consID, _ := tamperEnv(t)
	e2.ok("--as", "dr.patel", "entry", "retract", consID, "--reason", "wrong patient", "--if-version", "1")
	replaceIn(t, e2.dir, "v:consultation", "Sore throat", "Bad throat")
	msg = e2.want(ExitFailure, "check")
	if !strings.Contains(msg, "consultation "+consID+" version 1") {
		t.Fatalf("check does not name the edited old version:\n%s", msg)
	}
}

// storedEvent is an audit event as the file holds it: "hash\nJSON".
func auditEvents(tx *bbolt.Tx) (keys [][]byte, evs []*record.AuditEvent) {
	_ = tx.Bucket([]byte("audit")).ForEach(func(k, v []byte) error {
		var ev record.AuditEvent
		_ = json.Unmarshal(v[bytes.IndexByte(v, '\n')+1:], &ev)
		keys, evs = append(keys, bytes.Clone(k)), append(evs, &ev)
		return nil
	})
	return keys, evs
}

// rechain rewrites the audit trail as an attacker with the file would:
// edit (which may drop events from the end by returning fewer), then every
// hash recomputed and the head moved, so the chain is consistent again.
func rechain(t *testing.T, dir string, edit func(evs []*record.AuditEvent) []*record.AuditEvent) {
	t.Helper()
	editFile(t, dir, func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		keys, evs := auditEvents(tx)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		prev := ""
		for _, ev := range edit(evs) {
			ev.PrevHash, ev.Hash = prev, ""
			body, _ := json.Marshal(ev)
			h := store.AuditHash(prev, body)
			k := make([]byte, 8)
			binary.BigEndian.PutUint64(k, ev.Seq)
			if err := b.Put(k, append([]byte(h+"\n"), body...)); err != nil {
				return err
			}
			if err := b.SetSequence(ev.Seq); err != nil {
				return err
			}
			prev = h
		}
		return tx.Bucket([]byte("meta")).Put([]byte("auditHash"), []byte(prev))
	})
}

func keyOutside(t *testing.T, e *practiceEnv) (key, pub, anchors string) {
	keys := t.TempDir()
	key = filepath.Join(keys, "anchor.key")
	out := e.ok("audit", "keygen", "--out", key)
	if out != key+"\n"+key+".pub\n" {
		t.Fatalf("keygen printed %q", out)
	}
	return key, key + ".pub", filepath.Join(t.TempDir(), "anchors")
}

func TestAnchorsFindTruncation(t *testing.T) {
	e, _, _ := tamperEnv(t)
	key, pub, anchors := keyOutside(t, e)
	for range 60 {
		e.ok("--as", "dr.patel", "consult", "list", "9434765919")
	}
	e.ok("--as", "admin", "audit", "anchor", "--key", key, "--dir", anchors)
	out := e.ok("audit", "verify", "--anchors", anchors, "--public-key", pub)
	if !strings.Contains(out, "anchors verified: 1,") {
		t.Fatalf("verify with a good anchor: %q", out)
	}
	// Delete the last 50 events and fix the head: the chain alone cannot tell.
	var n int
	rechain(t, e.dir, func(evs []*record.AuditEvent) []*record.AuditEvent { n = len(evs); return evs[:len(evs)-50] })
	if n < 60 {
		t.Fatalf("only %d events", n)
	}
	e.ok("audit", "verify")
	msg := e.want(ExitFailure, "audit", "verify", "--anchors", anchors, "--public-key", pub)
	if !strings.Contains(msg, "truncated") || !strings.Contains(msg, "vouches for event") {
		t.Fatalf("truncation not reported:\n%s", msg)
	}
}

func TestAnchorsFindRechaining(t *testing.T) {
	e, _, _ := tamperEnv(t)
	key, pub, anchors := keyOutside(t, e)
	e.ok("--as", "admin", "audit", "anchor", "--key", key, "--dir", anchors)
	e.ok("--as", "dr.patel", "consult", "list", "9434765919") // after the anchor
	var victim uint64
	rechain(t, e.dir, func(evs []*record.AuditEvent) []*record.AuditEvent {
		for _, ev := range evs {
			if ev.User == "dr.patel" && ev.Action == "create" && victim == 0 {
				ev.User, victim = "nurse.jones", ev.Seq
			}
		}
		return evs
	})
	e.ok("audit", "verify") // re-chained: consistent on its own
	msg := e.want(ExitFailure, "audit", "verify", "--anchors", anchors, "--public-key", pub)
	if !strings.Contains(msg, "rewritten and re-chained") {
		t.Fatalf("re-chaining not reported:\n%s", msg)
	}
	// A forged anchor (made with another key) does not verify.
	other := filepath.Join(t.TempDir(), "other.key")
	e.ok("audit", "keygen", "--out", other)
	e.ok("--as", "admin", "audit", "anchor", "--key", other, "--dir", anchors)
	msg = e.want(ExitFailure, "audit", "verify", "--anchors", anchors, "--public-key", pub)
	if !strings.Contains(msg, "signature does not verify") {
		t.Fatalf("forged anchor not reported:\n%s", msg)
	}
}

func TestAnchorKeyInsideDataDirRefused(t *testing.T) {
	e, _, _ := tamperEnv(t)
	msg := e.want(ExitUsage, "audit", "keygen", "--out", filepath.Join(e.dir, "anchor.key"))
	if !strings.Contains(msg, "outside the data dir") {
		t.Fatalf("keygen inside the data dir: %s", msg)
	}
	key, _, anchors := keyOutside(t, e)
	inside := filepath.Join(e.dir, "keys", "anchor.key")
	if err := os.MkdirAll(filepath.Dir(inside), 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(key)
	if err := os.WriteFile(inside, b, 0o600); err != nil {
		t.Fatal(err)
	}
	msg = e.want(ExitUsage, "--as", "admin", "audit", "anchor", "--key", inside, "--dir", anchors)
	if !strings.Contains(msg, "must live outside the data dir") {
		t.Fatalf("a key inside the data dir: %s", msg)
	}
	msg = e.want(ExitUsage, "--as", "admin", "audit", "anchor", "--key", key, "--dir", filepath.Join(e.dir, "anchors"))
	if !strings.Contains(msg, "outside the data dir") {
		t.Fatalf("anchors inside the data dir: %s", msg)
	}
	e.want(ExitForbidden, "--as", "dr.patel", "audit", "anchor", "--key", key, "--dir", anchors)
}

func TestTrailWrittenBeforeRecordHashingStillVerifies(t *testing.T) {
	e, _, _ := tamperEnv(t)
	// A file from before record hashing: no event carries a record hash.
	rechain(t, e.dir, func(evs []*record.AuditEvent) []*record.AuditEvent {
		for _, ev := range evs {
			ev.RecordHash = ""
		}
		return evs
	})
	r := e.run("", "audit", "verify")
	if r.code != 0 || !strings.Contains(r.err, "before record hashing began") || !strings.HasPrefix(r.out, "ok: ") {
		t.Fatalf("old trail: exit %d\n%s%s", r.code, r.out, r.err)
	}
	e.ok("check")
}

func TestServeAnchorsPeriodically(t *testing.T) {
	e, _, _ := tamperEnv(t)
	key, pub, anchors := keyOutside(t, e)
	tok := strings.TrimSpace(e.ok("--as", "admin", "user", "token", "reception"))
	ios, _, errOut := Test("", false)
	f := NewFactory(ios)
	f.DataDirFlag = e.dir
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- serveRun(ctx, &ServeOptions{F: f, Addr: "127.0.0.1:0", MaxBody: 1 << 20, AnchorDir: anchors, AnchorKey: key,
			AnchorEvery: time.Second, Ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, errOut)
	}
	count := func() int { m, _ := filepath.Glob(filepath.Join(anchors, "anchor-*.json")); return len(m) }
	if count() != 1 {
		t.Fatalf("%d anchors at start, want 1", count())
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/Patient", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if count() < 2 {
		t.Fatal("no anchor written after the trail grew")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := e.ok("audit", "verify", "--anchors", anchors, "--public-key", pub)
	if !strings.Contains(out, "anchors verified") {
		t.Fatalf("verify: %q", out)
	}
	// Refused at start: a key in the data dir.
	inside := filepath.Join(e.dir, "anchor.key")
	b, _ := os.ReadFile(key)
	_ = os.WriteFile(inside, b, 0o600)
	err := serveRun(context.Background(), &ServeOptions{F: f, Addr: "127.0.0.1:0", AnchorDir: anchors, AnchorKey: inside})
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "outside the data dir") {
		t.Fatalf("serve with a key in the data dir: %v", err)
	}
}

func TestEditedUserRoleAndPracticeSettingFailCheck(t *testing.T) {
	e, _, _ := tamperEnv(t)
	e.ok("--as", "admin", "practice", "set", "nurse-prescribing", "true")
	e.ok("check")
	replaceIn(t, e.dir, "users", `"role":"receptionist"`, `"role":"admin"`)
	msg := e.want(ExitFailure, "check")
	if !strings.Contains(msg, "user reception version 2: differs") { // version 2: setUp bound the test login to it
		t.Fatalf("a receptionist made admin in the file is not named:\n%s", msg)
	}
	e2, _, _ := tamperEnv(t)
	e2.ok("--as", "admin", "practice", "set", "nurse-prescribing", "true")
	replaceIn(t, e2.dir, "practice", `"nurse-prescribing":"true"`, `"nurse-prescribing":"false"`)
	msg = e2.want(ExitFailure, "audit", "verify")
	if !strings.Contains(msg, "practice version") {
		t.Fatalf("a practice setting changed in the file is not named:\n%s", msg)
	}
}

func TestEveryRecordWrittenOnASurgeryDayCarriesItsHash(t *testing.T) {
	e, _ := surgeryDay(t, false)
	r := e.run("", "audit", "verify")
	if r.code != 0 || strings.Contains(r.err, "note:") {
		t.Errorf("audit verify after a surgery day: exit %d\n%s%s", r.code, r.out, r.err)
	}
	hashed := 0
	for _, ev := range e.auditEvents() {
		switch ev.Action {
		case "create", "update", "retract", "prescribe":
			if ev.EntityID != "" && ev.Version > 0 && ev.RecordHash == "" {
				t.Errorf("event %d (%s %s %s v%d) carries no record hash", ev.Seq, ev.Action, ev.Kind, ev.EntityID, ev.Version)
			}
			if ev.RecordHash != "" {
				hashed++
			}
		}
	}
	if hashed < 10 {
		t.Errorf("only %d write events carry a record hash", hashed)
	}
}

func TestImportedRecordsCarryTheirHash(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	lines := `{"nhsNumber":"9434765919","family":"Smith","given":["John"],"birthDate":"1961-03-12","sex":"male"}
{"nhsNumber":"4010232137","family":"Khan","given":["Amira"],"birthDate":"1984-07-30","sex":"female"}
`
	if r := e.run(lines, "--as", "admin", "patient", "import", "-"); r.code != 0 {
		t.Fatalf("import: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := e.run("", "audit", "verify"); r.code != 0 || strings.Contains(r.err, "note:") {
		t.Fatalf("verify after an import: exit %d\n%s%s", r.code, r.out, r.err)
	}
	replaceIn(t, e.dir, "k:patient", `"family":"Khan"`, `"family":"Kahn"`)
	if msg := e.want(ExitFailure, "check"); !strings.Contains(msg, "patient ") || !strings.Contains(msg, "altered since") {
		t.Fatalf("an imported patient edited in the file is not named:\n%s", msg)
	}
}
