// Package project reads and writes the project manifest, purista.yaml, that every purista
// project has at its root, and finds that root from any folder inside the project.
//
// The manifest is the contract between a project and the CLI: `purista new` writes it,
// `purista add` appends services to it, and `dev`, `check` and `build` read it to learn
// which binary to build, which services it contains and which deployment profiles exist.
//
//	# purista project manifest
//	name: shop                       # project name (a Go identifier, also the binary name)
//	module: example.com/shop         # Go module path of the project
//	main: ./cmd/shop                 # package of the binary, relative to the root
//	services:                        # every service the binary contains
//	  - name: Orders                 # service name on the bridge
//	    version: "1"                 # service version (digits)
//	    path: services/orders/v1     # contract package, relative to the root;
//	                                 # the implementation lives in <path>/service
//	profiles:                        # deployment profiles: how to run the binary
//	  monolith:
//	    bridge: memory               # PURISTA_BRIDGE of every process
//	  microservices:
//	    bridge: nats://127.0.0.1:4222
//	    split: true                  # one process per service (PURISTA_SERVICES=<name>)
//	  serverless:
//	    bridge: memory
//	    http: 127.0.0.1:8080         # PURISTA_HTTP_ADDR: serve commands over HTTP
//
// Typical use:
//
//	m, root, err := project.Find(".")     // from any sub-folder
//	svc, ok := m.Service("Orders")
//	err = project.Save(root, m)           // validates, then writes purista.yaml
package project

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the name of the manifest at a project's root.
const FileName = "purista.yaml"

// header is written above the manifest by Save.
const header = "# purista project manifest: read by `purista dev`, `purista check` and `purista build`.\n" +
	"# `purista add service` appends to services; edit profiles freely.\n"

// ErrNotFound is returned (wrapped) by Find when no folder up to the file-system root
// holds a purista.yaml.
var ErrNotFound = errors.New("not inside a purista project: no " + FileName + " found")

// Manifest is the content of purista.yaml.
type Manifest struct {
	// Name is the project name: a Go identifier, also the name of the binary.
	Name string `yaml:"name"`
	// Module is the Go module path of the project (the module line of go.mod).
	Module string `yaml:"module"`
	// Main is the package of the project's binary, relative to the root ("./cmd/shop").
	Main string `yaml:"main"`
	// Services are the services the binary contains, in registration order.
	Services []Service `yaml:"services"`
	// Profiles are the named deployment profiles ("monolith", "microservices", …).
	Profiles map[string]Profile `yaml:"profiles"`
	// Check holds the settings of `purista check` (docs/check.md), which reads and
	// validates them itself; the manifest only accepts the section.
	Check map[string]any `yaml:"check,omitempty"`
	// Dev holds the settings of `purista dev` (docs/dev.md).
	Dev Dev `yaml:"dev,omitempty"`
}

// Dev are the settings of `purista dev`.
type Dev struct {
	// Images names the container image `purista dev --distributed` starts per broker
	// kind ("nats", "amqp", "mqtt"), e.g. for a private registry.
	Images map[string]string `yaml:"images,omitempty"`
}

// Service is one service of the project.
type Service struct {
	// Name is the service name on the bridge ("Orders").
	Name string `yaml:"name"`
	// Version is the service version, digits only ("1").
	Version string `yaml:"version"`
	// Path is the contract package folder relative to the root ("services/orders/v1");
	// the implementation is in Path + "/service".
	Path string `yaml:"path"`
}

// Profile is one way to run the project's binary.
type Profile struct {
	// Bridge is the PURISTA_BRIDGE setting: "memory", "nats://…", "amqp://…", "mqtt://…".
	Bridge string `yaml:"bridge"`
	// Split runs one process per service instead of one process with all services.
	Split bool `yaml:"split,omitempty"`
	// HTTP, when set, is the PURISTA_HTTP_ADDR: commands are also served over HTTP.
	HTTP string `yaml:"http,omitempty"`
}

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	versionRE = regexp.MustCompile(`^[0-9]+$`)
)

