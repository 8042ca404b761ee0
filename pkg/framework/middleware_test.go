package framework_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// requirePrincipal is a guard: calls without a principal are refused with a handled 401.
func requirePrincipal(next framework.HandlerFunc) framework.HandlerFunc {
	return func(c *framework.Context, in json.RawMessage) (json.RawMessage, error) {
		if c.PrincipalID() == "" {
			return nil, framework.NewHandledError(401, "a principal is required", nil)
		}
		return next(c, in)
	}
}

// upperOutput transforms the output after the handler ran.
func upperOutput(next framework.HandlerFunc) framework.HandlerFunc {
	return func(c *framework.Context, in json.RawMessage) (json.RawMessage, error) {
		out, err := next(c, in)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(strings.ToUpper(string(out))), nil
	}
}

func TestMiddleware(t *testing.T) {
	svc := echoService()
	svc.Use(requirePrincipal, upperOutput)
	rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	ctx := rt.Client(context.Background())
	tests := []struct {
		name       string
		principal  string
		wantStatus int
		wantText   string
	}{
		{"guard refuses", "", 401, ""},
		{"guard passes, output transformed", "alice", 200, "HELLO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := echo.InvokeWith(ctx, echoIn{Text: "hello"}, framework.InvokeOptions{PrincipalID: tt.principal})
			if got := framework.StatusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantStatus)
			}
			if out.Text != tt.wantText {
				t.Fatalf("text %q, want %q", out.Text, tt.wantText)
			}
		})
	}
}
