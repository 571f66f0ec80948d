package tui

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/server"
	"github.com/opengpsoc/gpsoc/store/remote"
	"github.com/opengpsoc/gpsoc/terminology"
)

// remoteTests are the tests whose practice is served: practice() then puts
// the practice it built behind `gpsoc serve`'s handler and gives the
// workstation dr.patel's services over a remote store, as a TUI in remote
// mode has them.
var remoteTests sync.Map // testing.TB -> true

// serveCohort is, for a remote test that runs registers, what the server runs them with.
var serveCohort sync.Map // testing.TB -> *server.Cohort

// overRemote serves the practice p built for a test: the workstation's
// services over a remote store acting with dr.patel's token, and the
// client's own data dir (drafts, recent patients).
func overRemote(t testing.TB, p *clinical.Practice) (string, *clinical.Service) {
	t.Helper()
	ctx := context.Background()
	admin, err := p.As(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := admin.NewToken(ctx, "dr.patel", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The server has the dm+d dictionary, as gpsoc serve has: it runs the
	// prescribing checks again on what the workstation sends (H30).
	tmn, err := terminology.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmn.Close() })
	p.SetDrugs(tmn)
	so := server.Options{Practice: p}
	if co, ok := serveCohort.Load(t); ok {
		so.Cohort = co.(*server.Cohort)
	}
	hs := httptest.NewServer(server.New(so).Handler())
	t.Cleanup(hs.Close)
	pr := p.PracticeRecord(ctx)
	rs, err := remote.Open(ctx, remote.Options{URL: hs.URL, Token: tok, Practice: record.Practice{Name: pr.Name, ODS: pr.ODS},
		SearchRow: clinical.FindRow, PollEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := clinical.New(clinical.Options{Store: rs, Now: clock, Source: "tui"}).As(ctx, "dr.patel")
	if err != nil {
		t.Fatal(err)
	}
	return t.TempDir(), svc
}

// The workstation's main flows in remote mode: the same tests, over a server.
func TestRemoteFlows(t *testing.T) {
	for _, f := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"find-open-consult-save", TestFindOpenConsultSave},
		{"consult-seen-in-journal", TestFlowConsultSeenInJournal},
		{"prescribe-allergy-alert", TestFlowPrescribeAllergyAlert},
		{"issue-and-reauthorise", TestIssueAndReauthoriseRepeat},
		{"book-arrive-seen-open", TestBookArriveSeenOpen},
		{"book-free-slot", TestBookFreeSlotForOpenPatient},
	} {
		t.Run(f.name, func(t *testing.T) {
			remoteTests.Store(t, true)
			defer remoteTests.Delete(t)
			f.fn(t)
		})
	}
}

// In remote mode the idle lock unlocks with the user's own passphrase too:
// the server checks it (its hash never leaves the server), and a wrong one
// does not unlock.
func TestRemoteIdleLock(t *testing.T) {
	remoteTests.Store(t, true)
	defer remoteTests.Delete(t)
	dir, svc := practice(t, 50)
	now := fixedNow
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Now: func() time.Time { return now }, DataDir: dir, Plain: true, Width: 80, Height: 24})
	d := &driver{t: t, m: m}
	d.init()
	d.contains("Find:") // the server says dr.patel has a passphrase: no first-use screen
	now = now.Add(10 * time.Minute)
	m.Update(idleMsg{})
	d.contains("Locked after being idle")
	d.typeText("wrong horse")
	d.keys("enter")
	d.contains("wrong passphrase")
	d.typeText(testPassphrase)
	d.keys("enter")
	d.contains("Find:")
}
