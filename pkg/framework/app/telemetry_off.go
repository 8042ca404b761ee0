//go:build purista_no_otel

package app

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/purista-go/purista/pkg/framework"
)

// newTracerProvider returns nil: the build tag purista_no_otel leaves the exporters out
// of this binary. It fails when the environment asks for export, so that a missing
// trace is not a surprise.
func newTracerProvider(_ context.Context, getenv func(string) string, _ []*framework.Service) (*sdktrace.TracerProvider, error) {
	return nil, refuseExport(getenv, "trace export", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
}

// newMetrics returns nil: the build tag purista_no_otel leaves the metric exporters
// (Prometheus and OTLP) out of this binary, and /metrics is not served. It fails when
// the environment asks for metric export explicitly.
func newMetrics(_ context.Context, getenv func(string) string, _ []*framework.Service, _ bool) (*metricsPipeline, error) {
	return nil, refuseExport(getenv, "metric export", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
}

// refuseExport returns an error wrapping framework.ErrConfig when one of vars is set
// (to something other than none).
func refuseExport(getenv func(string) string, what string, vars ...string) error {
	for _, v := range vars {
		if val := getenv(v); val != "" && val != "none" {
			return fmt.Errorf("%w: %s is set, but this binary was built with the tag purista_no_otel, which leaves %s out: rebuild without it or unset %s", framework.ErrConfig, v, what, v)
		}
	}
	return nil
}
