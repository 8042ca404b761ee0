package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// HandledError is an error a handler returns on purpose: its status, message and data
// cross the bridge intact and reach the caller as a *HandledError it can match with
// errors.As. Use it for anything the caller should see (404 not found, 409 conflict, 400
// bad input). Any other error a handler returns is masked on the wire as an unhandled 500.
type HandledError struct {
	// Status is an HTTP-like status code (4xx for caller mistakes).
	Status int
	// Message is a human-readable description that is safe to show the caller.
	Message string
	// Data is optional structured detail. On the caller's side it holds the raw JSON the
	// callee sent (a json.RawMessage); use DecodeData to read it into a type.
	Data any
	// TraceID is the trace id of the failed call, set on the caller's side.
	TraceID string
}

// NewHandledError returns a HandledError with the given status, message and optional data.
func NewHandledError(status int, message string, data any) *HandledError {
	return &HandledError{Status: status, Message: message, Data: data}
}

// Error implements error.
func (e *HandledError) Error() string {
	return fmt.Sprintf("handled error %d: %s", e.Status, e.Message)
}

// DecodeData unmarshals the error's data into v.
func (e *HandledError) DecodeData(v any) error {
	raw, err := json.Marshal(e.Data)
	if err != nil {
		return fmt.Errorf("encode handled error data: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode handled error data: %w", err)
	}
	return nil
}

// UnhandledError is what a caller receives for a failure the callee did not hand out on
// purpose (status 500, message masked), or for a failure of the call itself: 504 when the
// invocation timed out, 503 when no handler or no broker was reachable or the callee's
// instance is shutting down. Unwrap gives the bridge's sentinel error (bridge.ErrTimeout,
// bridge.ErrNoHandler, …) where there is one, so errors.Is works too.
//
// A 504 always unwraps to bridge.ErrTimeout, whichever side ran out of time first: the
// caller's invoke timeout (the bridge gave up waiting) or the callee's handler deadline
// (the callee answered "the command ran out of time"). With the command's timeout used
// on both sides, either can fire first; the outcome is the same.
type UnhandledError struct {
	// Status is 500 for masked handler failures, 504 for timeouts, 503 for unreachable.
	Status int
	// Message is the masked message ("Internal Server Error") or a description of the
	// transport failure.
	Message string
	// TraceID is the trace id of the failed call.
	TraceID string
	// Err is the underlying cause on the caller's side, if any.
	Err error
}

// Error implements error.
func (e *UnhandledError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("unhandled error %d: %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("unhandled error %d: %s", e.Status, e.Message)
}

// Unwrap returns the underlying cause.
func (e *UnhandledError) Unwrap() error { return e.Err }

// StatusOf returns the status of err: the Status of a *HandledError or *UnhandledError in
// its chain, 200 for nil, and 500 otherwise.
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var h *HandledError
	if errors.As(err, &h) {
		return h.Status
	}
	var u *UnhandledError
	if errors.As(err, &u) {
		return u.Status
	}
	return http.StatusInternalServerError
}

// Errors of the framework's own, matchable with errors.Is.
var (
	// ErrNoCaller: Invoke or Emit was given a nil Caller, or a Context built without an
	// invoker or emitter. Pass a handler's *Context or a *Client from Runtime.Client.
	ErrNoCaller = errors.New("no caller that can invoke and emit: pass a handler's *framework.Context or a *framework.Client from Runtime.Client")
	// ErrZeroRef: a zero CommandRef or EventRef was used. Declare refs with
	// framework.Command and framework.Event.
	ErrZeroRef = errors.New("zero command or event reference: declare it with framework.Command or framework.Event")
	// ErrConfig: a setting is invalid, such as an HTTP endpoint that needs an
	// authenticator none is configured for, or (package app) a flag or PURISTA_*
	// variable.
	ErrConfig = errors.New("invalid configuration")
	// ErrInvalidDefinition: a service, command or subscription definition is inconsistent.
	ErrInvalidDefinition = errors.New("invalid service definition")
)

// ValidationIssue is one failed check of input validation, as sent in a 400's data.
type ValidationIssue struct {
	// Field is the JSON pointer of the offending value ("/email"), "" for the whole value.
	Field string `json:"field"`
	// Message says what is wrong.
	Message string `json:"message"`
}

// String returns "<field> <message>", or the message alone for the whole value.
func (v ValidationIssue) String() string {
	if v.Field == "" {
		return v.Message
	}
	return v.Field + " " + v.Message
}

// PanicError is the error a recovered handler panic becomes: on the wire a masked 500
// like any unhandled error; in the callee's log with the panic value and the stack.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error (errors.Is(err, ErrSomething)).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// recoverPanic turns a panic of the calling function into a *PanicError in *err. Call it
// deferred: defer recoverPanic(&err).
func recoverPanic(err *error) {
	if p := recover(); p != nil {
		*err = &PanicError{Value: p, Stack: debug.Stack()}
	}
}

// errorAttrs are the log attributes of a failed handler: the error, and the stack of a
// panic.
func errorAttrs(err error) []any {
	attrs := []any{slog.Any("error", err)}
	var pe *PanicError
	if errors.As(err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	return attrs
}
