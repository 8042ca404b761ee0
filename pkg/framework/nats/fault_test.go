package nats_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	pnats "github.com/purista-go/purista/pkg/framework/nats"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestFaultCutAndRestore cuts, through a TCP proxy, the connection of a caller and of a
// durable subscriber while 1,000 invokes are in flight and 10,000 durable events are
// being published (half of them after the cut), then restores it. The invokes' handlers block until after the
// restore, so every invoke is in flight across the cut and fails at once with an error
// wrapping bridge.ErrUnavailable (its timeout is two minutes, so a call left to wait
// would hold the test far past the cut); no event is lost (duplicates are counted),
// health goes false then true, and delivery works again after the restore. The real
// broker is never touched. Nothing here depends on how fast anything runs: every wait is
// for a condition, with a generous deadline.
func TestFaultCutAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	u := needBroker(t)
	proxy, viaProxy := proxyTo(t, u)

	const (
		invokes       = 1000
		events        = 10000
		invokeTimeout = 2 * time.Minute
	)
	callee := addr(uniq("FaultCallee"), "slow")
	name := uniq("faultEvent")
	handler := startBridge(t, u)
	release, free := releaser(t) // freed after the restore (or when t ends, before handler closes)
	var running atomic.Int64
	reg, err := handler.RegisterCommand(context.Background(), callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		if !strings.Contains(string(cmd.Payload), `"after"`) { // the post-restore probe answers at once
			running.Add(1)
			select { // keep the calls in flight across the cut
			case <-release:
			case <-ctx.Done():
			}
		}
		return echo(ctx, cmd)
	}, bridge.CommandOptions{Timeout: invokeTimeout})
	if err != nil {
		t.Fatal(err)
	}
	waitHandlers(t, reg, free)
	caller := startBridge(t, viaProxy)
	subscriber := startBridge(t, viaProxy, pnats.WithMaxConcurrency(128))
	publisher := startBridge(t, u)

	var got counter
	sub := bridge.Subscription{Subscriber: addr(uniq("FaultSub"), "onEvent"), Filter: bridge.Filter{EventName: name}, Durable: true}
	if _, err := subscriber.RegisterSubscription(context.Background(), sub, func(_ context.Context, m *wire.Message) error {
		got.add(m.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// 1,000 invokes in flight.
	var ok, failed atomic.Int64
	var invokeWG sync.WaitGroup
	errKinds := sync.Map{}
	for i := range invokes {
		invokeWG.Add(1)
		go func() {
			defer invokeWG.Done()
			_, err := caller.Invoke(context.Background(), command(addr("FaultCaller", "run"), callee, i), invokeTimeout)
			if err == nil {
				ok.Add(1)
				return
			}
			failed.Add(1)
			if !errors.Is(err, bridge.ErrUnavailable) {
				t.Errorf("invoke %d, in flight at the cut: %v, want an error wrapping bridge.ErrUnavailable", i, err)
				return
			}
			errKinds.Store(err.Error()[:min(len(err.Error()), 60)], true)
		}()
	}

	// 10,000 durable events, published concurrently: the first half at once, the second
	// half once the cut is made, so that the subscriber misses them while it is cut off.
	ids := make([]string, events)
	cutMade := make(chan struct{})
	var cutOnce sync.Once
	markCut := func() { cutOnce.Do(func() { close(cutMade) }) }
	t.Cleanup(markCut)
	var pubWG sync.WaitGroup
	var pubErr atomic.Int64
	next := atomic.Int64{}
	for range 32 {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= events {
					return
				}
				if i >= events/2 {
					<-cutMade
				}
				ev := event(addr("FaultPublisher", "run"), name, i)
				ids[i] = ev.ID
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					err := publisher.Emit(ctx, ev)
					cancel()
					if err == nil {
						break
					}
					if errors.Is(err, bridge.ErrClosed) { // the test failed and ended
						return
					}
					pubErr.Add(1)
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}

	// Cut once some events arrived and every invoke's handler runs; restore after health
	// is down.
	waitFor(t, 60*time.Second, "every invoke's handler to run", func() bool { return running.Load() >= invokes })
	waitFor(t, 30*time.Second, "first deliveries", func() bool { return len(got.snapshot()) > 100 })
	proxy.Cut()
	cutAt := time.Now()
	markCut()
	t.Logf("cut with %d invokes answered, %d events delivered", ok.Load()+failed.Load(), len(got.snapshot()))
	waitFor(t, 10*time.Second, "health to report the cut", func() bool {
		return errors.Is(subscriber.Healthy(context.Background()), bridge.ErrUnavailable) &&
			errors.Is(caller.Healthy(context.Background()), bridge.ErrUnavailable)
	})
	t.Logf("health false %s after the cut", time.Since(cutAt).Round(time.Millisecond))
	time.Sleep(time.Second) // the outage lasts a while: not a synchronisation
	proxy.Restore()
	restoredAt := time.Now()
	free() // the handlers answer now, to inboxes nobody waits on any more
	waitFor(t, 30*time.Second, "health after the restore", func() bool {
		return subscriber.Healthy(context.Background()) == nil && caller.Healthy(context.Background()) == nil
	})
	// Delivery again after the restore: a fresh invoke answered, and durable events flowing
	// again (the consumer resumes its backlog in order, so "again" is any new delivery; the
	// probe emitted now must arrive too, checked with every other event below).
	before := len(got.snapshot())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := caller.Invoke(ctx, command(addr("FaultCaller", "run"), callee, "after"), 30*time.Second); err != nil {
		t.Fatalf("invoke after restore: %v", err)
	}
	probe := event(addr("FaultPublisher", "run"), name, "probe")
	if err := publisher.Emit(ctx, probe); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a durable delivery after the restore", func() bool {
		s := got.snapshot()
		return s[probe.ID] > 0 || len(s) > before
	})
	t.Logf("delivering again %s after the restore", time.Since(restoredAt).Round(time.Millisecond))

	invokeWG.Wait()
	pubWG.Wait()
	var kinds []string
	errKinds.Range(func(k, _ any) bool { kinds = append(kinds, k.(string)); return true })
	t.Logf("invokes: %d ok, %d failed with clear errors %v", ok.Load(), failed.Load(), kinds)
	if n := ok.Load(); n != 0 {
		t.Errorf("%d invokes in flight at the cut were answered, want all to fail with bridge.ErrUnavailable", n)
	}

	waitFor(t, 60*time.Second, "every durable event", func() bool {
		s := got.snapshot()
		if s[probe.ID] == 0 {
			return false
		}
		for _, id := range ids {
			if s[id] == 0 {
				return false
			}
		}
		return true
	})
	dups := 0
	for _, n := range got.snapshot() {
		dups += n - 1
	}
	t.Logf("events: %d published (%d publish retries), all delivered, %d duplicate deliveries", events, pubErr.Load(), dups)
}

