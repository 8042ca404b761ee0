package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/cli/cmdutil"
)

func TestOpenAPIPath(t *testing.T) {
	root := filepath.FromSlash("/p/shop")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "default layout", want: filepath.FromSlash("/p/shop/dist/openapi.json")},
		{name: "beside --output", opts: Options{Output: "out/img/"}, want: filepath.FromSlash("out/openapi.json")},
		{name: "beside --tar", opts: Options{Tar: filepath.FromSlash("/tmp/x/images.tar")}, want: filepath.FromSlash("/tmp/x/openapi.json")},
		{name: "push only", opts: Options{Push: "r/x"}, want: filepath.FromSlash("/p/shop/dist/openapi.json")},
		{name: "--openapi wins", opts: Options{Output: "o", OpenAPI: "api.json"}, want: "api.json"},
		{name: "off", opts: Options{Output: "o", OpenAPI: "off"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := openAPIPath(&tt.opts, root); got != tt.want {
				t.Fatalf("openAPIPath = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWithoutPurista(t *testing.T) {
	got := withoutPurista([]string{"PATH=/bin", "PURISTA_HTTP_ADDR=:1", "HOME=/h", "XPURISTA_=1"})
	want := []string{"PATH=/bin", "HOME=/h", "XPURISTA_=1"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestProbeOpenAPI(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, wantErr string
	}{
		{name: "default", path: ""},
		{name: "off", path: "off"},
		{name: "file in an existing folder", path: filepath.Join(dir, "api.json")},
		{name: "a folder", path: dir, wantErr: "is a folder"},
		{name: "missing folder", path: filepath.Join(dir, "nope", "api.json"), wantErr: "does not exist"},
		{name: "not writable", path: "/proc/api.json", wantErr: "cannot write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := probeOpenAPI(tt.path)
			var ue *cmdutil.UsageError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("probeOpenAPI(%q) = %v, want nil", tt.path, err)
			case tt.wantErr != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("probeOpenAPI(%q) = %v, want a usage error with %q", tt.path, err, tt.wantErr)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("probeOpenAPI left %v behind", entries)
			}
		})
	}
}
