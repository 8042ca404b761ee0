//go:build !purista_no_otel

package app

import (
	"context"
	"os"
	"path/filepath"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
)

// telemetryOptions names the resource's service.name after the one service when there
// is one and OTEL_SERVICE_NAME is not set, else after the program.
func telemetryOptions(getenv func(string) string, services []*framework.Service) telemetry.Options {
	name := filepath.Base(os.Args[0])
	if len(services) == 1 {
		name = services[0].Name()
	}
	return telemetry.Options{ServiceName: name, Getenv: getenv}
}

// newTracerProvider returns the TracerProvider the OTEL_* environment read by getenv
// asks for (docs/observability.md), nil when it turns export off. The caller shuts it
// down, which flushes.
func newTracerProvider(ctx context.Context, getenv func(string) string, services []*framework.Service) (*sdktrace.TracerProvider, error) {
	tp, err := telemetry.New(ctx, telemetryOptions(getenv, services))
	if err != nil {
		return nil, configError{err}
	}
	return tp, nil
}

// newMetrics returns the metric pipeline the OTEL_* environment read by getenv asks for
// (docs/observability.md), nil when it turns metrics off. served says whether the
// health address (which serves /metrics) is on: without it the Prometheus exporter is no
// default, and asking for it is an error. The caller shuts the pipeline down, which
// pushes the last OTLP export.
func newMetrics(ctx context.Context, getenv func(string) string, services []*framework.Service, served bool) (*metricsPipeline, error) {
	o := telemetryOptions(getenv, services)
	o.NoScrape, o.ScrapeHint = !served, "the health address, which serves it, is off: set PURISTA_HEALTH_ADDR (--health-addr) to an address such as 127.0.0.1:8081"
	m, err := telemetry.NewMetrics(ctx, o)
	if err != nil {
		return nil, configError{err}
	}
	if m == nil {
		return nil, nil
	}
	return &metricsPipeline{provider: m.Provider, shutdown: m.Provider.Shutdown, handler: m.Handler}, nil
}

// configError is an error of the telemetry configuration: it matches both
// framework.ErrConfig and telemetry.ErrConfig with errors.Is, and reads as the telemetry
// error alone (which already says that the configuration is invalid).
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{framework.ErrConfig, e.err} }
