package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/purista-go/purista/internal/project"
)

// ErrNotEmpty is wrapped when `new` would write into a non-empty folder without Force.
var ErrNotEmpty = errors.New("folder is not empty")

// Example names of a new project: one service with one command that has a success event.
const (
	DefaultService  = "Greeter"
	exampleCommand  = "greet"
	exampleEvent    = "greeted"
	defaultHTTPAddr = "127.0.0.1:8080"
)

// ProjectOptions are the inputs of NewProject.
type ProjectOptions struct {
	// Name is the project name (required), e.g. "shop".
	Name string
	// Module is the Go module path (default: Name).
	Module string
	// Bridge is the broker the project is meant for besides the in-memory bridge:
	// memory, nats, amqp or mqtt (default memory). It decides the manifest's profiles.
	Bridge string
	// HTTP adds a serverless profile that serves commands over HTTP.
	HTTP bool
	// Dir is the folder to create the project in (default: ./Name).
	Dir string
	// Force allows writing into a non-empty folder, overwriting files of the same names.
	Force bool
	// Framework is an explicit local framework checkout (see LocateFramework).
	Framework string
	// BinaryVersion is the version of the running purista binary.
	BinaryVersion string
	// Service is the example service's name (default DefaultService).
	Service string
}

// brokerURLs are the local broker addresses of each bridge kind, as in the design's
// development set-up.
func brokerURL(kind string) string {
	switch kind {
	case "amqp":
		return "amqp://guest:guest@127.0.0.1:5672/"
	case "mqtt":
		return "mqtt://127.0.0.1:1883"
	default:
		return "nats://127.0.0.1:4222"
	}
}

// NewProject plans a new project: go.mod (and go.sum), cmd/<name>/main.go, purista.yaml,
// README.md, Makefile, .gitignore, and one service with one command and its test.
func NewProject(o ProjectOptions) (*Plan, error) {
	if o.Module == "" {
		o.Module = o.Name
	}
	if o.Bridge == "" {
		o.Bridge = "memory"
	}
	if o.Service == "" {
		o.Service = DefaultService
	}
	if o.Dir == "" {
		o.Dir = o.Name
	}
	if err := errors.Join(ValidateProjectName(o.Name), ValidateModulePath(o.Module), ValidateBridge(o.Bridge), ValidateServiceName(o.Service)); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkEmpty(root, o.Force); err != nil {
		return nil, err
	}
	fw, err := LocateFramework(o.Framework, o.BinaryVersion)
	if err != nil {
		return nil, err
	}

	svc := newServiceData(o.Module, o.Service, "1")
	m := &project.Manifest{Name: o.Name, Module: o.Module, Main: "./cmd/" + o.Name,
		Services: []project.Service{{Name: svc.Name, Version: svc.Version, Path: svc.Dir}},
		Profiles: map[string]project.Profile{"monolith": {Bridge: "memory"}}}
	switch o.Bridge {
	case "nats", "amqp":
		m.Profiles["microservices"] = project.Profile{Bridge: brokerURL(o.Bridge), Split: true}
	case "mqtt":
		m.Profiles["edge"] = project.Profile{Bridge: brokerURL(o.Bridge), Split: true}
	}
	if o.HTTP {
		m.Profiles["serverless"] = project.Profile{Bridge: "memory", HTTP: defaultHTTPAddr}
	}
	data := ProjectData{Name: o.Name, Module: o.Module, Main: m.Main, GoVersion: fw.GoVersion, Framework: fw,
		Services: []ServiceData{svc}, BrokerURL: brokerURL(o.Bridge),
		ExampleCommand: upperFirst(exampleCommand), ExampleCommandName: exampleCommand, ExampleEvent: exampleEvent}
	for _, n := range m.ProfileNames() {
		pr := m.Profiles[n]
		data.Profiles = append(data.Profiles, ProfileData{Name: n, Bridge: pr.Bridge, Split: pr.Split, HTTP: pr.HTTP})
	}

	p := &Plan{Root: root, overwrite: o.Force}
	manifest, err := project.Marshal(m)
	if err != nil {
		return nil, err
	}
	files := []struct{ path, tmpl string }{
		{"go.mod", "project/go.mod.tmpl"},
		{"cmd/" + o.Name + "/main.go", "project/main.go.tmpl"},
		{"README.md", "project/README.md.tmpl"},
		{"Makefile", "project/Makefile.tmpl"},
		{".gitignore", "project/gitignore.tmpl"},
	}
	for _, f := range files {
		if err := p.create(f.path, f.tmpl, data); err != nil {
			return nil, err
		}
	}
	if len(fw.Sum) > 0 {
		if err := p.put("go.sum", fw.Sum); err != nil {
			return nil, err
		}
	}
	if err := p.put(project.FileName, manifest); err != nil {
		return nil, err
	}
	if err := planService(p, svc); err != nil {
		return nil, err
	}
	cmd := CommandData{Service: svc, Name: exampleCommand, Ident: upperFirst(exampleCommand), Handler: exampleCommand, Event: exampleEvent}
	if err := planCommand(p, cmd); err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(mustGetwd(), root)
	if err != nil || rel == "" {
		rel = root
	}
	p.Next = append(p.Next, "cd "+rel, "go test ./...", "go run ./cmd/"+o.Name+"   # all services, in-memory bridge; health on 127.0.0.1:8081")
	if fw.Replace == "" {
		p.Next = slices.Insert(p.Next, 1, "go mod tidy   # fetches "+fw.String())
	}
	return p, nil
}

// checkEmpty refuses a root that is a file, or a non-empty folder unless force.
func checkEmpty(root string, force bool) error {
	fi, err := os.Stat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is a file: choose another folder with --dir, e.g. --dir ./shop", root)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("%w: %s holds %d entries; choose an empty or new folder (e.g. --dir ./shop2), or pass --force to write into it and overwrite files of the same names", ErrNotEmpty, root, len(entries))
	}
	return nil
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "/"
	}
	return wd
}
