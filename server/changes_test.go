package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// longPoll asks Patient/$changes?after=N&_wait=S as user, and reports the
// answer and when it came.
func (f *fixture) longPoll(user, query string) chan polled {
	ch := make(chan polled, 1)
	go func() {
		req, _ := http.NewRequest("GET", f.url+"/Patient/$changes?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			ch <- polled{err: err, at: time.Now()}
			return
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		ch <- polled{status: res.StatusCode, raw: string(raw), at: time.Now()}
	}()
	return ch
}

type polled struct {
	status int
	raw    string
	err    error
	at     time.Time
}

// feedHead is the change feed's head as Patient/$changes?_count=0 gives it.
func feedHead(t *testing.T, f *fixture) string {
	t.Helper()
	r := f.do(t, "recep", "GET", "/Patient/$changes?_count=0", nil)
	wantStatus(t, r, 200)
	var p struct {
		Parameter []struct {
			Name        string `json:"name"`
			ValueString string `json:"valueString"`
		} `json:"parameter"`
	}
	_ = json.Unmarshal(r.raw, &p)
	for _, x := range p.Parameter {
		if x.Name == "last" {
			return x.ValueString
		}
	}
	t.Fatalf("no last in %s", r.raw)
	return ""
}

// Patient/$changes with _wait is a long poll: with nothing after the given
// sequence it waits, answers as soon as a patient is written (with that
// patient), or at its limit with nothing; a bad _wait is refused.
func TestChangesLongPoll(t *testing.T) {
	f := start(t)
	head := feedHead(t, f)
	ch := f.longPoll("recep", "after="+head+"&_wait=10")
	time.Sleep(50 * time.Millisecond) // the poll is waiting
	start := time.Now()
	r := f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Waiting", "Ann", "1970-01-02"))
	wantStatus(t, r, 201)
	id, _ := r.body["id"].(string)
	p := <-ch
	if p.err != nil || p.status != 200 || !strings.Contains(p.raw, "Patient/"+id) {
		t.Fatalf("the long poll answered %d %v %s, want the patient just written", p.status, p.err, p.raw)
	}
	if took := p.at.Sub(start); took > time.Second {
		t.Errorf("the long poll answered %v after the write, want well within a second", took)
	}

	head = feedHead(t, f)
	start = time.Now()
	p = <-f.longPoll("recep", "after="+head+"&_wait=1")
	if p.status != 200 || strings.Contains(p.raw, `"change"`) || p.at.Sub(start) < time.Second {
		t.Errorf("a long poll with nothing written: %d after %v: %s, want no change after its second", p.status, p.at.Sub(start), p.raw)
	}
	for _, bad := range []string{"x", "-1", "26"} {
		if r := f.do(t, "recep", "GET", "/Patient/$changes?_wait="+bad, nil); r.status != 400 || !strings.Contains(string(r.raw), "_wait") {
			t.Errorf("_wait=%s: %d %s, want 400 naming _wait", bad, r.status, r.raw)
		}
	}
}
