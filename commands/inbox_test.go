package commands

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// The inbox from the command line: import a FHIR pathology message (the
// test messages of interop/pathology), list, show, file "urgent" and the
// task appears; a message for no patient of ours goes to the unmatched
// queue, which the manager sees headers only and matches with a reason.
func TestInboxCommands(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "admin", "user", "add", "manager", "--role", "manager")
	e.bind("manager")
	e.ok("--as", "reception", "patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John",
		"--dob", "1961-03-12", "--sex", "male")
	msg := filepath.Join("testdata", "inbox", "ue-abnormal.json")
	out := e.ok("--as", "admin", "inbox", "import", msg)
	if !strings.Contains(out, "read 1, written 1, unchanged 0, rejected 0 (matched 1") {
		t.Fatalf("import: %s", out)
	}
	if out := e.ok("--as", "admin", "inbox", "import", msg); !strings.Contains(out, "unchanged 1") {
		t.Fatalf("re-import: %s", out)
	}
	var items []clinical.InboxItem
	e.jsonOf(&items, "--as", "dr.patel", "inbox", "list")
	if len(items) != 1 || !items[0].Abnormal || items[0].Report.Tests[0].Flag != "H" {
		t.Fatalf("list: %+v", items)
	}
	id := items[0].Report.ID
	show := e.ok("--as", "dr.patel", "inbox", "show", id)
	for _, want := range []string{"Serum potassium\t6.2 mmol/L\t3.5-5.3\tH", "ABNORMAL", "Leeds Teaching Hospitals NHS Trust Pathology"} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}
	e.want(4, "--as", "reception", "inbox", "list")
	if obs := e.ok("--as", "dr.patel", "obs", "list", "9434765919"); !strings.Contains(obs, "[H, unreviewed]") {
		t.Fatalf("obs list before filing:\n%s", obs)
	}
	e.want(2, "--as", "dr.patel", "inbox", "file", id, "--action", "later")
	e.ok("--as", "dr.patel", "inbox", "file", id, "--action", "urgent", "--comment", "K+ 6.2")
	tasks := e.ok("--as", "reception", "task", "list")
	if !strings.Contains(tasks, "URGENT: contact the patient today about results: Urea and electrolytes") {
		t.Fatalf("tasks: %s", tasks)
	}
	e.jsonOf(&items, "--as", "dr.patel", "inbox", "list")
	if len(items) != 0 {
		t.Fatalf("filed report still listed: %+v", items)
	}
	if obs := e.ok("--as", "dr.patel", "obs", "list", "9434765919"); strings.Contains(obs, "unreviewed") || !strings.Contains(obs, "[H]") {
		t.Fatalf("obs list after filing:\n%s", obs)
	}

	// Unmatched: the same message for an NHS number we do not hold.
	b, err := os.ReadFile(msg)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.ReplaceAll(strings.ReplaceAll(string(b), "9434765919", "9990000018"), "RR8-24-0001234", "RR8-24-0009999")
	r := e.run(other, "--as", "admin", "inbox", "import", "-")
	if r.code != 0 || !strings.Contains(r.out, "unmatched 1") {
		t.Fatalf("unmatched import: %+v", r)
	}
	e.jsonOf(&items, "--as", "manager", "inbox", "list")
	if len(items) != 1 || !items[0].HeadersOnly || items[0].Report.Tests[0].Value != nil {
		t.Fatalf("manager sees: %+v", items)
	}
	e.want(2, "--as", "manager", "inbox", "match", items[0].Report.ID, "9434765919")
	var m record.Report
	e.jsonOf(&m, "--as", "manager", "inbox", "match", items[0].Report.ID, "9434765919", "--reason", "lab phoned: NHS number mistyped")
	if m.Status != record.ReportUnfiled || m.MatchedBy != "manager" {
		t.Fatalf("matched: %+v", m)
	}
	e.want(2, "--as", "dr.patel", "inbox", "unmatch", m.ID)
	var u record.Report
	e.jsonOf(&u, "--as", "dr.patel", "inbox", "unmatch", m.ID, "--reason", "lab: not this patient after all")
	if u.Status != record.ReportUnmatched || !strings.Contains(u.Unmatched, "not this patient after all") {
		t.Fatalf("unmatched: %+v", u)
	}

	// A broken file is rejected, naming it, exit 1.
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"resourceType":"Bundle","type":"message","entry":[]}`), 0o600)
	if stderr := e.want(1, "--as", "admin", "inbox", "import", bad); !strings.Contains(stderr, "bad.json") {
		t.Fatalf("stderr: %s", stderr)
	}
}

// Remote mode carries the inbox on gpsoc serve ($inbox): import, list,
// show and file through the server with each user's own token; against
// another vendor's server every inbox command exits 2 and says why.
func TestInboxRemote(t *testing.T) {
	e := newPracticeEnv(t, false)
	e.setUp()
	e.ok("--as", "reception", "patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John",
		"--dob", "1961-03-12", "--sex", "male")
	serveDay(t)(e)
	msg := filepath.Join("testdata", "inbox", "ue-abnormal.json")
	if out := e.ok("--as", "dr.patel", "inbox", "import", msg); !strings.Contains(out, "written 1") || !strings.Contains(out, "matched 1") {
		t.Fatalf("remote import: %s", out)
	}
	var items []clinical.InboxItem
	e.jsonOf(&items, "--as", "dr.patel", "inbox", "list")
	if len(items) != 1 || !items[0].Abnormal {
		t.Fatalf("remote list: %+v", items)
	}
	if show := e.ok("--as", "dr.patel", "inbox", "show", items[0].Report.ID); !strings.Contains(show, "Serum potassium") {
		t.Fatalf("remote show: %s", show)
	}
	e.want(4, "--as", "reception", "inbox", "list")
	e.ok("--as", "dr.patel", "inbox", "file", items[0].Report.ID, "--action", "urgent")
	if tasks := e.ok("--as", "reception", "task", "list"); !strings.Contains(tasks, "URGENT") {
		t.Fatalf("task after remote filing: %s", tasks)
	}
	e.want(5, "--as", "dr.patel", "inbox", "file", items[0].Report.ID, "--action", "normal")
}

func TestInboxAgainstAnotherVendorExits2(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		switch r.URL.Path {
		case "/metadata":
			fmt.Fprint(w, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","software":{"name":"other"}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer hs.Close()
	e := newPracticeEnv(t, false)
	e.remote = &remoteSide{url: hs.URL + "/", tokens: map[string]string{"dr.patel": "a-token"}, dir: t.TempDir(), now: &atomic.Int64{}}
	for _, args := range [][]string{{"inbox", "list"}, {"inbox", "show", "x"}, {"inbox", "file", "x", "--action", "normal"},
		{"inbox", "match", "x", "9434765919", "--reason", "r"}, {"inbox", "import", filepath.Join("testdata", "inbox", "ue-abnormal.json")}} {
		if msg := e.want(ExitUsage, append([]string{"--as", "dr.patel"}, args...)...); !strings.Contains(msg, "carried by gpsoc serve only") {
			t.Errorf("%v: %s", args, msg)
		}
	}
}
