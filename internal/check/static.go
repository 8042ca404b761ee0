package check

import (
	"context"
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/go/packages"

	"github.com/purista-go/purista/internal/project"
	fwapp "github.com/purista-go/purista/pkg/framework/app"
)

// frameworkPath is the import path of the public framework package.
const frameworkPath = "github.com/purista-go/purista/pkg/framework"

// bridgeImports are packages that construct or configure a transport. Service code
// importing one of them chooses its bridge itself instead of leaving it to start-up.
var bridgeImports = []string{
	frameworkPath + "/memory", frameworkPath + "/nats", frameworkPath + "/amqp", frameworkPath + "/mqtt",
	"github.com/nats-io/nats.go", "github.com/nats-io/nats-server", "github.com/rabbitmq/amqp091-go",
	"github.com/streadway/amqp", "github.com/eclipse/paho.golang", "github.com/eclipse/paho.mqtt.golang",
	"github.com/mochi-mqtt/server",
}

// brokerURLRE matches a string literal that is a broker URL.
var brokerURLRE = regexp.MustCompile(`(?i)^(nats|tls|amqps?|mqtts?|ssl|wss?)://`)

// bridgeSettings are the start-up settings that choose the transport or the process
// layout; service code reading them decides its own distribution.
var bridgeSettings = map[string]bool{"PURISTA_BRIDGE": true, "PURISTA_SERVICES": true, "PURISTA_LOCAL_DELIVERY": true}

// callSite is one cross-service invocation found in service code.
type callSite struct {
	Caller, Callee string // service names
	Pos            Evidence
}

// facts is what static analysis found in the service packages of a project.
type facts struct {
	Packages      int
	External      []Evidence // #2: bridge choices in service code
	State         []Evidence // #3: package-level mutable state
	Calls         []callSite // #4: cross-service calls
	Unbounded     []Evidence // #4: calls or commands with a timeout above the bound
	NoRetry       []Evidence // #4: subscriptions without retries
	Subscriptions int
}

// analyze loads every service package of the project (contract, implementation and
// their sub-packages) with go/packages and inspects their syntax and types.
func analyze(ctx context.Context, root string, m *project.Manifest, env []string, bound time.Duration) (*facts, error) {
	var patterns []string
	for _, s := range m.Services {
		patterns = append(patterns, "./"+filepath.ToSlash(filepath.Clean(s.Path))+"/...")
	}
	cfg := &packages.Config{Context: ctx, Dir: root, Env: env,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("load service packages: %w", err)
	}
	var errs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("load service packages:\n%s", strings.Join(errs, "\n"))
	}
	// The contract package of each service, by import path, to name callees.
	contracts := map[string]string{}
	for _, s := range m.Services {
		contracts[m.Module+"/"+filepath.ToSlash(filepath.Clean(s.Path))] = s.Name
	}
	f := &facts{}
	for _, p := range pkgs {
		svc := serviceOf(m, root, p)
		if svc == "" {
			continue
		}
		f.Packages++
		a := &pkgAnalysis{f: f, root: root, pkg: p, service: svc, contracts: contracts, bound: bound}
		a.run()
	}
	for _, list := range [][]Evidence{f.External, f.State, f.Unbounded, f.NoRetry} {
		sortEvidence(list)
	}
	return f, nil
}

// serviceOf returns the service whose folder holds package p.
func serviceOf(m *project.Manifest, root string, p *packages.Package) string {
	if len(p.GoFiles) == 0 {
		return ""
	}
	rel, err := filepath.Rel(root, filepath.Dir(p.GoFiles[0]))
	if err != nil {
		return ""
	}
	rel = filepath.ToSlash(rel)
	for _, s := range m.Services {
		sp := filepath.ToSlash(filepath.Clean(s.Path))
		if rel == sp || strings.HasPrefix(rel, sp+"/") {
			return s.Name
		}
	}
	return ""
}

