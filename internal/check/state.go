package check

import (
	"go/ast"
	"go/token"
	"go/types"
)

// immutableNamed are named types whose package-level values are definitions or
// read-only after initialisation, by package path and type name.
var immutableNamed = map[[2]string]bool{
	{frameworkPath, "CommandRef"}: true, {frameworkPath, "EventRef"}: true, {frameworkPath, "Service"}: true,
	{"regexp", "Regexp"}: true, {"text/template", "Template"}: true, {"html/template", "Template"}: true,
	{"time", "Location"}: true, {"time", "Duration"}: true, {"log/slog", "Level"}: true,
}

// state reports package-level variables that hold mutable state: variables of a type
// that can change in place (maps, slices, channels, pointers, sync and atomic values,
// interfaces other than error), and any package-level variable assigned outside init.
func (a *pkgAnalysis) state(info *types.Info) {
	scope := a.pkg.Types.Scope()
	written := map[types.Object]token.Pos{}
	for _, file := range a.pkg.Syntax {
		for _, decl := range file.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil || (fd.Recv == nil && fd.Name.Name == "init") {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				mark := func(e ast.Expr) {
					if obj := rootVar(e, info); obj != nil && obj.Parent() == scope {
						if _, seen := written[obj]; !seen {
							written[obj] = e.Pos()
						}
					}
				}
				switch n := n.(type) {
				case *ast.AssignStmt:
					if n.Tok != token.DEFINE {
						for _, l := range n.Lhs {
							mark(l)
						}
					}
				case *ast.IncDecStmt:
					mark(n.X)
				case *ast.UnaryExpr:
					if n.Op == token.AND {
						mark(n.X)
					}
				}
				return true
			})
		}
	}
	for _, file := range a.pkg.Syntax {
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					obj, _ := info.Defs[id].(*types.Var)
					if obj == nil || id.Name == "_" {
						continue
					}
					if wpos, ok := written[obj]; ok {
						a.f.State = append(a.f.State, a.at(id.Pos(), "package-level var %s in service %s is written at run time (line %d): state that a second instance does not share",
							id.Name, a.service, a.pkg.Fset.Position(wpos).Line))
						continue
					}
					if mutable(obj.Type(), 0) {
						a.f.State = append(a.f.State, a.at(id.Pos(), "package-level var %s (%s) in service %s is mutable state that a second instance does not share",
							id.Name, types.TypeString(obj.Type(), types.RelativeTo(a.pkg.Types)), a.service))
					}
				}
			}
		}
	}
}

// rootVar returns the variable at the root of x, x.f, x[i] or *x.
func rootVar(e ast.Expr, info *types.Info) types.Object {
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.Ident:
			v, _ := info.Uses[x].(*types.Var)
			if v == nil {
				return nil
			}
			return v
		case *ast.SelectorExpr:
			if _, isPkg := info.Uses[identOf(x.X)].(*types.PkgName); isPkg {
				v, _ := info.Uses[x.Sel].(*types.Var)
				if v == nil {
					return nil
				}
				return v
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		default:
			return nil
		}
	}
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := e.(*ast.Ident)
	return id
}

// mutable reports whether a value of type t can change in place.
func mutable(t types.Type, depth int) bool {
	if depth > 8 {
		return false
	}
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() != nil {
		path := n.Obj().Pkg().Path()
		if immutableNamed[[2]string{path, n.Obj().Name()}] {
			return false
		}
		if path == "sync" || path == "sync/atomic" {
			return true
		}
	}
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		if n, ok := types.Unalias(p.Elem()).(*types.Named); ok && n.Obj().Pkg() != nil &&
			immutableNamed[[2]string{n.Obj().Pkg().Path(), n.Obj().Name()}] {
			return false
		}
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Map, *types.Slice, *types.Chan:
		return true
	case *types.Interface:
		return !types.Identical(t, types.Universe.Lookup("error").Type())
	case *types.Array:
		return mutable(u.Elem(), depth+1)
	case *types.Struct:
		for i := range u.NumFields() {
			if mutable(u.Field(i).Type(), depth+1) {
				return true
			}
		}
	}
	return false
}
