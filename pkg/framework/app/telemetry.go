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

// newTracerProvider returns the TracerProvider the OTEL_* environment asks for
// (docs/observability.md), nil when it turns export off or the build tag purista_no_otel
// leaves the exporters out. The caller shuts it down, which flushes. services names the
// resource's service.name when there is one service and OTEL_SERVICE_NAME is not set;
// otherwise the program's name does.
func newTracerProvider(ctx context.Context, services []*framework.Service) (*sdktrace.TracerProvider, error) {
	name := filepath.Base(os.Args[0])
	if len(services) == 1 {
		name = services[0].Name()
	}
	tp, err := telemetry.New(ctx, telemetry.Options{ServiceName: name})
	if err != nil {
		return nil, fmt.Errorf("%w: tracing: %w", framework.ErrConfig, err)
	}
	return tp, nil
}
