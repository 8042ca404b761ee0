//go:build !purista_no_otel

package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/telemetry"
)

type meteredIn struct {
	Mode string `json:"mode"`
}

var (
	meteredContract = framework.NewContract("Metered", "1")
	meteredWork     = framework.Command[meteredIn, struct{}](meteredContract, "work", framework.WithSuccessEvent("worked"),
		framework.WithHTTP(framework.Endpoint{Method: http.MethodPost, Path: "/work", Public: true}))
)

// meteredService answers work as its mode says ("invalid": a handled 422, "boom": an
// unhandled error, a 500; else success) and subscribes twice to the success event:
// flaky fails its very first delivery (then succeeds on the retry), doomed always fails
// and dead-letters after two attempts.
func meteredService() *framework.Service {
	svc := framework.NewService(meteredContract, "metered")
	framework.Handle(svc, meteredWork, func(_ *framework.Context, in meteredIn) (struct{}, error) {
		switch in.Mode {
		case "invalid":
			return struct{}{}, framework.NewHandledError(422, "invalid work", nil)
		case "boom":
			return struct{}{}, errors.New("boom")
		}
		return struct{}{}, nil
	})
	var failed atomic.Bool
	framework.Subscribe(svc, "flaky", meteredWork.SuccessEvent(), func(*framework.Context, struct{}) error {
		if failed.CompareAndSwap(false, true) {
			return errors.New("first delivery fails")
		}
		return nil
	}, framework.WithRetry(bridge.RetryPolicy{MaxAttempts: 3, Backoff: bridge.BackoffImmediate}))
	framework.Subscribe(svc, "doomed", meteredWork.SuccessEvent(), func(*framework.Context, struct{}) error {
		return errors.New("always fails")
	}, framework.WithRetry(bridge.RetryPolicy{MaxAttempts: 2, Backoff: bridge.BackoffImmediate}))
	return svc
}

// TestMetricsScrape runs an application on the memory bridge with HTTP and health on,
// makes known traffic (invokes that succeed, fail with 422 and with 500, HTTP requests,
// subscription deliveries that are retried and dead-lettered) and checks the exact counts
// that GET /metrics on the health address reports.
func TestMetricsScrape(t *testing.T) {
	healthAddr, httpAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"PURISTA_HEALTH_ADDR": healthAddr, "PURISTA_HTTP_ADDR": httpAddr}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_METRICS_EXPORTER", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(k, "") // process env must not matter; Run gets env alone
	}
	ctx := context.Background()
	rt, _, logs := runMetered(t, env)
	client := rt.Client(ctx)
	for _, mode := range []string{"", "", "", "invalid", "invalid", "boom"} {
		_, _ = meteredWork.Invoke(client, meteredIn{Mode: mode})
	}
	for _, tc := range []struct {
		body string
		want int
	}{{`{"mode":""}`, 200}, {`{"mode":"invalid"}`, 422}} {
		resp, err := http.Post("http://"+httpAddr+"/work", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("POST /work %s: %d, want %d", tc.body, resp.StatusCode, tc.want)
		}
	}

	// 4 successes (3 invokes, 1 HTTP): 4 success events. flaky: 4 deliveries + 1 retry;
	// doomed: 2 attempts each, 4 retries, 4 dead letters.
	const method = `rpc_method="Metered.v1/work"`
	want := map[string]float64{
		`rpc_server_call_duration_seconds_count{` + method + `}`:                                                     4,
		`rpc_server_call_duration_seconds_count{` + method + `,error_type="422",purista_status="422"}`:               3,
		`rpc_server_call_duration_seconds_count{` + method + `,error_type="500",purista_status="500"}`:               1,
		`purista_command_active_calls{` + method + `}`:                                                               0,
		`messaging_client_consumed_messages_total{messaging_destination_subscription_name="flaky"}`:                  5,
		`messaging_client_consumed_messages_total{messaging_destination_subscription_name="doomed"}`:                 8,
		`messaging_process_duration_seconds_count{messaging_destination_subscription_name="flaky",error_type="500"}`: 1,
		`purista_subscription_retries_total{messaging_destination_subscription_name="flaky"}`:                        1,
		`purista_subscription_retries_total{messaging_destination_subscription_name="doomed"}`:                       4,
		`purista_subscription_dead_letters_total{messaging_destination_subscription_name="doomed"}`:                  4,
		`purista_bridge_connected{messaging_system="memory"}`:                                                        1,
		`http_server_request_duration_seconds_count{http_route="/work",http_response_status_code="200"}`:             1,
		`http_server_request_duration_seconds_count{http_route="/work",http_response_status_code="422"}`:             1,
	}
	var got map[string]float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = scrape(t, "http://"+healthAddr+"/metrics", want)
		if fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			break // the subscriptions run after the invokes returned
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for a margin
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs.String())
	}
}