// Service returns the service called name (compared case-insensitively).
func (m *Manifest) Service(name string) (Service, bool) {
	for _, s := range m.Services {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Service{}, false
}

// ServiceNames returns the names of all services, in manifest order.
func (m *Manifest) ServiceNames() []string {
	names := make([]string, 0, len(m.Services))
	for _, s := range m.Services {
		names = append(names, s.Name)
	}
	return names
}

// ProfileNames returns the profile names, sorted.
func (m *Manifest) ProfileNames() []string {
	names := make([]string, 0, len(m.Profiles))
	for n := range m.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Validate reports every problem of the manifest at once (errors.Join), each naming the
// field and an accepted example.
func (m *Manifest) Validate() error {
	var errs []error
	if !nameRE.MatchString(m.Name) {
		errs = append(errs, fmt.Errorf("name %q is not a Go identifier (e.g. name: shop)", m.Name))
	}
	if m.Module == "" || strings.ContainsAny(m.Module, " \t\\") {
		errs = append(errs, fmt.Errorf("module %q is not a module path (e.g. module: example.com/shop)", m.Module))
	}
	if !strings.HasPrefix(m.Main, "./") {
		errs = append(errs, fmt.Errorf("main %q must be a relative package path (e.g. main: ./cmd/shop)", m.Main))
	}
	seen := map[string]bool{}
	for i, s := range m.Services {
		if !nameRE.MatchString(s.Name) {
			errs = append(errs, fmt.Errorf("services[%d].name %q is not a Go identifier (e.g. name: Orders)", i, s.Name))
		}
		if !versionRE.MatchString(s.Version) {
			errs = append(errs, fmt.Errorf("services[%d].version %q is not a number (e.g. version: \"1\")", i, s.Version))
		}
		if s.Path == "" || filepath.IsAbs(s.Path) || strings.HasPrefix(filepath.Clean(s.Path), "..") {
			errs = append(errs, fmt.Errorf("services[%d].path %q must be relative to the project root (e.g. path: services/orders/v1)", i, s.Path))
		}
		key := strings.ToLower(s.Name) + "/" + s.Version
		if seen[key] {
			errs = append(errs, fmt.Errorf("services[%d]: %s v%s is listed twice", i, s.Name, s.Version))
		}
		seen[key] = true
	}
	for kind, img := range m.Dev.Images {
		if kind != "nats" && kind != "amqp" && kind != "mqtt" {
			errs = append(errs, fmt.Errorf("dev.images.%s: the broker kinds are nats, amqp and mqtt", kind))
		} else if strings.TrimSpace(img) == "" || strings.ContainsAny(img, " \t") {
			errs = append(errs, fmt.Errorf("dev.images.%s %q is not an image reference (e.g. registry.example.com/nats:2.10)", kind, img))
		}
	}
	for _, n := range m.ProfileNames() {
		if m.Profiles[n].Bridge == "" {
			errs = append(errs, fmt.Errorf("profiles.%s.bridge is empty (e.g. bridge: memory or bridge: nats://127.0.0.1:4222)", n))
		}
	}
	return errors.Join(errs...)
}

// Parse decodes and validates a manifest. Unknown fields are errors, so that a typo does
// not silently drop a setting. Errors read "purista.yaml: unknown field foo (line 5)",
// "purista.yaml: cannot unmarshal !!str `x` into bool (line 3)" or "purista.yaml is
// invalid: <what Validate says>".
func Parse(data []byte) (*Manifest, error) { return parse(data, FileName) }

// parse is Parse with the file's name (or path) for the messages.
func parse(data []byte, name string) (*Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, describeYAMLError(err))
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s is invalid: %w", name, err)
	}
	return &m, nil
}

