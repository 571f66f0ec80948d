package clinical

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opengpsoc/gpsoc/fixtures"
	"github.com/opengpsoc/gpsoc/record"
)

// The fast path of decodeStrict (a key scan, then goccy's non-streaming
// decoder) must decode exactly what the strict streaming decoder does, and
// refuse exactly what it refuses: every record of generated histories, as
// written and with each kind of damage an import file can carry.
func TestDecodeStrictFastPathAgreesWithStrict(t *testing.T) {
	gen := fixtures.New(fixtures.Options{Patients: 60, Seed: 11, Today: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	type line struct {
		kind record.Kind
		b    []byte
	}
	var lines []line
	kinds := map[record.Kind]bool{}
	for i := 0; i < 60; i++ {
		for _, e := range gen.Patient(i).Records() {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line{e.Kind(), b})
			kinds[e.Kind()] = true
		}
	}
	if len(kinds) < 8 {
		t.Fatalf("generated kinds %v: want most of the record kinds", kinds)
	}
	damage := []struct {
		name string
		f    func(string) string
	}{
		{"as written", func(s string) string { return s }},
		{"unknown top-level key", func(s string) string { return `{"bogus":1,` + s[1:] }},
		{"misspelt key", func(s string) string { return strings.Replace(s, `"patientId"`, `"patientID_"`, 1) }},
		{"differently cased key", func(s string) string { return strings.Replace(s, `"patientId"`, `"PatientId"`, 1) }},
		{"escaped key", func(s string) string { return strings.Replace(s, `"patientId"`, `"patient\u0049d"`, 1) }},
		{"unknown key in a code", func(s string) string { return strings.Replace(s, `"system":`, `"bogus":"x","system":`, 1) }},
		{"key from elsewhere in a code", func(s string) string { return strings.Replace(s, `"system":`, `"patientId":"x","system":`, 1) }},
		{"number for a string", func(s string) string { return strings.Replace(s, `"status":"`, `"status":7,"x":"`, 1) }},
		{"null field", func(s string) string { return strings.Replace(s, `"status":`, `"recordedBy":null,"status":`, 1) }},
		{"trailing garbage", func(s string) string { return s + ` x` }},
		{"truncated", func(s string) string { return s[:len(s)/2] }},
		{"whitespace", func(s string) string { return " " + strings.ReplaceAll(s, `":`, `" : `) + "\n" }},
	}
	for _, l := range lines {
		if !onlyKnownKeys(l.b, keyTreeOf(reflect.TypeOf(mustNew(l.kind)))) {
			t.Fatalf("a %s as written does not take the fast path: %s", l.kind, l.b)
		}
	}
	refused := map[string]int{}
	for _, d := range damage {
		for _, l := range lines {
			in := []byte(d.f(string(l.b)))
			a, _ := record.New(l.kind)
			b, _ := record.New(l.kind)
			errA := decodeStrict(in, a)
			errB := decodeStrictSlow(in, b)
			if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
				t.Fatalf("%s: fast %v, strict %v\n%s", d.name, errA, errB, in)
			}
			if errA != nil {
				refused[d.name]++
			}
			if errA == nil && !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: fast decoded %+v, strict %+v", d.name, a, b)
			}
		}
	}
	for _, name := range []string{"unknown top-level key", "misspelt key", "unknown key in a code", "key from elsewhere in a code", "number for a string", "truncated"} {
		if refused[name] == 0 {
			t.Errorf("%s: no line refused", name)
		}
	}
	if refused["as written"]+refused["whitespace"]+refused["null field"] > 0 {
		t.Errorf("good lines refused: %v", refused)
	}
}

func mustNew(k record.Kind) record.Entity {
	e, err := record.New(k)
	if err != nil {
		panic(err)
	}
	return e
}
