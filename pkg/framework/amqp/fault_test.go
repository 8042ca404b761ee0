package amqp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestFaultCutAndRestore cuts the TCP connection of both bridges (through a proxy, never
// touching the broker) while 1,000 invocations are in flight and 10,000 durable events
// are being published, then restores it. Every invocation must end within its timeout
// (result or clear error), every confirmed event must be delivered (duplicates counted),
// health must go false then true, and delivery must work within 5s of the restore.
func TestFaultCutAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test skipped in -short mode")
	}
	proxy, u := proxied(t)
	id := wire.NewID()[:10]
	svc := wire.Address{ServiceName: "Fault" + id, ServiceVersion: "1", ServiceTarget: "slow"}
	from := wire.Address{ServiceName: "FaultCaller" + id, ServiceVersion: "1", ServiceTarget: "run"}
	evName := "faultEvent" + id
	opts := []amqp.Option{amqp.WithReconnectBackoff(50*time.Millisecond, time.Second), amqp.WithPrefetch(256)}
	caller := startBridge(t, u, opts...)
	server := startBridge(t, u, opts...)
	ctx := context.Background()

	if _, err := server.RegisterCommand(ctx, svc, func(ctx context.Context, cmd *wire.Message) *wire.Message {
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
		}
		return echoHandler(ctx, cmd)
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	received := map[string]int{}
	if _, err := server.RegisterSubscription(ctx, bridge.Subscription{
		Subscriber: wire.Address{ServiceName: "FaultSub" + id, ServiceVersion: "1", ServiceTarget: "onEvent"},
		Filter:     bridge.Filter{EventName: evName}, Durable: true,
	}, func(_ context.Context, m *wire.Message) error {
		mu.Lock()
		received[m.ID]++
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// 1,000 invocations in flight (the handler holds each for 500ms).
	const invokes, events = 1000, 10000
	const timeout = 10 * time.Second
	var ok, failed, late atomic.Int64
	errKinds := sync.Map{}
	var wg sync.WaitGroup
	for i := range invokes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			_, err := caller.Invoke(ctx, cmdTo(from, svc, fmt.Sprint(i)), timeout)
			if time.Since(start) > timeout+time.Second {
				late.Add(1)
			}
			if err != nil {
				failed.Add(1)
				kind := "other: " + err.Error()
				for _, k := range []error{bridge.ErrUnavailable, bridge.ErrTimeout, bridge.ErrNoHandler} {
					if errors.Is(err, k) {
						kind = k.Error()
					}
				}
				errKinds.Store(kind, true)
				return
			}
			ok.Add(1)
		}()
	}

	// 10,000 durable events from 8 publishers; a failed Emit is retried (the caller's job).
	var confirmedMu sync.Mutex
	confirmed := map[string]bool{}
	var emitRetries atomic.Int64
	var pub sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		pub.Add(1)
		go func() {
			defer pub.Done()
			for next.Add(1) <= events {
				ev := &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
					ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCustomMessage, Sender: from,
					EventName: evName, Payload: json.RawMessage(`{"n":1}`)}
				for {
					ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
					err := caller.Emit(ectx, ev)
					cancel()
					if err == nil {
						break
					}
					emitRetries.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
				confirmedMu.Lock()
				confirmed[ev.ID] = true
				confirmedMu.Unlock()
			}
		}()
	}

	time.Sleep(250 * time.Millisecond) // let both loads get going
	proxy.Cut()
	waitFor(t, 5*time.Second, "health to report the cut", func() bool {
		return errors.Is(caller.Healthy(ctx), bridge.ErrUnavailable) && errors.Is(server.Healthy(ctx), bridge.ErrUnavailable)
	})
	time.Sleep(500 * time.Millisecond)
	proxy.Restore()
	restored := time.Now()
	waitFor(t, 5*time.Second, "health after the restore", func() bool {
		return caller.Healthy(ctx) == nil && server.Healthy(ctx) == nil
	})
	// Delivery works again: a fresh invoke round-trips.
	for {
		if _, err := caller.Invoke(ctx, cmdTo(from, svc, `"after"`), 5*time.Second); err == nil {
			break
		} else if time.Since(restored) > 5*time.Second {
			t.Fatalf("no invoke succeeded within 5s of the restore: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("delivering again %s after the restore", time.Since(restored).Round(time.Millisecond))

	wg.Wait()
	pub.Wait()
	if late.Load() > 0 {
		t.Errorf("%d invocations returned later than their timeout", late.Load())
	}
	var kinds []string
	errKinds.Range(func(k, _ any) bool { kinds = append(kinds, k.(string)); return true })
	t.Logf("invokes: %d ok, %d failed with %v", ok.Load(), failed.Load(), kinds)
	if ok.Load()+failed.Load() != invokes {
		t.Errorf("%d invocations ended, want %d", ok.Load()+failed.Load(), invokes)
	}

	waitFor(t, 60*time.Second, "every confirmed event", func() bool {
		confirmedMu.Lock()
		defer confirmedMu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		for id := range confirmed {
			if received[id] == 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	dups := 0
	for _, n := range received {
		dups += n - 1
	}
	mu.Unlock()
	t.Logf("events: %d confirmed, %d distinct received, %d duplicates, %d Emit retries", len(confirmed), len(received), dups, emitRetries.Load())
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
