package framework_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/purista-go/purista/internal/benchutil"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// discardExporter is a span exporter that drops every span: the cost it leaves is that of
// recording spans and batching them, not of any transport.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkInvokeTracingRatio prints the cost of tracing on the memory bridge:
// `ratio memory-invoke-tracing-off-*` (tracing off ÷ the plain call of BenchmarkInvoke),
// `ratio memory-invoke-tracing-noop-*` (an SDK TracerProvider batching to an exporter
// that discards ÷ the plain call) and `ratio memory-invoke-tracing-noop-vs-off-*`.
func BenchmarkInvokeTracingRatio(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	traced, err := framework.Start(context.Background(), memory.New(), []*framework.Service{benchService()},
		framework.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = traced.Shutdown(context.Background()) })
	compareOnOff(b, "memory-invoke-tracing", "tracing off", "noop", "no-op exporter", traced.Client(context.Background()))
	for b.Loop() { // the work above is the measurement
	}
}

// compareOnOff prints the ratios of an invoke on the memory bridge with a feature off
// (benchRuntime) and with it on (through onCtx), each against the plain call and against
// each other: `ratio <prefix>-off-*`, `ratio <prefix>-<on>-*` and `ratio <prefix>-<on>-vs-off-*`.
func compareOnOff(b *testing.B, prefix, offName, on, onName string, onCtx *framework.Client) {
	b.Helper()
	offCtx := benchRuntime(b)
	plain := benchutil.Side{Name: "plain call", Call: func() error { _, err := plainEcho(benchIn); return err }}
	off := benchutil.Side{Name: "memory invoke, " + offName, Call: func() error { _, err := benchEcho.Invoke(offCtx, benchIn); return err }}
	onSide := benchutil.Side{Name: "memory invoke, " + onName, Call: func() error { _, err := benchEcho.Invoke(onCtx, benchIn); return err }}
	for _, c := range []struct {
		name           string
		ours, baseline benchutil.Side
	}{
		{prefix + "-off", off, plain},
		{prefix + "-" + on, onSide, plain},
		{prefix + "-" + on + "-vs-off", onSide, off},
	} {
		if err := benchutil.Compare(c.name, 64, time.Second, 20000, c.ours, c.baseline); err != nil {
			b.Fatal(err)
		}
	}
}