var (
	// yamlLineRE matches yaml.v3's "line 5: <problem>".
	yamlLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)
	// unknownFieldRE matches yaml.v3's "field foo not found in type project.Manifest".
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S*?(\w+)$`)
)

// describeYAMLError rewrites yaml.v3's errors ("yaml: unmarshal errors:\n  line 5:
// field foo not found in type project.Manifest") for people: "unknown field foo (line
// 5; known fields: …)"; several problems are joined with "; ", Go type names are left out.
func describeYAMLError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the file is empty (it needs at least name, module and main)")
	}
	var problems []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		problems = te.Errors
	} else {
		problems = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	out := make([]string, len(problems))
	for i, p := range problems {
		line, known := "", ""
		if m := yamlLineRE.FindStringSubmatch(p); m != nil {
			line, p = m[1], m[2]
		}
		if m := unknownFieldRE.FindStringSubmatch(p); m != nil {
			p = "unknown field " + m[1]
			switch m[2] {
			case "Service":
				p, known = p+" in a service", "name, version, path"
			case "Profile":
				p, known = p+" in a profile", "bridge, split, http"
			case "Manifest":
				known = "name, module, main, services, profiles"
			}
		}
		p = strings.ReplaceAll(p, "project.", "")
		switch {
		case line != "" && known != "":
			p += " (line " + line + "; known fields: " + known + ")"
		case line != "":
			p += " (line " + line + ")"
		}
		out[i] = p
	}
	return errors.New(strings.Join(out, "; "))
}

// Marshal validates m and encodes it as purista.yaml content, with a header comment.
func Marshal(m *Manifest) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("invalid %s: %w", FileName, err)
	}
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %s: %w", FileName, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", FileName, err)
	}
	return buf.Bytes(), nil
}

// Load reads and validates root/purista.yaml.
func Load(root string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(root, FileName))
	if err != nil {
		return nil, err
	}
	return parse(data, filepath.Join(root, FileName))
}

// Save validates m and writes it to root/purista.yaml (via a temporary file and a
// rename, so a reader never sees half a manifest).
func Save(root string, m *Manifest) error {
	data, err := Marshal(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(root, "."+FileName+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(root, FileName))
}

// FindRoot returns the absolute path of the nearest folder, starting at dir and walking
// up, that contains a purista.yaml. It returns an error wrapping ErrNotFound when there
// is none.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; {
		p := filepath.Join(d, FileName)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() {
			return d, nil
		}
		if _, lerr := os.Lstat(p); lerr == nil {
			// Something is there, but not a file we can read: say so instead of searching on.
			what := "not a regular file"
			switch {
			case err == nil && fi.IsDir():
				what = "a folder"
			case errors.Is(err, fs.ErrNotExist):
				what = "a link to nothing"
			case err != nil:
				what = err.Error()
			}
			return "", fmt.Errorf("%s is %s: the project manifest must be a readable YAML file (purista new writes one)", p, what)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w (searched %s and its parents)", ErrNotFound, abs)
		}
		d = parent
	}
}

// Find locates the project that contains dir (see FindRoot) and loads its manifest. It
// returns the manifest and the absolute project root.
func Find(dir string) (*Manifest, string, error) {
	root, err := FindRoot(dir)
	if err != nil {
		return nil, "", err
	}
	m, err := Load(root)
	if err != nil {
		return nil, "", err
	}
	return m, root, nil
}

// AppendService returns the manifest data with s appended to services, keeping the
// rest of the file (comments, order, profiles) as it is. The result is validated.
func AppendService(data []byte, s Service) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", FileName, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s is not a YAML mapping", FileName)
	}
	top := doc.Content[0]
	var seq *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "services" {
			seq = top.Content[i+1]
		}
	}
	if seq == nil {
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "services"}, seq)
	}
	if seq.Kind != yaml.SequenceNode { // e.g. "services:" with no value
		*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	}
	seq.Style = 0 // block style, also when it was written as []
	var item yaml.Node
	if err := item.Encode(s); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if item.Content[i].Value == "version" {
			item.Content[i+1].Style = yaml.DoubleQuotedStyle // "1", never the number 1
		}
	}
	seq.Content = append(seq.Content, &item)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if _, err := Parse(buf.Bytes()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
