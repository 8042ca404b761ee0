package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
)

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown bridge scheme", nil, map[string]string{"PURISTA_BRIDGE": "kafka://x"}, "use memory, nats://"},
		{"bad shutdown timeout", []string{"--shutdown-timeout=soon"}, nil, "use e.g. 15s"},
		{"bad log level", nil, map[string]string{"PURISTA_LOG_LEVEL": "loud"}, "use debug, info, warn or error"},
		{"bad log format", []string{"--log-format=xml"}, nil, "use text or json"},
		{"stray argument", []string{"nats"}, nil, "settings are flags"},
		{"unknown flag", []string{"--brige=memory"}, nil, "flag provided but not defined"},
		{"bad local delivery", nil, map[string]string{"PURISTA_LOCAL_DELIVERY": "maybe"}, "use true or false"},
		{"bad instance id", []string{"--instance-id=Pod_0"}, nil, "neither 32 lowercase hex characters nor a pod-name-like label"},
		{"instance id too long", []string{"--instance-id=" + strings.Repeat("a", 64)}, nil, "nor a pod-name-like label"},
		{"names the variable", nil, map[string]string{"PURISTA_SHUTDOWN_TIMEOUT": "abc"}, `"abc" (PURISTA_SHUTDOWN_TIMEOUT) is not`},
		{"names the flag over the variable", []string{"--start-timeout=-1s"}, map[string]string{"PURISTA_START_TIMEOUT": "5s"}, `"-1s" (--start-timeout) is not`},
		{"bridge variable", nil, map[string]string{"PURISTA_BRIDGE": "kafka://x"}, "PURISTA_BRIDGE: bridge scheme"},
		{"unknown flag hints at -h", []string{"--nope"}, nil, "run with -h to list the settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := parseConfig(nil, tt.args, func(k string) string { return tt.env[k] }, &out)
			if !errors.Is(err, framework.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrConfig containing %q", err, tt.want)
			}
			if out.Len() > 0 {
				t.Fatalf("an error printed %q; it belongs in the error only", out.String())
			}
		})
	}
}

func TestParseConfigInstanceID(t *testing.T) {
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "signup-0", "email-worker-12"} {
		t.Run(id, func(t *testing.T) {
			cfg, err := parseConfig(nil, nil, func(k string) string {
				if k == "PURISTA_INSTANCE_ID" {
					return id
				}
				return ""
			}, io.Discard)
			if err != nil || cfg.InstanceID != id {
				t.Fatalf("PURISTA_INSTANCE_ID=%s: instance id %q, err %v", id, cfg.InstanceID, err)
			}
		})
	}
}

func TestParseConfigHelpAndHealthOff(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseConfig(nil, []string{"-h"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: err = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-shutdown-timeout") || !strings.Contains(out.String(), "PURISTA_SHUTDOWN_TIMEOUT") {
		t.Fatalf("-h printed %q, want every setting with its variable", out.String())
	}
	for _, args := range [][]string{{"--health-addr=off"}, {"--health-addr="}} {
		cfg, err := parseConfig(nil, args, func(string) string { return "" }, nil)
		if err != nil || cfg.HealthAddr != "" {
			t.Fatalf("%v: HealthAddr = %q, %v; want disabled", args, cfg.HealthAddr, err)
		}
	}
}

func TestParseConfigPrecedence(t *testing.T) {
	env := map[string]string{"PURISTA_BRIDGE": "amqp://guest:guest@127.0.0.1:5672/", "PURISTA_SERVICES": "Echo, Relay"}
	cfg, err := parseConfig(nil, []string{"--bridge=memory"}, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bridge != "memory" || strings.Join(cfg.Services, "|") != "Echo|Relay" || cfg.ShutdownTimeout != 15*time.Second {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://guest:hunter2@host:5672/": "amqp://xxxxx@host:5672/",
		"nats://127.0.0.1:4222":           "nats://127.0.0.1:4222",
		"memory":                          "memory",
		"memory://?handlers=goroutines":   "memory://?handlers=goroutines",
		"nats://S3CRETTOKEN@host:4222":    "nats://xxxxx@host:4222",
		"nats://host:4222?token=S3CRET":   "nats://host:4222?token=xxxxx",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunMainLifecycle(t *testing.T) {
	addr := freeAddr(t)
	env := map[string]string{"PURISTA_HEALTH_ADDR": addr, "PURISTA_SHUTDOWN_TIMEOUT": "5s"}
	ctx, cancel := context.WithCancel(context.Background())
	var logs logBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, nil, func(k string) string { return env[k] }, &logs, echoService(), relayService())
	}()
	waitReady(t, "never ready", done, &logs, readyz(addr))
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit code %d, want 0\n%s", code, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("no shutdown")
	}
	if !strings.Contains(logs.String(), "stopped cleanly") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

func TestRunMainExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"bad config", []string{"--log-level=loud"}, nil, ExitConfig},
		{"unknown service", nil, map[string]string{"PURISTA_SERVICES": "Nope", "PURISTA_HEALTH_ADDR": "off"}, ExitConfig},
		{"unreachable broker", nil, map[string]string{"PURISTA_BRIDGE": "nats://127.0.0.1:1", "PURISTA_HEALTH_ADDR": "off", "PURISTA_START_TIMEOUT": "2s"}, ExitFailure},
		{"help", []string{"-h"}, nil, ExitOK},
		{"signal while connecting is a clean stop", nil, map[string]string{"PURISTA_BRIDGE": "nats://127.0.0.1:1", "PURISTA_HEALTH_ADDR": "off", "PURISTA_START_TIMEOUT": "1m", "cancel": "200ms"}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if d, err := time.ParseDuration(tt.env["cancel"]); err == nil {
				ctx, cancel = context.WithTimeout(ctx, d) // stands in for SIGTERM during start-up
				defer cancel()
			}
			var out logBuffer
			code := runMain(ctx, tt.args, func(k string) string { return tt.env[k] }, &out, echoService())
			if code != tt.want {
				t.Fatalf("exit %d, want %d\n%s", code, tt.want, out.String())
			}
			if code == 0 && tt.env["cancel"] != "" && !strings.Contains(out.String(), "stopped before the services were ready") {
				t.Fatalf("no clean-stop message:\n%s", out.String())
			}
			if code != 0 && !strings.Contains(out.String(), "Error: ") {
				t.Fatalf("no error message:\n%s", out.String())
			}
		})
	}
}
