package telemetry

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// newSampler returns the sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name
// (default parentbased_always_on).
func newSampler(getenv func(string) string) (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")))
	ratio := 1.0
	if strings.HasSuffix(name, "traceidratio") {
		if v := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")); v != "" {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r < 0 || r > 1 {
				return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1, e.g. 0.1", ErrConfig, v)
			}
			ratio = r
		}
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER=%q: use always_on, always_off, traceidratio or their parentbased_ forms", ErrConfig, name)
}

// batchOptions returns the batch span processor's limits from OTEL_BSP_* (the SDK's
// defaults when unset).
func batchOptions(getenv func(string) string) ([]sdktrace.BatchSpanProcessorOption, error) {
	delay, err := envMillis(getenv, "OTEL_BSP_SCHEDULE_DELAY", 5*time.Second)
	if err != nil {
		return nil, err
	}
	timeout, err := envMillis(getenv, "OTEL_BSP_EXPORT_TIMEOUT", 30*time.Second)
	if err != nil {
		return nil, err
	}
	queue, err := envInt(getenv, "OTEL_BSP_MAX_QUEUE_SIZE", sdktrace.DefaultMaxQueueSize)
	if err != nil {
		return nil, err
	}
	batch, err := envInt(getenv, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", sdktrace.DefaultMaxExportBatchSize)
	if err != nil {
		return nil, err
	}
	return []sdktrace.BatchSpanProcessorOption{sdktrace.WithBatchTimeout(delay), sdktrace.WithExportTimeout(timeout),
		sdktrace.WithMaxQueueSize(queue), sdktrace.WithMaxExportBatchSize(batch)}, nil
}
