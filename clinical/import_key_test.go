package clinical

import (
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/record"
)

// The content key ignores who wrote a record, when, its id and version, and
// nothing else, whatever the strings hold.
func TestContentKeyIgnoresOnlyTheWriteFields(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	base := func() *record.Problem {
		return &record.Problem{Meta: record.Meta{ID: "a", Version: 1, PatientID: "p1", Status: "active", RecordedAt: at, RecordedBy: `dr."quoted",\\x`},
			Code: record.Code{System: record.SystemSNOMED, Code: "44054006", Display: `Type 2 "diabetes", {x}`}, Onset: "2019-01-01"}
	}
	k := contentKey(base())
	same := base()
	same.ID, same.Version, same.RecordedAt, same.RecordedBy = "b", 7, at.Add(time.Hour), "someone"
	if got := contentKey(same); got != k {
		t.Errorf("same content, other writer:\n%s\n%s", got, k)
	}
	for name, change := range map[string]func(*record.Problem){
		"patient": func(p *record.Problem) { p.PatientID = "p2" },
		"status":  func(p *record.Problem) { p.Status = "past" },
		"code":    func(p *record.Problem) { p.Code.Code = "73211009" },
		"display": func(p *record.Problem) { p.Code.Display = "other" },
		"onset":   func(p *record.Problem) { p.Onset = "2019-01-02" },
	} {
		p := base()
		change(p)
		if contentKey(p) == k {
			t.Errorf("a change of %s keeps the key", name)
		}
	}
	// A record without a patient (a session) and one with no fields after Meta.
	s1 := &record.Session{Meta: record.Meta{ID: "s1", Version: 1, Status: "active", RecordedAt: at, RecordedBy: "admin"}, Clinician: "dr.patel"}
	s2 := *s1
	s2.ID, s2.RecordedBy = "s2", "other"
	if contentKey(s1) != contentKey(&s2) {
		t.Error("sessions with the same content have different keys")
	}
	s2.Clinician = "dr.chen"
	if contentKey(s1) == contentKey(&s2) {
		t.Error("sessions of different clinicians have the same key")
	}
	if got := keyOfEncoding([]byte(`{"id":"x","version":1,"status":"a","recordedAt":"t","recordedBy":"u"}`)); got != `{"status":"a"}` {
		t.Errorf("key of a bare record = %s", got)
	}
}
