package telemetry_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/amqp"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry/otlptest"
	"github.com/purista-go/purista/pkg/framework/mqtt"
	"github.com/purista-go/purista/pkg/framework/nats"
)

// brokerURL returns the URL of the test broker of a kind (PURISTA_TEST_<KIND>_URL, else
// the one on 127.0.0.1) after checking that it answers: the test is skipped when it
// does not, and fails then with PURISTA_REQUIRE_BROKERS=1.
func brokerURL(t *testing.T, envVar, def string) string {
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
			return u
		}
	}
	if os.Getenv("PURISTA_REQUIRE_BROKERS") == "1" {
		t.Fatalf("broker of %s unreachable (PURISTA_REQUIRE_BROKERS=1): %v", envVar, err)
	}
	t.Skipf("broker of %s unreachable: %v", envVar, err)
	return ""
}

// TestOneTraceAcrossBrokers runs a chain across two runtimes, each with its own bridge
// connection and its own exporting provider (as two processes would): the front's client
// invokes Shop.order on the shop, whose success event the front's subscription consumes.
// The collector must receive one trace: client (front) → server (shop) → consumer (front).
func TestOneTraceAcrossBrokers(t *testing.T) {
	if testing.Short() {
		t.Skip("talks to the brokers")
	}
	tests := []struct {
		kind   string
		url    func(t *testing.T) string
		bridge func(t *testing.T, url string) bridge.EventBridge
	}{
		{"nats", func(t *testing.T) string { return brokerURL(t, "PURISTA_TEST_NATS_URL", "nats://127.0.0.1:4222") },
			func(t *testing.T, u string) bridge.EventBridge { b, err := nats.New(u); must(t, err); return b }},
		{"amqp", func(t *testing.T) string {
			return brokerURL(t, "PURISTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
		}, func(t *testing.T, u string) bridge.EventBridge { b, err := amqp.New(u); must(t, err); return b }},
		{"mqtt", func(t *testing.T) string { return brokerURL(t, "PURISTA_TEST_MQTT_URL", "mqtt://127.0.0.1:1883") },
			func(t *testing.T, u string) bridge.EventBridge { b, err := mqtt.New(u); must(t, err); return b }},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			u := tt.url(t)
			c := &otlptest.Collector{}
			srv := httptest.NewServer(c)
			t.Cleanup(srv.Close)
			setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL})
			// Names of this run only: other tests may use the same brokers.
			sfx := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000_000)
			shopC := framework.NewContract("Shop"+sfx, "1")
			orderCmd := framework.Command[struct{}, struct{}](shopC, "order", framework.WithSuccessEvent("ordered"+sfx))
			shopSvc := framework.NewService(shopC, "shop")
			framework.Handle(shopSvc, orderCmd, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
			consumed := make(chan struct{}, 1)
			frontSvc := framework.NewService(framework.NewContract("Front"+sfx, "1"), "front")
			framework.Subscribe(frontSvc, "onOrdered", orderCmd.SuccessEvent(), func(*framework.Context, struct{}) error {
				consumed <- struct{}{}
				return nil
			}, framework.Durable(false))

			start := func(name string, svc *framework.Service) (*framework.Runtime, func()) {
				tp, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: name})
				must(t, err)
				rt, err := framework.Start(context.Background(), tt.bridge(t, u), []*framework.Service{svc}, framework.WithTracerProvider(tp))
				must(t, err)
				stop := func() {
					_ = rt.Shutdown(context.Background())
					must(t, tp.Shutdown(context.Background())) // flushes
				}
				return rt, stop
			}
			_, stopShop := start("shop", shopSvc)
			front, stopFront := start("front", frontSvc)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := orderCmd.Invoke(front.Client(ctx), struct{}{}); err != nil {
				stopFront()
				stopShop()
				t.Fatal(err)
			}
			select {
			case <-consumed:
			case <-ctx.Done():
				t.Error("the success event did not reach the subscription")
			}
			stopFront()
			stopShop()

			by := c.Spans()
			method := "Shop" + sfx + ".v1/order"
			client, okC := by["SPAN_KIND_CLIENT "+method]
			server, okS := by["SPAN_KIND_SERVER "+method]
			consumer, okP := by["SPAN_KIND_CONSUMER process ordered"+sfx]
			if !okC || !okS || !okP {
				t.Fatalf("spans %v: want the client, server and consumer spans", keysOf(by))
			}
			if client.Resource["service.name"] != "front" || server.Resource["service.name"] != "shop" || consumer.Resource["service.name"] != "front" {
				t.Errorf("services: client %q, server %q, consumer %q", client.Resource["service.name"], server.Resource["service.name"], consumer.Resource["service.name"])
			}
			if len(client.ParentSpanID) != 0 || !bytes.Equal(server.ParentSpanID, client.SpanID) || !bytes.Equal(consumer.ParentSpanID, server.SpanID) {
				t.Errorf("parents: want client (root) → server → consumer")
			}
			if !bytes.Equal(client.TraceID, server.TraceID) || !bytes.Equal(client.TraceID, consumer.TraceID) {
				t.Errorf("three traces, want one")
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
