package scaffold

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/purista-go/purista/internal/project"
)

// ErrExists is wrapped when `add` is asked for a service, command or subscription that
// is already there.
var ErrExists = errors.New("already exists")

// workspace is an existing project an `add` operation works on.
type workspace struct {
	m    *project.Manifest
	plan *Plan
}

// openProject finds the project containing dir.
func openProject(dir string) (*workspace, error) {
	m, root, err := project.Find(dir)
	if err != nil {
		if errors.Is(err, project.ErrNotFound) {
			return nil, fmt.Errorf("%w; run `purista add` inside a project, or create one with `purista new shop`", err)
		}
		return nil, err
	}
	return &workspace{m: m, plan: &Plan{Root: root}}, nil
}

// service returns the data of the named service of the project.
func (w *workspace) service(name string) (ServiceData, error) {
	s, ok := w.m.Service(name)
	if !ok {
		return ServiceData{}, fmt.Errorf("%w: the project has no service %q; services: %s (add one with `purista add service %s`)",
			ErrInvalidInput, name, strings.Join(w.m.ServiceNames(), ", "), name)
	}
	return w.serviceData(s), nil
}

// serviceData derives the data of a service entry of purista.yaml, with the contract's
// package name as declared in its files.
func (w *workspace) serviceData(s project.Service) ServiceData {
	sd := newServiceData(w.m.Module, s.Name, s.Version)
	sd.Dir = path.Clean(filepath.ToSlash(s.Path))
	sd.ContractImport = w.m.Module + "/" + sd.Dir
	sd.ImplImport = sd.ContractImport + "/service"
	if info, err := scanPackage(w.abs(sd.Dir)); err == nil && info.name != "" {
		sd.Pkg = info.name
	}
	return sd
}

func (w *workspace) abs(rel string) string {
	return filepath.Join(w.plan.Root, filepath.FromSlash(rel))
}

// AddService plans a new service NAME (version: "1" when empty) in the project that
// contains dir: its contract and implementation packages, its entry in purista.yaml and
// its registration in the project's main.go.
func AddService(dir, name, version string) (*Plan, error) {
	if version == "" {
		version = "1"
	}
	version = NormalizeVersion(version)
	if err := errors.Join(ValidateServiceName(name), ValidateVersion(version)); err != nil {
		return nil, err
	}
	w, err := openProject(dir)
	if err != nil {
		return nil, err
	}
	for _, s := range w.m.Services {
		if strings.EqualFold(s.Name, name) && s.Version == version {
			return nil, fmt.Errorf("service %s v%s %w in %s (at %s): pick another name, or another --version; nothing was written", s.Name, s.Version, ErrExists, project.FileName, s.Path)
		}
	}
	sd := newServiceData(w.m.Module, name, version)
	if entries, err := os.ReadDir(w.abs(sd.Dir)); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s %w and is not empty: pick another name, or another --version; nothing was written", sd.Dir, ErrExists)
	}
	if err := planService(w.plan, sd); err != nil {
		return nil, err
	}
	manifest, err := w.plan.read(project.FileName)
	if err != nil {
		return nil, err
	}
	manifest, err = project.AppendService(manifest, project.Service{Name: name, Version: version, Path: sd.Dir})
	if err != nil {
		return nil, err
	}
	if err := w.plan.put(project.FileName, manifest); err != nil {
		return nil, err
	}
	mainFile := path.Join(path.Clean(strings.TrimPrefix(w.m.Main, "./")), "main.go")
	src, err := w.plan.read(mainFile)
	if err != nil {
		return nil, fmt.Errorf("register the service in the binary: %w", err)
	}
	if src, err = addImport(mainFile, src, sd.ImplAlias, sd.ImplImport); err != nil {
		return nil, err
	}
	if src, err = appendMainArg(mainFile, src, sd.ImplAlias+".New()"); err != nil {
		return nil, err
	}
	if src, err = formatGo(mainFile, src); err != nil {
		return nil, err
	}
	if err := w.plan.put(mainFile, src); err != nil {
		return nil, err
	}
	w.plan.Next = append(w.plan.Next, fmt.Sprintf("purista add command %s <name>   # give it a command", name))
	return w.plan, nil
}

