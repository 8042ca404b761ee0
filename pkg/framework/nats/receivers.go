package nats

import (
	"runtime"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
)

// Commands reach their handlers without a hand-off per command. The command subscription
// is a channel subscription, and the goroutines that run the handlers (receivers) take
// the commands from that channel themselves: a receiver runs one handler after the other
// while commands are waiting, so a burst of commands costs one goroutine wake-up instead
// of one per command (as handing each to a worker did: ≈ 15 % of the time per call at 64
// calls in flight).
//
// Handlers still never wait for one another:
//   - when a command is taken while others wait in the channel, another receiver is
//     started, up to parallel() receivers running handlers at once;
//   - when a handler runs for longer than takeover (it blocks, or invokes another
//     command), a receiver is started unless one is waiting already, so the next
//     command starts at most takeover after the handler did, whatever the handler does.
//
// Receivers belong to the registration: one idle for inflight.IdleWorker exits unless it
// is the last one waiting, and all exit when the registration ends (quit) or the bridge's
// context ends on Close.

// Bounds of the receivers: cmdBuffer commands wait in a registration's channel before
// nats.go drops further ones as a slow consumer (logged; their callers time out), and a
// handler running longer than takeover lets another receiver take the next command.
const (
	cmdBuffer = 8192
	takeover  = time.Millisecond
)

// parallel is how many receivers start for waiting commands without a handler having run
// for takeover: one per processor but one (the read loop needs one too), at least one.
func parallel() int32 { return int32(max(runtime.GOMAXPROCS(0)-1, 1)) }

// spawnIfNoneWaits starts a receiver unless one is waiting.
func (r *cmdReg) spawnIfNoneWaits() {
	if r.waiting.CompareAndSwap(0, 1) {
		go r.receive()
	}
}

// receive is a receiver; it is counted in r.waiting while it waits for a command and in
// r.active while it runs one.
func (r *cmdReg) receive() {
	s := &slot{}
	r.addSlot(s)
	defer r.dropSlot(s)
	watch := time.AfterFunc(time.Hour, r.spawnIfNoneWaits)
	watch.Stop()
	defer watch.Stop()
	// The idle timer is not reset for every command (a timer operation per command): when
	// it fires, a receiver that ran a command since it was set sets it again for the
	// rest of the period.
	idle := time.NewTimer(inflight.IdleWorker)
	defer idle.Stop()
	var lastRun time.Time
	for {
		// Checked before taking a command: once the bridge's context ended (Close), the
		// commands left in the channel are Close's to answer (settle).
		if r.b.ctx.Err() != nil {
			r.waiting.Add(-1)
			return
		}
		select {
		case m := <-r.ch:
			r.waiting.Add(-1)
			active := r.active.Add(1)
			if len(r.ch) > 0 && active < parallel() {
				r.spawnIfNoneWaits()
			}
			watch.Reset(takeover)
			r.onMsg(s, m)
			watch.Stop()
			r.active.Add(-1)
			r.waiting.Add(1)
			lastRun = time.Now()
		case <-idle.C:
			if rest := inflight.IdleWorker - time.Since(lastRun); rest > 0 {
				idle.Reset(rest)
				continue
			}
			if r.retire() {
				return
			}
			idle.Reset(inflight.IdleWorker)
		case <-r.quit:
			r.waiting.Add(-1)
			return
		case <-r.b.ctx.Done():
			r.waiting.Add(-1)
			return
		}
	}
}

// retire uncounts an idle receiver unless it is the last one waiting.
func (r *cmdReg) retire() bool {
	for {
		n := r.waiting.Load()
		if n <= 1 {
			return false
		}
		if r.waiting.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// onMsg runs one command on the receiver's goroutine, which holds s.
func (r *cmdReg) onMsg(s *slot, m *natsgo.Msg) {
	if !r.g.Enter(false) {
		// Delivered after the drain began (commands already buffered in the client when the
		// subscription went away): answer at once that this instance is shutting down,
		// instead of leaving the caller to wait for its timeout.
		r.b.refuse(r, m)
		return
	}
	defer r.g.Leave()
	r.b.serve(r, s, m)
}
