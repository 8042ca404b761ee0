package app

import (
	"log"
	"log/slog"
	"sync/atomic"

	"go.opentelemetry.io/otel"
)

// otelErrorMessage is the message of the log line of an error OpenTelemetry reports in
// the background (a failed span or metric export, a dropped span), whatever the error.
const otelErrorMessage = "OpenTelemetry error"

// otelErrors hands the errors OpenTelemetry reports to otel.Handle to a Run's logger, as
// WARN lines, instead of the standard library's logger (which would put a plain text
// line into a JSON log stream).
type otelErrors struct {
	log  *slog.Logger
	done atomic.Bool
}

// Handle implements otel.ErrorHandler. Once the Run has returned, it prints err with the
// standard logger, as OpenTelemetry's default handler does: OpenTelemetry's default
// handler keeps forwarding to the first handler ever set, so this one may still be
// called after it was replaced.
func (h *otelErrors) Handle(err error) {
	if h.done.Load() {
		log.Print(err)
		return
	}
	h.log.Warn(otelErrorMessage, slog.Any("error", err))
}

// routeOtelErrors makes OpenTelemetry's error handler log to l, and returns the function
// that restores the handler set before (call it when Run returns).
func routeOtelErrors(l *slog.Logger) (restore func()) {
	prev := otel.GetErrorHandler()
	h := &otelErrors{log: l}
	otel.SetErrorHandler(h)
	return func() {
		otel.SetErrorHandler(prev)
		h.done.Store(true)
	}
}
