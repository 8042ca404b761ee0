package framework_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/purista-go/purista/internal/testutil/brokertest"
	"github.com/purista-go/purista/internal/testutil/tcpproxy"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/nats"
)

// TestMetricsBridgeConnection runs a runtime on each broker bridge through a TCP proxy to
// the real broker and checks purista.bridge.connected and purista.bridge.reconnects: 1
// and 0 while connected, 0 once the proxy cuts the connection, 1 and 1 once it is back.
// The broker itself is never touched.
func TestMetricsBridgeConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("talks to the brokers")
	}
	for _, tt := range brokerKinds {
		t.Run(tt.kind, func(t *testing.T) {
			u, err := url.Parse(brokertest.URL(t, tt.env, tt.def))
			mustOK(t, err)
			p, err := tcpproxy.New(u.Host)
			mustOK(t, err)
			u.Host = p.Addr()
			t.Cleanup(func() { _ = p.Close() })
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rt, err := framework.Start(ctx, tt.open(t, u.String()), nil, framework.WithMeterProvider(mp))
			mustOK(t, err)
			t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })

			waitState := func(what string, connected, reconnects int64) {
				t.Helper()
				var c, r int64
				for ctx.Err() == nil {
					c, r = bridgeState(t, reader)
					if c == connected && r == reconnects {
						return
					}
					time.Sleep(10 * time.Millisecond) // poll interval
				}
				t.Fatalf("%s: connected %d, reconnects %d; want %d, %d", what, c, r, connected, reconnects)
			}
			waitState("started", 1, 0)
			p.Cut()
			waitState("cut", 0, 0)
			p.Restore()
			waitState("restored", 1, 1)
		})
	}
}

// bridgeState reads purista.bridge.connected and purista.bridge.reconnects.
func bridgeState(t *testing.T, reader *sdkmetric.ManualReader) (connected, reconnects int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	mustOK(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				if m.Name == "purista.bridge.connected" && len(d.DataPoints) == 1 {
					connected = d.DataPoints[0].Value
				}
			case metricdata.Sum[int64]:
				if m.Name == "purista.bridge.reconnects" && len(d.DataPoints) == 1 {
					reconnects = d.DataPoints[0].Value
				}
			}
		}
	}
	return connected, reconnects
}

// brokerKinds are the broker bridges, each with the variable naming its test broker,
// the default URL and a constructor that reconnects within a fraction of a second.
var brokerKinds = []struct {
	kind, env, def string
	open           func(t *testing.T, url string) bridge.EventBridge
}{
	{"nats", "PURISTA_TEST_NATS_URL", "nats://127.0.0.1:4222", func(t *testing.T, u string) bridge.EventBridge {
		b, err := nats.New(u, nats.WithReconnectWait(20*time.Millisecond, 200*time.Millisecond))
		mustOK(t, err)
		return b
	}},
	{"amqp", "PURISTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", func(t *testing.T, u string) bridge.EventBridge {
		b, err := amqp.New(u, amqp.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond))
		mustOK(t, err)
		return b
	}},
	{"mqtt", "PURISTA_TEST_MQTT_URL", "mqtt://127.0.0.1:1883", func(t *testing.T, u string) bridge.EventBridge {
		b, err := mqtt.New(u, mqtt.WithMaxReconnectDelay(200*time.Millisecond))
		mustOK(t, err)
		return b
	}},
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMetricsBrokerRetriesAndDeadLetters emits one event on each broker bridge to two
// subscriptions: flaky fails its first delivery and succeeds on the retry, doomed fails
// both of its two attempts and is dead-lettered. The counts the bridges report through
// the runtime's instruments must be exact.
func TestMetricsBrokerRetriesAndDeadLetters(t *testing.T) {
	if testing.Short() {
		t.Skip("talks to the brokers")
	}
	for _, tt := range brokerKinds {
		t.Run(tt.kind, func(t *testing.T) {
			u := brokertest.URL(t, tt.env, tt.def)
			sfx := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000, 10) // names of this run only
			tick := framework.Event[struct{}](framework.NewContract("Ticker"+sfx, "1"), "tick"+sfx)
			svc := framework.NewService(framework.NewContract("Metered"+sfx, "1"), "metered")
			var failed atomic.Bool
			framework.Subscribe(svc, "flaky", tick, func(*framework.Context, struct{}) error {
				if failed.CompareAndSwap(false, true) {
					return errors.New("first delivery fails")
				}
				return nil
			}, framework.Durable(false), framework.WithRetry(bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}))
			framework.Subscribe(svc, "doomed", tick, func(*framework.Context, struct{}) error {
				return errors.New("always fails")
			}, framework.Durable(false), framework.WithRetry(bridge.RetryPolicy{MaxAttempts: 2, Backoff: bridge.BackoffImmediate}))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rt, err := framework.Start(ctx, tt.open(t, u), []*framework.Service{svc}, framework.WithMeterProvider(mp))
			mustOK(t, err)
			t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
			mustOK(t, tick.Emit(rt.Client(ctx), struct{}{}))

			want := map[string]int64{"consumed flaky": 2, "consumed doomed": 2, "retries flaky": 1, "retries doomed": 1,
				"dead_letters doomed": 1, "dead_letters flaky": 0} // the series exist from the registration
			var got map[string]int64
			for ctx.Err() == nil {
				if got = subscriptionCounts(t, reader); fmt.Sprint(got) == fmt.Sprint(want) {
					return
				}
				time.Sleep(10 * time.Millisecond) // poll interval
			}
			t.Fatalf("counts %v, want %v", got, want)
		})
	}
}

// subscriptionCounts reads the subscription counters, keyed "<kind> <subscription>".
func subscriptionCounts(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	mustOK(t, reader.Collect(context.Background(), &rm))
	kinds := map[string]string{"messaging.client.consumed.messages": "consumed", "purista.subscription.retries": "retries",
		"purista.subscription.dead_letters": "dead_letters"}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || kinds[m.Name] == "" {
				continue
			}
			for _, p := range sum.DataPoints {
				sub, _ := p.Attributes.Value("messaging.destination.subscription.name")
				got[kinds[m.Name]+" "+sub.AsString()] += p.Value
			}
		}
	}
	return got
}
