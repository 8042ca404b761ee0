package app

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/metric"
)

// metricsPipeline is the application's metric pipeline (see newMetrics).
type metricsPipeline struct {
	provider metric.MeterProvider
	shutdown func(context.Context) error
	handler  http.Handler // GET /metrics; nil when the Prometheus exporter is off
}

// healthHandler serves health, and the metrics at GET /metrics when m has a handler.
func healthHandler(health http.Handler, m *metricsPipeline) http.Handler {
	if m == nil || m.handler == nil {
		return health
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.handler)
	mux.Handle("/", health)
	return mux
}
