package mqtt_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestFaultCutAndRestore cuts the connection of caller, callee and subscriber (all through
// one TCP proxy; the broker itself is never touched) while 1,000 invokes are in flight and
// 10,000 durable events are being published, then restores it.
func TestFaultCutAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test skipped in -short mode")
	}
	addr := brokerAddr(t)
	p, err := tcpproxy.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	opts := []mqtt.Option{mqtt.WithMaxReconnectDelay(200 * time.Millisecond), mqtt.WithKeepAlive(2 * time.Second)}
	a := start(t, p.Addr(), opts...)
	b := start(t, p.Addr(), opts...)
	s := start(t, p.Addr(), opts...)

	callee := uniqAddr("FaultCallee", "doIt")
	caller := uniqAddr("FaultCaller", "run")
	// The handler holds every call until the cut (however long the events before it take
	// on a loaded machine), then answers within a second or so: calls are in flight
	// across the cut, and their responses meet the cut connection.
	cut := make(chan struct{})
	register(t, b, callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		select {
		case <-cut:
		case <-ctx.Done():
			return echo(ctx, cmd)
		}
		select {
		case <-time.After(time.Duration(rand.IntN(1500)) * time.Millisecond):
		case <-ctx.Done():
		}
		return echo(ctx, cmd)
	})
	name := "faultEvent" + wire.NewID()[:8]
	var mu sync.Mutex
	seen := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.RegisterSubscription(ctx, bridge.Subscription{
		Subscriber: uniqAddr("FaultSub", "onEvent"), Filter: bridge.Filter{EventName: name}, Durable: true,
	}, func(_ context.Context, m *wire.Message) error {
		mu.Lock()
		seen[m.ID]++
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Health watcher.
	var wentDown, cameBack atomic.Bool
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
			}
			err := a.Healthy(context.Background())
			if errors.Is(err, bridge.ErrUnavailable) {
				wentDown.Store(true)
			} else if err == nil && wentDown.Load() {
				cameBack.Store(true)
			}
		}
	})

	// 1,000 invokes in flight.
	const invokes, timeout = 1000, 10 * time.Second
	var okN, errN atomic.Int64
	var late atomic.Int64
	var calls sync.WaitGroup
	for i := range invokes {
		calls.Go(func() {
			t0 := time.Now()
			resp, err := a.Invoke(context.Background(), command(t, caller, callee, i), timeout)
			if d := time.Since(t0); d > timeout+2*time.Second {
				late.Add(1)
				t.Errorf("invoke %d took %s (timeout %s)", i, d, timeout)
			}
			if err != nil {
				errN.Add(1)
				if !errors.Is(err, bridge.ErrTimeout) && !errors.Is(err, bridge.ErrUnavailable) {
					t.Errorf("invoke %d: unclear error %v", i, err)
				}
				return
			}
			if resp.MessageType == wire.TypeCommandSuccessResponse {
				okN.Add(1)
			} else {
				errN.Add(1)
			}
		})
	}

	// 10,000 durable events; an Emit that fails is retried until the broker accepts it.
	const events = 10000
	var accepted sync.Map
	var acceptedN, emitErrs atomic.Int64
	var emitters sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		emitters.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= events {
					return
				}
				ev := event(caller, name, i)
				for {
					ectx, ecancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := a.Emit(ectx, ev)
					ecancel()
					if err == nil {
						break
					}
					emitErrs.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
				accepted.Store(ev.ID, true)
				acceptedN.Add(1)
			}
		})
	}

	waitFor(t, 60*time.Second, "2,000 events accepted before the cut", func() bool { return acceptedN.Load() >= 2000 })
	inFlight := invokes - okN.Load() - errN.Load()
	p.Cut()
	close(cut)
	t.Logf("cut with %d invokes in flight and %d of %d events accepted", inFlight, acceptedN.Load(), events)
	if inFlight == 0 {
		t.Error("no invoke was in flight at the cut")
	}
	waitFor(t, 10*time.Second, "health to turn unavailable", wentDown.Load)
	time.Sleep(time.Second)
	p.Restore()
	restored := time.Now()
	waitFor(t, 10*time.Second, "health to recover", cameBack.Load)
	probe := event(caller, name, "probe")
	if err := a.Emit(ctx, probe); err != nil {
		// The emitters may have saturated the connection; retry within the window.
		waitFor(t, 5*time.Second, "the probe to be accepted", func() bool {
			c, cc := context.WithTimeout(context.Background(), time.Second)
			defer cc()
			return a.Emit(c, probe) == nil
		})
	}
	waitFor(t, 5*time.Second-time.Since(restored)+time.Second, "the probe to be delivered after the restore", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[probe.ID] > 0
	})
	t.Logf("delivering again %s after the restore", time.Since(restored).Round(time.Millisecond))

	calls.Wait()
	emitters.Wait()
	close(stopWatch)
	watch.Wait()
	if okN.Load()+errN.Load() != invokes {
		t.Errorf("%d invokes returned, want %d", okN.Load()+errN.Load(), invokes)
	}
	t.Logf("invokes: %d succeeded, %d failed with a clear error, %d late", okN.Load(), errN.Load(), late.Load())
	t.Logf("events: %d accepted, %d Emit errors retried", acceptedN.Load(), emitErrs.Load())

	waitFor(t, 120*time.Second, "every accepted event to be delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		accepted.Range(func(k, _ any) bool {
			if seen[k.(string)] == 0 {
				missing++
			}
			return true
		})
		return missing == 0
	})
	mu.Lock()
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	mu.Unlock()
	t.Logf("events: none lost, %d duplicate deliveries", dups)
}
