package transport

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
)

// wait is the generous overall deadline of every wait in these tests.
const wait = 30 * time.Second

func TestNext(t *testing.T) {
	immediate := bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}
	exp := bridge.RetryPolicy{MaxAttempts: 4, InitialInterval: 10 * time.Millisecond, MaxInterval: 25 * time.Millisecond}
	tests := []struct {
		name      string
		p         bridge.RetryPolicy
		attempt   int
		wantRetry bool
		maxDelay  time.Duration // the delay lies in [0, maxDelay]
	}{
		{"immediate, first failure", immediate, 1, true, 0},
		{"immediate, second failure", immediate, 2, true, 0},
		{"immediate, last attempt", immediate, 3, false, 0},
		{"beyond the last attempt", immediate, 7, false, 0},
		{"exponential, first failure", exp, 1, true, 10 * time.Millisecond},
		{"exponential, doubled", exp, 2, true, 20 * time.Millisecond},
		{"exponential, capped", exp, 3, true, 25 * time.Millisecond},
		{"exponential, last attempt", exp, 4, false, 0},
		{"zero policy: default attempts", bridge.RetryPolicy{}, bridge.DefaultMaxAttempts - 1, true, bridge.DefaultMaxInterval},
		{"zero policy: last default attempt", bridge.RetryPolicy{}, bridge.DefaultMaxAttempts, false, 0},
	}
	for _, tt := range tests {
		for range 20 { // the delay is random
			retry, delay := Next(tt.p, tt.attempt)
			if retry != tt.wantRetry || delay < 0 || delay > tt.maxDelay {
				t.Errorf("%s: Next(attempt %d) = %v %s, want %v and a delay in [0, %s]", tt.name, tt.attempt, retry, delay, tt.wantRetry, tt.maxDelay)
				break
			}
		}
	}
}

func TestMaxAttempts(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, bridge.DefaultMaxAttempts}, {-2, bridge.DefaultMaxAttempts}, {1, 1}, {9, 9}} {
		if got := MaxAttempts(bridge.RetryPolicy{MaxAttempts: tt.in}); got != tt.want {
			t.Errorf("MaxAttempts(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSettle(t *testing.T) {
	immediate := bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}
	tests := []struct {
		name      string
		attempt   int
		err       error
		stopped   bool
		want      Outcome
		wantNext  int    // retry's argument, 0: not called
		wantDL    int    // deadLetter's attempts, 0: not called
		wantWhy   string // deadLetter's reason
		wantAfter bool   // the retry ran before Settle returned (delay 0)
	}{
		{name: "first failure retries", attempt: 1, err: errors.New("boom 1"), want: Retrying, wantNext: 2, wantAfter: true},
		{name: "second failure retries", attempt: 2, err: errors.New("boom 2"), want: Retrying, wantNext: 3, wantAfter: true},
		{name: "last failure dead-letters with the last error", attempt: 3, err: errors.New("boom 3"), want: DeadLettered, wantDL: 3, wantWhy: "boom 3"},
		{name: "stopped: dropped", attempt: 1, err: errors.New("boom"), stopped: true, want: Dropped},
		{name: "stopped still dead-letters the last attempt", attempt: 3, err: errors.New("late"), stopped: true, want: DeadLettered, wantDL: 3, wantWhy: "late"},
		{name: "nil error: empty reason", attempt: 3, want: DeadLettered, wantDL: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g inflight.Gate
			r := &Retries{Work: &g}
			if tt.stopped {
				r.Stop()
			}
			g.Enter(false) // the delivery in flight
			next, dl, why := 0, 0, ""
			got := r.Settle(immediate, tt.attempt, tt.err,
				func(n int) { next = n },
				func(attempts int, reason string) { dl, why = attempts, reason })
			if got != tt.want || next != tt.wantNext || dl != tt.wantDL || why != tt.wantWhy {
				t.Errorf("Settle = %v, retry(%d), deadLetter(%d, %q); want %v, retry(%d), deadLetter(%d, %q)",
					got, next, dl, why, tt.want, tt.wantNext, tt.wantDL, tt.wantWhy)
			}
			g.Leave()
			if !closed(g.Close()) {
				t.Error("the gate is not idle after Settle")
			}
		})
	}
}

