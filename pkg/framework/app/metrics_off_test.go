//go:build purista_no_otel

package app

import (
	"context"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
)

// TestNoOtelRefusesExport checks that a binary built with purista_no_otel refuses to
// start when Run's environment asks for trace or metric export, naming the variable,
// and starts when it asks for none.
func TestNoOtelRefusesExport(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string // the variable the refusal names; "" for a clean start
	}{
		{map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER"},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:1"}, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_METRICS_EXPORTER": "none", "OTEL_TRACES_EXPORTER": "none"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			tt.env["PURISTA_HEALTH_ADDR"] = "off"
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			logs := &logBuffer{}
			code := New(echoService()).With(WithReady(func(*framework.Runtime) { cancel() })).
				Run(ctx, nil, func(k string) string { return tt.env[k] }, logs)
			switch {
			case tt.want == "" && code != ExitOK:
				t.Fatalf("exit %d, want a clean run:\n%s", code, logs.String())
			case tt.want != "" && (code != ExitConfig || !strings.Contains(logs.String(), tt.want+" is set")):
				t.Fatalf("exit %d, want %d and a refusal naming %s:\n%s", code, ExitConfig, tt.want, logs.String())
			}
		})
	}
}
