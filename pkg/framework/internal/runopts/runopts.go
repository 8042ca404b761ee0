// Package runopts holds what the runtime's start options set, and the records it
// reports. It lives beside package framework, not in it, so that the hooks the app runner
// needs (an observer, the bridge URL's credentials) need not be exported to service
// authors: package framework defines StartOption over Settings, and package app builds
// options that set the runner's fields.
package runopts

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework/wire"
)

// Settings is what the start options of a Runtime set. The zero value means: default
// logger, no tracing, no metrics, no observer, no secrets, the default client address.
type Settings struct {
	// Logger is the runtime's logger (nil: slog.Default()).
	Logger *slog.Logger
	// TracerProvider, when set, makes the runtime record OpenTelemetry spans.
	TracerProvider trace.TracerProvider
	// MeterProvider, when set, makes the runtime record OpenTelemetry metrics.
	MeterProvider metric.MeterProvider
	// Observer receives a Record of everything handled (nil: none).
	Observer Observer
	// Secrets are the credentials of the bridge's URL, kept out of health output.
	Secrets []string
	// Client is the sender address of a Client's calls (zero: the default).
	Client wire.Address
}

// Observer receives records of what the runtime does. Observe is called concurrently
// from handler goroutines and must not block.
type Observer interface {
	Observe(rec Record)
}

// Record describes one handled message.
type Record struct {
	Time        time.Time        `json:"time"`
	Kind        string           `json:"kind"` // "command", "subscription" or "event"
	MessageType wire.MessageType `json:"messageType"`
	From        wire.Address     `json:"from"`
	To          wire.Address     `json:"to"`
	EventName   string           `json:"eventName,omitempty"`
	Status      int              `json:"status"`
	Latency     time.Duration    `json:"latency"`
	TraceID     string           `json:"traceId,omitempty"`
	Error       string           `json:"error,omitempty"`
}
