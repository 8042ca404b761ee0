// Package otlptest is an OTLP trace collector for tests: it serves the OTLP/HTTP
// (protobuf) endpoint /v1/traces and the OTLP/gRPC trace service, decodes the export
// requests with go.opentelemetry.io/proto/otlp and keeps their spans.
package otlptest

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"sync"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a received span with the attributes of its resource.
type Span struct {
	// Kind is the OTLP kind, e.g. "SPAN_KIND_SERVER"; Name the span's name.
	Kind, Name string
	// TraceID, SpanID and ParentSpanID are the raw ids (ParentSpanID empty for a root).
	TraceID, SpanID, ParentSpanID []byte
	// Resource holds the string attributes of the span's resource (service.name, …).
	Resource map[string]string
}

// Collector records the spans of the export requests it receives. Register it as a
// gRPC TraceServiceServer or serve it over HTTP. It is safe for concurrent use.
type Collector struct {
	coltrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []Span
}

// Export implements the OTLP/gRPC trace service.
func (c *Collector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		res := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			res[kv.Key] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, Span{Kind: s.Kind.String(), Name: s.Name, TraceID: s.TraceId, SpanID: s.SpanId,
					ParentSpanID: s.ParentSpanId, Resource: res})
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// ServeHTTP is the OTLP/HTTP endpoint: a protobuf POST to /v1/traces, gzip or not.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf POST to /v1/traces", http.StatusBadRequest)
		return
	}
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	req := &coltrace.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(raw, req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, _ := c.Export(r.Context(), req)
	out, _ := proto.Marshal(resp)
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
