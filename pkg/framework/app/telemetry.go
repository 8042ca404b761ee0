//go:build !purista_no_otel

package app

import (
	"context"
	"fmt"
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
		return nil, fmt.Errorf("%w: tracing: %w", framework.ErrConfig, err)
	}
	return tp, nil
}

// newMetrics returns the metric pipeline the OTEL_* environment read by getenv asks for
// (docs/observability.md), nil when it turns metrics off. The caller shuts it down,
// which pushes the last OTLP export.
func newMetrics(ctx context.Context, getenv func(string) string, services []*framework.Service) (*metricsPipeline, error) {
	m, err := telemetry.NewMetrics(ctx, telemetryOptions(getenv, services))
	if err != nil {
		return nil, fmt.Errorf("%w: metrics: %w", framework.ErrConfig, err)
	}
	if m == nil {
		return nil, nil
	}
	return &metricsPipeline{provider: m.Provider, shutdown: m.Provider.Shutdown, handler: m.Handler}, nil
}
