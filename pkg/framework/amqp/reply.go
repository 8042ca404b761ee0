package amqp

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// owed is a command in flight whose caller waits for a reply at replyTo.
type owed struct {
	cmd     *wire.Message
	replyTo string
}

// answers tracks the commands in flight so that each gets exactly one reply: its
// handler's, or, when Close's ctx ends first (a forced stop), the 503 Close sends. The
// zero value is ready. Safe for concurrent use.
type answers struct {
	mu      sync.Mutex
	owed    map[*owed]struct{}
	stopped bool
	sending int           // handlers' replies between take and sent
	idle    chan struct{} // made by stop; closed once no claimed reply is being sent
}

// add registers o and reports whether it was registered; after stop it is not.
func (a *answers) add(o *owed) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return false
	}
	if a.owed == nil {
		a.owed = map[*owed]struct{}{}
	}
	a.owed[o] = struct{}{}
	return true
}

// take claims o's reply for its handler and reports whether it got it (not when stop took
// it). After a successful take the handler sends the reply and then calls sent.
func (a *answers) take(o *owed) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.owed[o]; !ok {
		return false
	}
	delete(a.owed, o)
	a.sending++
	return true
}

// sent ends a reply claimed with take.
func (a *answers) sent() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sending--
	if a.stopped && a.sending == 0 {
		close(a.idle) // once: after stop, take fails and sending only falls
	}
}

// stop claims the replies of every command still in flight and returns them; add and take
// fail from now on.
func (a *answers) stop() []*owed {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.stopped {
		a.idle = make(chan struct{})
		if a.sending == 0 {
			close(a.idle)
		}
	}
	a.stopped = true
	out := slices.Collect(maps.Keys(a.owed))
	clear(a.owed)
	return out
}

// wait waits until the replies claimed by handlers have been sent, at most d. It is called
// after stop (before it, it returns at once).
func (a *answers) wait(d time.Duration) {
	a.mu.Lock()
	idle := a.idle
	a.mu.Unlock()
	if idle == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// replyGrace bounds how long a forced stop waits for replies that handlers are sending
// already before it closes the connection.
const replyGrace = 5 * time.Second

// forceStop is Close's forced stop, when its ctx ended with handlers still running: every
// command still unanswered gets an unhandled 503 now, on the still open connection; then
// the handlers' contexts end with a cause wrapping bridge.ErrClosed. Their later answers
// are dropped.
func (b *Bridge) forceStop() {
	left := b.answers.stop()
	for _, o := range left {
		b.respond(bridge.UnhandledResponse(o.cmd, http.StatusServiceUnavailable, b.cfg.InstanceID), o.replyTo)
	}
	b.answers.wait(replyGrace)
	if len(left) > 0 {
		b.log.Warn("amqp: shutdown deadline passed: answered the commands in flight with 503", "commands", len(left))
	}
	b.cancel(fmt.Errorf("amqp: %w: the shutdown deadline passed while the handler ran", bridge.ErrClosed))
}

// reject answers a command delivery that cannot be decoded (not a PURISTA envelope, an
// unknown messageType, nested too deep) with bridge.RejectResponse, a handled 400, so that
// its caller fails at once. The response is built from what can be recovered (see
// recoverCommand); without a reply queue or a correlationId nobody could match it, and it
// is only logged.
func (b *Bridge) reject(d amqp091.Delivery, addr wire.Address, cause error) {
	cmd := recoverCommand(d, addr)
	b.log.Warn("amqp: rejected an undecodable command", "queue", wire.AMQPCommandQueue(addr),
		"bytes", len(d.Body), "correlationId", cmd.CorrelationID, "err", cause)
	if d.ReplyTo == "" || cmd.CorrelationID == "" {
		return
	}
	b.respond(bridge.RejectResponse(cmd, cause.Error(), b.cfg.InstanceID), d.ReplyTo)
}

// recoverCommand returns what can be read of an undecodable command delivered to the
// command queue of addr: the envelope fields the body still yields
// (transport.RecoverCommand), else the AMQP properties (correlationId, messageId) and the
// sender headers. The receiver is addr; a missing id is made up.
func recoverCommand(d amqp091.Delivery, addr wire.Address) *wire.Message {
	cmd := transport.RecoverCommand(addr, d.Body)
	cmd.ID = cmp.Or(cmd.ID, d.MessageId, wire.NewID())
	cmd.CorrelationID = cmp.Or(cmd.CorrelationID, d.CorrelationId)
	if cmd.Sender.ServiceName == "" {
		header := func(k string) string {
			v, _ := d.Headers[k].(string)
			return v
		}
		cmd.Sender = wire.Address{
			ServiceName: header(wire.HeaderSenderServiceName), ServiceVersion: header(wire.HeaderSenderServiceVersion),
			ServiceTarget: header(wire.HeaderSenderServiceTarget), InstanceID: header(wire.HeaderSenderInstanceID),
		}
	}
	return cmd
}
