package framework_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

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
	tests := []struct {
		kind, env, def string
		bridge         func(t *testing.T, hostPort string) bridge.EventBridge
	}{
		{"nats", "PURISTA_TEST_NATS_URL", "nats://127.0.0.1:4222", func(t *testing.T, hp string) bridge.EventBridge {
			b, err := nats.New("nats://"+hp, nats.WithReconnectWait(20*time.Millisecond, 200*time.Millisecond))
			mustOK(t, err)
			return b
		}},
		{"amqp", "PURISTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", func(t *testing.T, hp string) bridge.EventBridge {
			b, err := amqp.New("amqp://guest:guest@"+hp+"/", amqp.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond))
			mustOK(t, err)
			return b
		}},
		{"mqtt", "PURISTA_TEST_MQTT_URL", "mqtt://127.0.0.1:1883", func(t *testing.T, hp string) bridge.EventBridge {
			b, err := mqtt.New("mqtt://"+hp, mqtt.WithMaxReconnectDelay(200*time.Millisecond))
			mustOK(t, err)
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			target := reachableBroker(t, tt.env, tt.def)
			p, err := tcpproxy.New(target)
			mustOK(t, err)
			t.Cleanup(func() { _ = p.Close() })
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rt, err := framework.Start(ctx, tt.bridge(t, p.Addr()), nil, framework.WithMeterProvider(mp))
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

// reachableBroker returns the host:port of the test broker of a kind (envVar, else def)
// after checking that it answers: the test is skipped when it does not, and fails then
// with PURISTA_REQUIRE_BROKERS=1.
func reachableBroker(t *testing.T, envVar, def string) string {
	t.Helper()
	u := os.Getenv(envVar)
	if u == "" {
		u = def
	}
	pu, err := url.Parse(u)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", pu.Host, 2*time.Second); err == nil {
			_ = c.Close()
			return pu.Host
		}
	}
	if os.Getenv("PURISTA_REQUIRE_BROKERS") == "1" {
		t.Fatalf("broker of %s unreachable (PURISTA_REQUIRE_BROKERS=1): %v", envVar, err)
	}
	t.Skipf("broker of %s unreachable: %v", envVar, err)
	return ""
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
