package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"os"
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

// MetricsEnabled reports whether the environment read by getenv turns metrics on.
func MetricsEnabled(getenv func(string) string) bool {
	names, _ := metricExporterNames(getenv)
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
// The caller owns the provider and shuts it down once. Errors wrap ErrConfig.
func NewMetrics(ctx context.Context, o Options) (*Metrics, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	names, err := metricExporterNames(o.Getenv)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	res, err := newResource(ctx, o)
	if err != nil {
		return nil, err
	}
	m := &Metrics{}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithExemplarFilter(exemplar.TraceBasedFilter)}
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

// metricExporterNames returns the metric exporters the environment asks for.
func metricExporterNames(getenv func(string) string) ([]string, error) {
	if disabled(getenv) {
		return nil, nil
	}
	v := strings.TrimSpace(getenv("OTEL_METRICS_EXPORTER"))
	if v == "" {
		v = "prometheus"
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != "" {
			v += ",otlp"
		}
	}
	return exportersOf("OTEL_METRICS_EXPORTER", v, "prometheus", "otlp")
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
