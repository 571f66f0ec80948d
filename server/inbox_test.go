package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/record"
)

// A laboratory's feed (an interface user) posts a pathology message to
// $process-message: it is matched and lands in the inbox; the feed can do
// nothing else; a receptionist cannot deliver; a broken message is a 400.
func TestProcessMessageDeliversToTheInbox(t *testing.T) {
	f := start(t)
	admin, _ := f.p.As(ctx, "admin")
	if _, err := admin.AddUser(ctx, record.User{Name: "lab", Role: record.RoleInterface}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := admin.NewToken(ctx, "lab", 0)
	if err != nil {
		t.Fatal(err)
	}
	f.tokens["lab"] = tok
	wantStatus(t, f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12")), http.StatusCreated)
	raw, err := os.ReadFile(filepath.Join("testdata", "inbox", "ue-abnormal.json"))
	if err != nil {
		t.Fatal(err)
	}
	// patientJSON registers a woman: so does the message.
	raw = []byte(strings.Replace(string(raw), `"gender": "male"`, `"gender": "female"`, 1))
	var msg map[string]any
	_ = json.Unmarshal(raw, &msg)
	r := f.do(t, "lab", "POST", "/$process-message", msg)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.raw), `"code":"ok"`) || !strings.Contains(string(r.raw), " matched") {
		t.Fatalf("response %s", r.raw)
	}
	gp, _ := f.p.As(ctx, "dr.gp")
	items, err := gp.Inbox(ctx, clinical.InboxFilter{})
	if err != nil || len(items) != 1 || !items[0].Abnormal {
		t.Fatalf("inbox %+v, %v", items, err)
	}
	wantStatus(t, f.do(t, "lab", "GET", "/Patient?family=Smith", nil), http.StatusForbidden)
	wantStatus(t, f.do(t, "recep", "POST", "/$process-message", msg), http.StatusForbidden)
	bad := f.do(t, "lab", "POST", "/$process-message", map[string]any{"resourceType": "Bundle", "type": "message", "entry": []any{}})
	wantStatus(t, bad, http.StatusBadRequest)
	if !strings.Contains(string(bad.raw), "MessageHeader") {
		t.Fatalf("400 says %s", bad.raw)
	}
}
