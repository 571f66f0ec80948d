package server_test

import (
	"strings"
	"testing"
	"time"
)

// A session is a Schedule: set up, read, searched by date and actor, booked
// into (an Appointment POSTed lands in its slot), moved on, entered in error
// with If-Match, and its history read, as reception does it.
func TestScheduleAndAppointmentBook(t *testing.T) {
	f := start(t)
	uk, _ := time.LoadLocation("Europe/London")
	day := time.Now().In(uk).AddDate(0, 0, 7).Format("2006-01-02")
	at := func(hm string) string {
		tm, _ := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, uk)
		return tm.Format(time.RFC3339)
	}
	schedule := func(start, end string) map[string]any {
		return map[string]any{"resourceType": "Schedule", "active": true,
			"actor":           []any{map[string]any{"reference": "Practitioner/dr.gp"}},
			"planningHorizon": map[string]any{"start": at(start), "end": at(end)},
			"extension":       []any{map[string]any{"url": "https://opengpsoc.org/fhir/StructureDefinition/slot-minutes", "valueUnsignedInt": 15}}}
	}
	r := f.do(t, "recep", "POST", "/Schedule", schedule("09:00", "10:00"))
	wantStatus(t, r, 201)
	sid, _ := r.body["id"].(string)
	if sid == "" || !strings.Contains(r.header.Get("Location"), "/Schedule/"+sid+"/_history/1") {
		t.Fatalf("create: %s (Location %q)", r.raw, r.header.Get("Location"))
	}
	wantStatus(t, f.do(t, "recep", "POST", "/Schedule", schedule("09:30", "11:00")), 409) // overlaps dr.gp's session
	r = f.do(t, "dr.gp", "GET", "/Schedule/"+sid, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.raw), `"reference":"Practitioner/dr.gp"`) || !strings.Contains(string(r.raw), `"valueUnsignedInt":15`) {
		t.Fatalf("read: %s", r.raw)
	}
	for q, want := range map[string]float64{"date=" + day: 1, "date=lt" + day: 0, "actor=Practitioner/dr.gp": 1, "actor=Practitioner/nurse": 0} {
		r := f.do(t, "recep", "GET", "/Schedule?"+q, nil)
		wantStatus(t, r, 200)
		if r.body["total"] != want {
			t.Errorf("Schedule?%s: total %v, want %v", q, r.body["total"], want)
		}
	}

	r = f.do(t, "recep", "POST", "/Patient", patientJSON("9434765919", "Smith", "John", "1961-03-12"))
	wantStatus(t, r, 201)
	pid := r.body["id"].(string)
	appt := map[string]any{"resourceType": "Appointment", "status": "booked", "start": at("09:15"), "minutesDuration": 15,
		"participant": []any{
			map[string]any{"actor": map[string]any{"reference": "Patient/" + pid}, "status": "accepted"},
			map[string]any{"actor": map[string]any{"reference": "Practitioner/dr.gp"}, "status": "accepted"}}}
	r = f.do(t, "recep", "POST", "/Appointment", appt)
	wantStatus(t, r, 201)
	aid := r.body["id"].(string)
	if !strings.Contains(string(r.raw), sid) {
		t.Errorf("the appointment does not name its session %s: %s", sid, r.raw)
	}
	wantStatus(t, f.do(t, "recep", "POST", "/Appointment", appt), 409) // the slot is taken
	r = f.do(t, "recep", "GET", "/Appointment?date=ge"+at("00:00")+"&date=lt"+at("23:59"), nil)
	wantStatus(t, r, 200)
	if r.body["total"] != 1.0 {
		t.Errorf("appointment book of the day: %s", r.raw)
	}
	wantStatus(t, f.do(t, "recep", "GET", "/Appointment", nil), 400) // neither patient nor date

	// Moving it on takes If-Match; a stale one is 412.
	moved := r.body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	// (The appointment is days ahead: arriving is for the day itself.)
	moved["status"] = "arrived"
	wantStatus(t, f.do(t, "recep", "PUT", "/Appointment/"+aid, moved, "If-Match", `W/"1"`), 422)

	// A session with a booking is not removed; once it is cancelled, it is.
	gone := f.do(t, "recep", "GET", "/Schedule/"+sid, nil).body
	gone["active"], gone["comment"] = false, "set up twice"
	wantStatus(t, f.do(t, "recep", "PUT", "/Schedule/"+sid, gone, "If-Match", `W/"1"`), 422)
	moved["status"] = "cancelled"
	wantStatus(t, f.do(t, "recep", "PUT", "/Appointment/"+aid, moved, "If-Match", `W/"1"`), 200)
	wantStatus(t, f.do(t, "recep", "PUT", "/Appointment/"+aid, moved, "If-Match", `W/"1"`), 412)
	wantStatus(t, f.do(t, "recep", "PUT", "/Schedule/"+sid, gone, "If-Match", `W/"1"`), 200)
	r = f.do(t, "recep", "GET", "/Schedule/"+sid+"/_history", nil)
	wantStatus(t, r, 200)
	if r.body["total"] != 2.0 || !strings.Contains(string(r.raw), `"active":false`) {
		t.Errorf("history: %s", r.raw)
	}
	if r := f.do(t, "recep", "GET", "/Schedule?date="+day, nil); r.body["total"] != 1.0 {
		t.Errorf("a session entered in error left the search (a remote store must see it): %s", r.raw)
	}

	r = f.do(t, "", "GET", "/metadata", nil)
	for _, want := range []string{`"type":"Schedule"`, `"name":"actor"`, `"code":"create"`} {
		if !strings.Contains(string(r.raw), want) {
			t.Errorf("metadata lacks %s", want)
		}
	}
}