// planService adds the files of a new service to p.
func planService(p *Plan, sd ServiceData) error {
	for _, f := range []struct{ rel, tmpl string }{
		{"contract.go", "service/contract.go.tmpl"},
		{"service/service.go", "service/service.go.tmpl"},
		{"service/service_test.go", "service/service_test.go.tmpl"},
	} {
		if err := p.create(path.Join(sd.Dir, f.rel), f.tmpl, sd); err != nil {
			return err
		}
	}
	return nil
}

// AddCommand plans command NAME of service SERVICE in the project that contains dir,
// with success event event ("" for none): the contract types and handle, the handler,
// its test, and the registration in the service's New. An event that a contract of the
// project already declares (another command's success event or a framework.Event) is
// refused with ErrInvalidInput unless sharedEvent says the sharing is meant: its
// subscribers would receive both.
func AddCommand(dir, service, name, event string, sharedEvent bool) (*Plan, error) {
	return AddCommandWith(dir, CommandOptions{Service: service, Name: name, Event: event, AllowSharedEvent: sharedEvent})
}

// CommandOptions describe a command for AddCommandWith.
type CommandOptions struct {
	// Service and Name name the service and the new command.
	Service, Name string
	// Event is the success event ("" for none); AllowSharedEvent lets it be one that
	// another contract of the project already declares.
	Event            string
	AllowSharedEvent bool
	// HTTP, when set, declares an endpoint (see ParseEndpoint for the accepted values).
	HTTP string
	// Public makes the endpoint public; it needs HTTP.
	Public bool
}

// AddCommandWith is AddCommand with an optional HTTP endpoint: with o.HTTP the contract
// declares framework.WithHTTP(framework.Endpoint{…}) and, when the path has parameters,
// a parameter type with a string field for each (framework.WithParameter) that the
// handler reads. Invalid input wraps ErrInvalidInput and plans nothing.
func AddCommandWith(dir string, o CommandOptions) (*Plan, error) {
	service, name, event := o.Service, o.Name, o.Event
	if err := ValidateCommandName("command", name); err != nil {
		return nil, err
	}
	if event != "" {
		if err := ValidateEventName(event); err != nil {
			return nil, err
		}
	}
	var endpoint *EndpointData
	switch {
	case o.HTTP != "":
		e, err := ParseEndpoint(o.HTTP, service, name, o.Public)
		if err != nil {
			return nil, err
		}
		endpoint = &e
	case o.Public:
		return nil, invalid("--public marks an HTTP endpoint public: give the endpoint too, e.g. --http POST:/%s --public", strings.ToLower(service))
	}
	w, err := openProject(dir)
	if err != nil {
		return nil, err
	}
	sd, err := w.service(service)
	if err != nil {
		return nil, err
	}
	if event != "" && !o.AllowSharedEvent {
		if owner, expr, err := w.findEvent(event); err != nil {
			return nil, err
		} else if owner != "" {
			return nil, invalid("event %q is already emitted by %s.%s: its subscribers would receive both; choose another name, e.g. %q, or pass --allow-shared-event if the sharing is meant",
				event, owner, expr, lowerFirst(name)+"Done")
		}
	}
	cd := CommandData{Service: sd, Name: lowerFirst(name), Ident: upperFirst(name), Handler: lowerFirst(name), Event: event, HTTP: endpoint}
	contractNames := []string{cd.Ident, cd.Ident + "In", cd.Ident + "Out"}
	if endpoint != nil && len(endpoint.Params) > 0 {
		contractNames = append(contractNames, cd.Ident+"Params")
	}
	if err := w.checkFree(sd, "command", name, contractNames, cd.Handler); err != nil {
		return nil, err
	}
	if endpoint != nil {
		if err := w.checkEndpointFree(sd, name, *endpoint); err != nil {
			return nil, err
		}
	}
	if err := planCommand(w.plan, cd); err != nil {
		return nil, err
	}
	if endpoint != nil {
		access := "callers need credentials (docs/http.md)"
		if endpoint.Public {
			access = "public: anyone may call it"
		}
		w.plan.Next = append(w.plan.Next, fmt.Sprintf("%s is served at %s %s; %s", cd.Name, endpoint.Method, endpoint.Path, access))
	}
	return w.plan, nil
}

