package transport

import (
	"sync"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
)

// MaxAttempts returns the number of deliveries p allows in total: p.MaxAttempts, or
// bridge.DefaultMaxAttempts when that is not positive.
func MaxAttempts(p bridge.RetryPolicy) int {
	if p.MaxAttempts > 0 {
		return p.MaxAttempts
	}
	return bridge.DefaultMaxAttempts
}

// Next says what follows the failure of delivery attempt number attempt (counting from 1)
// under p: another attempt after delay (retry true, delay p.Delay(attempt)), or, once
// attempt has reached MaxAttempts(p), the dead letter (retry false). A bridge whose broker
// schedules the redelivery (a JetStream NAK with delay) uses it directly; one that
// schedules it in process uses Retries.Settle.
func Next(p bridge.RetryPolicy, attempt int) (retry bool, delay time.Duration) {
	if attempt < MaxAttempts(p) {
		return true, p.Delay(attempt)
	}
	return false, 0
}

// Outcome is what Retries.Settle did with a failed delivery.
type Outcome int

const (
	// Retrying: the next attempt is scheduled.
	Retrying Outcome = iota
	// Dropped: attempts remained but the Retries is stopped (the subscription or bridge
	// is closing): nothing was scheduled or dead-lettered. The bridge leaves the message to
	// the broker (unacknowledged, or requeued) or, without one, lets it go.
	Dropped
	// DeadLettered: the last attempt failed; the dead-letter callback ran.
	DeadLettered
)

// Retries is a bridge's in-process schedule of redeliveries: one timer per pending retry,
// owned by the Retries and stopped by Stop. The zero Retries is ready; set Work before the
// first use and do not change it. Safe for concurrent use.
//
// Work, if set, is the gate the bridge's Close or Unregister waits on: each pending retry
// holds one unit of it (entered with Enter(true), so a retry scheduled by a delivery in
// flight is admitted while the bridge drains) until its function has returned, or until
// Stop drops it. A function that hands its work on (to a queue or goroutine that leaves
// the gate when done) enters the gate for it itself. With Work nil, pending retries hold
// the bridge up nowhere: the bridge relies on the broker keeping the original message
// unacknowledged until the retry has been handed over.
type Retries struct {
	// Work is the gate a pending retry counts in; nil for none.
	Work *inflight.Gate

	mu      sync.Mutex
	stopped bool
	pending map[*pendingRetry]struct{}
}

// pendingRetry is one scheduled retry; its presence in Retries.pending is the right to
// run it, taken either by its timer or by Stop.
type pendingRetry struct{ t *time.Timer }

// After runs f once delay has passed, unless Stop comes first, and reports whether it was
// scheduled: false when the Retries is stopped or Work admits nothing. With delay <= 0, f
// runs at once on the caller's goroutine, before After returns; otherwise on the timer's
// goroutine, so f may block (a publisher confirm) without holding up other retries, but
// it must not wait for the delivery that scheduled it.
func (r *Retries) After(delay time.Duration, f func()) bool {
	if r.Work != nil && !r.Work.Enter(true) {
		return false
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		r.leave()
		return false
	}
	if delay <= 0 {
		r.mu.Unlock()
		defer r.leave()
		f()
		return true
	}
	p := &pendingRetry{}
	if r.pending == nil {
		r.pending = map[*pendingRetry]struct{}{}
	}
	r.pending[p] = struct{}{}
	p.t = time.AfterFunc(delay, func() { r.fire(p, f) })
	r.mu.Unlock()
	return true
}

// fire runs f for p unless Stop has taken p.
func (r *Retries) fire(p *pendingRetry, f func()) {
	r.mu.Lock()
	_, ok := r.pending[p]
	delete(r.pending, p)
	r.mu.Unlock()
	if !ok {
		return // Stop dropped it and left the gate for it
	}
	defer r.leave()
	f()
}

// Stop drops every pending retry (their functions never run; each leaves Work) and makes
// every later After return false. It returns the number dropped. It does not wait for
// functions already running; they still count in Work. Safe to call more than once.
func (r *Retries) Stop() int {
	r.mu.Lock()
	r.stopped = true
	dropped := r.pending
	r.pending = nil
	r.mu.Unlock()
	for p := range dropped {
		p.t.Stop()
		r.leave()
	}
	return len(dropped)
}

// Pending returns the number of retries waiting for their timer.
func (r *Retries) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

func (r *Retries) leave() {
	if r.Work != nil {
		r.Work.Leave()
	}
}

// Settle decides a failed delivery: attempt (counting from 1) failed with err under
// policy p. While attempts remain it schedules retry(attempt+1) after p.Delay(attempt)
// (see After) and returns Retrying, or Dropped when r is stopped. At the last attempt it
// calls deadLetter(attempt, err.Error()) on the caller's goroutine and returns
// DeadLettered: the dead letter's reason is the last handler error's text, its attempt
// count the number of deliveries made.
func (r *Retries) Settle(p bridge.RetryPolicy, attempt int, err error, retry func(next int), deadLetter func(attempts int, reason string)) Outcome {
	again, delay := Next(p, attempt)
	if !again {
		reason := ""
		if err != nil {
			reason = err.Error()
		}
		deadLetter(attempt, reason)
		return DeadLettered
	}
	next := attempt + 1
	if r.After(delay, func() { retry(next) }) {
		return Retrying
	}
	return Dropped
}
