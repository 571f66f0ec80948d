package tui

import (
	"context"
	"github.com/opengpsoc/gpsoc/terminology"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/keymaps"
)

// A sensitive record asks for a reason before it opens, and the reason is audited.
func TestSensitiveRecordAsksReason(t *testing.T) {
	dir, svc := practice(t, 50)
	yes := true
	if _, err := svc.UpdatePatient(context.Background(), "9997456920", clinical.PatientUpdate{Sensitive: &yes}); err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter")
	d.contains("This record is marked sensitive.")
	if strings.Contains(d.screen(), "Chronic kidney disease") {
		t.Fatal("the record shows before a reason is given")
	}
	d.keys("enter") // no reason: stays closed
	d.contains("This record is marked sensitive.")
	d.typeText("safeguarding review")
	d.keys("enter")
	d.contains("SENSITIVE")
	d.contains("Chronic kidney disease")
	admin, _ := svc.Practice().As(context.Background(), "admin")
	evs, err := admin.AuditEvents(context.Background(), clinical.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		found = found || e.Reason == "safeguarding review"
	}
	if !found {
		t.Error("the reason is not in the audit trail")
	}
}

// A legacy Read v2 code is recorded with its mapped SNOMED concept.
func TestLegacyCodeRecordedWithMapping(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "c", "ctrl+o", "tab")
	d.contains("Read v2")
	d.typeText("171..")
	d.contains("49727002")
	d.keys("enter")
	d.contains("→ sct 49727002 Cough")
	d.keys("ctrl+s")
	d.contains("Consultation saved")
	d.contains("(read2 171..) → Cough (sct 49727002)")
}

// The screen redraws at the new size on resize and never draws wider than the terminal.
func TestResizeRedraws(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "r")
	for _, sz := range [][2]int{{80, 24}, {100, 30}, {200, 60}, {80, 24}} {
		d.send(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		lines := strings.Split(d.screen(), "\n")
		if len(lines) != sz[1] {
			t.Fatalf("%dx%d: %d lines", sz[0], sz[1], len(lines))
		}
		for i, l := range lines {
			if w := len([]rune(l)); w > sz[0] {
				t.Fatalf("%dx%d: line %d is %d wide", sz[0], sz[1], i, w)
			}
		}
	}
	d.contains("Trend: HbA1c")
}

// NO_COLOR: plain styles carry no colour at all; light and dark differ.
func TestStyles(t *testing.T) {
	plain := NewStyles(true, true)
	if s := plain.Alert.Render("x"); strings.Contains(s, "38;") || strings.Contains(s, "48;") {
		t.Errorf("plain styles carry colour: %q", s)
	}
	dark, light := NewStyles(true, false), NewStyles(false, false)
	if dark.Alert.GetForeground() == light.Alert.GetForeground() {
		t.Error("light and dark alerts share a colour")
	}
}

// UK conventions: dates and ages of young children.
func TestUKFormats(t *testing.T) {
	if got := Date("1961-03-12"); got != "12-Mar-1961" {
		t.Errorf("Date = %q", got)
	}
	for dob, want := range map[string]string{"2026-11-20": "4d", "2026-10-20": "5w", "2026-05-01": "6m", "2025-01-10": "22m", "2024-11-24": "2y", "1961-03-12": "65y"} {
		if got := Age(dob, fixedNow); got != want {
			t.Errorf("Age(%s) = %q, want %q", dob, got, want)
		}
	}
	if got := NHS("9434765919"); got != "943 476 5919" {
		t.Errorf("NHS = %q", got)
	}
}

// Printable keys type text while a field has focus, and act as commands otherwise.
func TestPrintableKeysOnlyWithoutTextFocus(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.typeText("j?/")
	d.contains("Find: j?/")
	if d.m.help {
		t.Fatal("? opened help while typing in find")
	}
	d.keys("esc") // clears the query
	d.typeText("kingsland")
	d.keys("enter", "j")
	d.contains("Record · Journal")
	d.keys("?")
	d.contains("Keys: record")
	d.keys("x") // a stray key does not close help
	d.contains("Keys: record")
	d.keys("esc", "/")
	if d.m.Page() != "find" {
		t.Fatalf("/ went to %s", d.m.Page())
	}
}

// The vim preset drives the same dispatch.
func TestVimPresetDispatch(t *testing.T) {
	dir, svc := practice(t, 50)
	km, err := keymaps.Load(keymaps.Options{Preset: "vim"})
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Keys: km, Now: clock, DataDir: dir, Plain: true, Width: 80, Height: 24})
	d := &driver{t: t, m: m}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "J")
	d.contains("Record · Journal")
	d.keys("j", "j")
	if r := m.top().(*recordPage); r.scroll != 2 {
		t.Fatalf("scroll %d after j j", r.scroll)
	}
}