// checkFree fails with ErrExists when a contract or implementation name is taken.
func (w *workspace) checkFree(sd ServiceData, what, name string, contractNames []string, implName string) error {
	contract, err := scanPackage(w.abs(sd.Dir))
	if err != nil {
		return err
	}
	impl, err := scanPackage(w.abs(sd.Dir + "/service"))
	if err != nil {
		return err
	}
	for _, n := range contractNames {
		if file, ok := contract.decls[n]; ok {
			return fmt.Errorf("%s %q %w in service %s: %s declares %s; pick another name; nothing was written", what, name, ErrExists, sd.Name, path.Join(sd.Dir, file), n)
		}
	}
	if file, ok := impl.decls[implName]; ok {
		return fmt.Errorf("%s %q %w in service %s: %s declares %s; pick another name; nothing was written", what, name, ErrExists, sd.Name, path.Join(sd.Dir, "service", file), implName)
	}
	imports, err := importNames(w.abs(sd.Dir + "/service"))
	if err != nil {
		return err
	}
	if file, ok := imports[implName]; ok {
		return invalid("%s name %q would name its handler %s, which %s uses as the name of an import: choose another, e.g. %q",
			what, name, implName, path.Join(sd.Dir, "service", file), implName+"Handler")
	}
	for _, s := range w.m.Services {
		if other := w.serviceData(s); other.Pkg == implName {
			return invalid("%s name %q would name its handler %s, the package name of service %s's contract, which handlers import: choose another, e.g. %q",
				what, name, implName, other.Name, implName+"Handler")
		}
	}
	return nil
}

// checkImports fails when an import the registration adds to the implementation
// package would clash with one of its declarations.
func (w *workspace) checkImports(sd ServiceData, imports ...importSpec) error {
	impl, err := scanPackage(w.abs(sd.Dir + "/service"))
	if err != nil {
		return err
	}
	for _, imp := range imports {
		if file, ok := impl.decls[imp.Alias]; ok {
			return invalid("%s declares %s, the name under which the subscription imports %s: rename that declaration (e.g. to %q) and try again",
				path.Join(sd.Dir, "service", file), imp.Alias, imp.Path, imp.Alias+"Handler")
		}
	}
	return nil
}

// planCommand adds a command's files and registration to p.
func planCommand(p *Plan, cd CommandData) error {
	file := snake(cd.Name)
	for _, f := range []struct{ rel, tmpl string }{
		{file + ".go", "command/contract.go.tmpl"},
		{"service/" + file + ".go", "command/handler.go.tmpl"},
		{"service/" + file + "_test.go", "command/handler_test.go.tmpl"},
	} {
		if err := p.create(path.Join(cd.Service.Dir, f.rel), f.tmpl, cd); err != nil {
			return err
		}
	}
	stmt := func(svc string) string {
		return fmt.Sprintf("framework.Handle(%s, %s.%s, %s)", svc, cd.Service.Pkg, cd.Ident, cd.Handler)
	}
	return register(p, cd.Service, stmt, importSpec{Alias: cd.Service.Pkg, Path: cd.Service.ContractImport})
}

// register splices a registration statement (and the imports it needs) into the
// service's service.go.
func register(p *Plan, sd ServiceData, stmt func(svc string) string, imports ...importSpec) error {
	rel := path.Join(sd.Dir, "service", "service.go")
	src, err := p.read(rel)
	if err != nil {
		return fmt.Errorf("register in %s: %w", rel, err)
	}
	for _, imp := range imports {
		if src, err = addImport(rel, src, imp.Alias, imp.Path); err != nil {
			return err
		}
	}
	if src, err = insertRegistration(rel, src, stmt); err != nil {
		return err
	}
	if src, err = formatGo(rel, src); err != nil {
		return err
	}
	return p.put(rel, src)
}

