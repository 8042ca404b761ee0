// Package telemetry builds the OpenTelemetry TracerProvider of a purista application from
// the standard OTEL_* environment, so that traces are exported by configuration alone:
//
//   - OTEL_TRACES_EXPORTER: otlp, console or none (a comma-separated list is accepted);
//     unset means otlp when an OTLP endpoint is set, else tracing stays off;
//   - OTEL_EXPORTER_OTLP_PROTOCOL / OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: http/protobuf (the
//     default) or grpc;
//   - OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _HEADERS, _TIMEOUT,
//     _INSECURE, _CERTIFICATE, _COMPRESSION: read by the OTLP exporters themselves;
//   - OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES: the resource (they override the
//     service name and version the application passes);
//   - OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG and OTEL_BSP_*: read by the SDK;
//   - OTEL_SDK_DISABLED=true turns tracing off whatever else is set.
//
// docs/observability.md describes the setup with Jaeger, Tempo or any OTLP collector.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
	// Getenv reads the environment (default os.Getenv). The OTLP exporters read their
	// own OTEL_EXPORTER_OTLP_* variables from the process environment.
	Getenv func(string) string
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
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
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
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}

// exporterNames returns the exporters the environment asks for, none when export is off.
func exporterNames(getenv func(string) string) ([]string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return nil, nil
	}
	v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	if v == "" {
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return nil, nil
		}
		v = "otlp"
	}
	var names []string
	for _, n := range strings.Split(v, ",") {
		switch n = strings.ToLower(strings.TrimSpace(n)); n {
		case "none":
			return nil, nil
		case "otlp", "console":
			names = append(names, n)
		case "":
		default:
			return nil, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q: %q is not an exporter purista has: use otlp, console or none", ErrConfig, v, n)
		}
	}
	return names, nil
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
	protocol := strings.TrimSpace(o.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if protocol == "" {
		protocol = strings.TrimSpace(o.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = newGRPC(ctx)
	default:
		return nil, fmt.Errorf("%w: OTLP protocol %q: use http/protobuf or grpc (http/json is not supported)", ErrConfig, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: OTLP %s exporter: %w", ErrConfig, protocol, err)
	}
	return exp, nil
}

// newResource describes the application: the SDK's attributes, the process id
// (process.pid, which tells instances of one service apart), service name and version
// from o, then what OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES say.
func newResource(ctx context.Context, o Options) (*resource.Resource, error) {
	name := o.ServiceName
	if name == "" {
		name = "purista"
	}
	attrs := resource.WithAttributes(semconv.ServiceName(name))
	if o.ServiceVersion != "" {
		attrs = resource.WithAttributes(semconv.ServiceName(name), semconv.ServiceVersion(o.ServiceVersion))
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithProcessPID(), attrs, resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("%w: resource (OTEL_RESOURCE_ATTRIBUTES %q): %w", ErrConfig, o.Getenv("OTEL_RESOURCE_ATTRIBUTES"), err)
	}
	return res, nil
}
