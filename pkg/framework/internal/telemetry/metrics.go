package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc/credentials"
)

// Metrics is an application's metric pipeline: a MeterProvider with a Prometheus reader
// (whose registry Handler serves) and/or a periodic OTLP reader.
type Metrics struct {
	// Provider records the measurements; pass it to framework.WithMeterProvider. Its
	// Shutdown pushes the last OTLP export and stops the readers.
	Provider *sdkmetric.MeterProvider
	// Handler serves the metrics in the Prometheus text format (GET /metrics), nil when
	// the Prometheus exporter is off. It reads a registry of its own, never Prometheus's
	// global default one.
	Handler http.Handler
}

// MetricsEnabled reports whether the environment read by getenv turns metrics on when
// something serves Metrics.Handler (Options.NoScrape false).
func MetricsEnabled(getenv func(string) string) bool {
	names, _ := metricExporterNames(getenv, false, "")
	return len(names) > 0
}

// NewMetrics returns the metric pipeline the environment asks for, nil (and no error)
// when it turns metrics off:
//
//   - OTEL_METRICS_EXPORTER unset: prometheus, plus otlp when OTEL_EXPORTER_OTLP_ENDPOINT
//     or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set;
//   - prometheus: a reader whose registry Metrics.Handler serves;
//   - otlp: a periodic reader pushing every OTEL_METRIC_EXPORT_INTERVAL (default 60 s)
//     over the OTLP protocol, endpoint, headers … of the OTEL_EXPORTER_OTLP_* variables;
//   - none, or OTEL_SDK_DISABLED=true: off.
//
// With Options.NoScrape the default leaves prometheus out, and OTEL_METRICS_EXPORTER
// naming prometheus is an error.
//
// The caller owns the provider and shuts it down once. Errors wrap ErrConfig.
func NewMetrics(ctx context.Context, o Options) (*Metrics, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	names, err := metricExporterNames(o.Getenv, o.NoScrape, o.ScrapeHint)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	res, err := newResource(ctx, o)
	if err != nil {
		return nil, err
	}
	m := &Metrics{}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithExemplarFilter(exemplar.TraceBasedFilter)}
	opts = append(opts, durationViews()...)
	for _, name := range names {
		if name == "prometheus" {
			reg := prometheus.NewRegistry()
			exp, err := otelprom.New(otelprom.WithRegisterer(reg))
			if err != nil {
				return nil, fmt.Errorf("%w: Prometheus exporter: %w", ErrConfig, err)
			}
			opts = append(opts, sdkmetric.WithReader(exp))
			m.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
			continue
		}
		reader, err := newOTLPReader(ctx, o.Getenv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdkmetric.WithReader(reader))
	}
	m.Provider = sdkmetric.NewMeterProvider(opts...)
	return m, nil
}

// DurationBuckets returns the histogram bucket boundaries, in seconds, of the duration
// histograms purista records (DurationHistograms): from 100 µs, so that in-process calls
// of well under a millisecond fall apart, up to 10 s.
func DurationBuckets() []float64 {
	return []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// DurationHistograms returns the names of the instruments whose buckets are
// DurationBuckets.
func DurationHistograms() []string {
	return []string{"rpc.server.call.duration", "messaging.process.duration", "http.server.request.duration"}
}

// durationViews returns the views giving DurationHistograms the boundaries DurationBuckets.
func durationViews() []sdkmetric.Option {
	var opts []sdkmetric.Option
	for _, name := range DurationHistograms() {
		opts = append(opts, sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: name, Kind: sdkmetric.InstrumentKindHistogram},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: DurationBuckets()}})))
	}
	return opts
}

// metricExporterNames returns the metric exporters the environment asks for; with
// noScrape (nothing serves the Prometheus handler) prometheus is not a default, and
// asking for it is an error ending with hint.
func metricExporterNames(getenv func(string) string, noScrape bool, hint string) ([]string, error) {
	if off, err := disabled(getenv); off || err != nil {
		return nil, err
	}
	v := strings.TrimSpace(getenv("OTEL_METRICS_EXPORTER"))
	if v == "" {
		var names []string
		if !noScrape {
			names = append(names, "prometheus")
		}
		if strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" || strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")) != "" {
			names = append(names, "otlp")
		}
		return names, nil
	}
	names, err := exportersOf("OTEL_METRICS_EXPORTER", v, "prometheus", "otlp")
	if err == nil && noScrape && slices.Contains(names, "prometheus") {
		return nil, fmt.Errorf("%w: OTEL_METRICS_EXPORTER=%q asks for the Prometheus exporter, but nothing serves its /metrics: %s, or set OTEL_METRICS_EXPORTER to otlp or none",
			ErrConfig, v, hint)
	}
	return names, err
}

// newOTLPReader returns a periodic reader pushing to the OTLP exporter the environment
// describes.
func newOTLPReader(ctx context.Context, getenv func(string) string) (sdkmetric.Reader, error) {
	c, err := otlpEnv(getenv, "metrics")
	if err != nil {
		return nil, err
	}
	interval, err := envMillis(getenv, "OTEL_METRIC_EXPORT_INTERVAL", time.Minute)
	if err != nil {
		return nil, err
	}
	timeout, err := envMillis(getenv, "OTEL_METRIC_EXPORT_TIMEOUT", 30*time.Second)
	if err != nil {
		return nil, err
	}
	temporality := sdkmetric.DefaultTemporalitySelector
	switch v := strings.ToLower(strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"))); v {
	case "", "cumulative":
	case "delta":
		temporality = deltaTemporality
	default:
		return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=%q: use cumulative or delta", ErrConfig, v)
	}
	var exp sdkmetric.Exporter
	if c.protocol == "grpc" {
		opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithHeaders(c.headers), otlpmetricgrpc.WithTimeout(c.timeout),
			otlpmetricgrpc.WithTemporalitySelector(temporality)}
		if strings.Contains(c.endpoint, "://") {
			opts = append(opts, otlpmetricgrpc.WithEndpointURL(c.endpoint))
		} else {
			opts = append(opts, otlpmetricgrpc.WithEndpoint(c.endpoint))
		}
		if c.plaintext() {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		} else {
			opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(c.tls)))
		}
		if c.gzip {
			opts = append(opts, otlpmetricgrpc.WithCompressor("gzip"))
		}
		exp, err = otlpmetricgrpc.New(ctx, opts...)
	} else {
		opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpointURL(c.endpoint), otlpmetrichttp.WithHeaders(c.headers),
			otlpmetrichttp.WithTimeout(c.timeout), otlpmetrichttp.WithTemporalitySelector(temporality),
			otlpmetrichttp.WithCompression(otlpmetrichttp.NoCompression)}
		if !c.plaintext() {
			opts = append(opts, otlpmetrichttp.WithTLSClientConfig(c.tls))
		}
		if c.gzip {
			opts = append(opts, otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
		}
		exp, err = otlpmetrichttp.New(ctx, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: OTLP %s metric exporter: %w", ErrConfig, c.protocol, err)
	}
	return sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(interval), sdkmetric.WithTimeout(timeout)), nil
}

// deltaTemporality reports delta for counters and histograms, cumulative for up-down
// counters (as the OpenTelemetry specification's delta preference does).
func deltaTemporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	switch k {
	case sdkmetric.InstrumentKindUpDownCounter, sdkmetric.InstrumentKindObservableUpDownCounter:
		return metricdata.CumulativeTemporality
	}
	return metricdata.DeltaTemporality
}
