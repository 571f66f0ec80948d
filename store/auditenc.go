package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	"github.com/opengpsoc/gpsoc/record"
)

// AppendAuditJSON appends the JSON of an audit event, field for field what
// json.Marshal gives (the chain hashes the stored bytes, so any valid
// encoding would verify; this one is just several times faster, and every
// written record has one event). Every backend that keeps the chain uses it.
func AppendAuditJSON(b []byte, ev *record.AuditEvent) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, `,"at":"`...)
	b = ev.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "user", ev.User, false)
	b = appendField(b, "login", ev.Login, true)
	b = appendField(b, "role", string(ev.Role), true)
	b = appendField(b, "action", ev.Action, false)
	b = appendField(b, "kind", string(ev.Kind), true)
	b = appendField(b, "entityId", ev.EntityID, true)
	b = appendField(b, "patientId", ev.PatientID, true)
	if ev.Version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(ev.Version), 10)
	}
	b = appendField(b, "query", ev.Query, true)
	b = appendField(b, "reason", ev.Reason, true)
	b = appendField(b, "outcome", ev.Outcome, false)
	b = appendField(b, "source", ev.Source, true)
	b = appendField(b, "recordHash", ev.RecordHash, true)
	b = appendField(b, "prevHash", ev.PrevHash, false)
	b = appendField(b, "hash", ev.Hash, false)
	return append(b, '}')
}

func appendField(b []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(append(append(b, ',', '"'), name...), '"', ':')
	return appendString(b, v)
}

// appendString appends s as a JSON string; anything that needs escaping
// (quotes, controls, HTML characters, non-ASCII) goes through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// AuditHash is the chain hash: SHA-256 of the previous hash, a newline and
// the event's JSON (without its hash).
func AuditHash(prev string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
