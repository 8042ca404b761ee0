package scaffold

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// frameworkImport is the import path of the framework package in user code.
const frameworkImport = FrameworkModule + "/pkg/framework"

// appImport is the import path of the package that runs the services in main.go.
const appImport = FrameworkModule + "/pkg/framework/app"

// addImport returns src with `alias "path"` imported (unchanged when path already is).
func addImport(file string, src []byte, alias, path string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil, notValidGo(err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if p == path {
			return src, nil
		}
		if imp.Name != nil && imp.Name.Name == alias {
			return nil, fmt.Errorf("%s already imports another package as %s: rename that import and try again", file, alias)
		}
	}
	spec := alias + " " + strconv.Quote(path)
	if len(f.Imports) == 0 {
		at := fset.Position(f.Name.End()).Offset
		return splice(src, at, "\n\nimport "+spec+"\n"), nil
	}
	last := f.Imports[len(f.Imports)-1]
	at := fset.Position(last.End()).Offset
	if last.Comment != nil {
		at = fset.Position(last.Comment.End()).Offset
	}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT && !g.Lparen.IsValid() && g.End() == last.End() {
			return splice(src, at, "\nimport "+spec), nil
		}
	}
	return splice(src, at, "\n\t"+spec), nil
}

// notValidGo says what to do about a Go file that purista add must read or edit but
// that does not parse (err names the file, line and column).
func notValidGo(err error) error {
	return fmt.Errorf("%w: purista add reads this file and needs it to be valid Go; fix it and run the command again (nothing was written)", err)
}

// insertRegistration inserts the statement stmt(svcVar) before the final `return <svc>`
// of function New in src: the place where a service registers its handlers.
func insertRegistration(file string, src []byte, stmt func(svcVar string) string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, notValidGo(err)
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != "New" || fn.Body == nil || len(fn.Body.List) == 0 {
			continue
		}
		ret, ok := fn.Body.List[len(fn.Body.List)-1].(*ast.ReturnStmt)
		if !ok || len(ret.Results) != 1 {
			break
		}
		id, ok := ret.Results[0].(*ast.Ident)
		if !ok {
			break
		}
		return splice(src, fset.Position(ret.Pos()).Offset, stmt(id.Name)+"\n"), nil
	}
	return nil, fmt.Errorf("%s has no func New that ends with `return svc`, where purista adds registrations: restore that shape, or register by hand", file)
}

// appendMainArg adds arg to the app.New(…) call of a main.go (package
// pkg/framework/app, under whatever name main.go imports it).
func appendMainArg(file string, src []byte, arg string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, notValidGo(err)
	}
	appName := importName(f, appImport, "app")
	var call *ast.CallExpr
	ast.Inspect(f, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || call != nil {
			return call == nil
		}
		if isSelector(c.Fun, appName, "New") {
			call = c
		}
		return true
	})
	if call == nil || call.Ellipsis.IsValid() {
		return nil, fmt.Errorf("%s has no %s.New(…) call listing the services: add %s to it by hand", file, appName, arg)
	}
	rparen := fset.Position(call.Rparen).Offset
	if len(call.Args) == 0 {
		return splice(src, rparen, "\n"+arg+",\n"), nil
	}
	lastEnd := fset.Position(call.Args[len(call.Args)-1].End()).Offset
	if strings.Contains(string(src[lastEnd:rparen]), ",") {
		return splice(src, rparen, arg+",\n"), nil
	}
	return splice(src, lastEnd, ",\n"+arg+",\n"), nil
}

// importName returns the name under which f imports path (def when it does not).
func importName(f *ast.File, path, def string) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path && imp.Name != nil {
			return imp.Name.Name
		}
	}
	return def
}

func splice(src []byte, at int, text string) []byte {
	out := make([]byte, 0, len(src)+len(text))
	out = append(out, src[:at]...)
	out = append(out, text...)
	return append(out, src[at:]...)
}

// pkgInfo is what purista needs to know about a Go package folder.
type pkgInfo struct {
	// name is the package name ("" for an empty folder).
	name string
	// decls are the package-level names (types, funcs, vars, consts) and the file each
	// is declared in.
	decls map[string]string
	// events are the events the package declares.
	events []eventDecl
	// endpoints are the HTTP endpoints the package's commands declare.
	endpoints []endpointDecl
}

// endpointDecl is an HTTP endpoint a contract declares with framework.WithHTTP.
type endpointDecl struct {
	command      string // command name on the bridge (the variable name when not a literal)
	method, path string
}

// eventDecl is an event found in a contract package.
type eventDecl struct {
	name    string // event name on the bridge
	expr    string // Go expression of the EventRef, relative to the package ("Greet.SuccessEvent()")
	payload string // payload type, relative to the package ("GreetOut")
	local   bool   // payload is declared in the package (needs the package qualifier)
	imp     *importSpec
}

// importSpec is an import a generated file needs.
type importSpec struct{ Alias, Path string }

