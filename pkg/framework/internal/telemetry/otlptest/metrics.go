package otlptest

import (
	"context"
	"net/http"
	"strconv"

	colmetric "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// Point is a received metric data point.
type Point struct {
	// Name is the metric's name, e.g. "rpc.server.call.duration".
	Name string
	// Attrs holds the point's attributes, as strings (ints in decimal).
	Attrs map[string]string
	// Value is a sum's or gauge's value, or a histogram's count.
	Value float64
	// Resource holds the string attributes of the point's resource.
	Resource map[string]string
}

// MetricsService returns the OTLP/gRPC metrics service of c, to register with
// colmetric.RegisterMetricsServiceServer.
func (c *Collector) MetricsService() colmetric.MetricsServiceServer { return metricsService{c: c} }

type metricsService struct {
	colmetric.UnimplementedMetricsServiceServer
	c *Collector
}

// Export implements the OTLP/gRPC metrics service.
func (s metricsService) Export(_ context.Context, req *colmetric.ExportMetricsServiceRequest) (*colmetric.ExportMetricsServiceResponse, error) {
	s.c.addMetrics(req)
	return &colmetric.ExportMetricsServiceResponse{}, nil
}

func (c *Collector) addMetrics(req *colmetric.ExportMetricsServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rm := range req.ResourceMetrics {
		res := strAttrs(rm.GetResource().GetAttributes())
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				add := func(attrs []*commonpb.KeyValue, v float64) {
					c.points = append(c.points, Point{Name: m.Name, Attrs: strAttrs(attrs), Value: v, Resource: res})
				}
				switch d := m.Data.(type) {
				case *metricpb.Metric_Sum:
					for _, p := range d.Sum.DataPoints {
						add(p.Attributes, numberValue(p))
					}
				case *metricpb.Metric_Gauge:
					for _, p := range d.Gauge.DataPoints {
						add(p.Attributes, numberValue(p))
					}
				case *metricpb.Metric_Histogram:
					for _, p := range d.Histogram.DataPoints {
						add(p.Attributes, float64(p.Count))
					}
				}
			}
		}
	}
}

func numberValue(p *metricpb.NumberDataPoint) float64 {
	if v, ok := p.Value.(*metricpb.NumberDataPoint_AsInt); ok {
		return float64(v.AsInt)
	}
	return p.GetAsDouble()
}

func strAttrs(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		if v, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_IntValue); ok {
			m[kv.Key] = strconv.FormatInt(v.IntValue, 10)
			continue
		}
		m[kv.Key] = kv.GetValue().GetStringValue()
	}
	return m
}

// serveMetrics is the OTLP/HTTP metrics endpoint.
func (c *Collector) serveMetrics(w http.ResponseWriter, r *http.Request) {
	req := &colmetric.ExportMetricsServiceRequest{}
	if decode(w, r, req) {
		c.addMetrics(req)
		reply(w, &colmetric.ExportMetricsServiceResponse{})
	}
}

// Metrics returns the data points received so far, in arrival order.
func (c *Collector) Metrics() []Point {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Point(nil), c.points...)
}
