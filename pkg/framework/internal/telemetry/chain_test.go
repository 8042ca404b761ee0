package telemetry_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/brokertest"
	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/app"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry/otlptest"
)

// chainEnv, when set in a process's environment, makes the test binary run the chain's
// services with the application runner instead of the tests (see TestMain); its value
// is the suffix of the run's service and event names.
const chainEnv = "PURISTA_TEST_CHAIN_SUFFIX"

func TestMain(m *testing.M) {
	if sfx := os.Getenv(chainEnv); sfx != "" {
		app.New(chainServices(sfx)...).Main() // flags and environment choose what runs
	}
	os.Exit(m.Run())
}

// chainNames are the names of one run's chain; the suffix keeps the queues, consumers
// and subscriptions of runs apart on the shared brokers.
type chainNames struct{ front, back, a, b, e, bDone string }

func namesOf(sfx string) chainNames {
	return chainNames{front: "Front" + sfx, back: "Back" + sfx, a: "Front" + sfx + ".v1/a", b: "Back" + sfx + ".v1/b",
		e: "e" + sfx, bDone: "bDone" + sfx}
}

// chainServices are the services of a chain: Front's command a (POST /chain over HTTP)
// invokes Back's command b, which emits the custom event e and answers with the success
// event bDone; Front subscribes to both events.
func chainServices(sfx string) []*framework.Service {
	n := namesOf(sfx)
	backC := framework.NewContract(n.back, "1")
	b := framework.Command[struct{}, struct{}](backC, "b", framework.WithSuccessEvent(n.bDone))
	e := framework.Event[struct{}](backC, n.e)
	back := framework.NewService(backC, "second process")
	framework.Handle(back, b, func(c *framework.Context, in struct{}) (struct{}, error) { return in, e.Emit(c, in) })

	frontC := framework.NewContract(n.front, "1")
	a := framework.Command[struct{}, struct{}](frontC, "a",
		framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/chain", Public: true}))
	front := framework.NewService(frontC, "first process")
	framework.Handle(front, a, func(c *framework.Context, in struct{}) (struct{}, error) { return b.Invoke(c, in) })
	ack := func(*framework.Context, struct{}) error { return nil }
	framework.Subscribe(front, "onE", e, ack, framework.Durable(false))
	framework.Subscribe(front, "onBDone", b.SuccessEvent(), ack, framework.Durable(false))
	return []*framework.Service{front, back}
}

// TestOneTraceAcrossProcesses runs Front and Back in two processes of their own (this
// test binary, run by app.Main with --services and --bridge) that export to a collector
// the test starts, configured by OTEL_* alone. An HTTP request with a traceparent
// starts the chain: HTTP server (Front) → client → server a (Front) → client → server b
// (Back) → producer e (Back) → consumer (Front), and server b → consumer of the success
// event (Front). The collector must hold one trace, the test's, with those parent links,
// from two resources, and the request's W3C trace id as purista.trace_id on every span.
func TestOneTraceAcrossProcesses(t *testing.T) {
	tests := []struct {
		kind, envVar, def, system string
	}{
		{"nats", "PURISTA_TEST_NATS_URL", "nats://127.0.0.1:4222", "nats"},
		{"amqp", "PURISTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", "rabbitmq"},
		{"mqtt", "PURISTA_TEST_MQTT_URL", "mqtt://127.0.0.1:1883", "mqtt"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			bridgeURL := brokertest.URL(t, tt.envVar, tt.def)
			c := &otlptest.Collector{}
			srv := httptest.NewServer(c)
			t.Cleanup(srv.Close)
			sfx := randomHex(t, 6)
			n := namesOf(sfx)
			front := startChild(t, sfx, srv.URL, "chain-front", "--services="+n.front, "--bridge="+bridgeURL, "--http-addr=127.0.0.1:0")
			back := startChild(t, sfx, srv.URL, "chain-back", "--services="+n.back, "--bridge="+bridgeURL)
			front.waitReady(t)
			back.waitReady(t)

			traceID, callerSpan := randomHex(t, 16), randomHex(t, 8)
			req, err := http.NewRequest(http.MethodPost, "http://"+front.addr("http")+"/chain", strings.NewReader("{}"))
			must(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST /chain answered %s, want 200", resp.Status)
			}

			keys := map[string]string{ // role → "<kind> <name>"
				"http server": "SPAN_KIND_SERVER POST /chain",
				"http client": "SPAN_KIND_CLIENT " + n.a, "server a": "SPAN_KIND_SERVER " + n.a,
				"client b": "SPAN_KIND_CLIENT " + n.b, "server b": "SPAN_KIND_SERVER " + n.b,
				"producer e": "SPAN_KIND_PRODUCER send " + n.e, "consumer e": "SPAN_KIND_CONSUMER process " + n.e,
				"consumer bDone": "SPAN_KIND_CONSUMER process " + n.bDone,
			}
			span := map[string]otlptest.Span{}
			waitFor(t, time.Minute, "the collector to hold the chain's spans", func() (string, bool) {
				by := c.Spans()
				var missing []string
				for role, k := range keys {
					s, ok := by[k]
					if !ok {
						missing = append(missing, k)
					}
					span[role] = s
				}
				return fmt.Sprintf("missing %v of %v", missing, keysOf(by)), len(missing) == 0
			}, front, back)

			parents := []struct{ child, parent string }{{"http client", "http server"}, {"server a", "http client"}, {"client b", "server a"},
				{"server b", "client b"}, {"producer e", "server b"}, {"consumer e", "producer e"}, {"consumer bDone", "server b"}}
			if got := hex.EncodeToString(span["http server"].ParentSpanID); got != callerSpan {
				t.Errorf("the HTTP server span's parent is %q, want the request's traceparent span %s", got, callerSpan)
			}
			for _, p := range parents {
				if !bytes.Equal(span[p.child].ParentSpanID, span[p.parent].SpanID) {
					t.Errorf("the parent of %s is %x, want %s's span %x", p.child, span[p.child].ParentSpanID, p.parent, span[p.parent].SpanID)
				}
			}
			for role, s := range span {
				want := front
				if role == "server b" || role == "producer e" {
					want = back
				}
				if s.Resource["service.name"] != want.name || s.Resource["process.pid"] != strconv.Itoa(want.cmd.Process.Pid) {
					t.Errorf("%s comes from %s (pid %s), want %s (pid %d)", role, s.Resource["service.name"], s.Resource["process.pid"],
						want.name, want.cmd.Process.Pid)
				}
				if role != "http server" && s.Attributes["messaging.system"] != tt.system {
					t.Errorf("%s: messaging.system %q, want %q", role, s.Attributes["messaging.system"], tt.system)
				}
			}
			// A chain entering by HTTP takes the request's W3C trace id as its traceId.
			puristaTrace := traceID
			for _, s := range c.All() {
				if got := hex.EncodeToString(s.TraceID); got != traceID {
					t.Errorf("%s %s (%s) is in trace %s, want the request's %s", s.Kind, s.Name, s.Resource["service.name"], got, traceID)
				}
				if got := s.Attributes["purista.trace_id"]; got != puristaTrace {
					t.Errorf("%s %s: purista.trace_id %q, want the request's W3C trace id %q", s.Kind, s.Name, got, puristaTrace)
				}
			}
		})
	}
}

// randomHex returns n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	must(t, err)
	return hex.EncodeToString(b)
}
