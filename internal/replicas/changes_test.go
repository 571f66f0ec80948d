package replicas_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/internal/pgtest"
)

// headAt is the practice's change feed head as replica rep answers it.
func (s *site) headAt(t *testing.T, rep int) string {
	t.Helper()
	a := s.do(t, rep, "recep", "GET", "/Patient/$changes?_count=0", nil)
	var p struct {
		Parameter []struct {
			Name        string `json:"name"`
			ValueString string `json:"valueString"`
		} `json:"parameter"`
	}
	_ = json.Unmarshal(a.raw, &p)
	for _, x := range p.Parameter {
		if x.Name == "last" {
			return x.ValueString
		}
	}
	t.Fatalf("Patient/$changes on replica %d: %d %s", rep, a.status, a.raw)
	return ""
}

// A workstation long-polling the change feed on one replica
// (Patient/$changes?_wait=S) hears of a patient written through the other
// at once: the writing replica notifies, the waiting one wakes and reads
// the feed by sequence.
func TestChangeFeedLongPollAcrossReplicas(t *testing.T) {
	dbURL := pgtest.Shared(t).NewDatabase(t)
	s := serveReplicas(t, dbURL, 2, "B86001")[0]
	type polled struct {
		raw string
		err error
		at  time.Time
	}
	var worst time.Duration
	for i := 0; i < 6; i++ {
		head := s.headAt(t, 1)
		ch := make(chan polled, 1)
		go func() {
			req, _ := http.NewRequest("GET", s.reps[1].url+"/Patient/$changes?after="+head+"&_wait=20", nil)
			req.Header.Set("Authorization", "Bearer "+s.tokens["recep"])
			res, err := client.Do(req)
			if err != nil {
				ch <- polled{err: err}
				return
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			ch <- polled{raw: string(raw), at: time.Now()}
		}()
		time.Sleep(100 * time.Millisecond) // the long poll is waiting on replica 1
		a := s.do(t, 0, "recep", "POST", "/Patient", patientJSON("Longpoll"+letters(i)))
		acked := time.Now() // the promise runs from the write's acknowledgment
		id, _ := a.body["id"].(string)
		if a.status != 201 || id == "" {
			t.Fatalf("write through replica 0: %d %s", a.status, a.raw)
		}
		p := <-ch
		if p.err != nil || !strings.Contains(p.raw, "Patient/"+id) {
			t.Fatalf("the long poll on replica 1: %v %s, want patient %s", p.err, p.raw, id)
		}
		worst = max(worst, p.at.Sub(acked))
	}
	if worst > time.Second {
		t.Errorf("a write acknowledged by one replica reached a long poll on the other after up to %v, want within 1 s", worst)
	}
	t.Logf("a write acknowledged by replica 0 reached a long poll on replica 1 within %v at worst (0 or less: before the acknowledgment)", worst)
}
