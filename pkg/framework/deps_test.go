package framework_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/deps.txt from the packages as they are")

// module is the import path of the purista module.
const module = "github.com/purista-go/purista"

// listedPackage is what the tests read of `go list -json`.
type listedPackage struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// goList runs `go list -json args…` and returns the packages it lists.
func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"list", "-json=ImportPath,Standard,Imports"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
		}
		pkgs = append(pkgs, p)
	}
}

// isStandard reports whether an import path belongs to the standard library: its
// first element has no dot.
func isStandard(importPath string) bool {
	first, _, _ := strings.Cut(importPath, "/")
	return !strings.Contains(first, ".")
}

// TestDependencies compares the imports of every package under pkg/ (the standard
// library left out) with testdata/deps.txt, so that a new dependency of the public API
// shows in review. After an intended change, regenerate the file:
//
//	go test ./pkg/framework -run TestDependencies -update
func TestDependencies(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Imports of the packages under pkg/, standard library left out (go list, default build tags).\n")
	b.WriteString("# Regenerate: go test ./pkg/framework -run TestDependencies -update\n")
	for _, p := range goList(t, module+"/pkg/...") {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimPrefix(p.ImportPath, module+"/"))
		for _, imp := range p.Imports {
			if !isStandard(imp) {
				fmt.Fprintf(&b, "\t%s\n", imp)
			}
		}
	}
	got := b.String()
	const file = "testdata/deps.txt"
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if got != string(want) {
		t.Errorf("the imports under pkg/ differ from %s:\n%s\nIf the change is intended, run go test ./pkg/framework -run TestDependencies -update and review the diff.",
			file, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+), each under the
// package it belongs to.
func lineDiff(want, got string) string {
	index := func(s string) map[string][]string {
		m := map[string][]string{}
		pkg := ""
		for l := range strings.SplitSeq(s, "\n") {
			switch {
			case l == "" || strings.HasPrefix(l, "#"):
			case strings.HasPrefix(l, "\t"):
				m[pkg] = append(m[pkg], strings.TrimSpace(l))
			default:
				pkg = l
				m[pkg] = append(m[pkg], "")
			}
		}
		return m
	}
	w, g := index(want), index(got)
	var pkgs []string
	for p := range w {
		pkgs = append(pkgs, p)
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			pkgs = append(pkgs, p)
		}
	}
	slices.Sort(pkgs)
	var b strings.Builder
	for _, p := range pkgs {
		wi, gi := w[p], g[p]
		switch {
		case wi == nil:
			fmt.Fprintf(&b, "+ package %s\n", p)
		case gi == nil:
			fmt.Fprintf(&b, "- package %s\n", p)
		}
		for _, imp := range wi {
			if imp != "" && !slices.Contains(gi, imp) {
				fmt.Fprintf(&b, "- %s imports %s\n", p, imp)
			}
		}
		for _, imp := range gi {
			if imp != "" && !slices.Contains(wi, imp) {
				fmt.Fprintf(&b, "+ %s imports %s\n", p, imp)
			}
		}
	}
	return b.String()
}