func sortEvidence(list []Evidence) {
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].File != list[j].File {
			return list[i].File < list[j].File
		}
		return list[i].Line < list[j].Line
	})
}

// pkgAnalysis inspects one package.
type pkgAnalysis struct {
	f         *facts
	root      string
	pkg       *packages.Package
	service   string
	contracts map[string]string
	bound     time.Duration
}

func (a *pkgAnalysis) at(pos token.Pos, format string, args ...any) Evidence {
	p := a.pkg.Fset.Position(pos)
	file := p.Filename
	if rel, err := filepath.Rel(a.root, file); err == nil {
		file = filepath.ToSlash(rel)
	}
	return Evidence{Message: fmt.Sprintf(format, args...), File: file, Line: p.Line}
}

func (a *pkgAnalysis) run() {
	info := a.pkg.TypesInfo
	for _, file := range a.pkg.Syntax {
		for _, imp := range file.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			for _, b := range bridgeImports {
				if path == b || strings.HasPrefix(path, b+"/") {
					a.f.External = append(a.f.External, a.at(imp.Pos(), "service %s imports the transport package %s", a.service, path))
				}
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				a.literal(n)
			case *ast.CallExpr:
				a.call(n, info)
			}
			return true
		})
	}
	a.state(info)
}

// literal reports broker URLs and bridge settings written in service code.
func (a *pkgAnalysis) literal(lit *ast.BasicLit) {
	if lit.Kind != token.STRING {
		return
	}
	s := constant.StringVal(constant.MakeFromLiteral(lit.Value, token.STRING, 0))
	switch {
	case brokerURLRE.MatchString(s):
		a.f.External = append(a.f.External, a.at(lit.Pos(), "broker URL %q hard-coded in service %s", redact(s), a.service))
	case bridgeSettings[s]:
		a.f.External = append(a.f.External, a.at(lit.Pos(), "service %s reads the start-up setting %s: the bridge and process layout belong to the deployment", a.service, s))
	}
}

// redact masks the credentials in a URL.
func redact(s string) string { return fwapp.RedactURL(s) }

// calledFunc returns the package path and name of the function or method a call names.
func calledFunc(call *ast.CallExpr, info *types.Info) (*types.Func, *types.Selection) {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // generic instantiation f[T](…)
		fun = ix.X
	}
	if ix, ok := fun.(*ast.IndexListExpr); ok {
		fun = ix.X
	}
	switch e := fun.(type) {
	case *ast.Ident:
		fn, _ := info.Uses[e].(*types.Func)
		return fn, nil
	case *ast.SelectorExpr:
		if sel := info.Selections[e]; sel != nil {
			fn, _ := sel.Obj().(*types.Func)
			return fn, sel
		}
		fn, _ := info.Uses[e.Sel].(*types.Func)
		return fn, nil
	}
	return nil, nil
}

func (a *pkgAnalysis) call(call *ast.CallExpr, info *types.Info) {
	fn, sel := calledFunc(call, info)
	if fn == nil || fn.Pkg() == nil {
		return
	}
	path, name := fn.Pkg().Path(), fn.Name()
	for _, b := range bridgeImports {
		if path == b || strings.HasPrefix(path, b+"/") {
			a.f.External = append(a.f.External, a.at(call.Pos(), "service %s calls the bridge constructor %s.%s", a.service, fn.Pkg().Name(), name))
			return
		}
	}
	if path == frameworkPath+"/app" {
		a.f.External = append(a.f.External, a.at(call.Pos(), "service %s calls app.%s: bridge and runtime are chosen by the app's main, not by a service", a.service, name))
		return
	}
	if path != frameworkPath {
		return
	}
	switch {
	case sel == nil && name == "Start":
		a.f.External = append(a.f.External, a.at(call.Pos(), "service %s calls framework.%s: bridge and runtime are chosen by the app's main, not by a service", a.service, name))
	case sel == nil && (name == "Subscribe" || name == "SubscribeMessages"):
		a.f.Subscriptions++
	case sel == nil && name == "WithRetry" && len(call.Args) == 1:
		if n, ok := maxAttempts(call.Args[0], info); ok && n == 1 {
			a.f.NoRetry = append(a.f.NoRetry, a.at(call.Pos(), "subscription retry policy of service %s allows a single delivery (MaxAttempts: 1): a failed message is never retried", a.service))
		}
	case sel == nil && name == "WithTimeout" && len(call.Args) == 1:
		if d, ok := durationOf(call.Args[0], info); ok && d > a.bound {
			a.f.Unbounded = append(a.f.Unbounded, a.at(call.Pos(), "command timeout %v in service %s is above the bound %v", d, a.service, a.bound))
		}
	case sel != nil && (name == "Invoke" || name == "InvokeWith"):
		a.invoke(call, sel, info)
	}
}

