package tui

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store/bolt"
)

// A live record: an allergy written through another handle on the practice
// file (as another process would) appears in the open record's banner at
// the next watch tick, without a key pressed.
func TestOpenRecordFollowsOtherWriters(t *testing.T) {
	if _, ok := remoteTests.Load(t); ok {
		t.Skip("local store only") // the remote flows run their own list
	}
	ctx := context.Background()
	dir, svc := practice(t, 50)
	found, err := svc.FindPatients(ctx, "a", 20)
	if err != nil {
		t.Fatal(err)
	}
	var pid string
	for _, f := range found {
		if pid == "" && f.Patient.Status == record.PatientActive && !f.Patient.Sensitive {
			pid = f.Patient.ID
		}
	}
	if pid == "" {
		t.Fatal("no active patient found in the fixture")
	}
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: keymaps.Default(), Now: clock, DataDir: dir, Plain: true, Width: 120, Height: 40, OpenID: pid})
	d := &driver{t: t, m: m}
	d.init()
	d.contains("Record · Summary")
	if strings.Contains(d.screen(), "Latex") {
		t.Fatal("the fixture patient already has a latex allergy")
	}

	// Another writer: its own handle on the file, its own service.
	st2, err := bolt.Open(filepath.Join(dir, bolt.FileName), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	other, err := clinical.New(clinical.Options{Store: st2, Now: clock, Source: "test"}).As(ctx, "dr.patel")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AddAllergy(ctx, clinical.AllergyInput{PatientRef: pid, System: "sct", Code: "300916003", Reaction: "anaphylaxis", Severity: "severe"}); err != nil {
		t.Fatal(err)
	}
	d.send(watchTickMsg{}) // what the root model's timer sends (Options.Watch)
	d.contains("Latex")

	// A tick with nothing changed does not reload (no read is audited).
	before := countReads(t, svc, pid)
	d.send(watchTickMsg{})
	if after := countReads(t, svc, pid); after != before {
		t.Errorf("a tick with no change re-read the record (%d reads, was %d)", after, before)
	}
}

func countReads(t *testing.T, svc *clinical.Service, pid string) int {
	t.Helper()
	admin, err := svc.Practice().As(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := admin.AuditEvents(context.Background(), clinical.AuditFilter{PatientID: pid})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Action == "read" {
			n++
		}
	}
	return n
}

// When the open record cannot ask for changes, the user is told once that
// it may be out of date, and it reloads when asking works again.
func TestOpenRecordSaysWhenItCannotCheck(t *testing.T) {
	d, _, _ := openPlain(t)
	rec := d.m.top().(*recordPage)
	cmd := rec.watched(recordWatchMsg{page: rec, err: errors.New("store busy")})
	if cmd == nil {
		t.Fatal("a failed change check said nothing")
	}
	if n, ok := cmd().(noticeMsg); !ok || !strings.Contains(n.Text, "may be out of date") {
		t.Fatalf("notice %+v", n)
	}
	if again := rec.watched(recordWatchMsg{page: rec, err: errors.New("store busy")}); again != nil {
		t.Error("the same failure was reported twice")
	}
	if back := rec.watched(recordWatchMsg{page: rec, seq: rec.watchSeq}); back == nil {
		t.Error("no reload once checking works again")
	}
}
