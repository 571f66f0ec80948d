package keymaps

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadUserKeymap loads any user keymap file over the default: it loads
// or is refused with errors naming the file, never a panic; what loads binds
// no key twice in a context.
func FuzzLoadUserKeymap(f *testing.F) {
	f.Add(vimYAML)
	f.Add([]byte("find:\n  open: ctrl+o\n  quit: <disabled>\n"))
	f.Add([]byte("global:\n  help: [\"?\", f1]\n  quit: [\"?\"]\n"))
	f.Add([]byte("record: &a\n  x: *a\n"))
	f.Add([]byte("prescribe:\n  confirm: y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "keys.yaml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		km, err := Load(Options{UserFile: path})
		if err != nil {
			return
		}
		for _, ctx := range Contexts {
			seen := map[string]string{}
			for _, bd := range km.Bindings(ctx) {
				for _, k := range bd.Keys {
					if prev, ok := seen[k]; ok && prev != bd.Name {
						t.Fatalf("%s: key %q bound to %s and %s", ctx, k, prev, bd.Name)
					}
					seen[k] = bd.Name
					if bd.Confirm && Printable(k) {
						t.Fatalf("%s: confirm action %s bound to the printable key %q", ctx, bd.Name, k)
					}
				}
			}
		}
	})
}