// invoke records a CommandRef.Invoke call and checks the timeout of InvokeWith.
func (a *pkgAnalysis) invoke(call *ast.CallExpr, sel *types.Selection, info *types.Info) {
	recv := sel.Recv()
	if p, ok := recv.(*types.Pointer); ok {
		recv = p.Elem()
	}
	named, ok := recv.(*types.Named)
	if !ok || named.Obj().Name() != "CommandRef" {
		return
	}
	se, _ := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	callee := ""
	if se != nil {
		if obj := referenced(se.X, info); obj != nil && obj.Pkg() != nil {
			callee = a.contracts[obj.Pkg().Path()]
		}
	}
	pos := a.at(call.Pos(), "service %s invokes %s", a.service, exprString(se))
	if callee != "" && callee != a.service {
		a.f.Calls = append(a.f.Calls, callSite{Caller: a.service, Callee: callee, Pos: pos})
	}
	if sel.Obj().Name() == "InvokeWith" && len(call.Args) == 3 {
		if lit, ok := ast.Unparen(call.Args[2]).(*ast.CompositeLit); ok {
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if k, _ := kv.Key.(*ast.Ident); ok && k != nil && k.Name == "Timeout" {
					if d, ok := durationOf(kv.Value, info); ok && d > a.bound {
						a.f.Unbounded = append(a.f.Unbounded, a.at(kv.Pos(), "call %s waits up to %v, above the bound %v", exprString(se), d, a.bound))
					}
				}
			}
		}
	}
}

// referenced returns the object an expression such as emailv1.SendWelcome names.
func referenced(e ast.Expr, info *types.Info) types.Object {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return info.Uses[e]
	case *ast.SelectorExpr:
		return info.Uses[e.Sel]
	}
	return nil
}

func exprString(e ast.Expr) string {
	if e == nil {
		return "a command"
	}
	var b strings.Builder
	var walk func(ast.Expr)
	walk = func(e ast.Expr) {
		switch e := e.(type) {
		case *ast.Ident:
			b.WriteString(e.Name)
		case *ast.SelectorExpr:
			walk(e.X)
			b.WriteString("." + e.Sel.Name)
		default:
			b.WriteString("…")
		}
	}
	walk(e)
	return b.String()
}

// durationOf returns the constant value of a time.Duration expression.
func durationOf(e ast.Expr, info *types.Info) (time.Duration, bool) {
	tv, ok := info.Types[e]
	if !ok || tv.Value == nil {
		return 0, false
	}
	n, ok := constant.Int64Val(constant.ToInt(tv.Value))
	return time.Duration(n), ok
}

// maxAttempts returns the constant MaxAttempts of a RetryPolicy composite literal.
func maxAttempts(e ast.Expr, info *types.Info) (int64, bool) {
	lit, ok := ast.Unparen(e).(*ast.CompositeLit)
	if !ok {
		return 0, false
	}
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if k, _ := kv.Key.(*ast.Ident); k != nil && k.Name == "MaxAttempts" {
				if tv, ok := info.Types[kv.Value]; ok && tv.Value != nil {
					return constant.Int64Val(constant.ToInt(tv.Value))
				}
			}
		}
	}
	return 0, false
}
