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
// of one per command (docs/performance.md has the figures).
//
// Handlers still never wait for one another:
//   - when a command is taken while others wait in the channel, another receiver is
//     started, up to parallel() receivers running handlers at once;
//   - when a handler runs for longer than takeover (it blocks, or invokes another
//     command), a receiver is started unless one is waiting already, so the next
//     command starts at most 2·takeover after the handler did, whatever the handler does.
//
// The second rule costs no timer per command: while any handler runs, one watchdog timer
// per registration ticks every takeover and starts a receiver when a handler has been
// running the same command since the previous tick (a slot's seq, counted up when a
// command starts and when it ends, is odd while it runs), so no timer is armed and
// stopped around every handler.
//
// Receivers belong to the registration: one idle for between one and two
// inflight.IdleWorker periods exits unless it is the last one waiting, and all exit when
// the registration ends (quit) or the bridge's context ends on Close.

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
	// The idle timer is not reset for every command (a timer operation per command): when
	// it fires, a receiver that ran a command since it was set sets it again.
	idle := time.NewTimer(inflight.IdleWorker)
	defer idle.Stop()
	ran := false
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
			s.seq.Add(1)
			r.armWatchdog()
			r.onMsg(s, m)
			s.seq.Add(1)
			r.active.Add(-1)
			r.waiting.Add(1)
			ran = true
		case <-idle.C:
			if ran {
				ran = false
				idle.Reset(inflight.IdleWorker)
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

// armWatchdog starts the watchdog's ticks unless they run.
func (r *cmdReg) armWatchdog() {
	if !r.watchArmed.Load() && r.watchArmed.CompareAndSwap(false, true) {
		r.watch.Reset(takeover)
	}
}

// watchdog is one tick: it starts a receiver when a handler has run the same command
// since the previous tick and none waits, and ticks again while commands keep coming
// (it stops after watchLinger ticks without one: arming a timer for every command of a
// sparse stream costs more than ticking on). It stops for good once the registration or
// the bridge has ended.
func (r *cmdReg) watchdog() {
	select {
	case <-r.quit:
		return
	case <-r.b.ctx.Done():
		return
	default:
	}
	stuck, busy := false, false
	r.mu.Lock()
	for s := range r.slots {
		n := s.seq.Load()
		if n%2 == 1 && r.seen[s] == n {
			stuck = true
		}
		busy = busy || n%2 == 1 || r.seen[s] != n
		r.seen[s] = n
	}
	if busy {
		r.quietTicks = 0
	} else {
		r.quietTicks++
	}
	linger := r.quietTicks < watchLinger
	r.mu.Unlock()
	if stuck {
		r.spawnIfNoneWaits()
	}
	if linger || r.active.Load() > 0 {
		r.watch.Reset(takeover)
		return
	}
	r.watchArmed.Store(false)
	if r.active.Load() > 0 { // a handler started while the ticks were stopping
		r.armWatchdog()
	}
}

// watchLinger is how many ticks without a command the watchdog ticks on.
const watchLinger = 100

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
	if !r.Calls.Enter(false) {
		// Delivered after the drain began (commands already buffered in the client when the
		// subscription went away): answer at once that this instance is shutting down,
		// instead of leaving the caller to wait for its timeout.
		r.b.refuse(r, m)
		return
	}
	defer r.Calls.Leave()
	r.b.serve(r, s, m)
}
