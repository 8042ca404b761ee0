package nats

import (
	"strconv"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
)

// calls is the reply side of the bridge's remote Invokes. One wildcard subscription on a
// private inbox prefix takes every reply, and a reply wakes the call whose token ends its
// subject, as nats.go's own request/reply does; unlike it, the bridge knows every call
// still waiting, so that it fails them all at once when the connection drops (their
// replies can no longer arrive: the server forgets the inbox interest of a connection it
// lost) or the bridge closes, instead of leaving each to its timeout.
//
// A call is settled exactly once, by whoever removes it from wait: onReply with the
// reply, fail with an error, or the caller itself when it gives up (timeout, ctx). Safe
// for concurrent use; start must be called before add.
type calls struct {
	prefix string // "<inbox>.": a call's reply subject is prefix + its token (base 36)

	mu   sync.Mutex
	next uint64
	wait map[uint64]*call

	free   sync.Pool // *call, their done channels empty
	timers sync.Pool // *time.Timer, stopped
}

// call is one Invoke waiting for its reply.
type call struct {
	done chan callResult // buffered 1: the one result, sent by whoever removed the call from wait
}

// callResult is how a call ended: the reply, or err.
type callResult struct {
	msg *natsgo.Msg
	err error
}

// start subscribes to the inbox prefix on nc (nats.go renews the subscription after every
// reconnect).
func (c *calls) start(nc *natsgo.Conn) error {
	c.mu.Lock()
	c.prefix = nc.NewInbox() + "."
	c.wait = map[uint64]*call{}
	c.mu.Unlock()
	_, err := nc.Subscribe(c.prefix+"*", c.onReply)
	return err
}

// add registers a new call and returns its token, the call and its reply subject.
func (c *calls) add() (uint64, *call, string) {
	cl, _ := c.free.Get().(*call)
	if cl == nil {
		cl = &call{done: make(chan callResult, 1)}
	}
	c.mu.Lock()
	c.next++
	tok := c.next
	c.wait[tok] = cl
	c.mu.Unlock()
	return tok, cl, c.prefix + strconv.FormatUint(tok, 36)
}

// onReply settles the call the reply m is addressed to; replies of calls that ended
// already are dropped.
func (c *calls) onReply(m *natsgo.Msg) {
	tok, err := strconv.ParseUint(strings.TrimPrefix(m.Subject, c.prefix), 36, 64)
	if err != nil {
		return
	}
	c.mu.Lock()
	cl := c.wait[tok]
	delete(c.wait, tok)
	c.mu.Unlock()
	if cl != nil {
		cl.done <- callResult{msg: m}
	}
}

// fail settles every waiting call with err.
func (c *calls) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tok, cl := range c.wait {
		delete(c.wait, tok)
		cl.done <- callResult{err: err}
	}
}

// abandon ends the call tok for its caller. When the call was already settled (a reply
// or a failure raced with the caller's timeout) it returns that result and true; else the
// call is removed and no result will come.
func (c *calls) abandon(tok uint64, cl *call) (callResult, bool) {
	c.mu.Lock()
	_, waiting := c.wait[tok]
	delete(c.wait, tok)
	c.mu.Unlock()
	if waiting {
		return callResult{}, false
	}
	return <-cl.done, true // sent by the settler just after it removed the call
}

// release returns a call whose result was received (or that was abandoned) for reuse.
func (c *calls) release(cl *call) { c.free.Put(cl) }

// timer returns a running timer that fires after d; putTimer takes it back.
func (c *calls) timer(d time.Duration) *time.Timer {
	if t, _ := c.timers.Get().(*time.Timer); t != nil {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

// putTimer stops t and keeps it for reuse (since Go 1.23 a stopped timer's channel holds
// no stale tick).
func (c *calls) putTimer(t *time.Timer) {
	t.Stop()
	c.timers.Put(t)
}
