package amqp_test

import (
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/bridgetest"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// TestConformance runs the bridge contract suite against RabbitMQ. Every bridge of a case
// connects through the case's own TCP proxy, so Disrupt cuts exactly that case's bridges.
func TestConformance(t *testing.T) {
	brokerURL(t)
	var mu sync.Mutex
	proxies := map[*testing.T]*tcpproxy.Proxy{}
	proxyFor := func(t *testing.T) (*tcpproxy.Proxy, string) {
		mu.Lock()
		defer mu.Unlock()
		if p, ok := proxies[t]; ok {
			return p, "amqp://guest:guest@" + p.Addr() + "/"
		}
		p, u := proxied(t)
		proxies[t] = p
		t.Cleanup(func() {
			mu.Lock()
			delete(proxies, t)
			mu.Unlock()
		})
		return p, u
	}
	bridgetest.Run(t, bridgetest.Harness{
		NewBridge: func(t *testing.T) bridge.EventBridge {
			_, u := proxyFor(t)
			return newBridge(t, u, amqp.WithReconnectBackoff(20*time.Millisecond, 500*time.Millisecond))
		},
		BrokerURL: func(t *testing.T) string {
			_, u := proxyFor(t) // cut by Disrupt, like the harness's bridges
			return u
		},
		Disrupt: func(t *testing.T) func() {
			p, _ := proxyFor(t)
			p.Cut()
			return p.Restore
		},
		InjectRaw: func(t *testing.T, b bridge.EventBridge, raw []byte) {
			c := rawConn(t)
			if msg, err := wire.Decode(raw); err == nil {
				publishRaw(t, c, wire.AMQPExchange, "", tableOf(amqp.Headers(msg, "")), raw)
				return
			}
			for _, q := range b.(*amqp.Bridge).SubscriptionQueues() {
				publishRaw(t, c, "", q, nil, raw)
			}
		},
		Settle: 500 * time.Millisecond,
	})
}

func tableOf(m map[string]string) amqp091.Table {
	t := amqp091.Table{}
	for k, v := range m {
		t[k] = v
	}
	return t
}
