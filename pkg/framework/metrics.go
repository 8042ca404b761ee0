package framework

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/semconv/v1.43.0/messagingconv"
	"go.opentelemetry.io/otel/semconv/v1.43.0/rpcconv"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/internal/runopts"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Metric names of purista's own instruments, for what the OpenTelemetry semantic
// conventions have no name. docs/observability.md lists every metric.
const (
	metricActiveCalls = "purista.command.active_calls"
	metricRetries     = "purista.subscription.retries"
	metricDeadLetters = "purista.subscription.dead_letters"
	metricConnected   = "purista.bridge.connected"
	metricReconnects  = "purista.bridge.reconnects"
)

// WithMeterProvider makes the runtime record OpenTelemetry metrics (docs/observability.md):
// per command the calls it handles (rpc.server.call.duration, with error.type and
// purista.status on failures) and those in flight, per subscription the deliveries
// (messaging.client.consumed.messages, messaging.process.duration), retries and dead
// letters, the bridge's connection state and reconnects, and the requests of the HTTP
// handler. Without it no metric is recorded and recording costs nothing.
func WithMeterProvider(mp metric.MeterProvider) StartOption {
	return func(s *runopts.Settings) { s.MeterProvider = mp }
}

// metrics are the instruments of a Runtime with a MeterProvider; a nil *metrics records
// nothing.
type metrics struct {
	calls       rpcconv.ServerCallDuration
	active      metric.Int64UpDownCounter
	consumed    messagingconv.ClientConsumedMessages
	process     messagingconv.ProcessDuration
	retries     metric.Int64Counter
	deadLetters metric.Int64Counter
	reconnects  metric.Int64Counter
	httpDur     httpconv.ServerRequestDuration
	gauge       metric.Registration

	system attribute.KeyValue // messaging.system of the bridge
	bridge attribute.Set      // {messaging.system}

	up, wasDown atomic.Bool
	subs        sync.Map // wire endpoint of a subscriber (no instance) → attribute.Set
}

// newMetrics creates the instruments of mp for a runtime on the bridge named bridgeName.
func newMetrics(mp metric.MeterProvider, bridgeName string) (*metrics, error) {
	meter := mp.Meter("github.com/purista-go/purista")
	m := &metrics{system: semconv.MessagingSystemKey.String(messagingSystem(bridgeName))}
	m.bridge = attribute.NewSet(m.system)
	var errs [8]error
	m.calls, errs[0] = rpcconv.NewServerCallDuration(meter)
	m.active, errs[1] = meter.Int64UpDownCounter(metricActiveCalls, metric.WithUnit("{call}"),
		metric.WithDescription("Number of command calls being handled."))
	m.consumed, errs[2] = messagingconv.NewClientConsumedMessages(meter)
	m.process, errs[3] = messagingconv.NewProcessDuration(meter)
	m.retries, errs[4] = meter.Int64Counter(metricRetries, metric.WithUnit("{message}"),
		metric.WithDescription("Failed subscription deliveries scheduled for another attempt."))
	m.deadLetters, errs[5] = meter.Int64Counter(metricDeadLetters, metric.WithUnit("{message}"),
		metric.WithDescription("Subscription messages dead-lettered."))
	m.reconnects, errs[6] = meter.Int64Counter(metricReconnects, metric.WithUnit("{reconnect}"),
		metric.WithDescription("Times the bridge's connection to the broker came back after it was lost."))
	m.httpDur, errs[7] = httpconv.NewServerRequestDuration(meter)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	connected, err := meter.Int64ObservableGauge(metricConnected,
		metric.WithDescription("1 while the bridge is connected to the broker, else 0."))
	if err != nil {
		return nil, err
	}
	m.gauge, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		v := int64(0)
		if m.up.Load() {
			v = 1
		}
		o.ObserveInt64(connected, v, metric.WithAttributeSet(m.bridge))
		return nil
	}, connected)
	if err != nil {
		return nil, err
	}
	// Create the series at 0, so that an alert on its increase has data before the first
	// reconnect.
	m.reconnects.Add(context.Background(), 0, metric.WithAttributeSet(m.bridge))
	return m, nil
}

// close stops observing the connection state.
func (m *metrics) close() {
	if m != nil {
		_ = m.gauge.Unregister()
	}
}

