package store

import (
	"bytes"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
)

// The fast encoding of audit events is byte for byte json.Marshal's, for
// events with and without optional fields and with text that needs escaping.
func TestAuditEncodingIsJSONMarshal(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC)
	for _, ev := range []record.AuditEvent{
		{Seq: 1, At: at, User: "admin", Action: "create", Outcome: "ok", PrevHash: ""},
		{Seq: 99, At: at.Add(time.Hour), User: "dr.who", Role: record.RoleGP, Action: "read", Kind: record.KindPatient,
			EntityID: "019a0000-0000-7000-8000-000000000001", PatientID: "019a0000-0000-7000-8000-000000000001", Version: 3,
			Query: `smith "john" <b> & \ é`, Reason: "line1\nline2\ttab", Outcome: "denied", Source: "tui", PrevHash: "abc", Hash: ""},
		{Seq: 2, At: time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("BST", 3600)), User: "Ünïcode", Action: "find", Outcome: "ok", Query: "\u2028\x01"},
	} {
		want, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendAuditJSON(nil, &ev); !bytes.Equal(got, want) {
			t.Errorf("event %d:\n got %s\nwant %s", ev.Seq, got, want)
		}
	}
}
