package mqtt_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Acknowledgements on a live connection. paho acknowledges in arrival order: a message
// left unacknowledged holds back the PUBACK of every later one, and a cut connection then
// makes the broker deliver all of them again. These tests cut the connection and count
// the redeliveries of events handled earlier: 0 shows that their PUBACKs went out.

// ackBatch is the number of events per batch in these tests.
const ackBatch = 30

// counts records how often each event number was handled.
type counts struct {
	mu sync.Mutex
	n  map[int]int
}

func (c *counts) handle(_ context.Context, m *wire.Message) error {
	var v int
	_ = json.Unmarshal(m.Payload, &v)
	c.mu.Lock()
	if c.n == nil {
		c.n = map[int]int{}
	}
	c.n[v]++
	c.mu.Unlock()
	return nil
}

// all reports whether every number in [from, to) was handled.
func (c *counts) all(from, to int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := from; i < to; i++ {
		if c.n[i] == 0 {
			return false
		}
	}
	return true
}

// again returns the numbers in [from, to) handled more than once.
func (c *counts) again(from, to int) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i := from; i < to; i++ {
		if c.n[i] > 1 {
			out = append(out, i)
		}
	}
	return out
}

// checkAcknowledged emits two batches of events named name (numbers from..from+2*ackBatch)
// to b's subscription recorded in c, which must hand them to c in arrival order (one free
// worker); waits until both are handled; cuts b's connection (through p) and restores it;
// and then, once a marker event emitted after the reconnect is handled (the session's
// redeliveries arrive before it), fails t if an event of the first batch was handled
// twice. The second batch covers PUBACKs still waiting for paho's next flush at the cut.
func checkAcknowledged(t *testing.T, b, emitter *mqtt.Bridge, p *tcpproxy.Proxy, name string, c *counts, from int) {
	t.Helper()
	emitSeq(t, emitter, name, from, from+2*ackBatch)
	waitFor(t, 60*time.Second, "every event handled before the cut", func() bool { return c.all(from, from+2*ackBatch) })
	p.Cut()
	waitFor(t, 30*time.Second, "the connection seen as lost", func() bool { return b.Healthy(context.Background()) != nil })
	p.Restore()
	waitFor(t, 30*time.Second, "the connection back", func() bool { return b.Healthy(context.Background()) == nil })
	marker := from + 10*ackBatch
	emitSeq(t, emitter, name, marker, marker+1)
	waitFor(t, 30*time.Second, "the marker event after the reconnect", func() bool { return c.all(marker, marker+1) })
	if again := c.again(from, from+ackBatch); len(again) > 0 {
		t.Errorf("events handled before the cut were delivered again (never acknowledged): %v", again)
	}
}

// deadLetters collects the dead letters an observer receives.
type deadLetters struct {
	mu  sync.Mutex
	dls []bridge.DeadLetter
}

// observeDeadLetters registers an OnDeadLetter observer for addr on b and returns what it
// receives.
func observeDeadLetters(t *testing.T, b *mqtt.Bridge, addr wire.Address) *deadLetters {
	t.Helper()
	d := &deadLetters{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.OnDeadLetter(ctx, addr, func(_ context.Context, dl bridge.DeadLetter) {
		d.mu.Lock()
		d.dls = append(d.dls, dl)
		d.mu.Unlock()
	}); err != nil {
		t.Fatalf("OnDeadLetter: %v", err)
	}
	return d
}

// await waits until n dead letters arrived and returns them.
func (d *deadLetters) await(t *testing.T, n int, what string) []bridge.DeadLetter {
	t.Helper()
	waitFor(t, 30*time.Second, what, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.dls) >= n
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bridge.DeadLetter(nil), d.dls...)
}

