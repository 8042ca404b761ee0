// Package otlptest is an OTLP collector for tests: it serves the OTLP/HTTP (protobuf)
// endpoints /v1/traces and /v1/metrics and the OTLP/gRPC trace and metrics services,
// decodes the export requests with go.opentelemetry.io/proto/otlp and keeps their spans
// and metric data points.
package otlptest

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a received span with the attributes of its resource.
type Span struct {
	// Kind is the OTLP kind, e.g. "SPAN_KIND_SERVER"; Name the span's name.
	Kind, Name string
	// TraceID, SpanID and ParentSpanID are the raw ids (ParentSpanID empty for a root).
	TraceID, SpanID, ParentSpanID []byte
	// Resource holds the attributes of the span's resource (service.name, process.pid,
	// …), each as a string (AttrString).
	Resource map[string]string
	// Attributes holds the span's own attributes (purista.trace_id, …), each as a string
	// (AttrString).
	Attributes map[string]string
}

// Collector records the spans of the export requests it receives. Register it as a
// gRPC TraceServiceServer or serve it over HTTP. It is safe for concurrent use.
type Collector struct {
	coltrace.UnimplementedTraceServiceServer
	mu     sync.Mutex
	spans  []Span
	points []Point
}

// Export implements the OTLP/gRPC trace service.
func (c *Collector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		res := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			res[kv.Key] = AttrString(kv.GetValue())
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				attrs := make(map[string]string, len(s.Attributes))
				for _, kv := range s.Attributes {
					attrs[kv.Key] = AttrString(kv.GetValue())
				}
				c.spans = append(c.spans, Span{Kind: s.Kind.String(), Name: s.Name, TraceID: s.TraceId, SpanID: s.SpanId,
					ParentSpanID: s.ParentSpanId, Resource: res, Attributes: attrs})
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// ServeHTTP is the OTLP/HTTP endpoint: a protobuf POST to /v1/traces, gzip or not.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/metrics" && r.Header.Get("Content-Type") == "application/x-protobuf" {
		c.serveMetrics(w, r)
		return
	}
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf POST to /v1/traces or /v1/metrics", http.StatusBadRequest)
		return
	}
	req := &coltrace.ExportTraceServiceRequest{}
	if decode(w, r, req) {
		resp, _ := c.Export(r.Context(), req)
		reply(w, resp)
	}
}

// decode reads the protobuf body of r, gzip or not, into msg; on failure it answers 400
// and returns false.
func decode(w http.ResponseWriter, r *http.Request, msg proto.Message) bool {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err == nil {
		err = proto.Unmarshal(raw, msg)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// reply answers with the protobuf msg.
func reply(w http.ResponseWriter, msg proto.Message) {
	out, _ := proto.Marshal(msg)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// Spans returns the spans received so far, keyed by "<kind> <name>" (the last one of a
// key wins).
func (c *Collector) Spans() map[string]Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]Span, len(c.spans))
	for _, s := range c.spans {
		m[s.Kind+" "+s.Name] = s
	}
	return m
}

// All returns every span received so far, in the order of arrival.
func (c *Collector) All() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Span(nil), c.spans...)
}

// AttrString renders an OTLP attribute value as a string: strings as they are, integers
// in decimal, booleans as true or false, doubles in Go's shortest form; arrays, maps and
// bytes render as "".
func AttrString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	}
	return ""
}
