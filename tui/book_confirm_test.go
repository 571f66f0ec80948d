package tui

import "testing"

// In the book, DNA and cancel are destructive (they free the slot): the key
// asks first; esc keeps the appointment, the save key confirms.
func TestBookDNAAsksFirst(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 120, 40)}
	d.init()
	d.send(bookMsg{})
	b := d.m.top().(*bookPage)
	for b.who < len(b.clinicians) {
		started := -1
		for i, r := range b.rows {
			if r.appt != nil && r.appt.Status == "booked" && !r.start.After(fixedNow) {
				started = i
				break
			}
		}
		if started < 0 {
			d.keys("tab")
			continue
		}
		for b.sel < started {
			d.keys("down")
		}
		name, id := b.rows[started].name, b.rows[started].appt.ID
		status := func() string {
			for _, r := range b.rows {
				if r.appt != nil && r.appt.ID == id {
					return r.appt.Status
				}
			}
			return "gone"
		}
		d.keys("d")
		d.contains("Mark " + name)
		d.contains("did not attend?")
		if st := status(); st != "booked" {
			t.Fatalf("d alone changed the appointment to %s", st)
		}
		d.keys("y", "enter", "a") // type-ahead does not confirm, nor does another action
		if b.pending == nil || status() != "booked" {
			t.Fatalf("keys other than the save key answered the confirmation (status %s)", status())
		}
		d.keys("esc")
		if b.pending != nil || status() != "booked" {
			t.Fatal("esc did not keep the appointment")
		}
		d.keys("d", "ctrl+s")
		d.contains(name + ": did-not-attend")
		if st := status(); st != "did-not-attend" {
			t.Fatalf("confirmed DNA left the appointment %s", st)
		}
		return
	}
	t.Fatal("no booked appointment that has started in the fixture")
}
