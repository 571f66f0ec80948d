package remote_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opengpsoc/gpsoc/record"
	"github.com/opengpsoc/gpsoc/store"
)

// thief is another origin that counts the requests carrying a token.
func thief(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var got atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			got.Add(1)
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":0}`))
	}))
	t.Cleanup(hs.Close)
	return hs, &got
}

func TestTokenGoesOnlyToTheConfiguredOrigin(t *testing.T) {
	other, stolen := thief(t)
	for _, how := range []string{"next link", "redirect"} {
		rs, _ := serveWith(t, "dr.who", nil, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "GET" || r.URL.Path != "/Patient" {
					h.ServeHTTP(w, r)
					return
				}
				if how == "redirect" {
					http.Redirect(w, r, other.URL+"/Patient?"+r.URL.RawQuery, http.StatusFound)
					return
				}
				w.Header().Set("Content-Type", "application/fhir+json")
				_, _ = w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","total":5,
					"link":[{"relation":"next","url":"` + other.URL + `/Patient?_offset=1"}],"entry":[]}`))
			})
		})
		err := rs.View(ctx, func(tx store.Tx) error {
			return tx.ForEach(record.KindPatient, func(record.Entity) error { return nil })
		})
		if err == nil || !strings.Contains(err.Error(), "origin") {
			t.Errorf("%s to another origin: err %v, want a refusal", how, err)
		}
		if n := stolen.Load(); n != 0 {
			t.Fatalf("%s: the token was sent to another origin %d times", how, n)
		}
	}
}
