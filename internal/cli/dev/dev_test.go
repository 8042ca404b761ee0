package dev

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/cli/cmdutil"
	"github.com/purista-go/purista/internal/cli/iostreams"
	"github.com/purista-go/purista/internal/project"
)

// TestNewCmdDevFlags: every field of the parsed options, for each combination of flags;
// a bad combination is a usage error (exit 2).
func TestNewCmdDevFlags(t *testing.T) {
	def := Options{Dir: ".", Grace: 10 * time.Second}
	with := func(f func(*Options)) Options { o := def; f(&o); return o }
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    Options
		changed []string // flags Changed reports as given
	}{
		{name: "defaults", want: def},
		{name: "broker image", args: []string{"--distributed", "--broker-image", "registry.example.com/nats:2.10"},
			want: with(func(o *Options) { o.Distributed, o.BrokerImage = true, "registry.example.com/nats:2.10" })},
		{name: "secure http", args: []string{"--secure-http"}, want: with(func(o *Options) { o.SecureHTTP = true }),
			changed: []string{"secure-http"}},
		{name: "no traces", args: []string{"--no-traces"}, want: with(func(o *Options) { o.NoTraces = true })},
		{name: "headless json", args: []string{"--json", "-C", "x"}, want: with(func(o *Options) { o.JSON, o.Dir = true, "x" })},
		{name: "no tui, no watch, no containers", args: []string{"--no-tui", "--no-watch", "--no-containers"},
			want: with(func(o *Options) { o.NoTUI, o.NoWatch, o.NoContainers = true, true, true })},
		{name: "distributed amqp", args: []string{"--distributed", "--broker-url", "amqp://guest:guest@127.0.0.1:5672/", "--grace", "2s"},
			want: with(func(o *Options) {
				o.Distributed, o.BrokerURL, o.Grace = true, "amqp://guest:guest@127.0.0.1:5672/", 2*time.Second
			}), changed: []string{"distributed", "broker-url", "grace"}},
		{name: "broker without distributed", args: []string{"--broker", "nats"}, wantErr: true},
		{name: "unknown broker", args: []string{"--distributed", "--broker", "kafka"}, wantErr: true},
		{name: "no args", args: []string{"extra"}, wantErr: true},
		{name: "unknown broker URL scheme", args: []string{"--distributed", "--broker-url", "foo://x"}, wantErr: true},
		{name: "memory as broker URL", args: []string{"--distributed", "--broker-url", "memory"}, wantErr: true},
		{name: "--broker contradicts the URL", args: []string{"--distributed", "--broker", "mqtt", "--broker-url", "nats://127.0.0.1:4222"}, wantErr: true},
		{name: "broker URL of the named kind", args: []string{"--distributed", "--broker", "nats", "--broker-url", "nats://127.0.0.1:4222"},
			want: with(func(o *Options) { o.Distributed, o.Broker, o.BrokerURL = true, "nats", "nats://127.0.0.1:4222" })},
		{name: "broker URL port above 65535", args: []string{"--distributed", "--broker-url", "nats://nope:99999"}, wantErr: true},
		{name: "broker URL port 0", args: []string{"--distributed", "--broker-url", "mqtt://h:0"}, wantErr: true},
		{name: "broker URL port not a number", args: []string{"--distributed", "--broker-url", "amqp://guest:guest@h:x/"}, wantErr: true},
		{name: "negative grace", args: []string{"--grace", "-1s"}, wantErr: true},
		{name: "zero grace kills at once", args: []string{"--grace", "0s"}, want: with(func(o *Options) { o.Grace = 0 })},
		{name: "profile defers the broker check", args: []string{"--profile", "micro", "--broker", "mqtt"},
			want: with(func(o *Options) { o.Profile, o.Broker = "micro", "mqtt" }), changed: []string{"profile", "broker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdDev(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !cmdutil.IsUsageError(err) {
					t.Errorf("err = %v is not a usage error (exit 2)", err)
				}
				return
			}
			if got.IO != ios || got.Getenv == nil || got.Changed == nil {
				t.Fatalf("IO, Getenv or Changed not set: %+v", got)
			}
			for _, f := range tt.changed {
				if !got.Changed(f) {
					t.Errorf("Changed(%q) = false", f)
				}
			}
			if got.Changed("dir") != slices.Contains(tt.args, "-C") {
				t.Errorf("Changed(dir) = %v", got.Changed("dir"))
			}
			if g := parsed(got); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("options\n got %+v\nwant %+v", g, tt.want)
			}
		})
	}
}

