package runtime_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/purista-go/purista/internal/runtime"
)

func TestInvokeHTTPErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantMsg     string
		wantErr     string
	}{
		{"problem with detail", 404, "application/problem+json",
			`{"type":"about:blank","title":"Not Found","status":404,"detail":"no command Nope v1 x here","traceId":"abc"}`,
			"no command Nope v1 x here", "404 no command Nope v1 x here"},
		{"problem title only", 503, "application/problem+json",
			`{"type":"about:blank","title":"Service Unavailable","status":503}`,
			"Service Unavailable", "503 Service Unavailable"},
		{"validation fields", 400, "application/problem+json",
			`{"type":"about:blank","title":"Bad Request","status":400,"detail":"input is invalid","errors":[{"field":"/name","message":"is required"}]}`,
			"input is invalid", "400 input is invalid; /name: is required"},
		{"not JSON", 502, "text/plain", "bad gateway\n", "bad gateway", "502 bad gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/Svc/v1/cmd" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("request %s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			_, err := runtime.InvokeHTTP(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "Svc", "1", "cmd", []byte(`{}`))
			var ie *runtime.InvokeError
			if !errors.As(err, &ie) {
				t.Fatalf("InvokeHTTP error = %v, want *InvokeError", err)
			}
			if ie.Status != tt.status || ie.Message != tt.wantMsg || err.Error() != tt.wantErr {
				t.Errorf("InvokeError = {%d %q}, %q; want {%d %q}, %q", ie.Status, ie.Message, err.Error(), tt.status, tt.wantMsg, tt.wantErr)
			}
		})
	}
}