// TestRetryDoesNotHoldBackAcks: while a subscription's message is being retried (its
// handler fails twice, then succeeds), a command to the same bridge is answered and the
// events of another subscription on the same connection are acknowledged; the retried
// message is handled in the end.
func TestRetryDoesNotHoldBackAcks(t *testing.T) {
	addr := brokerAddr(t)
	p, err := tcpproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	// Two workers: one is taken by the blocked second attempt, the other hands the events
	// over in arrival order.
	b := start(t, p.Addr(), mqtt.WithInstanceID(wire.NewID()), mqtt.WithMaxConcurrency(2))
	emitter := start(t, addr)

	failing := "retryMe" + wire.NewID()[:8]
	var mu sync.Mutex
	attempts := 0
	second := make(chan struct{}) // closed when the second attempt runs
	release := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	policy := bridge.RetryPolicy{MaxAttempts: 3, InitialInterval: 200 * time.Millisecond, MaxInterval: 200 * time.Millisecond}
	if _, err := b.RegisterSubscription(ctx, bridge.Subscription{Subscriber: uniqAddr("RetrySub", "onEvent"),
		Filter: bridge.Filter{EventName: failing}, Durable: true, Retry: policy},
		func(context.Context, *wire.Message) error {
			mu.Lock()
			attempts++
			n := attempts
			mu.Unlock()
			switch n {
			case 1:
				return errors.New("first attempt fails")
			case 2:
				close(second)
				<-release
				return errors.New("second attempt fails")
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	name := "notHeldBack" + wire.NewID()[:8]
	var got counts
	subscribeTo(t, b, uniqAddr("OtherSub", "onEvent"), name, got.handle)
	callee := uniqAddr("RetryCallee", "run")
	register(t, b, callee, echo)

	emitSeq(t, emitter, failing, 0, 1)
	select {
	case <-second:
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting for the second attempt")
	}
	resp, err := emitter.Invoke(context.Background(), command(t, uniqAddr("RetryCaller", "x"), callee, 7), time.Minute)
	if err != nil || resp.MessageType != wire.TypeCommandSuccessResponse {
		t.Fatalf("command while a retry runs: %v %+v", err, resp)
	}
	checkAcknowledged(t, b, emitter, p, name, &got, 0)
	close(release)
	waitFor(t, 30*time.Second, "the third, successful attempt", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return attempts >= 3
	})
	mu.Lock()
	n := attempts
	mu.Unlock()
	if n != 3 {
		t.Errorf("%d attempts, want 3 (the retried message was delivered again)", n)
	}
}

// TestForcedStopDeadLettersPendingRetry: a retry pending in the process (its message is
// acknowledged) when Close's deadline passes is dead-lettered with the reason, before the
// bridge disconnects.
func TestForcedStopDeadLettersPendingRetry(t *testing.T) {
	addr := brokerAddr(t)
	b := start(t, addr, mqtt.WithMaxConcurrency(1)) // deliveries in arrival order
	observer := start(t, addr)
	subscriber := uniqAddr("PendingSub", "onEvent")
	dls := observeDeadLetters(t, observer, subscriber)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "pendingRetry" + wire.NewID()[:8]
	var got counts
	policy := bridge.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Hour, MaxInterval: time.Hour}
	if _, err := b.RegisterSubscription(ctx, bridge.Subscription{Subscriber: subscriber,
		Filter: bridge.Filter{EventName: name}, Retry: policy},
		func(ctx context.Context, m *wire.Message) error {
			_ = got.handle(ctx, m)
			if string(m.Payload) == "0" {
				return errors.New("event 0 fails")
			}
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	emitSeq(t, observer, name, 0, 2)
	// Event 1 is handed over after event 0's delivery has ended: its retry is pending.
	waitFor(t, 30*time.Second, "the event after the failing one", func() bool { return got.all(0, 2) })
	cctx, ccancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer ccancel()
	if err := b.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline (the retry is pending for an hour)", err)
	}
	dl := dls.await(t, 1, "the dead letter of the pending retry")[0]
	if !strings.Contains(dl.Reason, "retry 2 not run") || !strings.Contains(dl.Reason, "event 0 fails") ||
		dl.Attempts != 1 || dl.Message == nil || string(dl.Message.Payload) != "0" {
		t.Errorf("dead letter %+v (reason %q), want the retry's message, attempts 1 and the reason", dl, dl.Reason)
	}
}