// parsed returns the options without the streams, the functions and the engines, which
// DeepEqual cannot compare: what the flags set.
func parsed(o *Options) Options {
	g := *o
	g.IO, g.Getenv, g.Changed, g.Dev, g.BuildProject, g.Launch, g.Provision = nil, nil, nil, nil, nil, nil, nil
	return g
}

// TestApplyProfile: --profile fills the options from purista.yaml; flags given on the
// command line win; an unknown profile lists the names.
func TestApplyProfile(t *testing.T) {
	m := &project.Manifest{Profiles: map[string]project.Profile{
		"monolith":      {Bridge: "memory"},
		"microservices": {Bridge: "nats://127.0.0.1:4222", Split: true},
		"rabbit":        {Bridge: "amqp://guest:guest@127.0.0.1:5672/"},
		"local-split":   {Bridge: "memory", Split: true},
		"serverless":    {Bridge: "memory", HTTP: "127.0.0.1:8080"},
	}}
	type want struct {
		distributed       bool
		broker, brokerURL string
		http              string
	}
	tests := []struct {
		name    string
		args    []string
		want    want
		wantErr string
	}{
		{name: "no profile", args: nil, want: want{}},
		{name: "memory is the monolith", args: []string{"--profile", "monolith"}, want: want{}},
		{name: "split over a broker URL", args: []string{"--profile", "microservices"},
			want: want{distributed: true, broker: "nats", brokerURL: "nats://127.0.0.1:4222"}},
		{name: "a broker URL without split is a monolith on that broker", args: []string{"--profile", "rabbit"},
			want: want{broker: "amqp", brokerURL: "amqp://guest:guest@127.0.0.1:5672/"}},
		{name: "split on memory finds a broker", args: []string{"--profile", "local-split"}, want: want{distributed: true}},
		{name: "http address", args: []string{"--profile", "serverless"}, want: want{http: "127.0.0.1:8080"}},
		{name: "--distributed wins over memory", args: []string{"--profile", "monolith", "--distributed"},
			want: want{distributed: true}},
		{name: "--distributed=false wins over split", args: []string{"--profile", "microservices", "--distributed=false"},
			want: want{broker: "nats", brokerURL: "nats://127.0.0.1:4222"}},
		{name: "--broker-url wins", args: []string{"--profile", "microservices", "--broker-url", "mqtt://127.0.0.1:1883"},
			want: want{distributed: true, brokerURL: "mqtt://127.0.0.1:1883"}},
		{name: "--broker wins", args: []string{"--profile", "microservices", "--broker", "mqtt"},
			want: want{distributed: true, broker: "mqtt"}},
		{name: "unknown profile lists the names", args: []string{"--profile", "prod"},
			wantErr: `--profile "prod" is unknown: purista.yaml has local-split, microservices, monolith, rabbit, serverless`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			var got *Options
			cmd := NewCmdDev(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o; return ApplyProfile(o, m) })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Every field: the profile's, and the flags' defaults untouched.
			w := Options{Dir: ".", Grace: 10 * time.Second, Distributed: tt.want.distributed, Broker: tt.want.broker,
				BrokerURL: tt.want.brokerURL, HTTPAddr: tt.want.http}
			if i := slices.Index(tt.args, "--profile"); i >= 0 {
				w.Profile = tt.args[i+1]
			}
			if g := parsed(got); !reflect.DeepEqual(g, w) {
				t.Errorf("options\n got %+v\nwant %+v", g, w)
			}
		})
	}
}

// TestRunManifestHints: a missing purista.yaml hints at `purista new`, a broken one at
// fixing it, with the field and line named.
func TestRunManifestHints(t *testing.T) {
	tests := []struct {
		name     string
		manifest string // "" writes none
		wantErr  string
		wantHint string
		notHint  string
	}{
		{name: "no project", wantErr: "not inside a purista project", wantHint: "purista new"},
		{name: "unknown field", manifest: "name: shop\nmodule: x\nmain: ./cmd/shop\nfoo: 1\n",
			wantErr: "purista.yaml: unknown field foo (line 4", wantHint: "Fix purista.yaml", notHint: "purista new"},
		{name: "invalid value", manifest: "name: 1shop\nmodule: x\nmain: ./cmd/shop\n",
			wantErr: "not a Go identifier", wantHint: "Fix purista.yaml", notHint: "purista new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.manifest != "" {
				if err := os.WriteFile(filepath.Join(dir, project.FileName), []byte(tt.manifest), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			ios, _, _, _ := iostreams.Test()
			err := Run(context.Background(), &Options{IO: ios, Dir: dir, Getenv: func(string) string { return "" }})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run() = %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "project.Manifest") {
				t.Errorf("Run() = %v names a Go type", err)
			}
			hint := cmdutil.HintOf(err)
			if !strings.Contains(hint, tt.wantHint) || (tt.notHint != "" && strings.Contains(hint, tt.notHint)) {
				t.Errorf("hint %q, want %q without %q", hint, tt.wantHint, tt.notHint)
			}
			if tt.manifest == "" && !errors.Is(err, project.ErrNotFound) {
				t.Errorf("errors.Is(ErrNotFound) is false for %v", err)
			}
		})
	}
}