// The palette finds an action by a fuzzy name and runs it.
func TestPaletteRunsAction(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "ctrl+k")
	d.typeText("imms")
	d.contains("immunisations")
	d.keys("enter")
	d.contains("Record · Immunisations")
}

// Appointment book: mark the first booked slot arrived then seen, and jump to the record.
func TestBookArriveSeenOpen(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.send(bookMsg{})
	b := d.m.top().(*bookPage)
	for b.who < len(b.clinicians) {
		booked := -1
		for i, r := range b.rows {
			if r.appt != nil && r.appt.Status == "booked" {
				booked = i
				break
			}
		}
		if booked >= 0 {
			for b.sel < booked {
				d.keys("down")
			}
			name := b.rows[booked].name
			d.keys("a")
			d.contains(name + ": arrived")
			d.keys("e")
			d.contains(name + ": seen")
			if b.rows[booked].appt.Status != "seen" {
				t.Fatalf("status %s", b.rows[booked].appt.Status)
			}
			d.keys("enter")
			d.contains("Record · Summary")
			return
		}
		d.keys("tab")
	}
	t.Fatal("no booked appointment today in the fixture")
}

// A user with no passphrase yet sets their own before the workstation
// opens (set on first use), typed twice; it is never shown.
func TestFirstUseSetsPassphrase(t *testing.T) {
	dir, svc := practice(t, 50)
	admin, _ := svc.Practice().As(context.Background(), "admin")
	if _, err := admin.ResetPassphrase(context.Background(), "dr.patel"); err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.contains("Set your own passphrase or PIN")
	d.typeText("short")
	d.keys("enter")
	d.contains("at least 8 characters")
	d.typeText("battery staple")
	d.keys("enter")
	d.typeText("battery stapler")
	d.keys("enter")
	d.contains("did not match")
	d.typeText("battery staple")
	d.keys("enter")
	d.typeText("battery staple")
	d.keys("enter")
	d.contains("Find:")
	if strings.Contains(d.screen(), "battery") {
		t.Fatal("the passphrase shows on screen")
	}
	if !svc.Unlock(context.Background(), "battery staple") {
		t.Fatal("the passphrase set at first use does not unlock")
	}
}

// Issue and re-authorise a repeat from the medication section; ctrl+s
// confirms, enter does not; the checks run at each step, so an issue the
// same day needs a typed reason, and ctrl+s twice issues once, saying so.
func TestIssueAndReauthoriseRepeat(t *testing.T) {
	dir, svc := practice(t, 50)
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmn.Close()
	svc.Practice().SetDrugs(tmn)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "m", "I")
	d.contains("Issue Sitagliptin 100mg tablets: Take ONE tablet")
	d.keys("enter")
	d.contains("Issue Sitagliptin 100mg tablets") // enter does not confirm
	// last issued 09-Nov for 28 days: early, so the checks stop it until a reason is typed
	d.keys("ctrl+s", "ctrl+s") // a second ctrl+s never answers the alerts
	d.contains("Early issue")
	d.contains("type the reason")
	d.typeText("going abroad for a month")
	d.keys("ctrl+s")
	d.contains("Issued Sitagliptin 100mg tablets: 28 tablet, issue")
	d.contains("24-Nov-2026")
	d.keys("ctrl+s") // a second ctrl+s: the confirmation is closed, nothing more is issued
	issues := func() int {
		rows, _, err := svc.IssueHistory(context.Background(), "9997456920", clinical.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rows {
			if strings.HasPrefix(r.Drug, "Sitagliptin") && r.At.In(time.UTC).Format("2006-01-02") == fixedNow.UTC().Format("2006-01-02") {
				n++
			}
		}
		return n
	}
	if n := issues(); n != 1 {
		t.Fatalf("ctrl+s twice issued %d times today", n)
	}
	// a second issue today is a duplicate: refused until a reason is typed
	d.keys("I", "ctrl+s")
	d.contains("Duplicate issue")
	d.keys("esc")
	if n := issues(); n != 1 {
		t.Fatalf("a duplicate issue went through without a reason: %d today", n)
	}
	d.keys("R", "backspace")
	d.typeText("3")
	d.keys("ctrl+s")
	d.contains("Re-authorised Sitagliptin 100mg tablets for 3 issues")
}

