package framework_test

import (
	"context"
	"testing"

	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// BenchmarkInvokeMetricsRatio prints the cost of metrics on the memory bridge:
// `ratio memory-invoke-metrics-off-*` (no MeterProvider ÷ the plain call of
// BenchmarkInvoke), `ratio memory-invoke-metrics-prometheus-*` (an SDK MeterProvider
// with the Prometheus exporter's reader, on a registry of its own ÷ the plain call) and
// `ratio memory-invoke-metrics-prometheus-vs-off-*`.
func BenchmarkInvokeMetricsRatio(b *testing.B) {
	exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	metered, err := framework.Start(context.Background(), memory.New(), []*framework.Service{benchService()},
		framework.WithMeterProvider(mp))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = metered.Shutdown(context.Background()) })
	compareOnOff(b, "memory-invoke-metrics", "metrics off", "prometheus", "Prometheus reader", metered.Client(context.Background()))
	for b.Loop() { // the work above is the measurement
	}
}