// AddSubscription plans subscription NAME of service SERVICE in the project that
// contains dir. With event, it subscribes to that event: one declared in a contract of
// the project (framework.Event or a command's WithSuccessEvent) with its typed body, or
// else a new declaration in the service's own contract with a json.RawMessage body (for
// events from services outside the project). With from instead, it subscribes to every
// message that service sends.
func AddSubscription(dir, service, name, event, from string) (*Plan, error) {
	if err := ValidateCommandName("subscription", name); err != nil {
		return nil, err
	}
	switch {
	case (event == "") == (from == ""):
		return nil, invalid("give exactly one of --event NAME or --from SERVICE, e.g. --event invoiceSent")
	case event != "":
		if err := ValidateEventName(event); err != nil {
			return nil, err
		}
	default:
		if err := ValidateServiceName(from); err != nil {
			return nil, err
		}
	}
	w, err := openProject(dir)
	if err != nil {
		return nil, err
	}
	sd, err := w.service(service)
	if err != nil {
		return nil, err
	}
	sub := SubscriptionData{Service: sd, Name: lowerFirst(name), Ident: upperFirst(name), Handler: lowerFirst(name), FromService: from}
	if err := w.checkFree(sd, "subscription", name, nil, sub.Handler); err != nil {
		return nil, err
	}
	if from != "" {
		s, ok := w.m.Service(from)
		if !ok {
			var known []string
			for _, k := range w.m.Services {
				known = append(known, k.Name)
			}
			return nil, invalid("--from %q is not a service of this project (purista.yaml lists %s): name one of them, or use --event NAME for an event of a service outside the project",
				from, strings.Join(known, ", "))
		}
		sub.FromService, sub.FromVersion = s.Name, s.Version
	} else if err := w.resolveEvent(&sub, event); err != nil {
		return nil, err
	}
	file := snake(sub.Name)
	for _, f := range []struct{ rel, tmpl string }{
		{"service/" + file + ".go", "subscription/handler.go.tmpl"},
		{"service/" + file + "_test.go", "subscription/handler_test.go.tmpl"},
	} {
		if err := w.plan.create(path.Join(sd.Dir, f.rel), f.tmpl, sub); err != nil {
			return nil, err
		}
	}
	stmt := func(svc string) string {
		if sub.FromService != "" {
			return fmt.Sprintf("framework.SubscribeMessages(%s, %q, %s, framework.FromSender(%q, %q, \"\"))", svc, sub.Name, sub.Handler, sub.FromService, sub.FromVersion)
		}
		return fmt.Sprintf("framework.Subscribe(%s, %q, %s, %s)", svc, sub.Name, sub.EventExpr, sub.Handler)
	}
	var imports []importSpec
	if sub.FromService == "" {
		imports = append(imports, sub.EventImport)
	}
	if err := w.checkImports(sd, append(imports, sub.Imports...)...); err != nil {
		return nil, err
	}
	if err := register(w.plan, sd, stmt, imports...); err != nil {
		return nil, err
	}
	return w.plan, nil
}

// ownedEvent is an event declaration and the service whose contract holds it.
type ownedEvent struct {
	owner ServiceData
	eventDecl
}

// events lists the event declarations of every contract of the project, in
// purista.yaml's service order.
func (w *workspace) events() ([]ownedEvent, error) {
	var out []ownedEvent
	err := w.scanContracts(func(sd ServiceData, info pkgInfo) {
		for _, ev := range info.events {
			out = append(out, ownedEvent{owner: sd, eventDecl: ev})
		}
	})
	return out, err
}

// scanContracts calls fn with the contract package of every service of the project, in
// purista.yaml's order.
func (w *workspace) scanContracts(fn func(sd ServiceData, info pkgInfo)) error {
	for _, s := range w.m.Services {
		sd := w.serviceData(s)
		info, err := scanPackage(w.abs(sd.Dir))
		if err != nil {
			return err
		}
		fn(sd, info)
	}
	return nil
}

