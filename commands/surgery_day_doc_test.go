package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The worked example in docs/surgery-day.md runs as written, as a new user
// would run it: the real binary, a shell, jq.
func TestSurgeryDayDocRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"bash", "jq", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "surgery-day.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```sh\n")
	script, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no ```sh block in docs/surgery-day.md")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "gpsoc"), "../cmd/gpsoc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	sh := exec.Command("bash", "-c", script)
	sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"XDG_CONFIG_HOME="+t.TempDir(), "GPSOC_USER=", "TMPDIR="+t.TempDir())
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the documented day failed: %v\n%s", err, out)
	}
	for _, want := range []string{"refused: exit 5", `"764146007"`, `"systolic": 148`, "dr.patel retract observation",
		"reception create patient", "dr.patel create consultation", "entered-in-error",
		"refused: exit 6", "allergy:764146007:39732411000001106", "2 dr.patel update medication", "Take ONE capsule once a day"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the documented day's output lacks %q:\n%s", want, out)
		}
	}
}
