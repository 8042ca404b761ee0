//go:build !purista_no_otel

package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/echotest"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry/otlptest"
)

// TestRunExportsTraces runs an application whose getenv sets nothing but
// OTEL_EXPORTER_OTLP_ENDPOINT (the process environment names a dead one) and checks that
// the spans and metrics of a call reach the OTLP/HTTP endpoint the test starts by the
// time Run returns (the shutdown flushes them).
func TestRunExportsTraces(t *testing.T) {
	c := &otlptest.Collector{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_METRICS_EXPORTER",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1") // must not be used: Run's getenv decides

	contract := framework.NewContract("Traced", "1")
	ping := framework.Command[struct{}, struct{}](contract, "ping")
	svc := framework.NewService(contract, "traced")
	framework.Handle(svc, ping, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var invokeErr error
	a := New(svc).With(WithReady(func(rt *framework.Runtime) {
		_, invokeErr = ping.Invoke(rt.Client(ctx), struct{}{})
		cancel()
	}))
	env := map[string]string{"PURISTA_HEALTH_ADDR": "off", "OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL}
	logs := &logBuffer{}
	if code := a.Run(ctx, nil, func(k string) string { return env[k] }, logs); code != 0 || invokeErr != nil {
		t.Fatalf("exit %d, invoke error %v:\n%s", code, invokeErr, logs.String())
	}
	got := c.Spans()
	for _, span := range []string{"SPAN_KIND_CLIENT Traced.v1/ping", "SPAN_KIND_SERVER Traced.v1/ping"} {
		if svc := got[span].Resource["service.name"]; svc != "Traced" {
			t.Errorf("span %q: service.name %q, want Traced (got %v)", span, svc, got)
		}
	}
	calls := 0.0
	for _, p := range c.Metrics() {
		if p.Name == "rpc.server.call.duration" && p.Attrs["rpc.method"] == "Traced.v1/ping" && p.Resource["service.name"] == "Traced" {
			calls += p.Value
		}
	}
	if calls != 1 {
		t.Errorf("rpc.server.call.duration of Traced.v1/ping: count %v, want 1 (points %v)", calls, c.Metrics())
	}
}

// TestTelemetryConfigErrors runs an application with OTEL_* values it cannot use and
// checks that Run exits with ExitConfig and an error that names the variable, says
// what it accepts, and says "invalid" once.
func TestTelemetryConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			want: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": use http/protobuf or grpc`},
		{name: "metrics protocol", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
			want: `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="http/json"`},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "::not a url"},
			want: `OTEL_EXPORTER_OTLP_ENDPOINT="::not a url" is not a URL`},
		{name: "insecure", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_INSECURE": "maybe"},
			want: `OTEL_EXPORTER_OTLP_INSECURE="maybe": use true or false`},
		{name: "sdk disabled", env: map[string]string{"OTEL_SDK_DISABLED": "yes"},
			want: `OTEL_SDK_DISABLED="yes": use true or false`},
		{name: "prometheus without health", env: map[string]string{"OTEL_METRICS_EXPORTER": "prometheus", "PURISTA_HEALTH_ADDR": "off"},
			want: `OTEL_METRICS_EXPORTER="prometheus" asks for the Prometheus exporter, but nothing serves its /metrics: the health address, which serves it, is off: set PURISTA_HEALTH_ADDR`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			env := func(k string) string { return tt.env[k] }
			code := New(echoService()).Run(context.Background(), nil, env, logs)
			out := logs.String()
			if code != ExitConfig || !strings.Contains(out, tt.want) || strings.Count(out, "invalid") != 1 {
				t.Fatalf("exit %d, want %d, with %q and one \"invalid\":\n%s", code, ExitConfig, tt.want, out)
			}
		})
	}
}

// TestTelemetryConfigErrorIs checks that a telemetry configuration error matches both
// framework.ErrConfig and telemetry.ErrConfig.
func TestTelemetryConfigErrorIs(t *testing.T) {
	env := map[string]string{"OTEL_SDK_DISABLED": "yes"}
	_, err := newMetrics(context.Background(), func(k string) string { return env[k] }, nil, true)
	if !errors.Is(err, framework.ErrConfig) || !errors.Is(err, telemetry.ErrConfig) {
		t.Fatalf("error %v: want one matching framework.ErrConfig and telemetry.ErrConfig", err)
	}
}

// TestOtelErrorsLogged runs an application with JSON logs whose trace and metric
// exporters push to a dead endpoint, and checks that OpenTelemetry's export errors
// arrive in the log stream as JSON WARN lines, and that every line of it is JSON.
func TestOtelErrorsLogged(t *testing.T) {
	env := map[string]string{"PURISTA_HEALTH_ADDR": "off", "PURISTA_LOG_FORMAT": "json", "PURISTA_SHUTDOWN_TIMEOUT": "2s",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces", "OTEL_METRICS_EXPORTER": "otlp",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:1/v1/metrics", "OTEL_EXPORTER_OTLP_TIMEOUT": "200",
		"OTEL_BSP_SCHEDULE_DELAY": "20", "OTEL_METRIC_EXPORT_INTERVAL": "20", "OTEL_METRIC_EXPORT_TIMEOUT": "200"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logBuffer{}
	done := make(chan int, 1)
	a := New(echoService()).With(WithReady(func(rt *framework.Runtime) {
		_, _ = echotest.Echo.Invoke(rt.Client(ctx), echoIn{}) // a span to export
	}))
	go func() { done <- a.Run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	waitReady(t, "an OpenTelemetry error in the log", done, logs, func() error {
		if !strings.Contains(logs.String(), `"msg":"`+otelErrorMessage+`"`) {
			return errors.New("none yet")
		}
		return nil
	})
	cancel()
	<-done
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %q", line)
		}
		if rec.Msg == otelErrorMessage && rec.Level != "WARN" {
			t.Errorf("level %s, want WARN: %s", rec.Level, line)
		}
	}
	if !strings.Contains(logs.String(), "127.0.0.1:1") {
		t.Errorf("no export error names the endpoint:\n%s", logs.String())
	}
}
