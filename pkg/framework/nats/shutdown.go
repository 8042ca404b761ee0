package nats

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// A forced stop (Close's ctx ends while handlers still run) ends the handlers' contexts
// with a cause wrapping bridge.ErrClosed and then answers, before the connection closes,
// every command that has no answer yet with an unhandled 503: those whose handlers still
// run (their later answers are dropped) and those still waiting in a registration's
// channel. No caller is left to its timeout.
//
// Each receiver owns a slot holding the command whose handler it runs. The receiver's
// answer and the forced stop's 503 are both sent under the slot's lock, so exactly one
// of them goes out, and whichever does is in nats.go's buffer before Close flushes.

// slot is the command one receiver is answering, if any. Safe for concurrent use.
type slot struct {
	seq atomic.Uint32 // counted up when the receiver takes a command and when it is done

	mu    sync.Mutex
	cmd   *wire.Message // the command whose handler runs; nil when none runs or it is answered
	reply string
}

// begin records that the handler of cmd (to be answered on reply) starts.
func (s *slot) begin(cmd *wire.Message, reply string) {
	s.mu.Lock()
	s.cmd, s.reply = cmd, reply
	s.mu.Unlock()
}

// finish publishes data, the handler's answer, to the reply subject unless a forced stop
// answered in the handler's place; answered reports whether the handler's answer counts.
func (s *slot) finish(nc *natsgo.Conn, data []byte) (answered bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false, nil
	}
	s.cmd = nil
	if s.reply != "" {
		err = nc.Publish(s.reply, data)
	}
	return true, err
}

// handling reports whether a handler runs on the slot and has no answer yet.
func (s *slot) handling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// takeOver answers the slot's command with an unhandled 503 in its handler's place.
func (s *slot) takeOver(b *Bridge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	cmd, reply := s.cmd, s.reply
	s.cmd = nil
	if reply != "" {
		b.replyTo(reply, bridge.UnhandledResponse(cmd, http.StatusServiceUnavailable, b.cfg.InstanceID))
	}
}

// addSlot and dropSlot keep r.slots: the slots of r's running receivers.
func (r *cmdReg) addSlot(s *slot) {
	r.mu.Lock()
	r.slots[s] = struct{}{}
	r.mu.Unlock()
}

func (r *cmdReg) dropSlot(s *slot) {
	r.mu.Lock()
	delete(r.slots, s)
	delete(r.seen, s)
	r.mu.Unlock()
}

// quiet reports whether every receiver of r still running is inside a handler: none is
// about to take, refuse or answer a command.
func (r *cmdReg) quiet() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.slots {
		if !s.handling() {
			return false
		}
	}
	return true
}

// settle answers, once the bridge's context has ended, every command of r still without
// an answer with a 503 (see above). The receivers not inside a handler exit once the
// context ended; settle waits up to settleWait for the subscription's drain to hand over
// its last commands and for those receivers to be gone, then takes over the handlers'
// slots and answers what is left in the channel.
func (r *cmdReg) settle() {
	deadline := time.Now().Add(settleWait)
	r.mu.Lock()
	sub := r.drained
	r.mu.Unlock()
	for (sub != nil && sub.IsValid() || !r.quiet()) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.mu.Lock()
	slots := make([]*slot, 0, len(r.slots))
	for s := range r.slots {
		slots = append(slots, s)
	}
	r.mu.Unlock()
	for _, s := range slots {
		s.takeOver(r.b)
	}
	for {
		select {
		case m := <-r.ch:
			r.b.refuse(r, m)
		default:
			return
		}
	}
}

// settleWait bounds settle's wait for the drain and the receivers.
const settleWait = 2 * time.Second
