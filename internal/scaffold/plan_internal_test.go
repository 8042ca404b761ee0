package scaffold

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) *Plan
	}{
		{name: "destination blocked by a file", setup: func(t *testing.T, root string) *Plan {
			// "blocked" is a file, so "blocked/x.go" cannot be written.
			if err := os.WriteFile(filepath.Join(root, "blocked"), []byte("f"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := &Plan{Root: root}
			p.add("a/b/new.go", []byte("package b\n"))
			p.add("blocked/x.go", []byte("package x\n"))
			return p
		}},
		{name: "update changed meanwhile", setup: func(t *testing.T, root string) *Plan {
			if err := os.WriteFile(filepath.Join(root, "main.go"), []byte("edited"), 0o644); err != nil {
				t.Fatal(err)
			}
			p := &Plan{Root: root}
			p.add("new/file.go", []byte("package n\n"))
			p.update("main.go", []byte("package main\n"), []byte("original"))
			return p
		}},
		{name: "new file appeared meanwhile", setup: func(t *testing.T, root string) *Plan {
			p := &Plan{Root: root}
			p.add("x/one.go", []byte("package x\n"))
			if err := os.WriteFile(filepath.Join(root, "two.go"), []byte("theirs"), 0o644); err != nil {
				t.Fatal(err)
			}
			p.add("two.go", []byte("ours"))
			return p
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			p := tt.setup(t, root)
			before := listTree(t, root)
			if err := p.Apply(); err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			if after := listTree(t, root); after != before {
				t.Fatalf("disk changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func listTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p)
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return b.String()
}

func TestGoSourceEdits(t *testing.T) {
	t.Parallel()
	main := "package main\n\nimport \"github.com/purista-go/purista/pkg/framework/app\"\n\nfunc main() {\n\tapp.New(a.New()).Main()\n}\n"
	aliased := "package main\n\nimport run \"github.com/purista-go/purista/pkg/framework/app\"\n\nfunc main() {\n\tx := run.New(\n\t\ta.New(),\n\t)\n\tx.Main()\n}\n"
	tests := []struct {
		name string
		edit func() ([]byte, error)
		want string
	}{
		{name: "import into a single import", edit: func() ([]byte, error) { return addImport("m.go", []byte(main), "x", "example.com/x") },
			want: "import x \"example.com/x\""},
		{name: "import already there", edit: func() ([]byte, error) {
			return addImport("m.go", []byte(main), "app", "github.com/purista-go/purista/pkg/framework/app")
		}, want: main},
		{name: "main arg without trailing comma", edit: func() ([]byte, error) { return appendMainArg("m.go", []byte(main), "b.New()") },
			want: "a.New(),\nb.New(),\n).Main()"},
		{name: "main arg with the app package renamed and a trailing comma", edit: func() ([]byte, error) { return appendMainArg("m.go", []byte(aliased), "b.New()") },
			want: "a.New(),\n\tb.New(),\n)\n\tx.Main()"},
		{name: "registration before return", edit: func() ([]byte, error) {
			src := "package service\n\nfunc New() *S {\n\ts := x()\n\treturn s\n}\n"
			return insertRegistration("s.go", []byte(src), func(v string) string { return "reg(" + v + ")" })
		}, want: "reg(s)\nreturn s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.edit()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(got), tt.want) {
				t.Fatalf("got:\n%s\nwant it to contain:\n%s", got, tt.want)
			}
		})
	}
	if _, err := insertRegistration("s.go", []byte("package service\n\nfunc New() {}\n"), func(string) string { return "" }); err == nil {
		t.Error("insertRegistration without return: no error")
	}
	old := "package main\n\nimport \"github.com/purista-go/purista/pkg/framework\"\n\nfunc main() {\n\tframework.Main(a.New())\n}\n"
	if _, err := appendMainArg("m.go", []byte(old), "b.New()"); err == nil || !strings.Contains(err.Error(), "has no app.New(…) call listing the services: add b.New() to it by hand") {
		t.Errorf("appendMainArg without app.New: %v", err)
	}
}

// TestGoSourceEditsOnBrokenFiles: a file that does not parse is named with its line,
// and the error says what to do.
func TestGoSourceEditsOnBrokenFiles(t *testing.T) {
	t.Parallel()
	broken := []byte("package main\n\nimport (\n\t\"x\"\n\nfunc main() {\n\tapp.New(a.New()).Main()\n}\n")
	tests := []struct {
		name string
		edit func() ([]byte, error)
	}{
		{"addImport", func() ([]byte, error) { return addImport("cmd/shop/main.go", broken, "x", "example.com/x") }},
		{"appendMainArg", func() ([]byte, error) { return appendMainArg("cmd/shop/main.go", broken, "b.New()") }},
		{"insertRegistration", func() ([]byte, error) {
			return insertRegistration("cmd/shop/main.go", broken, func(string) string { return "" })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.edit()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{"cmd/shop/main.go:", "needs it to be valid Go", "fix it", "nothing was written"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestSnake(t *testing.T) {
	t.Parallel()
	tests := map[string]string{"sendInvoice": "send_invoice", "greet": "greet", "HTTPCall": "http_call", "onV2Event": "on_v2_event"}
	for in, want := range tests {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
