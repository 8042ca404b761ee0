package telemetry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry/otlptest"
	"github.com/purista-go/purista/pkg/framework/memory"
)

func TestMetricExporterSelection(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		noScrape         bool // nothing serves the Prometheus handler
		prometheus, otlp bool
		wantErr          bool
	}{
		{name: "nothing set: prometheus", env: nil, prometheus: true},
		{name: "endpoint: prometheus and otlp", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, prometheus: true, otlp: true},
		{name: "traces endpoint alone: prometheus", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, prometheus: true},
		{name: "otlp only", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp"}, otlp: true},
		{name: "none", env: map[string]string{"OTEL_METRICS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}},
		{name: "disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_METRICS_EXPORTER": "prometheus"}},
		{name: "no scrape: default off", env: nil, noScrape: true},
		{name: "no scrape: default otlp", env: map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:1/v1/metrics"}, noScrape: true, otlp: true},
		{name: "no scrape: prometheus asked for", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp,prometheus"}, noScrape: true, wantErr: true},
		{name: "disabled yes", env: map[string]string{"OTEL_SDK_DISABLED": "yes"}, wantErr: true},
		{name: "console is no metric exporter", env: map[string]string{"OTEL_METRICS_EXPORTER": "console"}, wantErr: true},
		{name: "bad interval", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "soon"}, wantErr: true},
		{name: "bad headers", env: map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			m, err := telemetry.NewMetrics(context.Background(), telemetry.Options{Getenv: getenv, NoScrape: tt.noScrape})
			if m != nil {
				t.Cleanup(func() { _ = m.Provider.Shutdown(context.Background()) })
			}
			switch {
			case tt.wantErr:
				if !errors.Is(err, telemetry.ErrConfig) {
					t.Fatalf("error %v, want one wrapping ErrConfig", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			on := tt.prometheus || tt.otlp
			if got := telemetry.MetricsEnabled(getenv); got != on && !tt.noScrape {
				t.Errorf("MetricsEnabled = %v, want %v", got, on)
			}
			if (m != nil) != on || (m != nil && (m.Handler != nil) != tt.prometheus) {
				t.Fatalf("pipeline %+v: want prometheus %v, otlp %v", m, tt.prometheus, tt.otlp)
			}
		})
	}
}

// TestMetricsOverOTLP records a call with a pipeline from NewMetrics pushing to a
// collector the test starts, named only by the getenv it is given, and checks after
// Shutdown (which must push) that rpc.server.call.duration arrived with the resource.
func TestMetricsOverOTLP(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}) // must not be used
			c := &otlptest.Collector{}
			env := map[string]string{"OTEL_METRICS_EXPORTER": "otlp,prometheus", "OTEL_EXPORTER_OTLP_ENDPOINT": c.Serve(t, protocol),
				"OTEL_EXPORTER_OTLP_PROTOCOL": protocol, "OTEL_SERVICE_NAME": "shop-test"}
			m, err := telemetry.NewMetrics(context.Background(), telemetry.Options{Getenv: func(k string) string { return env[k] }})
			if err != nil || m == nil || m.Handler == nil {
				t.Fatalf("pipeline %v, error %v: want OTLP and Prometheus", m, err)
			}
			shopSvc := framework.NewService(shop, "shop")
			framework.Handle(shopSvc, order, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
			rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{shopSvc}, framework.WithMeterProvider(m.Provider))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := order.Invoke(rt.Client(context.Background()), struct{}{}); err != nil {
					t.Fatal(err)
				}
			}
			rec := httptest.NewRecorder()
			m.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			body, _ := io.ReadAll(rec.Body)
			if !strings.Contains(string(body), `rpc_server_call_duration_seconds_count{`) {
				t.Errorf("/metrics lacks rpc_server_call_duration_seconds_count:\n%s", body)
			}
			if err := rt.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := m.Provider.Shutdown(context.Background()); err != nil { // pushes
				t.Fatal(err)
			}
			calls := 0.0
			for _, p := range c.Metrics() {
				if p.Name == "rpc.server.call.duration" && p.Attrs["rpc.method"] == "Shop.v1/order" && p.Resource["service.name"] == "shop-test" {
					calls += p.Value
				}
			}
			if calls != 2 {
				t.Errorf("rpc.server.call.duration of Shop.v1/order: count %v, want 2 (points %+v)", calls, c.Metrics())
			}
		})
	}
}
