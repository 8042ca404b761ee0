package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Health is the answer of an app's /readyz endpoint.
type Health struct {
	// Status is "ok" or "unavailable".
	Status string `json:"status"`
	// Bridge is the bridge name ("memory", "nats", …).
	Bridge string `json:"bridge"`
	// InstanceID is the bridge instance id.
	InstanceID string `json:"instanceId"`
	// Error says why the app is unavailable.
	Error string `json:"error,omitempty"`
	// Services are the running services as "Name/vN".
	Services []string `json:"services"`
}

// Probe asks the app at addr (host:port of its health endpoint) whether it is ready. A
// 503 answer is returned as a Health with Status "unavailable" and a nil error; an
// unreachable endpoint is an error.
func Probe(ctx context.Context, addr string) (Health, error) {
	var h Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return h, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, err
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil {
		return h, fmt.Errorf("readyz answered %s with an unreadable body: %w", resp.Status, err)
	}
	return h, nil
}

// WaitReady polls the health endpoint until it answers ready, the process exits or ctx
// ends.
func (p *Process) WaitReady(ctx context.Context) error {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		h, err := Probe(pctx, p.healthAddr)
		cancel()
		if err == nil && h.Status == "ok" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("unavailable: %s", h.Error)
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("process %d exited with code %d before it was ready", p.PID(), p.code)
		case <-ctx.Done():
			return fmt.Errorf("process %d not ready: %w (last probe: %v)", p.PID(), ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// InvokeError is a command call that the app answered with an error status. The app
// answers errors as RFC 9457 problem documents; Message is their detail (or title).
type InvokeError struct {
	// Status is the HTTP status, which is the PURISTA error status (400, 404, 422, 500…).
	Status int `json:"status"`
	// Message is the error message: the problem's detail, else its title.
	Message string `json:"detail"`
	// Title is the problem's title (the status text for most errors).
	Title string `json:"title,omitempty"`
	// Errors are the fields that failed validation, as "field: message".
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors,omitempty"`
	// Data is the error's data, if any.
	Data json.RawMessage `json:"data,omitempty"`
	// TraceID is the trace of the failed call.
	TraceID string `json:"traceId,omitempty"`
}

// Error implements error.
func (e *InvokeError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Message)
	for _, fe := range e.Errors {
		s += "; " + fe.Field + ": " + fe.Message
	}
	if len(e.Data) > 0 && string(e.Data) != "null" {
		s += " " + string(e.Data)
	}
	return s
}

// Invoke calls a command of a service that runs in this process through the app's HTTP
// endpoint (POST /api/<service>/v<version>/<command>) and returns its output JSON. An
// error answer is an *InvokeError.
func (p *Process) Invoke(ctx context.Context, service, version, command string, payload json.RawMessage) (json.RawMessage, error) {
	if p.httpAddr == "" {
		return nil, fmt.Errorf("process %d has no HTTP endpoint (profile HTTPAddr is off)", p.PID())
	}
	return InvokeHTTP(ctx, p.httpAddr, service, version, command, payload)
}

// InvokeHTTP is Invoke against any app's HTTP endpoint at addr (host:port).
func InvokeHTTP(ctx context.Context, addr, service, version, command string, payload json.RawMessage) (json.RawMessage, error) {
	url := fmt.Sprintf("http://%s/api/%s/v%s/%s", addr, service, version, command)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		ie := &InvokeError{Status: resp.StatusCode}
		if json.Unmarshal(body, ie) != nil {
			ie.Message = string(bytes.TrimSpace(body))
		} else if ie.Message == "" {
			ie.Message = ie.Title
		}
		ie.Status = resp.StatusCode
		return nil, ie
	}
	return json.RawMessage(bytes.TrimSpace(body)), nil
}