// scanPackage parses the non-test Go files of dir. A missing folder is an empty package.
func scanPackage(dir string) (pkgInfo, error) {
	info := pkgInfo{decls: map[string]string{}}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return info, nil
	}
	if err != nil {
		return info, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return info, notValidGo(err)
		}
		info.name = f.Name.Name
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					info.decls[d.Name.Name] = name
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						info.decls[s.Name.Name] = name
					case *ast.ValueSpec:
						for i, id := range s.Names {
							info.decls[id.Name] = name
							if i < len(s.Values) {
								info.events = append(info.events, eventsOf(f, id.Name, s.Values[i])...)
								if e, ok := endpointOf(f, id.Name, s.Values[i]); ok {
									info.endpoints = append(info.endpoints, e)
								}
							}
						}
					}
				}
			}
		}
	}
	return info, nil
}

// importNames returns the names under which the Go files of dir (test files included)
// import packages, each with a file that uses it. A missing folder imports nothing.
func importNames(dir string) (map[string]string, error) {
	names := map[string]string{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return names, nil
	}
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
		if err != nil {
			return nil, notValidGo(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := path.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = e.Name()
		}
	}
	return names, nil
}

// eventsOf recognises `framework.Event[T](Contract, "name")` and
// `framework.Command[In, Out](Contract, …, framework.WithSuccessEvent("name"), …)`.
func eventsOf(f *ast.File, varName string, v ast.Expr) []eventDecl {
	fw := importName(f, frameworkImport, "framework")
	call, ok := v.(*ast.CallExpr)
	if !ok {
		return nil
	}
	isFw := func(e ast.Expr, name string) bool { return isSelector(e, fw, name) }
	switch fun := call.Fun.(type) {
	case *ast.IndexExpr: // framework.Event[T](Contract, "name")
		if !isFw(fun.X, "Event") || len(call.Args) != 2 {
			return nil
		}
		if name, ok := stringLit(call.Args[1]); ok {
			return []eventDecl{typedEvent(f, name, varName, fun.Index)}
		}
	case *ast.IndexListExpr: // framework.Command[In, Out](…)
		if !isFw(fun.X, "Command") || len(fun.Indices) != 2 {
			return nil
		}
		for _, a := range call.Args {
			if opt, ok := a.(*ast.CallExpr); ok && isFw(opt.Fun, "WithSuccessEvent") && len(opt.Args) == 1 {
				if name, ok := stringLit(opt.Args[0]); ok {
					return []eventDecl{typedEvent(f, name, varName+".SuccessEvent()", fun.Indices[1])}
				}
			}
		}
	}
	return nil
}

// endpointOf recognises `framework.Command[In, Out](Contract, "name",
// framework.WithHTTP(framework.Endpoint{Method: "GET", Path: "/x"}), …)` whose method
// (POST when left out) and path are string literals.
func endpointOf(f *ast.File, varName string, v ast.Expr) (endpointDecl, bool) {
	fw := importName(f, frameworkImport, "framework")
	isFw := func(e ast.Expr, name string) bool { return isSelector(e, fw, name) }
	call, ok := v.(*ast.CallExpr)
	if !ok {
		return endpointDecl{}, false
	}
	if fun, ok := call.Fun.(*ast.IndexListExpr); !ok || !isFw(fun.X, "Command") || len(call.Args) < 2 {
		return endpointDecl{}, false
	}
	e := endpointDecl{command: varName, method: "POST"}
	if name, ok := stringLit(call.Args[1]); ok {
		e.command = name
	}
	for _, a := range call.Args[2:] {
		opt, ok := a.(*ast.CallExpr)
		if !ok || !isFw(opt.Fun, "WithHTTP") || len(opt.Args) != 1 {
			continue
		}
		lit, ok := opt.Args[0].(*ast.CompositeLit)
		if !ok {
			return endpointDecl{}, false
		}
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := kv.Key.(*ast.Ident)
			if !ok {
				continue
			}
			val, isLit := stringLit(kv.Value)
			switch key.Name {
			case "Method":
				if !isLit {
					return endpointDecl{}, false
				}
				e.method = strings.ToUpper(val)
			case "Path":
				if !isLit {
					return endpointDecl{}, false
				}
				e.path = val
			}
		}
		return e, e.path != ""
	}
	return endpointDecl{}, false
}

// isSelector reports whether e is the selector pkg.name.
func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg
}

// typedEvent describes an event whose payload type is the expression t of file f.
func typedEvent(f *ast.File, name, expr string, t ast.Expr) eventDecl {
	ev := eventDecl{name: name, expr: expr}
	switch t := t.(type) {
	case *ast.Ident:
		ev.payload = t.Name
		ev.local = !slices.Contains([]string{"any", "bool", "string", "int", "int64", "float64"}, t.Name)
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok {
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if (imp.Name != nil && imp.Name.Name == x.Name) || (imp.Name == nil && filepath.Base(p) == x.Name) {
					ev.payload = x.Name + "." + t.Sel.Name
					ev.imp = &importSpec{Alias: x.Name, Path: p}
				}
			}
		}
	}
	return ev
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