// findEvent returns the service and EventRef expression of the project's declaration of
// event ("" when no contract of the project declares it).
func (w *workspace) findEvent(event string) (owner, expr string, err error) {
	events, err := w.events()
	if err != nil {
		return "", "", err
	}
	for _, ev := range events {
		if ev.name == event {
			return ev.owner.Name, ev.expr, nil
		}
	}
	return "", "", nil
}

// resolveEvent finds event in the project's contracts (or plans its declaration in the
// subscriber's contract) and fills the subscription's event fields.
func (w *workspace) resolveEvent(sub *SubscriptionData, event string) error {
	sub.EventName = event
	events, err := w.events()
	if err != nil {
		return err
	}
	for _, ev := range events {
		owner := ev.owner
		if ev.name != event || ev.payload == "" {
			continue
		}
		sub.EventExpr = owner.Pkg + "." + ev.expr
		sub.EventImport = importSpec{Alias: owner.Pkg, Path: owner.ContractImport}
		sub.PayloadType = ev.payload
		if ev.local {
			sub.PayloadType = owner.Pkg + "." + ev.payload
			sub.Imports = append(sub.Imports, sub.EventImport)
		}
		if ev.imp != nil {
			sub.Imports = append(sub.Imports, *ev.imp)
		}
		return nil
	}
	// Not declared in the project: declare it in the subscriber's own contract.
	ident := upperFirst(event) + "Event"
	info, err := scanPackage(w.abs(sub.Service.Dir))
	if err != nil {
		return err
	}
	if file, ok := info.decls[ident]; ok {
		return fmt.Errorf("%s already declares %s, which is not a framework.Event; rename it and try again", path.Join(sub.Service.Dir, file), ident)
	}
	rel := path.Join(sub.Service.Dir, snake(event)+"_event.go")
	src := fmt.Sprintf(`package %s

import (
	"encoding/json"

	"github.com/purista-go/purista/pkg/framework"
)

// %s is the event %s, emitted outside this project (or not written yet). Its body is
// kept raw: replace json.RawMessage with the body's Go type once it is known.
var %s = framework.Event[json.RawMessage](Contract, %s)
`, sub.Service.Pkg, ident, strconv.Quote(event), ident, strconv.Quote(event))
	out, err := formatGo(rel, []byte(src))
	if err != nil {
		return err
	}
	if _, err := os.Lstat(w.abs(rel)); err == nil {
		return fmt.Errorf("%s %w; nothing was written", rel, ErrExists)
	}
	if err := w.plan.put(rel, out); err != nil {
		return err
	}
	sub.EventExpr = sub.Service.Pkg + "." + ident
	sub.PayloadType = "json.RawMessage"
	sub.EventImport = importSpec{Alias: sub.Service.Pkg, Path: sub.Service.ContractImport}
	sub.Imports = append(sub.Imports, importSpec{Alias: "json", Path: "encoding/json"})
	w.plan.Next = append(w.plan.Next, fmt.Sprintf("no contract of the project declares the event %q, so %s declares it with a raw JSON body", event, rel))
	return nil
}

// Event is an event a contract of a project declares.
type Event struct {
	// Name is the event name on the bridge ("invoiceSent").
	Name string
	// Service is the service whose contract declares it.
	Service string
}

// ProjectEvents lists the events the contracts of the project that contains dir
// declare (commands' success events and framework.Event values), in purista.yaml's
// service order; an event declared twice is listed once.
func ProjectEvents(dir string) ([]Event, error) {
	w, err := openProject(dir)
	if err != nil {
		return nil, err
	}
	events, err := w.events()
	if err != nil {
		return nil, err
	}
	var out []Event
	seen := map[string]bool{}
	for _, ev := range events {
		if !seen[ev.name] {
			seen[ev.name] = true
			out = append(out, Event{Name: ev.name, Service: ev.owner.Name})
		}
	}
	return out, nil
}