func TestRetriesTimer(t *testing.T) {
	var g inflight.Gate
	r := &Retries{Work: &g}
	g.Enter(false) // the delivery that schedules
	ran := make(chan int, 1)
	if !r.After(time.Millisecond, func() {
		if !g.Enter(true) { // hand the work on, as a bridge pushing onto its queue does
			t.Error("the gate refused the retry's follow-up work")
			return
		}
		ran <- 1
	}) {
		t.Fatal("After refused")
	}
	g.Leave()
	idle := g.Close()
	if closed(idle) {
		t.Fatal("the gate is idle while a retry is pending")
	}
	select {
	case <-ran:
	case <-time.After(wait):
		t.Fatal("the retry never ran")
	}
	if closed(idle) {
		t.Fatal("the gate went idle before the handed-on work left")
	}
	g.Leave()
	waitClosed(t, idle, "the gate to go idle")
	if r.Pending() != 0 {
		t.Errorf("Pending = %d after the retry ran", r.Pending())
	}
}

func TestRetriesStop(t *testing.T) {
	tests := []struct {
		name string
		gate bool
	}{{"with a work gate", true}, {"without a work gate", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g inflight.Gate
			r := &Retries{}
			if tt.gate {
				r.Work = &g
			}
			var ran atomic.Int32
			for range 3 {
				if !r.After(time.Hour, func() { ran.Add(1) }) {
					t.Fatal("After refused")
				}
			}
			if r.Pending() != 3 {
				t.Fatalf("Pending = %d, want 3", r.Pending())
			}
			idle := g.Close()
			if tt.gate == closed(idle) {
				t.Fatalf("gate idle %v with 3 retries pending", closed(idle))
			}
			if n := r.Stop(); n != 3 {
				t.Errorf("Stop = %d, want 3", n)
			}
			if !closed(idle) {
				t.Error("the gate is not idle after Stop")
			}
			if r.After(0, func() { ran.Add(1) }) || r.After(time.Millisecond, func() { ran.Add(1) }) {
				t.Error("After scheduled on a stopped Retries")
			}
			if n := r.Stop(); n != 0 || r.Pending() != 0 || ran.Load() != 0 {
				t.Errorf("second Stop = %d, Pending %d, ran %d", n, r.Pending(), ran.Load())
			}
		})
	}
}

// TestRetriesStopRace stops a Retries while its timers fire: every retry either runs or is
// dropped, never both, and the gate never keeps a unit for a retry that neither ran nor
// was dropped.
func TestRetriesStopRace(t *testing.T) {
	for round := range 20 {
		var g inflight.Gate
		r := &Retries{Work: &g}
		var ran atomic.Int32
		const n = 50
		g.Enter(false)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if !r.After(time.Duration(i%3)*time.Microsecond+time.Nanosecond, func() { ran.Add(1) }) {
					t.Error("After refused before Stop")
				}
			})
		}
		wg.Wait()
		dropped := r.Stop()
		g.Leave()
		select {
		case <-g.Close():
		case <-time.After(wait):
			t.Fatalf("round %d: the gate never went idle (ran %d, dropped %d)", round, ran.Load(), dropped)
		}
		if got := int(ran.Load()) + dropped; got != n {
			t.Fatalf("round %d: ran %d + dropped %d = %d, want %d", round, ran.Load(), dropped, got, n)
		}
	}
}

// TestRetriesRefusedByGate: a gate shut and empty admits no retry.
func TestRetriesRefusedByGate(t *testing.T) {
	var g inflight.Gate
	<-g.Close()
	r := &Retries{Work: &g}
	if r.After(0, func() { t.Error("ran") }) {
		t.Error("After scheduled through a shut, empty gate")
	}
	if got := r.Settle(bridge.RetryPolicy{Backoff: bridge.BackoffImmediate}, 1, errors.New("x"), func(int) { t.Error("retried") }, func(int, string) { t.Error("dead-lettered") }); got != Dropped {
		t.Errorf("Settle = %v, want Dropped", got)
	}
}

// waitClosed waits until c is closed, failing the test after the overall deadline.
func waitClosed(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(wait):
		t.Fatalf("gave up waiting for %s", what)
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
