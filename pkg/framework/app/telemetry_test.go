//go:build !purista_no_otel

package app

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
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