// scrape fetches url and returns, for every key of want ("name{label="value",…}"), the
// sum of the samples of that family whose labels include the key's labels and that
// have none of the error labels the key does not name.
func scrape(t *testing.T, url string, want map[string]float64) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for key := range want {
		name, labels, _ := strings.Cut(strings.TrimSuffix(key, "}"), "{")
		match := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			match[k] = strings.Trim(v, `"`)
		}
		if _, ok := match["error_type"]; !ok {
			match["error_type"] = "" // a key without error_type counts the successes only
		}
		family := name
		for _, suffix := range []string{"_count", "_sum"} {
			family = strings.TrimSuffix(family, suffix)
		}
		mf, ok := families[family]
		if !ok {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m, match) {
				continue
			}
			switch {
			case m.GetHistogram() != nil:
				got[key] += float64(m.GetHistogram().GetSampleCount())
			case m.GetCounter() != nil:
				got[key] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[key] += m.GetGauge().GetValue()
			}
		}
		if _, ok := got[key]; !ok && strings.HasPrefix(name, "purista_command_active_calls") {
			got[key] = -1 // the family must exist
		}
	}
	return got
}

func labelsMatch(m *dto.Metric, match map[string]string) bool {
	have := map[string]string{}
	for _, lp := range m.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for k, v := range match {
		if have[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsSeriesAtZero checks that GET /metrics shows the retry and dead-letter
// series of every subscription and the reconnect series of the bridge at 0 before any
// failure (so that alerts on their increase have data), and, after one call, one HTTP
// request and the deliveries of its event, that the duration histograms have the
// buckets telemetry.DurationBuckets.
func TestMetricsSeriesAtZero(t *testing.T) {
	healthAddr, httpAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"PURISTA_HEALTH_ADDR": healthAddr, "PURISTA_HTTP_ADDR": httpAddr}
	ctx := context.Background()
	rt, done, logs := runMetered(t, env)
	zero := map[string]float64{
		`purista_subscription_retries_total{messaging_destination_subscription_name="flaky"}`:       0,
		`purista_subscription_retries_total{messaging_destination_subscription_name="doomed"}`:      0,
		`purista_subscription_dead_letters_total{messaging_destination_subscription_name="flaky"}`:  0,
		`purista_subscription_dead_letters_total{messaging_destination_subscription_name="doomed"}`: 0,
		`purista_bridge_reconnects_total{messaging_system="memory"}`:                                0,
	}
	got := scrape(t, "http://"+healthAddr+"/metrics", zero)
	for k := range zero {
		if v, ok := got[k]; !ok || v != 0 {
			t.Errorf("%s: %v (present %v), want a series at 0", k, v, ok)
		}
	}

	if _, err := meteredWork.Invoke(rt.Client(ctx), meteredIn{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+httpAddr+"/work", "application/json", strings.NewReader(`{"mode":"invalid"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	want := append(telemetry.DurationBuckets(), math.Inf(1)) // +Inf: the text format's last bucket
	for _, family := range []string{"rpc_server_call_duration_seconds", "messaging_process_duration_seconds", "http_server_request_duration_seconds"} {
		t.Run(family, func(t *testing.T) {
			var bounds []float64
			waitReady(t, family+" in /metrics", done, logs, func() error {
				bounds = nil
				h := histogramOf(t, "http://"+healthAddr+"/metrics", family)
				if h == nil {
					return fmt.Errorf("no %s yet", family)
				}
				for _, b := range h.GetBucket() {
					bounds = append(bounds, b.GetUpperBound())
				}
				return nil
			})
			if fmt.Sprint(bounds) != fmt.Sprint(want) {
				t.Errorf("buckets %v, want %v", bounds, want)
			}
		})
	}
}

// histogramOf returns the first histogram of family that GET url shows, nil when none.
func histogramOf(t *testing.T, url, family string) *dto.Histogram {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range families[family].GetMetric() {
		if h := m.GetHistogram(); h != nil {
			return h
		}
	}
	return nil
}

// runMetered runs meteredService with env until the test ends, and returns its runtime
// once ready, the channel its exit code arrives on, and its logs.
func runMetered(t *testing.T, env map[string]string) (*framework.Runtime, chan int, *logBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *framework.Runtime, 1)
	done := make(chan int, 1)
	logs := &logBuffer{}
	go func() {
		done <- New(meteredService()).With(WithReady(func(rt *framework.Runtime) { ready <- rt })).
			Run(ctx, nil, func(k string) string { return env[k] }, logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case rt := <-ready:
		return rt, done, logs
	case code := <-done:
		done <- code
		t.Fatalf("exited with %d:\n%s", code, logs.String())
	}
	return nil, nil, nil
}
