package mqtt_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/bridgetest"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/mqtt/mqttembed"
)

// features lists what MQTT lacks, with the reasons.
var features = bridgetest.Features{
	// MQTT has no "no responders": a PUBLISH to a topic nobody subscribes to is accepted and
	// dropped, so an unknown command can only time out.
	NoFailFastUnknownCommand: true,
	// MQTT keeps messages for a session (a client id), not for a subscription. An instance
	// with a stable identity keeps its session and durable subscriptions while it is down
	// and handles what queued there when it starts again (TestDurableStableIdentity); an
	// instance without one leaves its share groups and ends its session when it stops, so
	// that no session is left behind taking events (TestEphemeralLeavesShareGroups). The
	// case stops the only instance, which has a random id, and starts a new one with
	// another: the events emitted in between had no session to wait in.
	NoDurable: true,
}

// harness connects every bridge of a test through a TCP proxy of its own to target, so
// Disrupt cuts exactly that test's bridges.
func harness(parent *testing.T, target string) bridgetest.Harness {
	var mu sync.Mutex
	proxies := map[*testing.T]*tcpproxy.Proxy{}
	proxyFor := func(t *testing.T) *tcpproxy.Proxy {
		mu.Lock()
		defer mu.Unlock()
		if p := proxies[t]; p != nil {
			return p
		}
		p, err := tcpproxy.New(target)
		if err != nil {
			t.Fatalf("proxy: %v", err)
		}
		proxies[t] = p
		t.Cleanup(func() {
			mu.Lock()
			delete(proxies, t)
			mu.Unlock()
			_ = p.Close()
		})
		return p
	}
	var rawOnce sync.Once
	var raw *rawClient
	return bridgetest.Harness{
		NewBridge: func(t *testing.T) bridge.EventBridge {
			b, err := mqtt.New("mqtt://"+proxyFor(t).Addr(), mqtt.WithSessionExpiry(time.Minute))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return b
		},
		Features: features,
		BrokerURL: func(t *testing.T) string {
			return "mqtt://" + proxyFor(t).Addr() // cut by Disrupt, like the harness's bridges
		},
		Disrupt: func(t *testing.T) func() {
			p := proxyFor(t)
			p.Cut()
			return p.Restore
		},
		InjectRaw: func(t *testing.T, _ bridge.EventBridge, body []byte) {
			rawOnce.Do(func() { raw = dialRaw(parent, target) })
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := raw.Publish(ctx, &paho.Publish{QoS: 1, Topic: injectTopic(body), Payload: body}); err != nil {
				t.Fatalf("inject: %v", err)
			}
		},
		Settle: 500 * time.Millisecond,
	}
}

func TestConformance(t *testing.T) {
	addr := brokerAddr(t)
	bridgetest.Run(t, harness(t, addr))
}

// Reasons why cases fail on mochi-mqtt v2.7.9 with paho.golang v0.23.0 (not bridge defects).
const (
	// mochi merges all of a client's matching subscriptions into one PUBLISH carrying several
	// subscription identifiers (MergeSharedSelected); paho.golang keeps only one identifier
	// (packets.Properties.SubscriptionIdentifier is a single *int), so one of two overlapping
	// subscriptions of a bridge misses the message. Mosquitto sends one copy per subscription.
	gapMerged = "mochi-mqtt merges overlapping subscriptions into one PUBLISH and paho.golang keeps one subscription identifier"
	// mochi's Inflight.NextImmediate takes a read lock and calls GetAll, which takes it again:
	// with a writer waiting in between, the client's goroutines deadlock under concurrent QoS 1.
	gapDeadlock = "mochi-mqtt v2.7.9 deadlocks (recursive RWMutex read lock in Inflight.NextImmediate) under concurrent QoS 1 load"
	// Not yet analysed: dead letters and retries never complete on mochi.
	gapRetry = "retries/dead letters do not complete on mochi-mqtt (not yet analysed; pass on Mosquitto)"
)

var embeddedGaps = map[string]string{
	"InvokeConcurrent1000": gapDeadlock, "LargeFanOut": gapMerged, "MessagesAreCopies": gapMerged,
	"CommandSubscription": gapMerged, "CommandsNotDeliveredToSubscriptions": gapMerged,
	// The calling instance's response subscription and its subscription to the success
	// event both match the one response PUBLISH.
	"SuccessResponseEventReachesSubscribers": gapMerged,
	"RetryDefaultMaxAttempts":                gapRetry, "RetryExponentialPolicy": gapRetry, "RetryImmediatePolicy": gapRetry,
	"DeadLetterObservedByOtherInstance": gapRetry, "RetryThenDeadLetter": gapRetry,
}

// embeddedSmoke are the cases run against the embedded broker: what `purista dev
// --distributed --broker mqtt` relies on (calls, errors, timeouts, events, health, drain).
// The full suite runs against Mosquitto (TestConformance); mochi-mqtt v2.7.9 has defects
// under concurrent QoS 1 load (a recursive read lock in Inflight.NextImmediate deadlocks;
// see embeddedGaps) that make the load cases flaky on a busy machine.
var embeddedSmoke = map[string]bool{
	"InvokeSuccess": true, "InvokeHandledError": true, "InvokeUnhandledError": true, "InvokeTimeout": true,
	"SharedSubscription": true, "EveryInstanceSubscription": true, "SuccessResponseEventReachesSubscribers": true,
	"HealthTransitions": true, "DrainCompletesInFlightCommand": true, "UnregisterCommand": true,
	"FrameworkChainPropagatesTraceAndPrincipal": true, "FrameworkHandledErrorCrossesTwoHops": true,
	"FrameworkSuccessEventReachesSubscription": true,
}

// TestConformanceEmbedded runs the smoke subset of the suite against the embedded
// mochi-mqtt broker.
func TestConformanceEmbedded(t *testing.T) {
	srv, err := mqttembed.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("embedded broker: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	var cases []bridgetest.Case
	for _, c := range bridgetest.Cases() {
		if !embeddedSmoke[c.Name] {
			continue
		}
		if reason, skip := embeddedGaps[c.Name]; skip {
			cases = append(cases, bridgetest.Case{Name: c.Name, Run: func(t *testing.T, _ bridgetest.Harness) { t.Skip(reason) }})
			continue
		}
		cases = append(cases, c)
	}
	bridgetest.RunCases(t, harness(t, srv.Addr()), cases)
}
