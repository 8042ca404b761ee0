package inflight

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	tests := []struct {
		name      string
		inside    int
		internal  bool
		wantAdmit bool
	}{
		{"shut and empty refuses internal work", 0, true, false},
		{"shut with work inside admits internal work", 1, true, true},
		{"shut with work inside refuses new work", 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g Gate
			for range tt.inside {
				if !g.Enter(false) {
					t.Fatal("an open gate refused work")
				}
			}
			idle := g.Close()
			if got := g.Enter(tt.internal); got != tt.wantAdmit {
				t.Fatalf("Enter(%v) = %v, want %v", tt.internal, got, tt.wantAdmit)
			}
			if tt.wantAdmit {
				g.Leave()
			}
			for range tt.inside {
				g.Leave()
			}
			select {
			case <-idle:
			case <-time.After(5 * time.Second):
				t.Fatal("the idle channel never closed")
			}
		})
	}
}

func TestGateWaitDeadline(t *testing.T) {
	var g Gate
	g.Enter(false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Wait(ctx); err == nil {
		t.Fatal("Wait returned with work inside")
	}
	g.Leave()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestPoolReusesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPool(ctx)
	var ran atomic.Int64
	done := make(chan struct{})
	for i := range 100 {
		p.Run(func() {
			if ran.Add(1) == 100 {
				close(done)
			}
			_ = i
		})
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("ran %d of 100", ran.Load())
	}
	cancel() // workers exit; -race and the test's end would show a leak as a hang
}

func TestQueueBoundsWorkersAndLeavesGate(t *testing.T) {
	var g Gate
	q := NewQueue(context.Background(), 2, &g)
	var running, peak atomic.Int64
	release := make(chan struct{})
	for range 10 {
		if !g.Enter(false) {
			t.Fatal("gate refused")
		}
		q.Push(func(context.Context) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
		})
	}
	close(release)
	select {
	case <-g.Close():
	case <-time.After(5 * time.Second):
		t.Fatal("jobs did not leave the gate")
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Fatalf("peak concurrency %d, want 1..2", p)
	}
}

func TestEnterCall(t *testing.T) {
	owner, other := new(int), new(int)
	var g Gate
	if !g.EnterCall(context.Background(), owner) {
		t.Fatal("an open gate refused a call")
	}
	g.Close() // draining, one call inside
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"a call from the owner's own work is admitted", WithOwner(context.Background(), owner), true},
		{"a call from another owner is refused", WithOwner(context.Background(), other), false},
		{"an outside call is refused", context.Background(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := g.EnterCall(tt.ctx, owner)
			if got != tt.want {
				t.Fatalf("EnterCall = %v, want %v", got, tt.want)
			}
			if got {
				g.Leave()
			}
		})
	}
	g.Leave()
	if g.EnterCall(WithOwner(context.Background(), owner), owner) {
		t.Fatal("a shut, empty gate admitted a call")
	}
}
