package traces

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// listen starts a receiver on a new store, stopped at cleanup; changed receives what
// onSpans reports.
func listen(t *testing.T) (*Receiver, *Store, chan []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store := NewStore(0, 0)
	changed := make(chan []string, 16)
	r, err := Listen(ctx, store, func(ids []string) { changed <- ids })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); r.Wait() })
	return r, store, changed
}

// TestReceiverSDK exports spans with the SDK's OTLP/HTTP exporter, plain and gzip, and
// finds them in the store with their ids, kinds, times, attributes, status and the
// resource's service name.
func TestReceiverSDK(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			r, store, changed := listen(t)
			opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(r.Endpoint() + "/v1/traces")}
			if gz {
				opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
			}
			ctx := context.Background()
			exp, err := otlptracehttp.New(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
				sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("User"))))
			tr := tp.Tracer("test")
			sctx, server := tr.Start(ctx, "User.v1/signUp", trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("rpc.method", "User.v1/signUp"), attribute.String("purista.trace_id", "p-1"),
					attribute.Int("purista.status", 500), attribute.Bool("b", true)))
			_, client := tr.Start(sctx, "Email.v1/sendWelcome", trace.WithSpanKind(trace.SpanKindClient))
			client.SetStatus(codes.Error, "mail server down")
			client.End()
			server.End()
			if err := tp.Shutdown(ctx); err != nil { // flushes
				t.Fatal(err)
			}
			select {
			case ids := <-changed:
				if want := server.SpanContext().TraceID().String(); len(ids) != 1 || ids[0] != want {
					t.Errorf("onSpans(%v), want [%s]", ids, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("onSpans was not called")
			}
			spans, _ := store.Lookup("p-1")
			rows := Tree(spans, nil)
			if len(rows) != 2 {
				t.Fatalf("rows %+v, want the server span and its client span", rows)
			}
			s, c := rows[0], rows[1]
			if s.Kind != "server" || s.Name != "User.v1/signUp" || s.Resource != "User" || s.Service != "User" || s.ParentID != "" ||
				s.Attrs["purista.status"] != "500" || s.Attrs["b"] != "true" || s.Error || s.Duration() <= 0 {
				t.Errorf("server span %+v", s)
			}
			if c.Kind != "client" || c.Depth != 1 || c.ParentID != server.SpanContext().SpanID().String() || !c.Error ||
				c.Message != "mail server down" || c.Service != "User" {
				t.Errorf("client span %+v", c)
			}
			if c.Start.Before(s.Start) || c.End.After(s.End) {
				t.Errorf("client %v–%v is not within server %v–%v", c.Start, c.End, s.Start, s.End)
			}
		})
	}
}

// TestReceiverRefuses: what is not an OTLP http/protobuf export within the size limit
// gets a 4xx that says why, and stores nothing.
func TestReceiverRefuses(t *testing.T) {
	r, store, _ := listen(t)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(make([]byte, MaxBody+10))
	_ = zw.Close()
	tests := []struct {
		name, method, path, ctype, enc string
		body                           []byte
		status                         int
		says                           string
	}{
		{"json", "POST", "/v1/traces", "application/json", "", []byte("{}"), 415, "http/protobuf"},
		{"garbage", "POST", "/v1/traces", "application/x-protobuf", "", []byte{0xff, 0xff, 0xff}, 400, "ExportTraceServiceRequest"},
		{"bad gzip", "POST", "/v1/traces", "application/x-protobuf", "gzip", []byte("nope"), 400, "gzip"},
		{"other encoding", "POST", "/v1/traces", "application/x-protobuf", "br", []byte("x"), 415, "gzip"},
		{"too large", "POST", "/v1/traces", "application/x-protobuf", "", make([]byte, MaxBody+1), 413, "larger"},
		{"too large once decompressed", "POST", "/v1/traces", "application/x-protobuf", "gzip", bomb.Bytes(), 413, "larger"},
		{"GET", "GET", "/v1/traces", "", "", nil, 405, ""},
		{"other path", "POST", "/v1/metrics", "application/x-protobuf", "", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, r.Endpoint()+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.enc != "" {
				req.Header.Set("Content-Encoding", tt.enc)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(b.String(), tt.says) {
				t.Errorf("%s %s = %d %q, want %d saying %q", tt.method, tt.path, resp.StatusCode, b.String(), tt.status, tt.says)
			}
		})
	}
	if store.Len() != 0 {
		t.Errorf("store holds %d traces, want none", store.Len())
	}
}

// TestReceiverStops: the receiver stops serving when its context ends.
func TestReceiverStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Listen(ctx, NewStore(0, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	r.Wait()
	if resp, err := http.Post(r.Endpoint()+"/v1/traces", "application/x-protobuf", nil); err == nil {
		resp.Body.Close()
		t.Errorf("still serving after the context ended: %s", resp.Status)
	}
}