// The workstation locks after the practice's idle-lock time without keys,
// hiding the record until the user's own passphrase is typed (a wrong one
// is refused and audited).
func TestIdleLock(t *testing.T) {
	dir, svc := practice(t, 50)
	admin, _ := svc.Practice().As(context.Background(), "admin")
	admin.SetPractice(context.Background(), clinical.SettingIdleLock, "5m")
	svc, _ = svc.Practice().As(context.Background(), "dr.patel")
	now := fixedNow
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Now: func() time.Time { return now }, DataDir: dir, Plain: true, Width: 80, Height: 24})
	d := &driver{t: t, m: m}
	d.init() // idle ticks are sent by hand

	d.typeText("kingsland")
	d.keys("enter")
	d.contains("KINGSLAND")
	now = now.Add(4 * time.Minute)
	m.Update(idleMsg{})
	d.contains("KINGSLAND")
	now = now.Add(2 * time.Minute)
	m.Update(idleMsg{})
	d.contains("Locked after being idle")
	if strings.Contains(d.screen(), "KINGSLAND") {
		t.Fatal("the record shows behind the lock")
	}
	d.typeText("wrong horse")
	d.keys("enter")
	d.contains("wrong passphrase")
	d.typeText(testPassphrase)
	d.keys("enter")
	d.contains("KINGSLAND")
	evs, _ := admin.AuditEvents(context.Background(), clinical.AuditFilter{User: "dr.patel"})
	denied := 0
	for _, e := range evs {
		if e.Action == "unlock" && e.Outcome == "denied" {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("wrong passphrases audited: %d, want 1", denied)
	}
}

// With no idle-lock setting the workstation still locks, after the
// default 10 minutes: the lock does not depend on any passphrase setting.
func TestIdleLockDefault(t *testing.T) {
	dir, svc := practice(t, 50)
	now := fixedNow
	m := New(Options{Svc: svc, Terms: fakeTerms{}, Now: func() time.Time { return now }, DataDir: dir, Plain: true, Width: 80, Height: 24})
	d := &driver{t: t, m: m}
	d.init()
	d.contains("Find:")
	now = now.Add(9 * time.Minute)
	m.Update(idleMsg{})
	d.contains("Find:")
	now = now.Add(time.Minute)
	m.Update(idleMsg{})
	d.contains("Locked after being idle")
}

// The query that led to an opening is audited once (not every keystroke).
func TestFindQueryAuditedOnOpen(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter")
	admin, _ := svc.Practice().As(context.Background(), "admin")
	evs, err := admin.AuditEvents(context.Background(), clinical.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	finds := map[string]int{}
	for _, e := range evs {
		if e.Action == "find" {
			finds[e.Query]++
		}
	}
	if finds["kingsland"] != 1 || len(finds) != 1 {
		t.Fatalf("find audit events: %v, want one for \"kingsland\"", finds)
	}
}

// A legacy code found by searching its term is mapped (in a command) and recorded with SNOMED.
func TestLegacySearchHitMapped(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "c", "ctrl+o", "tab")
	d.typeText("cough")
	d.contains("171..")
	d.keys("enter")
	d.contains("• Cough (read2 171..) → sct 49727002 Cough")
}

// Book the open patient into a free slot from the appointment book (f5 from the record).
func TestBookFreeSlotForOpenPatient(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter")
	d.send(key("f5"))
	d.contains("Booking for Kingsland, Kathleen")
	b := d.m.top().(*bookPage)
	free := -1
	for i, r := range b.rows {
		if r.free && r.start.After(fixedNow) {
			free = i
			break
		}
	}
	if free < 0 {
		t.Skip("no free slot later today in the fixture")
	}
	for b.sel < free {
		d.keys("down")
	}
	d.keys("b") // asks the mode and reason first; nothing booked yet
	d.contains("Mode:")
	if b.rows[free].appt != nil {
		t.Fatal("b booked before the mode and reason were asked")
	}
	d.keys("tab") // telephone
	d.typeText("BP review")
	d.keys("ctrl+s")
	d.contains("booked ")
	d.contains("(telephone)")
	r := b.rows[free]
	if r.appt == nil || r.name != "Kingsland, Kathleen" || r.appt.Mode != "telephone" || r.appt.Reason != "BP review" {
		t.Fatalf("slot after booking: %+v (appointment %+v)", r, r.appt)
	}
}

// A user disabled elsewhere while their workstation is open is stopped
// there too (the workstation asks every second): the record is hidden and
// no passphrase brings it back.
func TestDisabledUserStoppedAtOpenWorkstation(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter")
	d.contains("KINGSLAND")
	d.send(activeTickMsg{})
	d.contains("KINGSLAND") // still allowed
	admin, _ := svc.Practice().As(context.Background(), "admin")
	if _, err := admin.DisableUser(context.Background(), "dr.patel", "left"); err != nil {
		t.Fatal(err)
	}
	d.send(activeTickMsg{})
	d.contains("dr.patel has been disabled")
	if strings.Contains(d.screen(), "KINGSLAND") {
		t.Fatal("the record shows to a disabled user")
	}
	d.typeText(testPassphrase)
	d.keys("enter")
	d.contains("dr.patel has been disabled")
}
