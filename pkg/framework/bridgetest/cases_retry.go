package bridgetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// failing returns a subscription handler that fails the first fails deliveries (all of
// them when fails < 0) and counts attempts and successes.
func failing(fails int, attempts, successes *counter) bridge.MessageHandler {
	return func(context.Context, *wire.Message) error {
		n := attempts.inc()
		if fails < 0 || n <= fails {
			return fmt.Errorf("boom %d", n)
		}
		successes.inc()
		return nil
	}
}

func onDeadLetter(t *testing.T, h Harness, b bridge.EventBridge, subscriber wire.Address) *deadLetters {
	t.Helper()
	var dls deadLetters
	if _, err := b.OnDeadLetter(h.ctx(t), subscriber, dls.handle); err != nil {
		t.Fatalf("OnDeadLetter: %v", err)
	}
	return &dls
}

func caseRetryThenDeadLetter(t *testing.T, h Harness) {
	if h.Features.NoDeadLetter {
		t.Skip("Features.NoDeadLetter: dead letters are not observable")
	}
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var attempts, successes counter
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "fails"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}}
	subscribe(t, h, b, sub, failing(-1, &attempts, &successes))
	dls := onDeadLetter(t, h, b, wire.Address{})
	ev := event(t, caller, name, 1)
	emit(t, h, a, ev)
	h.eventually(t, "the dead letter", func() bool { return len(dls.all()) == 1 })
	dl := dls.all()[0]
	if dl.Attempts != 3 || !strings.Contains(dl.Reason, "boom 3") {
		t.Errorf("dead letter attempts %d reason %q, want 3 and the last error (boom 3)", dl.Attempts, dl.Reason)
	}
	if dl.Message == nil || dl.Message.ID != ev.ID || dl.Message.EventName != name {
		t.Errorf("dead letter message %+v, want event %s", dl.Message, ev.ID)
	}
	if !dl.Subscriber.SameEndpoint(sub.Subscriber) {
		t.Errorf("dead letter subscriber %+v, want %+v", dl.Subscriber, sub.Subscriber)
	}
	if dl.At.IsZero() {
		t.Error("dead letter without time")
	}
	h.steady(t, "no delivery after the dead letter", func() bool { return attempts.get() == 3 && len(dls.all()) == 1 })
}

func caseDeadLetterOtherInstance(t *testing.T, h Harness) {
	if h.Features.NoDeadLetter {
		t.Skip("Features.NoDeadLetter: dead letters are not observable")
	}
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b, c := h.start(t), h.start(t), h.start(t)
	var attempts, successes counter
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "fails"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 2, Backoff: bridge.BackoffImmediate}}
	subscribe(t, h, b, sub, failing(-1, &attempts, &successes))
	dls := onDeadLetter(t, h, c, sub.Subscriber)
	emit(t, h, a, event(t, caller, name, 1))
	h.eventually(t, "the dead letter at another instance", func() bool { return len(dls.all()) == 1 })
	if dl := dls.all()[0]; dl.Attempts != 2 || !strings.Contains(dl.Reason, "boom") {
		t.Errorf("dead letter attempts %d reason %q", dl.Attempts, dl.Reason)
	}
}

func caseRedelivery(t *testing.T, h Harness) {
	t.Parallel()
	caller, _ := endpoints()
	name := uniq("btEvent")
	a, b := h.start(t), h.start(t)
	var attempts, successes counter
	sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "flaky"), Filter: bridge.Filter{EventName: name},
		Retry: bridge.RetryPolicy{MaxAttempts: 5, InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}}
	subscribe(t, h, b, sub, failing(2, &attempts, &successes))
	var dls *deadLetters
	if !h.Features.NoDeadLetter {
		dls = onDeadLetter(t, h, b, wire.Address{})
	}
	emit(t, h, a, event(t, caller, name, 1))
	h.eventually(t, "the third delivery to succeed", func() bool { return successes.get() == 1 })
	h.steady(t, "handled once successfully and not dead-lettered", func() bool {
		return attempts.get() == 3 && successes.get() == 1 && (dls == nil || len(dls.all()) == 0)
	})
}

func caseRetryPolicy(p bridge.RetryPolicy, want int) func(t *testing.T, h Harness) {
	return func(t *testing.T, h Harness) {
		t.Parallel()
		caller, _ := endpoints()
		name := uniq("btEvent")
		a, b := h.start(t), h.start(t)
		var attempts, successes counter
		sub := bridge.Subscription{Subscriber: addr(uniq("BtSub"), "fails"), Filter: bridge.Filter{EventName: name}, Retry: p}
		subscribe(t, h, b, sub, failing(-1, &attempts, &successes))
		var dls *deadLetters
		if !h.Features.NoDeadLetter {
			dls = onDeadLetter(t, h, b, wire.Address{})
		}
		emit(t, h, a, event(t, caller, name, 1))
		h.eventually(t, fmt.Sprintf("%d delivery attempts", want), func() bool { return attempts.get() >= want })
		if dls != nil {
			h.eventually(t, "the dead letter", func() bool { return len(dls.all()) == 1 })
			if got := dls.all()[0].Attempts; got != want {
				t.Errorf("dead letter counts %d attempts, want %d", got, want)
			}
		}
		h.steady(t, fmt.Sprintf("exactly %d attempts", want), func() bool { return attempts.get() == want })
	}
}
