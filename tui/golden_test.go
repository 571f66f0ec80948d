package tui

import (
	"context"
	"fmt"
	"time"

	"github.com/opengpsoc/gpsoc/clinical"
	"github.com/opengpsoc/gpsoc/terminology"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golden compares a screen with tui/testdata/NAME.golden; UPDATE_GOLDEN=1 rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(got, "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	got = strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", name+".golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run UPDATE_GOLDEN=1 go test ./tui/...)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (UPDATE_GOLDEN=1 go test ./tui/... to accept):\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// TestGoldenScreens draws every screen at 80x24 and 120x40 with the clock,
// colours and practice pinned.
func TestGoldenScreens(t *testing.T) {
	dir, svc := practice(t, 50)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			d := &driver{t: t, m: newModel(t, dir, svc, w, h)}
			shot := func(name string) {
				t.Helper()
				if got := d.screen(); len(strings.Split(got, "\n")) != h {
					t.Fatalf("%s: %d lines, want %d", name, len(strings.Split(got, "\n")), h)
				}
				golden(t, fmt.Sprintf("%s-%dx%d", name, w, h), d.screen())
			}
			d.init()
			shot("find-empty")
			d.typeText("kingsland")
			shot("find-results")
			d.keys("enter")
			shot("record-summary")
			for _, s := range []string{"j", "p", "m", "r", "a", "i", "o", "t", "h"} {
				d.keys(s)
				shot("record-" + sections[indexOfSection(s)].action)
			}
			d.keys("s", "?")
			shot("help-record")
			d.keys("esc", "ctrl+k")
			d.typeText("jour")
			shot("palette")
			d.keys("esc", "c")
			d.typeText("Thirsty")
			d.keys("tab", "tab", "tab")
			d.typeText("150/95")
			shot("consult")
			d.keys("ctrl+o")
			d.typeText("diab")
			shot("consult-picker")
			d.keys("esc", "ctrl+x", "ctrl+x")
			d.send(bookMsg{})
			shot("book")
			d.keys("esc", "/")
			d.typeText("999 745 6920")
			shot("find-nhs")
		})
	}
}

func indexOfSection(k string) int {
	for i, s := range sections {
		if keysOf(s.action) == k {
			return i
		}
	}
	return 0
}

func keysOf(action string) string {
	return defaultKey("record", action)
}

// TestGoldenMoreScreens: the lock, the sensitive-record prompt, prescribing
// and a safety alert, at both sizes.
func TestGoldenMoreScreens(t *testing.T) {
	dir, svc := practice(t, 50)
	tmn, err := terminology.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer tmn.Close()
	svc.Practice().SetDrugs(tmn)
	AlertGrace = time.Millisecond
	yes := true
	if _, err := svc.UpdatePatient(context.Background(), "9997456920", clinical.PatientUpdate{Sensitive: &yes}); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			m := New(Options{Svc: svc, Terms: termsOf{tmn}, Now: clock, DataDir: dir, Plain: true, Width: w, Height: h})
			d := &driver{t: t, m: m}
			shot := func(name string) {
				t.Helper()
				golden(t, fmt.Sprintf("%s-%dx%d", name, w, h), d.screen())
			}
			d.init()
			d.typeText("kingsland")
			d.keys("enter")
			shot("record-sensitive")
			d.keys("esc", "esc") // back to find, then clear the query
			d.typeText("9993652814")
			d.keys("enter", "x")
			d.typeText("amoxicillin 500mg caps")
			shot("prescribe-picker")
			d.keys("enter")
			d.typeText("1 tds")
			d.keys("enter")
			d.typeText("15")
			shot("prescribe-form")
			d.keys("ctrl+s")
			shot("prescribe-alert")
			d.keys("ctrl+o")
			d.typeText("tolerated before")
			shot("prescribe-override")
			d.m.lock = newLockScreen(d.m.c, true)
			d.typeText("secret")
			shot("lock")
		})
	}
}

// On an 80x24 screen the record's help is longer than the screen: it pages,
// says where it is, and every global key can be reached (f6 registers and f7
// the results inbox were cut off before).
func TestHelpPagesOnASmallScreen(t *testing.T) {
	dir, svc := practice(t, 50)
	d := &driver{t: t, m: newModel(t, dir, svc, 80, 24)}
	d.init()
	d.typeText("kingsland")
	d.keys("enter", "?")
	first := d.screen()
	if !strings.Contains(first, "pgdown for more") {
		t.Fatalf("the help does not say it goes on:\n%s", first)
	}
	seen := first
	for range 6 {
		d.keys("pgdown")
		seen += d.screen()
	}
	for _, want := range []string{"registers and indicators", "results inbox", "task inbox"} {
		if !strings.Contains(seen, want) {
			t.Errorf("%q is on no page of the help", want)
		}
	}
	d.keys("pgup", "pgup", "pgup", "pgup", "pgup", "pgup", "pgup")
	if d.screen() != first {
		t.Errorf("pgup back to the start does not give the first page again")
	}
}
