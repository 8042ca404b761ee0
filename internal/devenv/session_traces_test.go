package devenv

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestStartTraces: the session's trace view starts a receiver unless --no-traces is
// given or the environment already says where spans go, in which case one note says
// why it is off; the receiver stops with its context.
func TestStartTraces(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		noTraces bool
		wantOn   bool
		wantNote string
	}{
		{"on", nil, false, true, ""},
		{"--no-traces", nil, true, false, ""},
		{"own endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:secret@jaeger:4318"}, false, false,
			"trace view off: OTEL_EXPORTER_OTLP_ENDPOINT is set"},
		{"own exporter", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, false, false, "trace view off: OTEL_TRACES_EXPORTER is set"},
		{"protocol alone is no export", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
				t.Setenv(k, tt.env[k])
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store, recv, note := startTraces(ctx, Options{NoTraces: tt.noTraces}, func() {})
			if (store != nil) != tt.wantOn || (recv != nil) != tt.wantOn {
				t.Fatalf("store %v, receiver %v, want on=%v", store, recv, tt.wantOn)
			}
			if !strings.HasPrefix(note, tt.wantNote) || (tt.wantNote == "") != (note == "") {
				t.Errorf("note %q, want one starting %q", note, tt.wantNote)
			}
			if strings.Contains(note, "secret") {
				t.Errorf("the note shows the endpoint's credentials: %q", note)
			}
			if recv == nil {
				return
			}
			if !strings.HasPrefix(recv.Endpoint(), "http://127.0.0.1:") {
				t.Errorf("endpoint %q is not on loopback", recv.Endpoint())
			}
			cancel()
			recv.Wait()
			if resp, err := http.Post(recv.Endpoint()+"/v1/traces", "application/x-protobuf", nil); err == nil {
				resp.Body.Close()
				t.Error("the receiver still serves after its context ended")
			}
		})
	}
}
