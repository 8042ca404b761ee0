package scaffold_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/scaffold"
)

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		wantErr string // "" means valid
	}{
		{name: "project ok", err: scaffold.ValidateProjectName("shop_2")},
		{name: "project dash", err: scaffold.ValidateProjectName("my-shop"), wantErr: `e.g. "shop"`},
		{name: "project keyword", err: scaffold.ValidateProjectName("func"), wantErr: `e.g. "shop"`},
		{name: "project digit first", err: scaffold.ValidateProjectName("1shop"), wantErr: `e.g. "shop"`},
		{name: "service ok", err: scaffold.ValidateServiceName("Billing2")},
		{name: "service underscore", err: scaffold.ValidateServiceName("bill_ing"), wantErr: `e.g. "Billing"`},
		{name: "service non-ascii", err: scaffold.ValidateServiceName("Bïlling"), wantErr: `e.g. "Billing"`},
		{name: "command ok", err: scaffold.ValidateCommandName("command", "sendInvoice")},
		{name: "command keyword", err: scaffold.ValidateCommandName("command", "Type"), wantErr: `Go keyword`},
		{name: "command init", err: scaffold.ValidateCommandName("command", "init"), wantErr: `Go reserves`},
		{name: "command main", err: scaffold.ValidateCommandName("command", "Main"), wantErr: `Go reserves`},
		{name: "command error", err: scaffold.ValidateCommandName("command", "error"), wantErr: `predeclared`},
		{name: "command nil", err: scaffold.ValidateCommandName("command", "nil"), wantErr: `predeclared`},
		{name: "command bool", err: scaffold.ValidateCommandName("command", "Bool"), wantErr: `predeclared`},
		{name: "command new", err: scaffold.ValidateCommandName("command", "new"), wantErr: `predeclared`},
		{name: "subscription New", err: scaffold.ValidateCommandName("subscription", "New"), wantErr: `predeclared`},
		{name: "command version", err: scaffold.ValidateCommandName("command", "version"), wantErr: `every generated service has (Version)`},
		{name: "command service file", err: scaffold.ValidateCommandName("command", "service"), wantErr: `would write service.go`},
		{name: "command test file", err: scaffold.ValidateCommandName("command", "loadTest"), wantErr: `a test file`},
		{name: "command os file", err: scaffold.ValidateCommandName("command", "syncLinux"), wantErr: `built for linux only`},
		{name: "command all caps", err: scaffold.ValidateCommandName("command", "CHARGE"), wantErr: `e.g. "charge"`},
		{name: "command initialism", err: scaffold.ValidateCommandName("command", "HTTPCall"), wantErr: `e.g. "httpCall"`},
		{name: "command capitalised ok", err: scaffold.ValidateCommandName("command", "Refund")},
		{name: "command contains keyword ok", err: scaffold.ValidateCommandName("command", "typeCheck")},
		{name: "subscription example", err: scaffold.ValidateCommandName("subscription", "on-x"), wantErr: `e.g. "onInvoiceSent"`},
		{name: "event ok", err: scaffold.ValidateEventName("invoice_sent")},
		{name: "event dot", err: scaffold.ValidateEventName("invoice.sent"), wantErr: `e.g. "invoiceSent"`},
		{name: "version ok", err: scaffold.ValidateVersion("v2")},
		{name: "version zero", err: scaffold.ValidateVersion("0"), wantErr: "e.g. 1"},
		{name: "version text", err: scaffold.ValidateVersion("1.2"), wantErr: "e.g. 1"},
		{name: "module ok", err: scaffold.ValidateModulePath("github.com/acme/shop")},
		{name: "module space", err: scaffold.ValidateModulePath("my shop"), wantErr: `e.g. "example.com/shop"`},
		{name: "module slash", err: scaffold.ValidateModulePath("/shop"), wantErr: `e.g. "example.com/shop"`},
		{name: "bridge ok", err: scaffold.ValidateBridge("amqp")},
		{name: "bridge unknown", err: scaffold.ValidateBridge("kafka"), wantErr: "e.g. --bridge nats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.wantErr == "" {
				if tt.err != nil {
					t.Fatalf("unexpected error %v", tt.err)
				}
				return
			}
			if tt.err == nil || !strings.Contains(tt.err.Error(), tt.wantErr) || !errors.Is(tt.err, scaffold.ErrInvalidInput) {
				t.Fatalf("error %v, want ErrInvalidInput containing %q", tt.err, tt.wantErr)
			}
		})
	}
}

// TestNewProjectPlan checks the planned files and that planning writes nothing.
func TestNewProjectPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      scaffold.ProjectOptions
		wantFiles []string
		wantErr   error
	}{
		{name: "default", opts: scaffold.ProjectOptions{Name: "shop", Framework: "../.."},
			wantFiles: []string{".gitignore", "Makefile", "README.md", "cmd/shop/main.go", "go.mod", "go.sum", "purista.yaml",
				"services/greeter/v1/contract.go", "services/greeter/v1/greet.go", "services/greeter/v1/service/greet.go",
				"services/greeter/v1/service/greet_test.go", "services/greeter/v1/service/service.go", "services/greeter/v1/service/service_test.go"}},
		{name: "bad framework", opts: scaffold.ProjectOptions{Name: "shop", Framework: "."}, wantErr: scaffold.ErrInvalidInput},
		{name: "bad module", opts: scaffold.ProjectOptions{Name: "shop", Module: "a b"}, wantErr: scaffold.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "shop")
			tt.opts.Dir = dir
			p, err := scaffold.NewProject(tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Paths(); !slices.Equal(got, tt.wantFiles) {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantFiles, "\n"))
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("planning touched the disk: %v", err)
			}
		})
	}
}

// TestNewProjectRefusesNonEmpty checks --force semantics.
func TestNewProjectRefusesNonEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scaffold.NewProject(scaffold.ProjectOptions{Name: "shop", Dir: dir, Framework: "../.."}); !errors.Is(err, scaffold.ErrNotEmpty) {
		t.Fatalf("err = %v, want ErrNotEmpty", err)
	}
	p, err := scaffold.NewProject(scaffold.ProjectOptions{Name: "shop", Dir: dir, Framework: "../..", Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.Describe(), "update README.md") {
		t.Errorf("README.md should be an update: %v", p.Describe())
	}
}

// TestReadmeLayoutColumns: the descriptions in the README's layout block start in one
// column whatever the project's name (short, or longer than the other paths).
func TestReadmeLayoutColumns(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"shop", "inventorymanagementsystem"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := scaffold.NewProject(scaffold.ProjectOptions{Name: name, Framework: "../..", Dir: filepath.Join(t.TempDir(), name)})
			if err != nil {
				t.Fatal(err)
			}
			var readme string
			for _, f := range p.Files {
				if f.Path == "README.md" {
					readme = string(f.Data)
				}
			}
			_, block, ok := strings.Cut(readme, "## Layout\n\n```\n")
			block, _, _ = strings.Cut(block, "```")
			lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
			if !ok || len(lines) != 4 || !strings.HasPrefix(lines[0], "cmd/"+name+"/main.go ") {
				t.Fatalf("layout block not found in README.md:\n%s", readme)
			}
			col := func(l string) int { // where the text after the path starts
				path := strings.Fields(l)[0]
				return len(l) - len(strings.TrimLeft(l[len(path):], " "))
			}
			for _, l := range lines[1:] {
				if col(l) != col(lines[0]) {
					t.Errorf("descriptions start in different columns:\n%s", strings.Join(lines, "\n"))
					break
				}
			}
		})
	}
}
