package image

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/purista-go/purista/internal/project"
)

func TestBridgeTags(t *testing.T) {
	t.Parallel()
	m := testManifest()
	m.Profiles = map[string]project.Profile{
		"monolith":      {Bridge: "memory"},
		"microservices": {Bridge: "nats://nats:4222", Split: true},
		"rabbit":        {Bridge: "amqps://user:pass@rabbit/"},
		"edge":          {Bridge: "mqtt://127.0.0.1:1883"},
		"broken":        {Bridge: "redis://cache:6379"},
	}
	tests := []struct {
		profile     string
		wantBridges []string
		wantTags    []string
		wantErr     string // non-empty: an ErrUsage saying this
	}{
		{profile: "", wantBridges: []string{"memory", "nats", "amqp", "mqtt"}},
		{profile: "monolith", wantBridges: []string{"memory"}, wantTags: []string{"purista_no_nats", "purista_no_amqp", "purista_no_mqtt"}},
		{profile: "microservices", wantBridges: []string{"memory", "nats"}, wantTags: []string{"purista_no_amqp", "purista_no_mqtt"}},
		{profile: "rabbit", wantBridges: []string{"memory", "amqp"}, wantTags: []string{"purista_no_nats", "purista_no_mqtt"}},
		{profile: "edge", wantBridges: []string{"memory", "mqtt"}, wantTags: []string{"purista_no_nats", "purista_no_amqp"}},
		{profile: "Edge", wantErr: `--profile "Edge" is not a profile of purista.yaml (profiles: broken, edge, microservices, monolith, rabbit)`},
		{profile: "broken", wantErr: `profiles.broken.bridge in purista.yaml: bridge scheme "redis" is unknown`},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			t.Parallel()
			bridges, tags, err := BridgeTags(m, tt.profile)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrUsage saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(bridges, tt.wantBridges) || !slices.Equal(tags, tt.wantTags) {
				t.Errorf("BridgeTags(%q) = %v, %v, %v; want %v, %v", tt.profile, bridges, tags, err, tt.wantBridges, tt.wantTags)
			}
		})
	}
	if _, _, err := BridgeTags(testManifest(), "monolith"); err == nil || !strings.Contains(err.Error(), "profiles: none: add one under profiles:") {
		t.Errorf("a manifest without profiles: err = %v", err)
	}
}

func TestGoEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		platform v1.Platform
		goflags  string
		tags     []string
		strip    bool
		want     []string
	}{
		{"plain", v1.Platform{OS: "linux", Architecture: "arm64"}, "", nil, false,
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=-trimpath"}},
		{"stripped", v1.Platform{OS: "linux", Architecture: "arm64"}, "", nil, true,
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", `GOFLAGS=-trimpath "-ldflags=-s -w"`}},
		{"the caller's -ldflags win over stripping", v1.Platform{OS: "linux", Architecture: "arm64"}, "-ldflags=-X=main.v=1", nil, true,
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=-ldflags=-X=main.v=1 -trimpath"}},
		{"tags", v1.Platform{OS: "linux", Architecture: "amd64"}, "", []string{"purista_no_mqtt", "purista_no_amqp"}, false,
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-trimpath -tags=purista_no_amqp,purista_no_mqtt"}},
		{"the caller's flags and tags are kept", v1.Platform{OS: "linux", Architecture: "amd64", Variant: "v3"}, "-mod=mod --tags=netgo,purista_no_amqp", []string{"purista_no_amqp"}, false,
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=mod -trimpath -tags=netgo,purista_no_amqp", "GOAMD64=v3"}},
		{"arm variant", v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "-tags=", nil, false,
			[]string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOFLAGS=-trimpath", "GOARM=7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := goEnv(tt.platform, tt.goflags, tt.tags, tt.strip); !slices.Equal(got, tt.want) {
				t.Errorf("goEnv = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProfilesLinkTheirBridges lists the packages the binary of examples/signup links
// for each of its profiles, with the tags BridgeTags computes: a bridge's client
// library is in it exactly when the bridge is.
func TestProfilesLinkTheirBridges(t *testing.T) {
	t.Parallel()
	m, root, err := project.Find(filepath.Join("..", "..", "examples", "signup"))
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]string{"nats": "github.com/nats-io/nats.go", "amqp": "github.com/rabbitmq/amqp091-go", "mqtt": "github.com/eclipse/paho.golang/paho"}
	for _, profile := range append([]string{""}, m.ProfileNames()...) {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			bridges, tags, err := BridgeTags(m, profile)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-tags="+strings.Join(tags, ","), m.Main)
			cmd.Dir = root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for kind, client := range clients {
				if got, want := slices.Contains(deps, client), slices.Contains(bridges, kind); got != want {
					t.Errorf("profile %q (bridges %v, tags %v): links %s: %v, want %v", profile, bridges, tags, client, got, want)
				}
			}
		})
	}
}