// TestImportRules checks the import rules of docs/architecture.md on every package of
// the module.
func TestImportRules(t *testing.T) {
	const fw = module + "/pkg/framework"
	bridges := []string{fw + "/memory", fw + "/nats", fw + "/amqp", fw + "/mqtt"}
	within := func(p string, roots ...string) bool {
		return slices.ContainsFunc(roots, func(r string) bool { return p == r || strings.HasPrefix(p, r+"/") })
	}
	rules := []struct {
		name string
		// broken returns why pkg importing imp breaks the rule, or "".
		broken func(pkg, imp string) string
	}{
		{"pkg/framework/** imports nothing from internal/", func(pkg, imp string) string {
			if within(pkg, module+"/pkg") && within(imp, module+"/internal") {
				return "the public packages must not depend on the CLI's internals"
			}
			return ""
		}},
		{"bridge is a leaf: it imports only wire", func(pkg, imp string) string {
			if pkg == fw+"/bridge" && within(imp, module) && imp != fw+"/wire" {
				return "the bridge contract may import only pkg/framework/wire of this module"
			}
			return ""
		}},
		{"bridges import bridge, wire and pkg/framework/internal/* only", func(pkg, imp string) string {
			if slices.Contains(bridges, pkg) && within(imp, module) && imp != fw+"/bridge" && imp != fw+"/wire" && !within(imp, fw+"/internal") {
				return "a bridge may import only bridge, wire and pkg/framework/internal/* of this module"
			}
			return ""
		}},
		{"the service-author package links no transport", func(pkg, imp string) string {
			if pkg == fw && within(imp, append(bridges, "github.com/nats-io", "github.com/rabbitmq", "github.com/eclipse/paho.golang")...) {
				return "pkg/framework is what contracts and services import: bridges are built by pkg/framework/app"
			}
			return ""
		}},
		{"only internal/cli knows cobra", func(pkg, imp string) string {
			if within(imp, "github.com/spf13/cobra", "github.com/spf13/pflag") && !within(pkg, module+"/internal/cli") {
				return "only internal/cli may use cobra"
			}
			return ""
		}},
		{"service code names no transport", func(pkg, imp string) string {
			if within(pkg, module+"/examples") && within(imp, append(bridges, "github.com/nats-io", "github.com/rabbitmq", "github.com/eclipse/paho.golang")...) {
				return "service code imports pkg/framework and contracts, never a transport"
			}
			return ""
		}},
		{"service code imports contracts, not implementations", func(pkg, imp string) string {
			if within(pkg, module+"/examples") && !strings.HasSuffix(pkg, "/cmd/"+path.Base(pkg)) &&
				strings.HasSuffix(imp, "/service") && within(imp, module+"/examples") && !strings.HasPrefix(pkg, imp) {
				return "a service calls another through its contract package, never its implementation"
			}
			return ""
		}},
	}
	pkgs := goList(t, module+"/...")
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages in the module; the test reads the wrong tree", len(pkgs))
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, p := range pkgs {
				for _, imp := range p.Imports {
					if why := r.broken(p.ImportPath, imp); why != "" {
						t.Errorf("%s imports %s: %s (docs/architecture.md)", p.ImportPath, imp, why)
					}
				}
			}
		})
	}
}

// TestBridgeBuildTags checks that the build tags purista_no_{nats,amqp,mqtt} leave the
// client libraries of those bridges out of pkg/framework/app (the runner, which builds
// the bridge a process is started with), and only those.
func TestBridgeBuildTags(t *testing.T) {
	clients := map[string][]string{ // bridge → module paths only it links
		"nats": {"github.com/nats-io/nats.go", "github.com/nats-io/nkeys"},
		"amqp": {"github.com/rabbitmq/amqp091-go"},
		"mqtt": {"github.com/eclipse/paho.golang", "github.com/gorilla/websocket"},
	}
	tests := []struct {
		name   string
		tags   []string
		linked []string
	}{
		{"default build: every bridge", nil, []string{"nats", "amqp", "mqtt"}},
		{"memory only", []string{"purista_no_nats", "purista_no_amqp", "purista_no_mqtt"}, nil},
		{"NATS only", []string{"purista_no_amqp", "purista_no_mqtt"}, []string{"nats"}},
		{"AMQP only", []string{"purista_no_nats", "purista_no_mqtt"}, []string{"amqp"}},
		{"MQTT only", []string{"purista_no_nats", "purista_no_amqp"}, []string{"mqtt"}},
		{"all but MQTT", []string{"purista_no_mqtt"}, []string{"nats", "amqp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deps := goList(t, "-deps", "-tags="+strings.Join(tt.tags, ","), module+"/pkg/framework/app")
			has := func(mod string) bool {
				return slices.ContainsFunc(deps, func(p listedPackage) bool {
					return p.ImportPath == mod || strings.HasPrefix(p.ImportPath, mod+"/")
				})
			}
			for kind, mods := range clients {
				want := slices.Contains(tt.linked, kind)
				if got := has(module + "/pkg/framework/" + kind); got != want {
					t.Errorf("-tags=%s: pkg/framework/app links the %s bridge: %v, want %v", strings.Join(tt.tags, ","), kind, got, want)
				}
				for _, mod := range mods {
					if got := has(mod); got != want {
						t.Errorf("-tags=%s: pkg/framework/app links %s (%s bridge): %v, want %v", strings.Join(tt.tags, ","), mod, kind, got, want)
					}
				}
			}
			if !has(module + "/pkg/framework/memory") {
				t.Errorf("-tags=%s: the memory bridge is missing; it is in every binary", strings.Join(tt.tags, ","))
			}
		})
	}
}
