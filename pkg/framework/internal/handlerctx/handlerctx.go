// Package handlerctx makes the contexts bridges give command handlers: a deadline, ended
// also when the bridge's context ends, that costs no timer unless someone waits on it.
//
// A bridge gives every command its own context with the handler's timeout. Made with
// context.WithTimeout, that is a timer started and stopped and a registration with the
// bridge's context made and removed for every command. Many handlers never wait on
// their context: they compute
// an answer, or check ctx.Err() now and then. A Context from this package answers
// Deadline, Err and Value at once and makes the timer and the registration (a real
// context.WithDeadline) only when Done is first called (by the handler, a select, a
// client library, or a context derived from it), so that a handler that never waits pays
// for neither. Seen from outside it behaves as the context.WithDeadline it stands for:
// Err, Done and context.Cause agree, derived contexts are cancelled with it, values are
// the parent's.
package handlerctx

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Parent is the context handler contexts derive from (a bridge's lifetime). Safe for
// concurrent use.
type Parent struct {
	ctx    context.Context
	values context.Context // ctx without its cancellation: values only (see Context.Value)

	deadline    time.Time // ctx's deadline, if hasDeadline
	hasDeadline bool
}

// NewParent returns a Parent for ctx.
func NewParent(ctx context.Context) *Parent {
	p := &Parent{ctx: ctx, values: context.WithoutCancel(ctx)}
	p.deadline, p.hasDeadline = ctx.Deadline()
	return p
}

// WithTimeout returns a context that ends after timeout, when the parent ends, or when
// Finish is called, like context.WithTimeout(ctx, timeout) and its cancel function. As
// there, a parent's earlier deadline is the context's.
func (p *Parent) WithTimeout(timeout time.Duration) *Context {
	d := time.Now().Add(timeout)
	if p.hasDeadline && p.deadline.Before(d) {
		d = p.deadline
	}
	return &Context{p: p, deadline: d}
}

// Context is a handler's context; see the package doc. Safe for concurrent use. Finish
// must be called when the handler has returned.
type Context struct {
	p        *Parent
	deadline time.Time

	inner atomic.Pointer[deadlineCtx] // the real context, once Done was called
	mu    sync.Mutex                  // making inner, ended
	ended error                       // while inner is nil: the error Err reported, or Finish set
}

// deadlineCtx is a context.WithDeadline and its cancel function.
type deadlineCtx struct {
	context.Context
	cancel context.CancelFunc
}

// Deadline implements context.Context.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context; the first call makes the timer.
func (c *Context) Done() <-chan struct{} { return c.real().Done() }

// Err implements context.Context: the parent's error once it ended, DeadlineExceeded once
// the deadline passed, Canceled after Finish, else nil. Once non-nil it never changes.
func (c *Context) Err() error {
	if in := c.inner.Load(); in != nil {
		return in.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.inner.Load(); in != nil {
		return in.Err()
	}
	if c.ended == nil {
		if c.p.ctx.Err() != nil {
			return c.makeReal().Err()
		}
		c.ended = c.endedNow()
	}
	return c.ended
}

// endedNow is DeadlineExceeded once the deadline has passed, else nil; c.mu is held. An
// ended parent is not looked at here: the context then gets its real one (makeReal),
// which ends with the parent's error and cause, as context.WithDeadline's would.
func (c *Context) endedNow() error {
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context with the parent's values. Until Done is called the
// values come from the parent without its cancellation, so that context.Cause reports
// this context's Err (as it would for the context.WithDeadline it stands for), not the
// parent's cause; after, from the real context.
func (c *Context) Value(key any) any {
	if in := c.inner.Load(); in != nil {
		return in.Value(key)
	}
	return c.p.values.Value(key)
}

// Finish ends the context (like the cancel function of context.WithTimeout) and releases
// its timer. It is safe to call more than once.
func (c *Context) Finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.inner.Load(); in != nil {
		in.cancel()
		return
	}
	if c.ended == nil {
		if c.p.ctx.Err() != nil {
			c.makeReal().cancel()
			return
		}
		if c.ended = c.endedNow(); c.ended == nil {
			c.ended = context.Canceled
		}
	}
}

// real returns the real context, made on the first call. A context that has ended
// already (Err reported its deadline, or Finish) gets a real one that ended with the same
// error, so that Err never changes.
func (c *Context) real() *deadlineCtx {
	if in := c.inner.Load(); in != nil {
		return in
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if in := c.inner.Load(); in != nil {
		return in
	}
	return c.makeReal()
}

// makeReal makes the real context; c.mu is held and inner is nil. With ended nil it is a
// context.WithDeadline of the parent (already ended, with the parent's error and cause,
// when the parent has ended); otherwise one that ended with ended.
func (c *Context) makeReal() *deadlineCtx {
	var in deadlineCtx
	switch c.ended {
	case nil:
		in.Context, in.cancel = context.WithDeadline(c.p.ctx, c.deadline)
	case context.DeadlineExceeded:
		in.Context, in.cancel = context.WithDeadline(c.p.values, time.Time{}) // ended: past deadline
	default:
		in.Context, in.cancel = context.WithCancel(c.p.values)
		in.cancel()
	}
	c.inner.Store(&in)
	return &in
}
