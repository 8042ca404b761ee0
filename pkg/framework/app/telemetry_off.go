//go:build purista_no_otel

package app

import (
	"context"
	"fmt"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/purista-go/purista/pkg/framework"
)

// newTracerProvider returns nil: the build tag purista_no_otel leaves the exporters out
// of this binary. It fails when the environment asks for export, so that a missing
// trace is not a surprise.
func newTracerProvider(context.Context, []*framework.Service) (*sdktrace.TracerProvider, error) {
	for _, v := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if val := os.Getenv(v); val != "" && val != "none" {
			return nil, fmt.Errorf("%w: %s is set, but this binary was built with the tag purista_no_otel, which leaves trace export out: rebuild without it or unset %s", framework.ErrConfig, v, v)
		}
	}
	return nil, nil
}
