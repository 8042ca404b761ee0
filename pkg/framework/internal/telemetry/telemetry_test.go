package telemetry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry/otlptest"
	"github.com/purista-go/purista/pkg/framework/memory"
)

// otelVars are every variable the tests set; each test clears the others, so the
// machine's environment cannot change the outcome.
var otelVars = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER",
	"OTEL_TRACES_SAMPLER_ARG"}

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range otelVars {
		t.Setenv(k, env[k])
	}
}

func TestExporterSelection(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		enabled bool
		wantErr string // a part of the error, which names the variable and what it accepts
	}{
		{name: "nothing set", env: nil},
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}},
		{name: "disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}},
		{name: "endpoint alone", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, enabled: true},
		{name: "traces endpoint alone", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, enabled: true},
		{name: "console", env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, enabled: true},
		{name: "otlp and console", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp, console"}, enabled: true},
		{name: "disabled false", env: map[string]string{"OTEL_SDK_DISABLED": "FALSE", "OTEL_TRACES_EXPORTER": "console"}, enabled: true},
		{name: "blank exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "  "}},
		{name: "insecure", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_INSECURE": "True"}, enabled: true},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: `OTEL_TRACES_EXPORTER="zipkin"`},
		{name: "unknown protocol", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, enabled: true,
			wantErr: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": use http/protobuf or grpc`},
		{name: "unknown traces protocol", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, enabled: true, wantErr: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/json"`},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "::not a url"}, enabled: true,
			wantErr: `OTEL_EXPORTER_OTLP_ENDPOINT="::not a url" is not a URL`},
		{name: "bad traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "::x"}, enabled: true,
			wantErr: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="::x" is not a URL`},
		{name: "insecure maybe", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_INSECURE": "maybe"}, enabled: true,
			wantErr: `OTEL_EXPORTER_OTLP_INSECURE="maybe": use true or false`},
		{name: "disabled yes", env: map[string]string{"OTEL_SDK_DISABLED": "yes", "OTEL_TRACES_EXPORTER": "console"},
			wantErr: `OTEL_SDK_DISABLED="yes": use true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			getenv := func(k string) string { return tt.env[k] }
			if got := telemetry.Enabled(getenv); got != tt.enabled && tt.wantErr == "" {
				t.Errorf("Enabled = %v, want %v", got, tt.enabled)
			}
			tp, err := telemetry.New(context.Background(), telemetry.Options{Getenv: getenv, Console: io.Discard})
			if tp != nil {
				t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			}
			switch {
			case tt.wantErr != "":
				if !errors.Is(err, telemetry.ErrConfig) || !strings.Contains(fmt.Sprint(err), tt.wantErr) {
					t.Fatalf("error %v, want one wrapping ErrConfig and containing %s", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case (tp != nil) != tt.enabled:
				t.Fatalf("provider %v, want one: %v", tp, tt.enabled)
			}
		})
	}
}

var (
	shop     = framework.NewContract("Shop", "1")
	order    = framework.Command[struct{}, struct{}](shop, "order", framework.WithSuccessEvent("ordered"))
	delivery = framework.NewContract("Delivery", "1")
)

// TestExportOverOTLP runs a command whose success event a subscription consumes, with a
// provider from New exporting to a collector the test starts, and checks after Shutdown
// (which must flush) that the spans arrived with the resource and their parent links.
func TestExportOverOTLP(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			c := &otlptest.Collector{}
			setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.Serve(t, protocol), "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
				"OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_SERVICE_NAME": "shop-test", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=ci"})
			tp, err := telemetry.New(context.Background(), telemetry.Options{ServiceName: "ignored", ServiceVersion: "1.2.3"})
			if err != nil {
				t.Fatal(err)
			}
			if tp == nil {
				t.Fatal("no provider although an endpoint is set")
			}
			consumed := make(chan struct{})
			shopSvc := framework.NewService(shop, "shop")
			framework.Handle(shopSvc, order, func(*framework.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
			deliverySvc := framework.NewService(delivery, "delivery")
			framework.Subscribe(deliverySvc, "onOrdered", order.SuccessEvent(), func(*framework.Context, struct{}) error {
				close(consumed)
				return nil
			})
			rt, err := framework.Start(context.Background(), memory.New(), []*framework.Service{shopSvc, deliverySvc},
				framework.WithTracerProvider(tp))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := order.Invoke(rt.Client(context.Background()), struct{}{}); err != nil {
				t.Fatal(err)
			}
			<-consumed
			if err := rt.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := tp.Shutdown(context.Background()); err != nil { // flushes the batch
				t.Fatal(err)
			}
			byName := c.Spans()
			for k, s := range byName {
				if svc := s.Resource["service.name"] + "@" + s.Resource["deployment.environment.name"]; svc != "shop-test@ci" {
					t.Errorf("span %s: resource service %q, want shop-test@ci (from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES)", k, svc)
				}
			}
			client, okC := byName["SPAN_KIND_CLIENT Shop.v1/order"]
			server, okS := byName["SPAN_KIND_SERVER Shop.v1/order"]
			consumer, okP := byName["SPAN_KIND_CONSUMER process ordered"]
			if !okC || !okS || !okP {
				t.Fatalf("spans %v: want the client, server and consumer spans", keysOf(byName))
			}
			if !bytes.Equal(server.ParentSpanID, client.SpanID) || !bytes.Equal(consumer.ParentSpanID, server.SpanID) {
				t.Errorf("parents: server %s (client %s), consumer %s (server %s)", hex.EncodeToString(server.ParentSpanID),
					hex.EncodeToString(client.SpanID), hex.EncodeToString(consumer.ParentSpanID), hex.EncodeToString(server.SpanID))
			}
			if !bytes.Equal(client.TraceID, consumer.TraceID) || len(client.ParentSpanID) != 0 {
				t.Errorf("not one trace rooted at the client's invoke")
			}
		})
	}
}
