package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/jsonx"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// HandlerFunc is the untyped form of a command handler that middleware wraps: raw JSON
// input in, raw JSON output out.
type HandlerFunc func(c *Context, input json.RawMessage) (json.RawMessage, error)

// Middleware wraps a HandlerFunc. It may run code before and after next, refuse the call
// (return a *HandledError without calling next), or transform input and output.
// Middleware must be safe for concurrent use.
type Middleware func(next HandlerFunc) HandlerFunc

// CommandInfo is the metadata of a command, as published to the bridge and shown by the
// CLI.
type CommandInfo struct {
	Service         string          `json:"service"`
	Version         string          `json:"version"`
	Name            string          `json:"name"`
	Description     string          `json:"description,omitempty"`
	SuccessEvent    string          `json:"successEvent,omitempty"`
	Timeout         time.Duration   `json:"timeout"`
	InputSchema     json.RawMessage `json:"inputSchema,omitempty"`
	ParameterSchema json.RawMessage `json:"parameterSchema,omitempty"`
	OutputSchema    json.RawMessage `json:"outputSchema,omitempty"`
	// Example is a sample input (from WithExample), used by `purista check` and the dev
	// UI's invoke dialog.
	Example json.RawMessage `json:"example,omitempty"`
	// HTTP is the command's HTTP endpoint (WithHTTP), nil when it is not on HTTP.
	HTTP *Endpoint `json:"http,omitempty"`
}

// commandDef is the shared, immutable-after-construction definition behind a CommandRef.
type commandDef struct {
	contract        Contract
	name            string
	description     string
	successEvent    string
	timeout         time.Duration
	inType, outType reflect.Type
	paramType       reflect.Type
	example         json.RawMessage
	http            *Endpoint // nil: not on HTTP
	errs            []error

	schemaOnce          sync.Once
	inSchema, outSchema *Schema
	paramSchema         *Schema
	schemaErr           error
}

func (d *commandDef) address() wire.Address {
	return wire.Address{ServiceName: d.contract.name, ServiceVersion: d.contract.version, ServiceTarget: d.name}
}

func (d *commandDef) schemas() error {
	d.schemaOnce.Do(func() {
		if d.inSchema, d.schemaErr = schemaForType(d.inType); d.schemaErr != nil {
			return
		}
		if d.outSchema, d.schemaErr = schemaForType(d.outType); d.schemaErr != nil {
			return
		}
		if d.paramType != nil {
			d.paramSchema, d.schemaErr = schemaForType(d.paramType)
		}
	})
	return d.schemaErr
}

func (d *commandDef) info() CommandInfo {
	ci := CommandInfo{Service: d.contract.name, Version: d.contract.version, Name: d.name, Description: d.description,
		SuccessEvent: d.successEvent, Timeout: d.timeout, Example: d.example}
	if d.http != nil {
		e := d.http.clone() // so that the definition stays as declared
		ci.HTTP = &e
	}
	if d.schemas() == nil {
		ci.InputSchema = d.inSchema.JSON()
		ci.OutputSchema = d.outSchema.JSON()
		if d.paramSchema != nil {
			ci.ParameterSchema = d.paramSchema.JSON()
		}
	}
	return ci
}

// CommandOption configures a command definition (see Command). An invalid option makes
// Command panic.
type CommandOption func(*commandDef)

// WithSuccessEvent names the event emitted when the command succeeds. Subscriptions can
// subscribe to it through CommandRef.SuccessEvent; on the wire the success response
// carries the eventName, as in PURISTA.
func WithSuccessEvent(name string) CommandOption {
	return func(d *commandDef) {
		if err := validateName("success event name", name); err != nil {
			d.errs = append(d.errs, err)
		}
		d.successEvent = name
	}
}

// WithTimeout sets how long a caller waits for the command (and how long the handler may
// run). The default is 30 s; a timed-out call fails with an *UnhandledError of status 504
// that unwraps to bridge.ErrTimeout, whether the caller's wait or the handler's deadline
// ended first.
func WithTimeout(d time.Duration) CommandOption {
	return func(c *commandDef) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("timeout %v is not positive: use e.g. 5*time.Second", d))
			return
		}
		c.timeout = d
	}
}

// WithDescription documents the command.
func WithDescription(s string) CommandOption { return func(d *commandDef) { d.description = s } }

// WithParameter declares the type of the command's parameter (PURISTA's second, usually
// small, argument beside the payload, such as path or query values). Parameters are
// validated against the schema of P and read in the handler with Context.Parameter.
func WithParameter[P any]() CommandOption {
	return func(d *commandDef) { d.paramType = reflect.TypeFor[P]() }
}

// WithExample attaches a sample input. `purista check` invokes every command with its
// example in each deployment model, and the dev UI prefills the invoke dialog with it.
func WithExample(in any) CommandOption {
	return func(d *commandDef) {
		raw, err := json.Marshal(in)
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("example: %w", err))
			return
		}
		d.example = raw
	}
}

