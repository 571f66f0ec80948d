package commands

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
	"github.com/opengpsoc/gpsoc/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pgEnv is a practice env on a PostgreSQL database (store.url), acting in
// practice ods (store.practice).
func pgEnv(t *testing.T, url, ods string) *practiceEnv {
	e := newPracticeEnv(t, false)
	e.config = map[string]string{"store.url": url, "store.practice": ods}
	return e
}

// Two practices in one database, through the commands: init creates each,
// --practice (store.practice) chooses, each sees only its own patients,
// audit verify works on each, and the file-only commands say what to use.
func TestPostgresPracticesThroughCommands(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	a, b := pgEnv(t, url, "A81001"), pgEnv(t, url, "B82002")
	a.ok("init", "--practice", "Adams Surgery", "--ods", "A81001", "--admin", "admin")
	b.ok("init", "--practice", "Brown Surgery", "--ods", "B82002", "--admin", "admin")
	if msg := a.want(ExitConflict, "init", "--practice", "Again", "--ods", "A81001", "--admin", "admin"); !strings.Contains(msg, "A81001") && !strings.Contains(msg, "already") {
		t.Errorf("a second init of A81001: %s", msg)
	}
	for _, e := range []*practiceEnv{a, b} {
		e.ok("--as", "admin", "user", "add", "dr.patel", "--role", "gp", "--reg-number", "7012345")
		e.bind("dr.patel")
	}
	a.ok("--as", "dr.patel", "patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	b.ok("--as", "dr.patel", "patient", "add", "--nhs", "9434765919", "--family", "Jones", "--given", "Mary", "--dob", "1970-01-02", "--sex", "female")
	// The same NHS number twice in one practice is still one patient.
	a.want(ExitConflict, "--as", "dr.patel", "patient", "add", "--nhs", "9434765919", "--family", "Other", "--given", "X", "--dob", "1980-01-01", "--sex", "male")

	if out := a.ok("--as", "dr.patel", "patient", "find", "943 476 5919"); !strings.Contains(out, "SMITH") || strings.Contains(out, "JONES") {
		t.Errorf("practice A's find:\n%s", out)
	}
	if out := b.ok("--as", "dr.patel", "patient", "list"); !strings.Contains(out, "JONES") || strings.Contains(out, "SMITH") {
		t.Errorf("practice B's list:\n%s", out)
	}
	for _, e := range []*practiceEnv{a, b} {
		if out := e.ok("--as", "admin", "audit", "verify"); !strings.HasPrefix(out, "ok: ") {
			t.Errorf("audit verify: %s", out)
		}
	}
	if msg := a.want(ExitUsage, "--as", "admin", "backup", t.TempDir()+"/x.db"); !strings.Contains(msg, "pg_dump") {
		t.Errorf("backup on PostgreSQL: %s", msg)
	}
	if msg := a.want(ExitUsage, "--as", "admin", "check"); !strings.Contains(msg, "audit verify") {
		t.Errorf("check on PostgreSQL: %s", msg)
	}
	none := pgEnv(t, url, "")
	if msg := none.want(ExitUsage, "--as", "admin", "patient", "list"); !strings.Contains(msg, "--practice ODS") {
		t.Errorf("no practice named: %s", msg)
	}
	other := pgEnv(t, url, "Z99999")
	if msg := other.want(ExitUsage, "--as", "admin", "patient", "list"); !strings.Contains(msg, "no practice Z99999") {
		t.Errorf("a practice not in the database: %s", msg)
	}
}

// One gpsoc serve on a database serves both its practices: each token
// reaches its own practice, and a token no practice holds is refused.
func TestServeOnPostgresRoutesByToken(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	a, b := pgEnv(t, url, "A81001"), pgEnv(t, url, "B82002")
	a.ok("init", "--practice", "Adams Surgery", "--ods", "A81001", "--admin", "admin")
	b.ok("init", "--practice", "Brown Surgery", "--ods", "B82002", "--admin", "admin")
	a.ok("--as", "admin", "patient", "add", "--nhs", "9434765919", "--family", "Smith", "--given", "John", "--dob", "1961-03-12", "--sex", "male")
	b.ok("--as", "admin", "patient", "add", "--nhs", "4010232137", "--family", "Jones", "--given", "Mary", "--dob", "1970-01-02", "--sex", "female")
	tokA := strings.TrimSpace(a.ok("--as", "admin", "user", "token", "admin"))
	tokB := strings.TrimSpace(b.ok("--as", "admin", "user", "token", "admin"))

	ios, _, errOut := Test("", false)
	f := NewFactory(ios)
	f.DataDirFlag = a.dir
	f.Config.Set("store.url", url)
	f.Config.Set("store.practice", "A81001")
	srvNow := a.now
	f.Now = func() time.Time { return srvNow }
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- serveRun(ctx, &ServeOptions{F: f, Addr: "127.0.0.1:0", MaxBody: 1 << 20, Ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, errOut)
	}
	get := func(tok, path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body)
	}
	for _, c := range []struct{ tok, want, not string }{{tokA, "Smith", "Jones"}, {tokB, "Jones", "Smith"}} {
		code, body := get(c.tok, "/Patient")
		if code != 200 || !strings.Contains(body, c.want) || strings.Contains(body, c.not) {
			t.Errorf("GET /Patient with the token of %s's practice: %d %s", c.want, code, body)
		}
	}
	if code, _ := get("not-a-token-of-anyone", "/Patient"); code != 401 {
		t.Errorf("an unknown token: %d, want 401", code)
	}

	// Population searches run on the server, for each practice on its own
	// records: it declares them, and a register of each practice holds its
	// patient and not the other's.
	if code, body := get(tokA, "/metadata"); code != 200 || !strings.Contains(body, "Group") || !strings.Contains(body, `"search"`) {
		t.Errorf("serve on PostgreSQL does not declare the population searches: %d %s", code, body)
	}
	ids := map[string]string{}
	toks := map[string]string{}
	for ods, e := range map[string]*practiceEnv{"A81001": a, "B82002": b} {
		e.ok("--as", "admin", "user", "add", "dr.patel", "--role", "gp", "--reg-number", "7012345")
		e.bind("dr.patel")
		nhs := map[string]string{"A81001": "9434765919", "B82002": "4010232137"}[ods]
		e.ok("--as", "dr.patel", "problem", "add", nhs, "--code", "44054006", "--onset", "2019-05-01")
		var found []struct {
			ID string `json:"id"`
		}
		e.jsonOf(&found, "--as", "dr.patel", "patient", "find", nhs)
		if len(found) != 1 {
			t.Fatalf("%s: patient %s: %+v", ods, nhs, found)
		}
		ids[ods] = found[0].ID
		toks[ods] = strings.TrimSpace(e.ok("--as", "admin", "user", "token", "dr.patel"))
	}
	for ods, other := range map[string]string{"A81001": "B82002", "B82002": "A81001"} {
		code, body := get(toks[ods], "/Group/DM")
		if code != 200 || !strings.Contains(body, `"resourceType":"Group"`) || !strings.Contains(body, "Patient/"+ids[ods]) || strings.Contains(body, ids[other]) {
			t.Errorf("the DM register of %s on the server: %d %s", ods, code, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The scripted surgery day on a practice in PostgreSQL prints what it
// prints on a practice file (ids and where the practice is aside) and
// exits the same at every step.
func TestSurgeryDayOnPostgres(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	_, local := surgeryDay(t, false)
	_, pg := surgeryDayIn(t, false, func(e *practiceEnv) {
		e.config = map[string]string{"store.url": url, "store.practice": "B86001"}
	}, nil)
	// Where the practice is: the data dir, or the database.
	pgDay := strings.ReplaceAll(pg.b.String(), postgres.Redact(url), "$DATA")
	want, got := stableIDs(local.b.String()), stableIDs(pgDay)
	if !strings.Contains(pg.b.String(), "in "+postgres.Redact(url)+";") {
		t.Errorf("init on PostgreSQL does not say where the practice is:\n%.300s", pg.b.String())
	}
	if want != got {
		t.Errorf("the day on PostgreSQL differs from the day on a file:\n%s", lineDiff(want, got))
	}
	// And the day is in the database.
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Practice("B86001")
	rep, err := st.VerifyAudit()
	if err != nil || rep.Events < 40 || len(rep.Problems) > 0 {
		t.Errorf("the day's trail in the database: %d events, %v, %v", rep.Events, rep.Problems, err)
	}
}