// TestBrokerCutFailsPendingInvokes: calls waiting for their answers when the caller's
// connection drops fail at once with an error wrapping bridge.ErrUnavailable (their
// replies can no longer arrive; the invoke timeout is two minutes, far beyond the test's
// deadline, so a call left to its timeout fails the test), calls made while the
// connection is down fail the same way, and after the restore new calls are answered.
func TestBrokerCutFailsPendingInvokes(t *testing.T) {
	u := needBroker(t)
	proxy, viaProxy := proxyTo(t, u)
	const n = 50
	handler, caller := startBridge(t, u), startBridge(t, viaProxy)
	release, free := releaser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	callee, answers := blockingCalls(ctx, t, caller, handler, n, free, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		if !strings.Contains(string(cmd.Payload), `"after"`) {
			select { // the answer comes after the cut
			case <-release:
			case <-ctx.Done():
			}
		}
		return echo(ctx, cmd)
	})
	proxy.Cut()
	for _, o := range collect(ctx, t, answers, n) {
		if !errors.Is(o.err, bridge.ErrUnavailable) {
			t.Errorf("a call pending at the cut returned %v %v, want bridge.ErrUnavailable", o.resp, o.err)
		}
	}
	if _, err := caller.Invoke(ctx, command(addr("CutCaller", "run"), callee, "during"), 2*time.Minute); !errors.Is(err, bridge.ErrUnavailable) {
		t.Errorf("a call during the cut returned %v, want bridge.ErrUnavailable", err)
	}
	free()
	proxy.Restore()
	waitFor(t, 30*time.Second, "health after the restore", func() bool { return caller.Healthy(context.Background()) == nil })
	resp, err := caller.Invoke(ctx, command(addr("CutCaller", "run"), callee, "after"), 2*time.Minute)
	if err != nil || string(resp.Payload) != `"after"` {
		t.Fatalf("a call after the restore: %v %v", resp, err)
	}
}