// CommandRef is a typed handle of a command: the contract that callers import to invoke
// it and that the implementing service passes to Handle. It is a small value, safe to
// copy and to use concurrently.
type CommandRef[In, Out any] struct{ def *commandDef }

// Command declares the command name of contract c with input type In and output type
// Out. Declare it in the service's contract package, beside c, so that callers import
// only the contract, never the implementation:
//
//	var SendWelcome = framework.Command[SendWelcomeIn, SendWelcomeOut](Contract, "sendWelcome",
//		framework.WithTimeout(5*time.Second))
//
// Command panics, with an error wrapping ErrInvalidDefinition that names the command and
// the mistake, when c is the zero Contract, name is not a Go identifier, or an option is
// invalid (WithTimeout(0), a bad WithSuccessEvent name, a WithExample that does not
// encode): like regexp.MustCompile, it reports a programming error when the package is
// initialised. The JSON Schemas of In and Out are derived later, when the command is
// first handled or described; a type without a schema is reported by Service.Err.
func Command[In, Out any](c Contract, name string, opts ...CommandOption) CommandRef[In, Out] {
	where := fmt.Sprintf("framework.Command(%s, %q)", c, name)
	c.mustBeDeclared(where)
	d := &commandDef{contract: c, name: name, timeout: DefaultTimeout,
		inType: reflect.TypeFor[In](), outType: reflect.TypeFor[Out]()}
	if err := validateName("command name", name); err != nil {
		d.errs = append(d.errs, err)
	}
	for _, o := range opts {
		o(d)
	}
	if len(d.errs) > 0 {
		invalidDeclaration(where, errors.Join(d.errs...))
	}
	d.errs = nil
	return CommandRef[In, Out]{def: d}
}

// DefaultTimeout is the invoke timeout of a command that sets none.
const DefaultTimeout = bridge.DefaultTimeout

// Address returns the command's wire address (service, version, target), the zero
// Address for a zero CommandRef.
func (r CommandRef[In, Out]) Address() wire.Address {
	if r.def == nil {
		return wire.Address{}
	}
	return r.def.address()
}

// Info returns the command's metadata, schemas included; the zero CommandInfo for a zero
// CommandRef.
func (r CommandRef[In, Out]) Info() CommandInfo {
	if r.def == nil {
		return CommandInfo{}
	}
	return r.def.info()
}

// SuccessEvent returns the typed event emitted when the command succeeds, for use with
// Subscribe. It is the zero EventRef (Name "") when the command declares no success
// event, or r is the zero CommandRef; Subscribe reports that through Service.Err.
func (r CommandRef[In, Out]) SuccessEvent() EventRef[Out] {
	if r.def == nil || r.def.successEvent == "" {
		return EventRef[Out]{}
	}
	return EventRef[Out]{contract: r.def.contract, name: r.def.successEvent}
}

// InvokeOptions tune one invocation.
type InvokeOptions struct {
	// Parameter is the command's parameter value (see WithParameter).
	Parameter any
	// Timeout bounds how long this call waits, instead of the command's timeout (the
	// callee's WithTimeout, default 30s). The handler's own deadline is the shorter of the
	// two: a longer Timeout lets the caller wait longer, not the handler run longer.
	Timeout time.Duration
	// PrincipalID and TenantID override the values inherited from the calling context.
	PrincipalID, TenantID string
}

// Invoke calls the command through the event bridge, wherever its service runs, and
// returns its typed output. c is a handler's *Context or a *Client from Runtime.Client;
// its deadline bounds the wait as well as the command's timeout does. Errors are a
// *HandledError (the callee's on-purpose error) or an *UnhandledError (masked failure,
// 504 timeout, 503 unreachable), both matchable with errors.As; a nil c, or one without
// an invoker, fails with an error wrapping ErrNoCaller, a zero CommandRef with one
// wrapping ErrZeroRef. Invoke blocks until the answer, an error or the timeout.
func (r CommandRef[In, Out]) Invoke(c Caller, in In) (Out, error) {
	return r.InvokeWith(c, in, InvokeOptions{})
}

// InvokeWith is Invoke with per-call options.
func (r CommandRef[In, Out]) InvokeWith(c Caller, in In, opts InvokeOptions) (Out, error) {
	var out Out
	if r.def == nil {
		return out, fmt.Errorf("invoke: %w", ErrZeroRef)
	}
	var inv Invoker
	if c != nil {
		inv, _ = c.transport()
	}
	if inv == nil {
		return out, fmt.Errorf("invoke %s: %w", r.def.address(), ErrNoCaller)
	}
	payload, err := jsonx.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("invoke %s: encode input: %w", r.def.address(), err)
	}
	param := json.RawMessage("{}")
	if opts.Parameter != nil {
		if param, err = jsonx.Marshal(opts.Parameter); err != nil {
			return out, fmt.Errorf("invoke %s: encode parameter: %w", r.def.address(), err)
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = r.def.timeout
	}
	raw, err := inv.Invoke(c, InvokeRequest{Receiver: r.def.address(), Payload: payload, Parameter: param,
		Timeout: timeout, PrincipalID: opts.PrincipalID, TenantID: opts.TenantID})
	if err != nil {
		return out, err
	}
	if err := jsonx.Unmarshal(raw, &out); err != nil {
		return out, &UnhandledError{Status: 502, Message: fmt.Sprintf("decode output of %s", r.def.address()), Err: err}
	}
	return out, nil
}

