package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// budgetError is a body read error that names its status, as the server's request-body
// budget returns it.
type budgetError struct{}

func (budgetError) Error() string   { return "request body budget exhausted" }
func (budgetError) HTTPStatus() int { return http.StatusServiceUnavailable }

type failingBody struct{ err error }

func (b failingBody) Read([]byte) (int, error) { return 0, b.err }
func (failingBody) Close() error               { return nil }

func TestBodyReadErrors(t *testing.T) {
	routes, err := Compile([]*Route{{Service: "S", Version: "1", Command: "c", Path: "/c", Public: true}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	invoked := false
	h := New(Config{Routes: routes,
		Invoke: func(context.Context, Call) (json.RawMessage, *Problem) {
			invoked = true
			return json.RawMessage("{}"), nil
		},
		Trace: func(r *http.Request) (context.Context, string) { return r.Context(), strings.Repeat("a", 32) }})
	tests := []struct {
		name       string
		err        error
		wantStatus int
	}{
		{"budget", budgetError{}, 503},
		{"wrapped budget", errors.Join(errors.New("read"), budgetError{}), 503},
		{"broken body", errors.New("unexpected EOF"), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/c", nil)
			req.Header.Set("Content-Type", "application/json")
			req.ContentLength = -1
			req.Body = failingBody{tt.err}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var p Problem
			if rec.Code != tt.wantStatus || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != tt.wantStatus || strings.Contains(p.Detail, "budget") {
				t.Fatalf("%d %s, want a %d problem without internal detail", rec.Code, rec.Body, tt.wantStatus)
			}
			if invoked {
				t.Fatal("the command ran without its body")
			}
		})
	}
}
