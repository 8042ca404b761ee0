package framework_test

import (
	"context"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// BenchmarkInvokeMetricsRatio prints the cost of metrics on the memory bridge:
// `ratio memory-invoke-metrics-off-*` (no MeterProvider ÷ the plain call of
// BenchmarkInvoke), `ratio memory-invoke-metrics-prometheus-*` (the MeterProvider the app
// runner builds by default: the Prometheus exporter's reader on a registry of its own,
// with its bucket views ÷ the plain call) and `ratio memory-invoke-metrics-prometheus-vs-off-*`.
func BenchmarkInvokeMetricsRatio(b *testing.B) {
	m, err := telemetry.NewMetrics(context.Background(), telemetry.Options{Getenv: func(string) string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Provider.Shutdown(context.Background()) })
	metered, err := framework.Start(context.Background(), memory.New(), []*framework.Service{benchService()},
		framework.WithMeterProvider(m.Provider))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = metered.Shutdown(context.Background()) })
	compareOnOff(b, "memory-invoke-metrics", "metrics off", "prometheus", "Prometheus reader", metered.Client(context.Background()))
	for b.Loop() { // the work above is the measurement
	}
}
