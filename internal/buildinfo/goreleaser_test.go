package buildinfo_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/purista-go/purista/internal/buildinfo"
)

// goreleaserConfig is the part of .goreleaser.yaml this test checks.
type goreleaserConfig struct {
	Version     int    `yaml:"version"`
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Ignore  []any    `yaml:"ignore"`
		Ldflags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Archives []struct {
		IDs             []string `yaml:"ids"`
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

const buildinfoPkg = "github.com/purista-go/purista/internal/buildinfo"

// TestGoreleaserConfig parses .goreleaser.yaml and checks that a release builds the
// purista binary from ./cmd/purista for every target, with the version stamped into this
// package. (`make goreleaser-check` runs goreleaser's own, slower validation.)
func TestGoreleaserConfig(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatalf("read .goreleaser.yaml: %v", err)
	}
	var cfg goreleaserConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml is not valid YAML: %v", err)
	}

	checks := []struct {
		name string
		ok   func() bool
	}{
		{"config version is 2", func() bool { return cfg.Version == 2 }},
		{"project is purista", func() bool { return cfg.ProjectName == "purista" }},
		{"exactly one build", func() bool { return len(cfg.Builds) == 1 }},
		{"build main is ./cmd/purista", func() bool { return len(cfg.Builds) == 1 && cfg.Builds[0].Main == "./cmd/purista" }},
		{"binary is purista", func() bool { return len(cfg.Builds) == 1 && cfg.Builds[0].Binary == "purista" }},
		{"static build (CGO_ENABLED=0)", func() bool {
			return len(cfg.Builds) == 1 && slices.Contains(cfg.Builds[0].Env, "CGO_ENABLED=0")
		}},
		{"goos is linux, darwin, windows", func() bool {
			return len(cfg.Builds) == 1 && sameSet(cfg.Builds[0].Goos, []string{"linux", "darwin", "windows"})
		}},
		{"goarch is amd64, arm64", func() bool {
			return len(cfg.Builds) == 1 && sameSet(cfg.Builds[0].Goarch, []string{"amd64", "arm64"})
		}},
		{"no target is ignored", func() bool { return len(cfg.Builds) == 1 && len(cfg.Builds[0].Ignore) == 0 }},
		{"archives use tar.gz, zip on windows", func() bool {
			if len(cfg.Archives) != 1 || !sameSet(cfg.Archives[0].Formats, []string{"tar.gz"}) {
				return false
			}
			for _, o := range cfg.Archives[0].FormatOverrides {
				if o.Goos == "windows" && sameSet(o.Formats, []string{"zip"}) {
					return true
				}
			}
			return false
		}},
		{"checksums are sha256", func() bool { return cfg.Checksum.Algorithm == "sha256" && cfg.Checksum.NameTemplate != "" }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if !c.ok() {
				t.Errorf("%s: not so in .goreleaser.yaml (parsed: %+v)", c.name, cfg)
			}
		})
	}

	t.Run("ldflags stamp Version, Commit and Date", func(t *testing.T) {
		t.Parallel()
		if len(cfg.Builds) != 1 {
			t.Skip("build count checked above")
		}
		stamped := map[string]string{}
		for _, flag := range cfg.Builds[0].Ldflags {
			fields := strings.Fields(flag)
			for i := 0; i+1 < len(fields); i++ {
				if fields[i] != "-X" {
					continue
				}
				sym, val, ok := strings.Cut(fields[i+1], "=")
				if !ok {
					t.Errorf("malformed -X %q", fields[i+1])
					continue
				}
				pkg, name := sym[:max(strings.LastIndex(sym, "."), 0)], sym[strings.LastIndex(sym, ".")+1:]
				if pkg != buildinfoPkg {
					t.Errorf("-X %s targets %q, want package %s", sym, pkg, buildinfoPkg)
				}
				stamped[name] = val
			}
		}
		for _, name := range []string{"Version", "Commit", "Date"} {
			if stamped[name] == "" {
				t.Errorf("ldflags do not set %s.%s (got %v)", buildinfoPkg, name, stamped)
			}
		}
		// -X silently ignores a symbol that does not exist: tie the names to real variables.
		declared := map[string]*string{"Version": &buildinfo.Version, "Commit": &buildinfo.Commit, "Date": &buildinfo.Date}
		for name := range stamped {
			if declared[name] == nil {
				t.Errorf("ldflags set %s.%s, which buildinfo does not declare", buildinfoPkg, name)
			}
		}
	})
}

func sameSet(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