// TestBrokerURLNeverShowsCredentials: whatever is wrong with a broker URL (the in-memory
// bridge, an unknown scheme, a contradicting --broker, a bad profile), the error shows
// none of its credential forms: a password, a token or user-only userinfo, a ?token=.
func TestBrokerURLNeverShowsCredentials(t *testing.T) {
	creds := []struct{ name, rest, secret string }{
		{"password", "://guest:S3CRETpassw0rd@127.0.0.1:5672/", "S3CRETpassw0rd"},
		{"token", "://S3CRETtoken@127.0.0.1:4222", "S3CRETtoken"},
		{"user-only", "://S3CRETuser@127.0.0.1:1883", "S3CRETuser"},
		{"query token", "://127.0.0.1:4222?token=S3CRETquery", "S3CRETquery"},
	}
	for _, c := range creds {
		for _, tt := range []struct {
			name    string
			args    []string
			profile string // the bridge of profile "p", when set
		}{
			{name: "in-memory bridge", args: []string{"--distributed", "--broker-url", "memory" + c.rest}},
			{name: "unknown scheme", args: []string{"--distributed", "--broker-url", "kafka" + c.rest}},
			{name: "contradicting --broker", args: []string{"--distributed", "--broker", "mqtt", "--broker-url", "nats" + c.rest}},
			{name: "profile with an unknown scheme", args: []string{"--profile", "p"}, profile: "kafka" + c.rest},
		} {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				m := &project.Manifest{Profiles: map[string]project.Profile{"p": {Bridge: tt.profile}}}
				ios, _, _, _ := iostreams.Test()
				cmd := NewCmdDev(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { return ApplyProfile(o, m) })
				cmd.SetArgs(tt.args)
				cmd.SilenceUsage, cmd.SilenceErrors = true, true
				err := cmd.Execute()
				if err == nil {
					t.Fatal("the URL was accepted")
				}
				if strings.Contains(err.Error(), c.secret) {
					t.Errorf("the error shows the %s credential: %v", c.name, err)
				}
			})
		}
	}
}

// TestPreflightBroker: before dev builds anything, a broker URL (flag, profile or
// PURISTA_BROKER_URL) that names no broker is a usage error, and one whose broker does
// not answer is one error, exit 2, naming the masked URL, where it came from and what to
// try; without a URL (dev starts a broker) or without a broker there is nothing to test.
func TestPreflightBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "PURISTA_BROKER_URL" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name      string
		opts      Options
		want      string // in the error; "" for none
		wantUsage bool   // a UsageError rather than the broker's
	}{
		{name: "monolith", opts: Options{BrokerURL: ""}},
		{name: "distributed without a URL starts its own broker", opts: Options{Distributed: true, Getenv: env("")}},
		{name: "flag", opts: Options{Distributed: true, BrokerURL: "nats://" + closed},
			want: "broker unavailable: nats://" + closed + " does not answer"},
		{name: "password masked", opts: Options{Distributed: true, BrokerURL: "amqp://guest:secret@" + closed + "/"},
			want: "broker unavailable: amqp://xxxxx@" + closed + "/ does not answer"},
		{name: "environment", opts: Options{Distributed: true, Getenv: env("mqtt://" + closed)},
			want: "does not answer: dial tcp " + closed},
		{name: "profile bridge", opts: Options{Profile: "micro", BrokerURL: "nats://" + closed},
			want: "(the bridge of profile micro)"},
		{name: "environment with a bad port", opts: Options{Distributed: true, Getenv: env("nats://h:99999")},
			want: "PURISTA_BROKER_URL: invalid broker URL: port", wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			err := preflightBroker(context.Background(), &o)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("err = %v, want %q without the password", err, tt.want)
			}
			if tt.wantUsage {
				if !cmdutil.IsUsageError(err) {
					t.Errorf("err = %v, want a usage error", err)
				}
				return
			}
			var ec *cmdutil.ExitCodeError
			if !errors.As(err, &ec) || ec.Code != cmdutil.ExitUsage {
				t.Errorf("err = %v (%T), want exit %d", err, err, cmdutil.ExitUsage)
			}
			if h := cmdutil.HintOf(err); !strings.Contains(h, "Nothing was started") {
				t.Errorf("hint %q does not say what to do", h)
			}
		})
	}
}
