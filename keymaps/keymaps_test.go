package keymaps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultFixedKeys(t *testing.T) {
	km := Default()
	for key, want := range map[string]string{"/": "find", "enter": "open", "esc": "back", "?": "help",
		"ctrl+k": "palette", "ctrl+s": "save", "ctrl+q": "quit"} {
		if got, _ := km.Action("find", key); got != want && key != "enter" {
			t.Errorf("find %q = %q, want %q", key, got, want)
		}
		if got, _ := km.ActionIn("global", key); got != want {
			t.Errorf("global %q = %q, want %q", key, got, want)
		}
	}
	if a, _ := km.Action("record", "j"); a != "journal" {
		t.Errorf("record j = %q", a)
	}
}

func TestVimPreset(t *testing.T) {
	km, err := Load(Options{Preset: "vim"})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := km.Action("record", "j"); a != "down" {
		t.Errorf("vim record j = %q, want down", a)
	}
	if a, _ := km.Action("record", "J"); a != "journal" {
		t.Errorf("vim record J = %q, want journal", a)
	}
}

func load(t *testing.T, user string) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(p, []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Options{UserFile: p})
	return err
}

func TestUserFileErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"record:\n  journal: J\n  frobnicate: z\n", "keys.yaml:3: record: unknown action \"frobnicate\""},
		{"record:\n  journal: hyper+q\n", "keys.yaml:2: record.journal: unknown key \"hyper+q\""},
		{"record:\n  journal: banana\n", "keys.yaml:2: record.journal: unknown key \"banana\""},
		{"record:\n\n  journal: p\n", "keys.yaml:3: record: key \"p\" is bound to both"},
		{"prescribe:\n  confirm: y\n", "keys.yaml:2: prescribe.confirm: \"y\" is a single printable character"},
		{"prescribe:\n  override: [ctrl+o, o]\n", "keys.yaml:2: prescribe.override: \"o\" is a single printable"},
		{"nowhere:\n  x: y\n", "keys.yaml:1: unknown context \"nowhere\""},
	} {
		err := load(t, c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.file, err, c.want)
		}
	}
}

func TestUserFileOverridesAndDisables(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys.yaml")
	os.WriteFile(p, []byte("record:\n  journal: [J, ctrl+j]\n  history: <disabled>\n"), 0o600)
	km, err := Load(Options{UserFile: p})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := km.Action("record", "ctrl+j"); a != "journal" {
		t.Errorf("ctrl+j = %q", a)
	}
	if a, ok := km.Action("record", "j"); ok {
		t.Errorf("j still bound to %q", a)
	}
	if a, ok := km.Action("record", "h"); ok {
		t.Errorf("h still bound to %q after <disabled>", a)
	}
	if !strings.Contains(km.ManPage("2026-11-24"), ".B J, ctrl+j") {
		t.Error("man page does not show the user's keys")
	}
}

func TestEveryActionBoundByDefault(t *testing.T) {
	km := Default()
	for _, a := range Actions {
		if len(km.Keys(a.Context, a.Name)) == 0 {
			t.Errorf("%s.%s has no default key", a.Context, a.Name)
		}
	}
}
