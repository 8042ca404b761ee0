package brokers

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/devenv/internal/devtest"
)

func TestProvision(t *testing.T) {
	noDocker := func(context.Context) error { return errors.New("no Docker daemon (test)") }
	tests := []struct {
		name       string
		opts       ProvisionOptions
		wantKind   string
		wantSource string
		wantErr    string
	}{
		{"explicit url", ProvisionOptions{URL: "nats://127.0.0.1:4222"}, "nats", SourceURL, ""},
		{"env url", ProvisionOptions{Getenv: func(k string) string {
			if k == "PURISTA_BROKER_URL" {
				return "mqtt://127.0.0.1:1883"
			}
			return ""
		}}, "mqtt", SourceURL, ""},
		{"kind mismatch", ProvisionOptions{Kind: "amqp", URL: "nats://x:4222"}, "", "", "does not match"},
		{"memory url", ProvisionOptions{URL: "memory"}, "", "", "needs nats://"},
		{"unknown scheme names the flag", ProvisionOptions{URL: "kafka://x"}, "", "", `--broker-url kafka://x: bridge scheme "kafka" is unknown`},
		{"unknown scheme names the variable", ProvisionOptions{Getenv: func(k string) string {
			if k == "PURISTA_BROKER_URL" {
				return "kafka://u:secret@x"
			}
			return ""
		}}, "", "", "PURISTA_BROKER_URL kafka://xxxxx@x: "},
		{"embedded nats", ProvisionOptions{Kind: "nats", DockerAvailable: noDocker}, "nats", SourceEmbedded, ""},
		{"embedded mqtt", ProvisionOptions{Kind: "mqtt", DockerAvailable: noDocker}, "mqtt", SourceEmbedded, ""},
		{"amqp without docker", ProvisionOptions{Kind: "amqp", DockerAvailable: noDocker}, "", "", "--broker-url amqp://"},
		{"unknown kind", ProvisionOptions{Kind: "kafka"}, "", "", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Getenv == nil {
				tt.opts.Getenv = func(string) string { return "" }
			}
			tt.opts.Dir = t.TempDir()
			b, err := Provision(context.Background(), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Close(context.Background()) })
			if b.Kind != tt.wantKind || b.Source != tt.wantSource {
				t.Errorf("got %s from %s, want %s from %s", b.Kind, b.Source, tt.wantKind, tt.wantSource)
			}
		})
	}
}

// TestBrokerNeverShowsCredentials: Provision's errors and a broker's description show no
// credential, whatever is wrong with the URL.
func TestBrokerNeverShowsCredentials(t *testing.T) {
	for _, c := range devtest.CredentialURLs() {
		u, _ := url.Parse(c.URL)
		for _, tt := range []struct {
			name string
			opts ProvisionOptions
		}{
			{"kind mismatch", ProvisionOptions{Kind: map[string]string{"amqp": "nats", "nats": "mqtt", "mqtt": "amqp"}[u.Scheme], URL: c.URL}},
			{"unknown scheme", ProvisionOptions{URL: "kafka" + strings.TrimPrefix(c.URL, u.Scheme)}},
			{"memory", ProvisionOptions{URL: "memory" + strings.TrimPrefix(c.URL, u.Scheme)}},
			{"from the environment", ProvisionOptions{Kind: "kafka", Getenv: func(string) string { return "kafka" + strings.TrimPrefix(c.URL, u.Scheme) }}},
		} {
			t.Run(c.Name+"/"+tt.name, func(t *testing.T) {
				if tt.opts.Getenv == nil {
					tt.opts.Getenv = func(string) string { return "" }
				}
				_, err := Provision(context.Background(), tt.opts)
				if err == nil {
					t.Fatal("Provision accepted the URL")
				}
				devtest.NoSecret(t, c.Secret, "the error", err.Error())
			})
		}
		t.Run(c.Name+"/description", func(t *testing.T) {
			b, err := Provision(context.Background(), ProvisionOptions{URL: c.URL, Getenv: func(string) string { return "" }})
			if err != nil {
				t.Fatal(err)
			}
			devtest.NoSecret(t, c.Secret, "the broker's description", b.String())
		})
	}
}
