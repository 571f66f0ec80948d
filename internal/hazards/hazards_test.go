package hazards

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// TestHazardLogIsValid: every docs/hazards/HNN.yaml has the DCB0129 shape,
// ratings 1-5 and an acceptability its residual rating allows.
func TestHazardLogIsValid(t *testing.T) {
	hs, err := Load(filepath.Join(root, "docs", "hazards"))
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) < 20 {
		t.Fatalf("%d hazards: the log was converted from a table of 30", len(hs))
	}
	for _, h := range hs {
		if m := h.Mismatch(); m != "" {
			t.Logf("%s: stated %q; %s (shown in the table)", h.ID, h.Acceptability, m)
		}
	}
}

// TestMismatchIsShown: an acceptability more lenient than the matrix allows
// is flagged in the rendered table, never silently accepted.
func TestMismatchIsShown(t *testing.T) {
	h := Hazard{ID: "H99", Title: "t", Cause: "c", Effect: "e", Initial: Rating{5, 3}, Residual: Rating{5, 2},
		Acceptability: "acceptable with monitoring", Status: "open", Controls: []Control{{Text: "x", Tests: []string{"a.TestX"}}}}
	if !strings.Contains(Table([]Hazard{h}), "the matrix makes rating 4 unacceptable: review") {
		t.Fatal("a lenient acceptability is not flagged")
	}
	h.Acceptability = "unacceptable"
	if strings.Contains(Table([]Hazard{h}), "review") {
		t.Fatal("a matching acceptability is flagged")
	}
}

// TestRenderedTableIsCurrent: the table in docs/clinical-safety.md is the
// YAML rendered (UPDATE_HAZARDS=1 rewrites it).
func TestRenderedTableIsCurrent(t *testing.T) {
	hs, err := Load(filepath.Join(root, "docs", "hazards"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "docs", "clinical-safety.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Splice(string(b), Table(hs))
	if err != nil {
		t.Fatal(err)
	}
	if want == string(b) {
		return
	}
	if os.Getenv("UPDATE_HAZARDS") != "" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("docs/clinical-safety.md is not the hazard YAML rendered: run UPDATE_HAZARDS=1 go test ./internal/hazards")
}

// TestEveryCitedTestExists parses the Go test files of each cited package
// dir and finds the cited function (a subtest's parent is cited by its name).
func TestEveryCitedTestExists(t *testing.T) {
	hs, err := Load(filepath.Join(root, "docs", "hazards"))
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]map[string]bool{}
	have := func(dir, name string) bool {
		if funcs[dir] == nil {
			funcs[dir] = map[string]bool{}
			fset := token.NewFileSet()
			files, _ := filepath.Glob(filepath.Join(root, dir, "*_test.go"))
			for _, f := range files {
				af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				for _, d := range af.Decls {
					if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
						funcs[dir][fd.Name.Name] = true
					}
				}
			}
		}
		return funcs[dir][name]
	}
	n := 0
	for _, h := range hs {
		for i, c := range h.Controls {
			for _, ref := range c.Tests {
				dir, name := TestRef(ref)
				if !strings.HasPrefix(name, "Test") && !strings.HasPrefix(name, "Fuzz") && !strings.HasPrefix(name, "Benchmark") {
					t.Errorf("%s controls[%d]: %q is not a test", h.ID, i, ref)
					continue
				}
				if !have(dir, name) {
					t.Errorf("%s controls[%d]: %s: no func %s in %s/*_test.go", h.ID, i, ref, name, dir)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no tests cited")
	}
}

func TestMatrix(t *testing.T) {
	for _, c := range []struct{ s, l, want int }{{1, 1, 1}, {5, 5, 5}, {5, 1, 3}, {1, 5, 3}, {4, 2, 3}, {5, 2, 4}, {3, 3, 3}, {2, 2, 2}} {
		if got := (Rating{c.s, c.l}).Risk(); got != c.want {
			t.Errorf("S%d L%d: %d, want %d", c.s, c.l, got, c.want)
		}
	}
}
