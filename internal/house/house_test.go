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
// calls its inner transaction's). gpsoc migrate, the admin-only, audited
// store-to-store copy, is the one exception: see mayLoad.
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

// mayLoad is where a whole store may be replaced by another's content
// (store.Loader.Load): clinical's Migrate, which is admin only and audited
// (gpsoc migrate, the one exception to the one door), and the copy suite
// that tests the backends. Nowhere else, clinical's other methods included.
var mayLoad = map[string]bool{
	module + "/clinical.(*Service).Migrate": true,
	module + "/store/storetest.load":        true,
	module + "/store/storetest.Copy":        true, // its failing-load subtest
}

// loads lists every call of Load on a store.Loader (the interface, or any
// type that implements it) made outside mayLoad's functions.
func loads(t *testing.T, pkgs []*packages.Package) []string {
	t.Helper()
	var storePkg *types.Package
	for _, p := range pkgs {
		for _, d := range p.Types.Imports() {
			if d.Path() == module+"/store" {
				storePkg = d
			}
		}
	}
	if storePkg == nil {
		t.Fatal("no loaded package imports the store")
	}
	loader := storePkg.Scope().Lookup("Loader").Type().Underlying().(*types.Interface)
	var out []string
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				name := p.PkgPath + "." + fd.Name.Name
				if fd.Recv != nil && len(fd.Recv.List) == 1 {
					name = p.PkgPath + ".(" + types.TypeString(p.TypesInfo.TypeOf(fd.Recv.List[0].Type), types.RelativeTo(p.Types)) + ")." + fd.Name.Name
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "Load" {
						return true
					}
					s := p.TypesInfo.Selections[sel]
					if s == nil || s.Kind() != types.MethodVal {
						return true
					}
					recv := s.Recv()
					if !types.Implements(recv, loader) && !types.Implements(types.NewPointer(recv), loader) {
						return true
					}
					if !mayLoad[name] {
						pos := p.Fset.Position(call.Pos())
						out = append(out, pos.String()+": "+name+" calls "+types.TypeString(recv, nil)+".Load")
					}
					return true
				})
			}
		}
	}
	sort.Strings(out)
	return out
}

// A whole store is replaced only by gpsoc migrate (clinical's Migrate:
// admin only, audited in the source before the copy): the one exception to
// the one door, held to that one function.
func TestOnlyMigrateLoadsAStore(t *testing.T) {
	pkgs := load(t, "./...")
	for _, v := range loads(t, pkgs) {
		t.Error(v)
	}
	for _, fn := range []string{"Migrate"} {
		found := false
		for _, p := range pkgs {
			if p.PkgPath == module+"/clinical" && p.Types.Scope().Lookup("Service") != nil {
				ms := types.NewMethodSet(types.NewPointer(p.Types.Scope().Lookup("Service").Type()))
				found = ms.Lookup(p.Types, fn) != nil
			}
		}
		if !found {
			t.Errorf("clinical.(*Service).%s, the one function allowed to load a store, is gone: update mayLoad", fn)
		}
	}
}

// The check finds the Load planted in testdata/bad, so it cannot pass by
// finding nothing.
func TestHouseCheckFindsAPlantedLoad(t *testing.T) {
	vs := loads(t, load(t, "./internal/house/testdata/bad"))
	if len(vs) != 1 || !strings.Contains(vs[0], "bad.Overwrite calls") || !strings.Contains(vs[0], "Loader.Load") {
		t.Fatalf("planted loads found: %q, want the one in bad.Overwrite", vs)
	}
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
