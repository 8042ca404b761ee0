package framework

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/purista-go/purista/pkg/framework/internal/redact"
)

// HealthHandler serves the runtime's health over HTTP:
//
//	GET /healthz  liveness: 200 while the process runs
//	GET /readyz   readiness: 200 when the bridge is connected, 503 with the reason otherwise
//
// Both answer JSON: {"status":"ok"|"unavailable","bridge":"nats","error":"…","services":[…]}.
// The error never holds a credential of the bridge's URL (see WithBridgeURL).
func (r *Runtime) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, code int, body map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body) // the client may have gone; nothing to do
	}
	names := make([]string, 0, len(r.services))
	for _, s := range r.services {
		names = append(names, s.contract.name+"/v"+s.contract.version)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		write(w, http.StatusOK, map[string]any{"status": "ok", "services": names})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		body := map[string]any{"bridge": r.bridge.Name(), "instanceId": r.bridge.InstanceID(), "services": names}
		if err := r.Healthy(ctx); err != nil {
			body["status"], body["error"] = "unavailable", redact.Text(err.Error(), r.secrets)
			write(w, http.StatusServiceUnavailable, body)
			return
		}
		body["status"] = "ok"
		write(w, http.StatusOK, body)
	})
	return mux
}
