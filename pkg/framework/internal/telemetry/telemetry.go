// Package telemetry builds the OpenTelemetry TracerProvider and MeterProvider of a
// purista application from the standard OTEL_* environment, so that traces and metrics
// are exported by configuration alone. Every variable is read through Options.Getenv
// (the application's Run passes its own) and handed to the SDK and the exporters as
// options, never read by them from the process environment:
//
//   - OTEL_TRACES_EXPORTER: otlp, console or none (a comma-separated list is accepted);
//     unset means otlp when an OTLP endpoint is set, else tracing stays off;
//   - OTEL_METRICS_EXPORTER: prometheus, otlp or none (a list is accepted); unset means
//     prometheus, plus otlp when an OTLP endpoint is set (see NewMetrics);
//   - OTEL_EXPORTER_OTLP_PROTOCOL (_TRACES_, _METRICS_): http/protobuf (the default) or grpc;
//   - OTEL_EXPORTER_OTLP_ENDPOINT (_TRACES_, _METRICS_), _HEADERS, _TIMEOUT, _INSECURE,
//     _CERTIFICATE, _COMPRESSION, as in the OpenTelemetry specification;
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: the resource (they override the
//     service name and version the application passes);
//   - OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_SCHEDULE_DELAY,
//     OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE;
//   - OTEL_METRIC_EXPORT_INTERVAL, OTEL_METRIC_EXPORT_TIMEOUT,
//     OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (cumulative or delta);
//   - OTEL_SDK_DISABLED=true turns tracing and metrics off whatever else is set.
//
// docs/observability.md describes the setup with Jaeger, Tempo, Prometheus or any OTLP
// collector.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ErrConfig is wrapped by the errors of New about an OTEL_* value it cannot use.
var ErrConfig = errors.New("invalid OpenTelemetry configuration")

// Options are what the application knows about itself.
type Options struct {
	// ServiceName and ServiceVersion are the resource's service.name and
	// service.version unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES set them.
	ServiceName, ServiceVersion string
	// Console receives the spans of the console exporter (default os.Stdout).
	Console io.Writer
	// Getenv reads the environment (default os.Getenv); nothing else is read.
	Getenv func(string) string
	// NoScrape says that nothing serves Metrics.Handler: NewMetrics then leaves the
	// Prometheus exporter out of its default and fails when OTEL_METRICS_EXPORTER names
	// it, with an error that ends with ScrapeHint (what to set to serve it).
	NoScrape   bool
	ScrapeHint string
}

// Enabled reports whether the environment read by getenv turns trace export on. It
// costs a few environment look-ups and allocates nothing.
func Enabled(getenv func(string) string) bool {
	exporters, _ := exporterNames(getenv)
	return len(exporters) > 0
}

// New returns a TracerProvider exporting as the environment says, with a batching span
// processor per exporter, or nil (and no error) when the environment turns export off.
// The caller owns the provider: its Shutdown flushes the spans still queued and stops
// the exporters, and must be called once when the application stops. New fails, with
// an error wrapping ErrConfig, on an exporter or protocol it does not know, and when an
// exporter cannot be created.
func New(ctx context.Context, o Options) (*sdktrace.TracerProvider, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	exporters, err := exporterNames(o.Getenv)
	if err != nil || len(exporters) == 0 {
		return nil, err
	}
	res, err := newResource(ctx, o)
	if err != nil {
		return nil, err
	}
	sampler, err := newSampler(o.Getenv)
	if err != nil {
		return nil, err
	}
	batch, err := batchOptions(o.Getenv)
	if err != nil {
		return nil, err
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sampler)}
	var made []sdktrace.SpanExporter
	for _, name := range exporters {
		exp, err := newExporter(ctx, name, o)
		if err != nil {
			for _, e := range made {
				_ = e.Shutdown(ctx)
			}
			return nil, err
		}
		made = append(made, exp)
		opts = append(opts, sdktrace.WithBatcher(exp, batch...))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// exporterNames returns the exporters the environment asks for, none when export is off.
func exporterNames(getenv func(string) string) ([]string, error) {
	if off, err := disabled(getenv); off || err != nil {
		return nil, err
	}
	v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	if v == "" {
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil
		}
		v = "otlp"
	}
	return exportersOf("OTEL_TRACES_EXPORTER", v, "otlp", "console")
}

// newExporter creates the exporter name (otlp or console).
func newExporter(ctx context.Context, name string, o Options) (sdktrace.SpanExporter, error) {
	if name == "console" {
		w := o.Console
		if w == nil {
			w = os.Stdout
		}
		exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, fmt.Errorf("%w: console exporter: %w", ErrConfig, err)
		}
		return exp, nil
	}
	c, err := otlpEnv(o.Getenv, "traces")
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if c.protocol == "grpc" {
		exp, err = newGRPC(ctx, c)
	} else {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(c.endpoint), otlptracehttp.WithHeaders(c.headers),
			otlptracehttp.WithTimeout(c.timeout), otlptracehttp.WithCompression(otlptracehttp.NoCompression)}
		if !c.plaintext() {
			opts = append(opts, otlptracehttp.WithTLSClientConfig(c.tls))
		}
		if c.gzip {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: OTLP %s exporter: %w", ErrConfig, c.protocol, err)
	}
	return exp, nil
}

// newResource describes the application: the SDK's attributes, the process id
// (process.pid, which tells instances of one service apart), service name and version
// from o, then what OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (read with o.Getenv) say.
func newResource(ctx context.Context, o Options) (*resource.Resource, error) {
	name := o.ServiceName
	if name == "" {
		name = "purista"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if o.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(o.ServiceVersion))
	}
	if v := strings.TrimSpace(o.Getenv("OTEL_RESOURCE_ATTRIBUTES")); v != "" {
		err := keyValues("OTEL_RESOURCE_ATTRIBUTES", v, func(k, val string) { attrs = append(attrs, attribute.String(k, val)) })
		if err != nil {
			return nil, err
		}
	}
	if v := strings.TrimSpace(o.Getenv("OTEL_SERVICE_NAME")); v != "" {
		attrs = append(attrs, semconv.ServiceName(v)) // the last value of a key wins
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithProcessPID(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("%w: resource: %w", ErrConfig, err)
	}
	return res, nil
}
