package framework

import "context"

// Caller is what CommandRef.Invoke and EventRef.Emit take: a context.Context (its
// deadline and cancellation bound the call) that also carries the means to invoke
// commands and emit events. Two types implement it: the handler's *Context, whose calls
// inherit the trace, principal and tenant of the message being handled, and the *Client
// that Runtime.Client returns for code outside handlers. A plain context.Context is not
// a Caller, so a call without a transport does not compile; a nil Caller, or a Context
// built without an invoker or emitter, fails with an error wrapping ErrNoCaller.
type Caller interface {
	context.Context
	// transport returns the caller's invoker and emitter, either nil when it has none.
	transport() (Invoker, Emitter)
}

// Client is the Caller for code outside handlers (HTTP handlers of your own, jobs,
// tests): its invocations and events go through the runtime it came from, with the
// runtime's client address as sender (see WithClientAddress). Get one with
// Runtime.Client. A Client is safe for concurrent use; derive one with another deadline
// with WithContext.
type Client struct {
	context.Context
	inv *caller
	em  *emitter
}

// Client returns a Caller whose calls go through the runtime, bounded by ctx. It panics
// when ctx is nil.
func (r *Runtime) Client(ctx context.Context) *Client {
	if ctx == nil {
		panic("framework: Runtime.Client with a nil context")
	}
	return &Client{Context: ctx, inv: &caller{rt: r, from: r.client}, em: &emitter{rt: r, from: r.client}}
}

// WithContext returns a copy of c whose context.Context is ctx (usually derived from c,
// with a shorter deadline): it invokes and emits like c. It panics when ctx is nil, as
// http.Request.WithContext does.
func (c *Client) WithContext(ctx context.Context) *Client {
	if ctx == nil {
		panic("framework: Client.WithContext with a nil context")
	}
	return &Client{Context: ctx, inv: c.inv, em: c.em}
}

// transport implements Caller. A nil *Client has neither invoker nor emitter.
func (c *Client) transport() (Invoker, Emitter) {
	if c == nil || c.inv == nil {
		return nil, nil
	}
	return c.inv, c.em
}
