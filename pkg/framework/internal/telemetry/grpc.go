package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newGRPC creates the OTLP/gRPC exporter; it reads OTEL_EXPORTER_OTLP_* itself.
func newGRPC(ctx context.Context) (sdktrace.SpanExporter, error) { return otlptracegrpc.New(ctx) }