// Connected implements bridge.Monitor.
func (m *metrics) Connected(up bool) {
	if !up {
		m.wasDown.Store(true)
	} else if m.wasDown.Swap(false) {
		m.reconnects.Add(context.Background(), 1, metric.WithAttributeSet(m.bridge))
	}
	m.up.Store(up)
}

// Retried implements bridge.Monitor.
func (m *metrics) Retried(subscriber wire.Address) {
	m.retries.Add(context.Background(), 1, metric.WithAttributeSet(m.subscription(subscriber)))
}

// DeadLettered implements bridge.Monitor.
func (m *metrics) DeadLettered(subscriber wire.Address) {
	m.deadLetters.Add(context.Background(), 1, metric.WithAttributeSet(m.subscription(subscriber)))
}

var _ bridge.Monitor = (*metrics)(nil)

// subscription returns the attributes of a subscriber's measurements: those its
// registration recorded, else messaging.system and the subscription's name.
func (m *metrics) subscription(subscriber wire.Address) attribute.Set {
	subscriber.InstanceID = ""
	if s, ok := m.subs.Load(subscriber); ok {
		return s.(attribute.Set)
	}
	return attribute.NewSet(m.system, semconv.MessagingDestinationSubscriptionName(subscriber.ServiceTarget))
}

// commandAttrs returns the attributes of a command's calls.
func (m *metrics) commandAttrs(self wire.Address) attribute.Set {
	return attribute.NewSet(semconv.RPCSystemNameKey.String(rpcSystem), semconv.RPCMethod(rpcMethod(self)), m.system)
}

// subscriptionAttrs records and returns the attributes of a subscription's deliveries,
// and creates its retry and dead-letter series at 0.
func (m *metrics) subscriptionAttrs(sb *subscriptionBinding) attribute.Set {
	attrs := []attribute.KeyValue{m.system, semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationSubscriptionName(sb.info.Name)}
	if ev := sb.sub.Filter.EventName; ev != "" {
		attrs = append(attrs, semconv.MessagingDestinationName(ev))
	}
	set := attribute.NewSet(attrs...)
	key := sb.sub.Subscriber
	key.InstanceID = ""
	m.subs.Store(key, set)
	// Create the retry and dead-letter series at 0, so that an alert on their increase has
	// data before the first failure.
	m.retries.Add(context.Background(), 0, metric.WithAttributeSet(set))
	m.deadLetters.Add(context.Background(), 0, metric.WithAttributeSet(set))
	return set
}

// withError returns set with error.type and purista.status of err added.
func withError(set attribute.Set, err error) attribute.Set {
	status := StatusOf(err)
	kvs := append(set.ToSlice(), semconv.ErrorTypeKey.String(strconv.Itoa(status)), attrStatus.Int(status))
	return attribute.NewSet(kvs...)
}

// callStarted counts a command call as in flight; callEnded records its end.
func (m *metrics) callStarted(ctx context.Context, set attribute.Set) {
	m.active.Add(ctx, 1, metric.WithAttributeSet(set))
}

func (m *metrics) callEnded(ctx context.Context, set attribute.Set, start time.Time, err error) {
	m.active.Add(ctx, -1, metric.WithAttributeSet(set))
	if err != nil {
		set = withError(set, err)
	}
	m.calls.RecordSet(ctx, time.Since(start).Seconds(), set)
}

// delivered records a subscription delivery.
func (m *metrics) delivered(ctx context.Context, set attribute.Set, start time.Time, err error) {
	m.consumed.AddSet(ctx, 1, set)
	if err != nil {
		set = withError(set, err)
	}
	m.process.RecordSet(ctx, time.Since(start).Seconds(), set)
}

// httpRequest records an HTTP request of the command handler: its method, route
// pattern ("" when no route matched), status and duration.
func (m *metrics) httpRequest(method, route string, status int, d time.Duration) {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, semconv.HTTPRequestMethodKey.String(httpMethod(method)), semconv.HTTPResponseStatusCode(status))
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if status >= http.StatusInternalServerError {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
	}
	m.httpDur.RecordSet(context.Background(), d.Seconds(), attribute.NewSet(attrs...))
}

// httpMethod is the http.request.method of method: the method when HTTP knows it, else
// "_OTHER" (so that clients cannot make up label values).
func httpMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "_OTHER"
}
