package house

import (
	"go/ast"
	"go/token"
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

// layerRules are the layers' arrows that the house test holds (design.md §1):
// for each package, module packages (and outside ones) it must not use.
// A package is "used" when it is imported, or when any identifier resolves
// to one of its objects or any expression has one of its types (so a
// clinical type that handed out the store would be caught in interop too).
var layerRules = map[string][]string{
	// clinical never imports fhir, bbolt or net/http; it is below every face.
	module + "/clinical": {module + "/fhir", module + "/interop", module + "/server", module + "/commands", module + "/tui",
		module + "/store/bolt", module + "/store/remote", module + "/store/postgres", "go.etcd.io/bbolt", "net/http"},
	// interop replays outside formats as service actions: it never holds the store.
	module + "/interop": {module + "/store", module + "/store/bolt", module + "/store/remote", module + "/store/postgres",
		module + "/server", module + "/commands", module + "/tui", "go.etcd.io/bbolt"},
	module + "/interop/pathology": {module + "/store", module + "/store/bolt", module + "/store/remote", module + "/store/postgres",
		module + "/server", module + "/commands", module + "/tui", "go.etcd.io/bbolt"},
	module + "/interop/hl7v2": {module + "/store", module + "/store/bolt", module + "/store/remote", module + "/store/postgres",
		module + "/server", module + "/commands", module + "/tui", "go.etcd.io/bbolt"},
	// fhir is the mapping between records and resources, and nothing else.
	module + "/fhir":   {module + "/clinical", module + "/interop", module + "/store", module + "/server"},
	module + "/record": {module + "/clinical", module + "/store", module + "/fhir"},
}

// layerViolations lists every use of a package a rule forbids; rules maps a
// package path to its forbidden packages (layerRules, or a test's).
func layerViolations(pkgs []*packages.Package, rules map[string][]string) []string {
	var out []string
	for _, p := range pkgs {
		banned := map[string]bool{}
		for _, b := range rules[p.PkgPath] {
			banned[b] = true
		}
		if len(banned) == 0 {
			continue
		}
		seen := map[string]bool{}
		report := func(pos token.Pos, what string) {
			at := p.Fset.Position(pos)
			k := at.Filename + "|" + what
			if !seen[k] {
				seen[k] = true
				out = append(out, at.String()+": "+p.PkgPath+" uses "+what)
			}
		}
		for path := range p.Imports {
			if banned[path] {
				report(p.Syntax[0].Package, "package "+path+" (imported)")
			}
		}
		for id, obj := range p.TypesInfo.Uses {
			if obj.Pkg() != nil && banned[obj.Pkg().Path()] {
				report(id.Pos(), obj.Pkg().Path()+"."+obj.Name())
			}
		}
		for e, tv := range p.TypesInfo.Types {
			for _, path := range typePackages(tv.Type) {
				if banned[path] {
					report(e.Pos(), "a value of a type of "+path+" ("+types.TypeString(tv.Type, nil)+")")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// typePackages are the packages of the named types a type is made of.
func typePackages(t types.Type) []string {
	var out []string
	seen := map[types.Type]bool{}
	var walk func(t types.Type)
	walk = func(t types.Type) {
		if t == nil || seen[t] {
			return
		}
		seen[t] = true
		switch x := t.(type) {
		case *types.Named:
			if o := x.Obj(); o.Pkg() != nil {
				out = append(out, o.Pkg().Path())
			}
		case *types.Alias:
			walk(types.Unalias(x))
		case *types.Pointer:
			walk(x.Elem())
		case *types.Slice:
			walk(x.Elem())
		case *types.Array:
			walk(x.Elem())
		case *types.Map:
			walk(x.Key())
			walk(x.Elem())
		case *types.Chan:
			walk(x.Elem())
		case *types.Signature:
			for i := 0; i < x.Params().Len(); i++ {
				walk(x.Params().At(i).Type())
			}
			for i := 0; i < x.Results().Len(); i++ {
				walk(x.Results().At(i).Type())
			}
		}
	}
	walk(t)
	return out
}

// The layers hold: clinical does not import fhir, interop never touches the
// store (not even through a clinical type that would hand it out), fhir and
// record stay below the services.
func TestLayers(t *testing.T) {
	pkgs := load(t, "./clinical", "./interop", "./interop/pathology", "./interop/hl7v2", "./fhir", "./record")
	if len(pkgs) != 6 {
		t.Fatalf("loaded %d packages, want 6", len(pkgs))
	}
	for _, v := range layerViolations(pkgs, layerRules) {
		t.Error(v)
	}
}

// The layer check finds what is planted in testdata/badlayer (an import of
// the store, a value of a store type reached through another package, and a
// call into it), so it cannot pass by finding nothing.
func TestLayerCheckFindsPlantedViolations(t *testing.T) {
	pkgs := load(t, "./internal/house/testdata/badlayer")
	rules := map[string][]string{module + "/internal/house/testdata/badlayer": layerRules[module+"/interop"]}
	vs := strings.Join(layerViolations(pkgs, rules), "\n")
	for _, want := range []string{
		"uses package " + module + "/store (imported)",
		"uses " + module + "/store.WTx",
		"a value of a type of " + module + "/store (" + module + "/store.Store)",
	} {
		if !strings.Contains(vs, want) {
			t.Errorf("planted violation %q not found in:\n%s", want, vs)
		}
	}
}

// clinical's exported API hands out no store: no exported function, method
// or field of an exported type has a result or type from the store package
// (it takes one in, as clinical.New's options do).
func TestServicesDoNotExposeTheStore(t *testing.T) {
	pkgs := load(t, "./clinical")
	var bad []string
	check := func(where string, ty types.Type) {
		for _, path := range typePackages(ty) {
			if path == module+"/store" {
				bad = append(bad, where+" ("+types.TypeString(ty, nil)+")")
			}
		}
	}
	results := func(where string, sig *types.Signature) {
		for i := 0; i < sig.Results().Len(); i++ {
			check(where, sig.Results().At(i).Type())
		}
	}
	sc := pkgs[0].Types.Scope()
	for _, name := range sc.Names() {
		obj := sc.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Func:
			results(name, o.Type().(*types.Signature))
		case *types.TypeName:
			named, ok := o.Type().(*types.Named)
			if !ok {
				continue
			}
			for i := 0; i < named.NumMethods(); i++ {
				if m := named.Method(i); m.Exported() {
					results(name+"."+m.Name(), m.Type().(*types.Signature))
				}
			}
			if st, ok := named.Underlying().(*types.Struct); ok && name != "Options" {
				for i := 0; i < st.NumFields(); i++ {
					if f := st.Field(i); f.Exported() {
						if sig, ok := f.Type().(*types.Signature); ok {
							results(name+"."+f.Name(), sig)
						} else {
							check(name+"."+f.Name(), f.Type())
						}
					}
				}
			}
		}
	}
	for _, b := range bad {
		t.Errorf("clinical hands out the store: %s", b)
	}
}

// perKindMappingCalls lists calls, outside fhir, of a fhir.Context method
// that maps one record kind to its resources (PatientResource,
// EncounterResources…): the faces map records through the one table
// (Context.Resources, Resource, ExportResources), so a kind added to the
// table is carried by all of them.
func perKindMappingCalls(t *testing.T, pkgs []*packages.Package) []string {
	var entity *types.Interface
	for _, p := range pkgs {
		for _, d := range p.Imports {
			if d.PkgPath == module+"/record" {
				entity = d.Types.Scope().Lookup("Entity").Type().Underlying().(*types.Interface)
			}
		}
	}
	if entity == nil {
		t.Fatal("record is not among the packages' imports")
	}
	var out []string
	for _, p := range pkgs {
		for id, obj := range p.TypesInfo.Uses {
			fn, ok := obj.(*types.Func)
			if !ok || fn.Pkg() == nil || fn.Pkg().Path() != module+"/fhir" {
				continue
			}
			sig := fn.Type().(*types.Signature)
			recv := sig.Recv()
			if recv == nil || sig.Params().Len() != 1 || !strings.HasSuffix(types.TypeString(recv.Type(), nil), "fhir.Context") {
				continue
			}
			if pt := sig.Params().At(0).Type(); types.Implements(pt, entity) && !types.IsInterface(pt) {
				out = append(out, p.Fset.Position(id.Pos()).String()+": "+p.PkgPath+" maps a record kind itself: "+fn.Name())
			}
		}
	}
	sort.Strings(out)
	return out
}

// One FHIR mapping: the server, the remote store and interop map records
// through fhir's table, never kind by kind (fhir.TestEveryKindIsMapped
// proves the table covers every kind).
func TestOneFHIRMapping(t *testing.T) {
	pkgs := load(t, "./server", "./store/remote", "./interop/...", "./commands", "./tui")
	for _, v := range perKindMappingCalls(t, pkgs) {
		t.Error(v)
	}
	planted := perKindMappingCalls(t, load(t, "./internal/house/testdata/badmapping"))
	if len(planted) != 1 || !strings.Contains(planted[0], "PatientResource") {
		t.Errorf("the planted per-kind mapping was not found: %q", planted)
	}
}
