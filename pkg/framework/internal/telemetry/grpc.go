package telemetry

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"
)

// newGRPC creates the OTLP/gRPC span exporter c describes.
func newGRPC(ctx context.Context, c otlpConfig) (sdktrace.SpanExporter, error) {
	opts := []otlptracegrpc.Option{otlptracegrpc.WithHeaders(c.headers), otlptracegrpc.WithTimeout(c.timeout)}
	if strings.Contains(c.endpoint, "://") {
		opts = append(opts, otlptracegrpc.WithEndpointURL(c.endpoint))
	} else {
		opts = append(opts, otlptracegrpc.WithEndpoint(c.endpoint))
	}
	if c.plaintext() {
		opts = append(opts, otlptracegrpc.WithInsecure())
	} else {
		opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(c.tls)))
	}
	if c.gzip {
		opts = append(opts, otlptracegrpc.WithCompressor("gzip"))
	}
	return otlptracegrpc.New(ctx, opts...)
}