// InvokeRequest is one untyped invocation, as an Invoker receives it.
type InvokeRequest struct {
	Receiver           wire.Address
	Payload, Parameter json.RawMessage
	Timeout            time.Duration
	// PrincipalID and TenantID override the inherited values when not empty.
	PrincipalID, TenantID string
}

// Invoker sends commands for a Context (see ContextConfig): the runtime gives every
// handler's Context one; test helpers provide stubs. Invoke blocks until the result, an
// error response, or the timeout. It is safe for concurrent use. Errors are
// *HandledError or *UnhandledError.
type Invoker interface {
	Invoke(ctx context.Context, req InvokeRequest) (json.RawMessage, error)
}

// commandBinding is a command definition bound to a typed handler within a service.
type commandBinding struct {
	def     *commandDef
	handler HandlerFunc // validates, decodes, calls the typed func, encodes
}

// Handle registers fn as the implementation of ref in svc. ref must be declared from
// svc's Contract; a ref of another contract, a zero ref, a command handled twice or a
// type without a JSON Schema is reported by svc.Err and makes Start fail.
//
// The input is validated against ref's schema before fn runs (a failure is a handled 400
// whose data lists the fields); the output is validated after (a failure is an unhandled
// 500). fn may return a *HandledError for errors the caller should see; any other error
// is logged and masked as a 500. A panic in fn is recovered and treated the same way.
func Handle[In, Out any](svc *Service, ref CommandRef[In, Out], fn func(c *Context, in In) (Out, error)) {
	d := ref.def
	if d == nil {
		svc.addError(fmt.Errorf("Handle: %w", ErrZeroRef))
		return
	}
	if d.contract != svc.contract {
		svc.addError(fmt.Errorf("command %s is declared from the contract %s, not from this service's %s: declare it with framework.Command(<the %s Contract>, %q, …) or handle it in the %s service",
			d.name, d.contract, svc.contract, svc.contract, d.name, d.contract))
		return
	}
	if err := d.schemas(); err != nil {
		svc.addError(fmt.Errorf("command %s: %w", d.name, err))
		return
	}
	core := func(c *Context, input json.RawMessage) (_ json.RawMessage, err error) {
		defer recoverPanic(&err) // so that every caller of the handler (tests too) gets an error
		in, err := decodeInput[In](d, c, input)
		if err != nil {
			return nil, err
		}
		out, err := fn(c, in)
		if err != nil {
			return nil, err
		}
		raw, err := jsonx.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode output of %s: %w", d.address(), err)
		}
		if !d.outSchema.Constrained() {
			return raw, nil // Go's type system already guarantees the schema's shape
		}
		if fc := d.outSchema.fast; fc != nil && fc.output(reflect.ValueOf(&out).Elem()) {
			return raw, nil
		}
		if issues := d.outSchema.Validate(raw); issues != nil {
			return nil, fmt.Errorf("output of %s fails its schema: %s", d.address(), issues[0])
		}
		return raw, nil
	}
	svc.addCommand(&commandBinding{def: d, handler: core})
}

// decodeInput validates a command's input and parameter against their schemas and decodes
// the input. Invalid input is a *HandledError with status 400 listing the issues.
func decodeInput[In any](d *commandDef, c *Context, input json.RawMessage) (In, error) {
	var in In
	if fc := d.inSchema.fast; fc != nil && len(input) > 0 {
		if jsonx.Unmarshal(input, &in) == nil && fc.input(input, reflect.ValueOf(&in).Elem()) {
			return in, validateParameter(d, c)
		}
		in = *new(In) // not sure: the validator decides, from a fresh value
	}
	if issues := d.inSchema.Validate(input); issues != nil {
		return in, &HandledError{Status: 400, Message: "input validation for payload failed: " + issues[0].String(), Data: issues}
	}
	if err := validateParameter(d, c); err != nil {
		return in, err
	}
	if len(input) > 0 {
		if err := jsonx.Unmarshal(input, &in); err != nil {
			return in, &HandledError{Status: 400, Message: "input validation for payload failed: " + err.Error(),
				Data: []ValidationIssue{{Message: err.Error()}}}
		}
	}
	return in, nil
}

// validateParameter validates the command's parameter against its schema, if it has one.
func validateParameter(d *commandDef, c *Context) error {
	if d.paramSchema == nil {
		return nil
	}
	if issues := d.paramSchema.Validate(c.parameter); issues != nil {
		return &HandledError{Status: 400, Message: "input validation for parameter failed: " + issues[0].String(), Data: issues}
	}
	return nil
}
