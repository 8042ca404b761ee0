package otlptest

import (
	"net"
	"net/http/httptest"
	"testing"

	colmetric "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// Serve starts c on a loopback port for the OTLP protocol "http/protobuf" (the HTTP
// endpoints) or "grpc" (the trace and metrics services), stopped when tb ends, and
// returns the base URL to give OTEL_EXPORTER_OTLP_ENDPOINT.
func (c *Collector) Serve(tb testing.TB, protocol string) (endpoint string) {
	tb.Helper()
	if protocol != "grpc" {
		srv := httptest.NewServer(c)
		tb.Cleanup(srv.Close)
		return srv.URL
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, c)
	colmetric.RegisterMetricsServiceServer(srv, c.MetricsService())
	go func() { _ = srv.Serve(lis) }() // ends with Stop
	tb.Cleanup(srv.Stop)
	return "http://" + lis.Addr().String()
}
