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
	// MQTT keeps messages for a session (a client id), not for a subscription: messages
	// emitted while the only instance is gone are queued in that instance's session and
	// reach it when a process with the same instance/client id resumes it, not a new
	// instance with a fresh id (which is what the case starts).
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

// TestConformanceEmbedded runs the suite once against the embedded mochi-mqtt broker.
func TestConformanceEmbedded(t *testing.T) {
	srv, err := mqttembed.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("embedded broker: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	bridgetest.Run(t, harness(t, srv.Addr()))
}
