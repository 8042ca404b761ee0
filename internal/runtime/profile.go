package runtime

import (
	"log/slog"
	"net"
	"strings"
	"time"
)

// Profile is how one process of the project runs: the PURISTA_* settings of the
// framework's app runner (see package framework, Config).
type Profile struct {
	// Bridge is PURISTA_BRIDGE: "memory", "nats://…", "amqp://…", "mqtt://…".
	Bridge string
	// Services is PURISTA_SERVICES: the subset to run (empty: all).
	Services []string
	// HealthAddr is PURISTA_HEALTH_ADDR. Empty picks a free loopback port.
	HealthAddr string
	// HTTPAddr is PURISTA_HTTP_ADDR. Empty picks a free loopback port, so that Invoke
	// works; "off" disables the HTTP endpoint.
	HTTPAddr string
	// ShutdownTimeout is PURISTA_SHUTDOWN_TIMEOUT (0: the app's default).
	ShutdownTimeout time.Duration
	// LogLevel is PURISTA_LOG_LEVEL ("": info).
	LogLevel string
	// InstanceID is PURISTA_INSTANCE_ID ("": random).
	InstanceID string
	// SecureHTTP runs the HTTP endpoint with the project's own authentication. By
	// default (false) a process with an HTTP endpoint runs in the framework's HTTP
	// development mode (PURISTA_HTTP_DEV_INSECURE=1): every command is served at its
	// development route on loopback, so that Invoke and the checks can call it, and the
	// app logs a warning that says so.
	SecureHTTP bool
	// Env holds further KEY=VALUE entries for the process.
	Env []string
}

// Environ returns the profile as KEY=VALUE entries, without the free-port defaults
// (Start fills those in).
func (p Profile) Environ() []string {
	var env []string
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("PURISTA_BRIDGE", p.Bridge)
	add("PURISTA_SERVICES", strings.Join(p.Services, ","))
	add("PURISTA_HEALTH_ADDR", p.HealthAddr)
	if p.HTTPAddr != "off" {
		add("PURISTA_HTTP_ADDR", p.HTTPAddr)
		if !p.SecureHTTP {
			add("PURISTA_HTTP_DEV_INSECURE", "1")
		}
	}
	if p.ShutdownTimeout > 0 {
		add("PURISTA_SHUTDOWN_TIMEOUT", p.ShutdownTimeout.String())
	}
	add("PURISTA_LOG_LEVEL", p.LogLevel)
	add("PURISTA_INSTANCE_ID", p.InstanceID)
	return append(env, p.Env...)
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		slog.Debug("close probe listener", "error", err)
	}
	return addr, nil
}
