package house

import (
	"go/ast"
	"go/types"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/opengpsoc/gpsoc"

// mayWrite are the packages allowed to call the store's write methods:
// clinical, whose service actions are the one door (design.md §1), and the
// store's own packages (a backend, or a wrapper that is itself a store,
// calls its inner transaction's). gpsoc migrate, an admin-only, audited
// store-to-store copy, will join them when it exists.
var mayWrite = map[string]bool{
	module + "/clinical":        true,
	module + "/store":           true,
	module + "/store/bolt":      true,
	module + "/store/remote":    true,
	module + "/store/postgres":  true,
	module + "/store/storetest": true, // the conformance suite: it tests the backends themselves
}

func load(t *testing.T, patterns ...string) []*packages.Package {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cfg := &packages.Config{Dir: root, Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
	}
	return pkgs
}

// writeMethods are the methods of store.WTx that store.Tx lacks: the writes.
func writeMethods(t *testing.T, pkgs []*packages.Package) (*types.Interface, map[string]bool) {
	t.Helper()
	var storePkg *types.Package
	seen := map[*packages.Package]bool{}
	var walk func(p *packages.Package)
	walk = func(p *packages.Package) {
		if seen[p] || storePkg != nil {
			return
		}
		seen[p] = true
		if p.PkgPath == module+"/store" {
			storePkg = p.Types
			return
		}
		for _, d := range p.Imports {
			walk(d)
		}
	}
	for _, p := range pkgs {
		walk(p)
	}
	if storePkg == nil {
		t.Fatal("the store package is not among the loaded packages' imports")
	}
	wtx := storePkg.Scope().Lookup("WTx").Type().Underlying().(*types.Interface)
	tx := storePkg.Scope().Lookup("Tx").Type().Underlying().(*types.Interface)
	reads := map[string]bool{}
	for i := 0; i < tx.NumMethods(); i++ {
		reads[tx.Method(i).Name()] = true
	}
	writes := map[string]bool{}
	for i := 0; i < wtx.NumMethods(); i++ {
		if m := wtx.Method(i); !reads[m.Name()] {
			writes[m.Name()] = true
		}
	}
	return wtx, writes
}

// violations lists every call of a store write method (on store.WTx, or on
// any type that implements it) made outside the packages allowed to.
func violations(t *testing.T, pkgs []*packages.Package) []string {
	wtx, writes := writeMethods(t, pkgs)
	var out []string
	for _, p := range pkgs {
		if mayWrite[p.PkgPath] {
			continue
		}
		for _, f := range p.Syntax {
			var inWrapper bool // inside a method of a type that is itself a store transaction
			ast.Inspect(f, func(n ast.Node) bool {
				if fd, ok := n.(*ast.FuncDecl); ok {
					inWrapper = false
					if fd.Recv != nil && len(fd.Recv.List) == 1 {
						if rt := p.TypesInfo.TypeOf(fd.Recv.List[0].Type); rt != nil {
							inWrapper = types.Implements(rt, wtx)
						}
					}
					return true
				}
				if inWrapper {
					return true
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !writes[sel.Sel.Name] {
					return true
				}
				s := p.TypesInfo.Selections[sel]
				if s == nil || s.Kind() != types.MethodVal {
					return true
				}
				recv := s.Recv()
				if types.Implements(recv, wtx) || types.Implements(types.NewPointer(recv), wtx) {
					pos := p.Fset.Position(call.Pos())
					out = append(out, pos.String()+": "+p.PkgPath+" calls "+types.TypeString(recv, nil)+"."+sel.Sel.Name)
				}
				return true
			})
		}
	}
	sort.Strings(out)
	return out
}

// Nothing but clinical calls the store's write methods (design.md §1, one
// door): every write is a clinical service action, with its roles,
// validation, safety checks and audit event.
func TestOnlyClinicalWritesToTheStore(t *testing.T) {
	pkgs := load(t, "./...")
	if len(pkgs) < 10 {
		t.Fatalf("loaded %d packages: the module was not found", len(pkgs))
	}
	for _, v := range violations(t, pkgs) {
		t.Error(v)
	}
}

// The check finds the violations planted in testdata/bad (a Put and an
// Append through store.WTx, outside clinical), so it cannot pass by
// finding nothing.
func TestHouseCheckFindsAPlantedViolation(t *testing.T) {
	pkgs := load(t, "./internal/house/testdata/bad")
	vs := violations(t, pkgs)
	if len(vs) != 2 || !strings.Contains(vs[0], "bad.go:14") || !strings.Contains(vs[0], "WTx.Put") || !strings.Contains(vs[1], "WTx.Append") {
		t.Fatalf("planted violations found: %q, want the Put at bad.go:14 and the Append", vs)
	}
}
