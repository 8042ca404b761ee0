package framework_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// TestHTTPServerSpan: with tracing on, an HTTP call has a server span named by its route
// around the command's client span; the chain's traceId (in the span attribute and in a
// problem's traceId) is that span's W3C trace id, which continues the request's
// traceparent when there is one and is new otherwise.
func TestHTTPServerSpan(t *testing.T) {
	web := framework.NewContract("Web", "1")
	greet := framework.Command[struct {
		Fail bool `json:"fail"`
	}, struct{}](web, "greet", framework.WithHTTP(framework.Endpoint{Path: "/greet", Public: true}))
	svc := framework.NewService(web, "greets")
	framework.Handle(svc, greet, func(_ *framework.Context, in struct {
		Fail bool `json:"fail"`
	}) (struct{}, error) {
		if in.Fail {
			return struct{}{}, framework.NewHandledError(http.StatusUnprocessableEntity, "no", nil)
		}
		return struct{}{}, nil
	})
	const parentTrace, parentSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tests := []struct {
		name        string
		traceparent string
		body        string
		status      int
	}{
		{"new trace, success", "", `{"fail":false}`, http.StatusOK},
		{"new trace, handled error", "", `{"fail":true}`, http.StatusUnprocessableEntity},
		{"continued trace, handled error", "00-" + parentTrace + "-" + parentSpan + "-01", `{"fail":true}`, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{svc}, framework.WithTracerProvider(tp))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
			h, err := rt.HTTPHandler()
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/greet", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.traceparent != "" {
				req.Header.Set("traceparent", tt.traceparent)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var httpSpan, client sdktrace.ReadOnlySpan
			waitFor(t, "the HTTP server span and the client span", func() bool {
				for _, s := range rec.Ended() {
					switch s.SpanKind() {
					case trace.SpanKindServer:
						if s.Name() == "POST /greet" {
							httpSpan = s
						}
					case trace.SpanKindClient:
						client = s
					}
				}
				return httpSpan != nil && client != nil
			})
			traceID := httpSpan.SpanContext().TraceID().String()
			if tt.traceparent != "" {
				if traceID != parentTrace || httpSpan.Parent().SpanID().String() != parentSpan {
					t.Errorf("HTTP span in trace %s under %s, want the request's %s under %s",
						traceID, httpSpan.Parent().SpanID(), parentTrace, parentSpan)
				}
			} else if httpSpan.Parent().IsValid() {
				t.Errorf("HTTP span has parent %s, want a root", httpSpan.Parent().SpanID())
			}
			if client.Parent().SpanID() != httpSpan.SpanContext().SpanID() {
				t.Errorf("client span's parent %s, want the HTTP span %s", client.Parent().SpanID(), httpSpan.SpanContext().SpanID())
			}
			checkAttrs(t, httpSpan, map[string]string{"http.route": "/greet", "purista.trace_id": traceID})
			checkAttrs(t, client, map[string]string{"purista.trace_id": traceID})
			if tt.status != http.StatusOK {
				var problem struct {
					TraceID string `json:"traceId"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &problem); err != nil {
					t.Fatal(err)
				}
				if problem.TraceID != traceID {
					t.Errorf("problem traceId %q, want the W3C trace id %s", problem.TraceID, traceID)
				}
			}
		})
	}
}
