package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBrokerKind(t *testing.T) {
	tests := []struct {
		name, explicit, url string
		want                string
		wantErr             string // in the error, which must wrap ErrUsage
	}{
		{name: "default", want: "nats"},
		{name: "explicit, no url", explicit: "mqtt", want: "mqtt"},
		{name: "nats url", url: "nats://127.0.0.1:4222", want: "nats"},
		{name: "tls url", url: "tls://h:4222", want: "nats"},
		{name: "amqp url", url: "amqp://guest:guest@127.0.0.1:5672/", want: "amqp"},
		{name: "amqps url", url: "amqps://h:5671/", want: "amqp"},
		{name: "mqtt url", url: "mqtt://h:1883", want: "mqtt"},
		{name: "wss url", url: "wss://h/mqtt", want: "mqtt"},
		{name: "ssl url", url: "ssl://h:8883", want: "mqtt"},
		{name: "explicit agrees", explicit: "amqp", url: "amqps://h:5671/", want: "amqp"},
		{name: "explicit contradicts", explicit: "nats", url: "amqp://guest:secret@h:5672/",
			wantErr: "--broker nats contradicts --broker-url amqp://xxxxx@h:5672/, a URL of kind amqp"},
		{name: "unknown scheme", url: "kafka://h:9092", wantErr: `scheme "kafka" is unknown`},
		{name: "memory", url: "memory", wantErr: "is not a broker"},
		{name: "port above 65535", url: "nats://nope:99999", wantErr: `--broker-url: invalid broker URL: port "99999"`},
		{name: "port 0", url: "amqp://guest:secret@h:0/", wantErr: `port "0" of amqp://xxxxx@h:0/`},
		{name: "unknown explicit", explicit: "kafka", wantErr: `--broker "kafka" is unknown`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BrokerKind(tt.explicit, tt.url)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("BrokerKind(%q, %q) = %q, %v; want %q", tt.explicit, tt.url, got, err, tt.want)
			}
		})
	}
}

// profileProject writes a project manifest with profiles (nothing to build: the tests
// that use it stop before the build or at it, with an ended context).
func profileProject(t *testing.T, profiles string) string {
	t.Helper()
	dir := t.TempDir()
	manifest := "name: shop\nmodule: example.com/shop\nmain: ./cmd/shop\nservices:\n  - name: Orders\n    version: \"1\"\n    path: services/orders/v1\n" + profiles
	if err := os.WriteFile(filepath.Join(dir, "purista.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// endedContext is a context whose deadline has passed: Run gets as far as the build.
func endedContext(t *testing.T) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)
	return ctx
}

// TestRunBrokerAndProfile checks which broker the broker checks get from --broker,
// --broker-url and --profile, and the usage errors; Run stops at the build (the
// context has ended), after the broker is settled.
func TestRunBrokerAndProfile(t *testing.T) {
	dir := profileProject(t, "profiles:\n  monolith:\n    bridge: memory\n  micro:\n    bridge: nats://10.0.0.1:4222\n    split: true\n  rabbit:\n    bridge: amqp://guest:secret@rabbit:5672/\n")
	tests := []struct {
		name       string
		opts       Options
		wantBroker string
		wantErr    string // a usage error containing this
		wantIs     error
	}{
		{name: "default", wantBroker: "nats (embedded)"},
		{name: "amqp url without --broker", opts: Options{BrokerURL: "amqp://guest:guest@127.0.0.1:5672/"},
			wantBroker: "amqp amqp://xxxxx@127.0.0.1:5672/"},
		{name: "mqtt url without --broker", opts: Options{BrokerURL: "mqtt://127.0.0.1:1883"}, wantBroker: "mqtt mqtt://127.0.0.1:1883"},
		{name: "--broker contradicts url", opts: Options{Broker: "nats", BrokerURL: "amqp://guest:guest@127.0.0.1:5672/"},
			wantErr: "--broker nats contradicts --broker-url"},
		{name: "profile", opts: Options{Profile: "rabbit"}, wantBroker: "amqp amqp://xxxxx@rabbit:5672/"},
		{name: "profile nats", opts: Options{Profile: "micro"}, wantBroker: "nats nats://10.0.0.1:4222"},
		{name: "memory profile keeps the embedded broker", opts: Options{Profile: "monolith"}, wantBroker: "nats (embedded)"},
		{name: "flag wins over profile", opts: Options{Profile: "rabbit", BrokerURL: "mqtt://m:1883"}, wantBroker: "mqtt mqtt://m:1883"},
		{name: "unknown profile with a flag URL", opts: Options{Profile: "prod", BrokerURL: "mqtt://m:1883"}, wantIs: ErrUnknownProfile,
			wantErr: `unknown profile "prod"`},
		{name: "unknown --broker", opts: Options{Broker: "kafka"}, wantErr: `broker "kafka" is unknown`},
		{name: "--broker contradicts profile", opts: Options{Profile: "rabbit", Broker: "mqtt"},
			wantErr: "--broker mqtt contradicts the bridge of profile rabbit"},
		{name: "unknown profile", opts: Options{Profile: "prod"}, wantIs: ErrUnknownProfile,
			wantErr: `unknown profile "prod": the profiles in purista.yaml are micro, monolith, rabbit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Dir, o.Only, o.Env = dir, []string{TwoModels}, offlineEnv()
			rep, err := Run(endedContext(t), o)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Fatalf("err = %v, want a usage error with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the ended context", err)
			}
			if rep.Broker != tt.wantBroker {
				t.Errorf("broker = %q, want %q", rep.Broker, tt.wantBroker)
			}
		})
	}
	t.Run("no profiles", func(t *testing.T) {
		_, err := Run(endedContext(t), Options{Dir: profileProject(t, ""), Profile: "prod", Only: []string{TwoModels}})
		if !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), "purista.yaml has no profiles") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestRunTimeout checks that a run whose context ends during the build or the static
// analysis reports the ended context, not a project that does not build, and that the
// progress does not call the cut-off step done.
func TestRunTimeout(t *testing.T) {
	base, err := filepath.Abs(filepath.Join("testdata", "base"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, only, step string
	}{
		{name: "during build", only: TwoModels, step: "build"},
		{name: "during analysis", only: ExternalConfig, step: "analyze"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []Progress
			_, err := Run(endedContext(t), Options{Dir: base, Only: []string{tt.only}, Env: offlineEnv(),
				Progress: func(p Progress) { events = append(events, p) }})
			var be *BuildError
			if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &be) {
				t.Fatalf("err = %v (%T), want the ended context and no BuildError", err, err)
			}
			var ended *Progress
			for i := range events {
				if events[i].Step == tt.step && events[i].Done {
					ended = &events[i]
				}
			}
			if ended == nil || !errors.Is(ended.Err, context.DeadlineExceeded) {
				t.Errorf("progress = %+v, want %s to end with the ended context", events, tt.step)
			}
		})
	}
}
