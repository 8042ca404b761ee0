// Package scaffold renders the embedded templates (package templates) into a new purista
// project, or into a new service, command or subscription of an existing one.
//
// Every operation is planned in memory first: names are validated, templates rendered
// and gofmt-formatted, registrations spliced into main.go, service.go and purista.yaml.
// The result is a Plan, which the CLI prints (--dry-run) or applies all or nothing, so
// that a failure never leaves a half-written project behind.
//
//	plan, err := scaffold.NewProject(scaffold.ProjectOptions{Name: "shop", Bridge: "nats"})
//	if err == nil { err = plan.Apply() }
package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ServiceData is what service, command and subscription templates know of a service.
type ServiceData struct {
	// Name is the service name on the bridge ("Billing").
	Name string
	// Version is the service version ("1").
	Version string
	// Dir is the contract folder relative to the root ("services/billing/v1").
	Dir string
	// Pkg is the contract package name ("billingv1").
	Pkg string
	// ContractImport is the contract's import path.
	ContractImport string
	// ImplImport is the implementation's import path (ContractImport + "/service").
	ImplImport string
	// ImplAlias is the implementation's import name in main.go ("billingv1svc").
	ImplAlias string
	// Description is the service description given to framework.NewService.
	Description string
}

// newServiceData derives the names of a service of the project with the given module.
func newServiceData(module, name, version string) ServiceData {
	dir := path.Join("services", strings.ToLower(name), "v"+version)
	pkg := strings.ToLower(name) + "v" + version
	return ServiceData{
		Name: name, Version: version, Dir: dir, Pkg: pkg,
		ContractImport: module + "/" + dir, ImplImport: module + "/" + dir + "/service",
		ImplAlias: pkg + "svc", Description: name + " service",
	}
}

// CommandData is the data of the command templates.
type CommandData struct {
	// Service is the owning service.
	Service ServiceData
	// Name is the command name on the bridge ("sendInvoice").
	Name string
	// Ident is the Go name of the command handle ("SendInvoice"); the types are
	// Ident+"In" and Ident+"Out".
	Ident string
	// Handler is the handler function's name ("sendInvoice").
	Handler string
	// Event is the success event name, or "".
	Event string
	// HTTP is the command's endpoint, or nil when it is not on HTTP.
	HTTP *EndpointData
}

// SubscriptionData is the data of the subscription templates.
type SubscriptionData struct {
	// Service is the subscribing service.
	Service ServiceData
	// Name is the subscription name ("onInvoiceSent").
	Name string
	// Ident is Name with an upper-case first letter (for the test's name).
	Ident string
	// Handler is the handler function's name.
	Handler string
	// EventName is the event subscribed to ("" with FromService).
	EventName string
	// EventExpr is the Go expression of the EventRef ("billingv1.SendInvoice.SuccessEvent()").
	EventExpr string
	// PayloadType is the Go type of the event body ("billingv1.SendInvoiceOut").
	PayloadType string
	// Imports are the imports the event body's type needs (handler and test files).
	Imports []importSpec
	// EventImport is the contract package that declares the event (for service.go).
	EventImport importSpec
	// FromService, when set, subscribes to every message from that service instead of
	// one event (framework.SubscribeMessages with framework.FromSender).
	FromService string
	// FromVersion is FromService's version when known ("" matches any).
	FromVersion string
}

// ProjectData is the data of the project templates.
type ProjectData struct {
	// Name is the project name.
	Name string
	// Module is the Go module path.
	Module string
	// Main is the binary's package ("./cmd/shop").
	Main string
	// GoVersion is the go line of go.mod.
	GoVersion string
	// Framework is the framework dependency.
	Framework Framework
	// Services are the project's services.
	Services []ServiceData
	// Profiles are the deployment profiles, sorted by name.
	Profiles []ProfileData
	// BrokerURL is the broker of the chosen bridge (a NATS URL for --bridge memory).
	BrokerURL string
	// ExampleCommand, ExampleCommandName and ExampleEvent name the example command.
	ExampleCommand, ExampleCommandName, ExampleEvent string
}

// ProfileData is one deployment profile as the templates see it.
type ProfileData struct {
	Name   string
	Bridge string
	Split  bool
	HTTP   string
}

// view is the files a plan is computed against: the plan's own files first, then the
// disk under the plan's root.
func (p *Plan) read(rel string) ([]byte, error) {
	for _, f := range p.Files {
		if f.Path == rel {
			return f.Data, nil
		}
	}
	return os.ReadFile(filepath.Join(p.Root, filepath.FromSlash(rel)))
}

// put records data as the content of rel: replacing a file already in the plan, updating
// a file on disk, or creating a new one.
func (p *Plan) put(rel string, data []byte) error {
	for i := range p.Files {
		if p.Files[i].Path == rel {
			p.Files[i].Data = data
			return nil
		}
	}
	old, err := os.ReadFile(filepath.Join(p.Root, filepath.FromSlash(rel)))
	switch {
	case err == nil:
		p.update(rel, data, old)
	case errors.Is(err, fs.ErrNotExist):
		p.add(rel, data)
	default:
		return err
	}
	return nil
}

// create renders template tmpl into rel, which must not exist yet.
func (p *Plan) create(rel, tmpl string, data any) error {
	if _, err := os.Lstat(filepath.Join(p.Root, filepath.FromSlash(rel))); err == nil && !p.overwrite {
		return fmt.Errorf("%s already exists; nothing was written", rel)
	}
	out, err := render(tmpl, data)
	if err != nil {
		return err
	}
	return p.put(rel, out)
}
