package framework_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/memory"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// The services of the TypeScript PURISTA capture (testdata/tstrace, see its README), here
// implemented in Go: User.signUp invokes Email.sendWelcome (answered by the "TypeScript"
// side of the test) and emits userAudit; Email fails on purpose; Welcome subscribes to
// the events.
var (
	tsUser         = framework.NewContract("User", "1")
	tsEmail        = framework.NewContract("Email", "1")
	tsSignUp       = framework.Command[tsSignUpIn, tsSignUpOut](tsUser, "signUp", framework.WithSuccessEvent("userSignedUp"))
	tsUserAudit    = framework.Event[map[string]string](tsUser, "userAudit")
	tsSendWelcome  = framework.Command[tsSignUpOut, map[string]bool](tsEmail, "sendWelcome")
	tsFailHandled  = framework.Command[struct{}, struct{}](tsEmail, "failHandled")
	tsFailUnhandle = framework.Command[struct{}, struct{}](tsEmail, "failUnhandled")
	tsWelcome      = framework.NewContract("Welcome", "1")
	tsQueued       = framework.Event[map[string]string](tsWelcome, "welcomeQueued")
)

type tsSignUpIn struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type tsSignUpOut struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// tsServices returns the services; goSendWelcome adds a Go handler of Email.sendWelcome.
func tsServices(goSendWelcome bool) []*framework.Service {
	user := framework.NewService(tsUser, "users")
	framework.Handle(user, tsSignUp, func(c *framework.Context, in tsSignUpIn) (tsSignUpOut, error) {
		out := tsSignUpOut{ID: "user-0001", Email: in.Email}
		if _, err := tsSendWelcome.Invoke(c, out); err != nil {
			return out, err
		}
		return out, tsUserAudit.Emit(c, map[string]string{"action": "signUp"})
	})
	email := framework.NewService(tsEmail, "emails")
	if goSendWelcome {
		framework.Handle(email, tsSendWelcome, func(*framework.Context, tsSignUpOut) (map[string]bool, error) {
			return map[string]bool{"sent": true}, nil
		})
	}
	framework.Handle(email, tsFailHandled, func(*framework.Context, struct{}) (struct{}, error) {
		return struct{}{}, &framework.HandledError{Status: 404, Message: "welcome template not found"}
	})
	framework.Handle(email, tsFailUnhandle, func(*framework.Context, struct{}) (struct{}, error) {
		return struct{}{}, errors.New("boom")
	})
	welcome := framework.NewService(tsWelcome, "welcome mails")
	framework.Subscribe(welcome, "onUserSignedUp", tsSignUp.SuccessEvent(), func(c *framework.Context, u tsSignUpOut) error {
		return tsQueued.Emit(c, map[string]string{"email": u.Email})
	})
	framework.Subscribe(welcome, "onUserAudit", tsUserAudit, func(c *framework.Context, _ map[string]string) error {
		_, err := tsSendWelcome.Invoke(c, tsSignUpOut{ID: "audit"})
		return err
	})
	return []*framework.Service{user, email, welcome}
}

// tsVector reads a message of the TypeScript capture from testdata/tstrace.
func tsVector(t *testing.T, name string) *wire.Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tstrace", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.Decode(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// tsPeer is the TypeScript side of the test: a bridge on the network that answers
// Email.sendWelcome and records every command and custom message the Go instance sends.
type tsPeer struct {
	b    *memory.Bridge
	goID string

	mu  sync.Mutex
	out []*wire.Message
}

func newTSPeer(t *testing.T, n *memory.Network, goID string) *tsPeer {
	t.Helper()
	p := &tsPeer{b: n.NewBridge(), goID: goID}
	ctx := context.Background()
	if err := p.b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.b.Close(context.Background()) })
	if _, err := p.b.RegisterCommand(ctx, tsSendWelcome.Address(), func(_ context.Context, cmd *wire.Message) *wire.Message {
		p.record(cmd)
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`{"sent":true}`)}
	}, bridge.CommandOptions{}); err != nil {
		t.Fatal(err)
	}
	sub := bridge.Subscription{Subscriber: wire.Address{ServiceName: "Sniffer", ServiceVersion: "1", ServiceTarget: "all"},
		Filter: bridge.Filter{MessageType: wire.TypeCustomMessage}, EveryInstance: true}
	if _, err := p.b.RegisterSubscription(ctx, sub, func(_ context.Context, m *wire.Message) error {
		if m.Sender.InstanceID == p.goID {
			p.record(m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *tsPeer) record(m *wire.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, m.Clone())
}

func (p *tsPeer) sent() []*wire.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*wire.Message(nil), p.out...)
}

// outgoing names a message the Go side sends and the span that, with tracing on, must be
// its W3C parent.
type outgoing struct {
	what string // "response", "command <target>" or "event <name>"
	span string
	kind trace.SpanKind
}

// TestTraceContinuedFromTypeScript feeds commands and events captured from TypeScript
// PURISTA (whose W3C trace id differs from its traceId) to Go handlers and checks that
// everything they send continues the incoming W3C trace and carries the chain's traceId,
// with tracing off and on.
func TestTraceContinuedFromTypeScript(t *testing.T) {
	const ownTraceID = "0af7651916cd43dd8448eb211c80319c" // a traceId a caller set itself
	signUpHandler := outgoing{span: "User.v1/signUp", kind: trace.SpanKindServer}
	signUpOut := []outgoing{
		{what: "response", span: "User.v1/signUp", kind: trace.SpanKindServer},
		{what: "command sendWelcome", span: "Email.v1/sendWelcome", kind: trace.SpanKindClient},
		{what: "event userAudit", span: "send userAudit", kind: trace.SpanKindProducer},
	}
	tests := []struct {
		name      string
		vector    string
		traceID   string // set on the vector before it is sent ("" keeps the vector's)
		wantTrace string // the traceId every outgoing message must carry
		handler   outgoing
		out       []outgoing
	}{
		{name: "signUp without traceId", vector: "command-signup", wantTrace: "a54301eb06be5516017fad45eb49d5d9",
			handler: signUpHandler, out: signUpOut},
		{name: "signUp with a traceId of its own", vector: "command-signup", traceID: ownTraceID, wantTrace: ownTraceID,
			handler: signUpHandler, out: signUpOut},
		{name: "handled error", vector: "command-fail-handled", traceID: ownTraceID, wantTrace: ownTraceID,
			handler: outgoing{span: "Email.v1/failHandled", kind: trace.SpanKindServer},
			out:     []outgoing{{what: "response", span: "Email.v1/failHandled", kind: trace.SpanKindServer}}},
		{name: "unhandled error", vector: "command-fail-unhandled", wantTrace: "15ec050621f8bce45eef98d5f4fe2517",
			handler: outgoing{span: "Email.v1/failUnhandled", kind: trace.SpanKindServer},
			out:     []outgoing{{what: "response", span: "Email.v1/failUnhandled", kind: trace.SpanKindServer}}},
		{name: "success event", vector: "event-user-signed-up", wantTrace: "385e9214a5740d787f6135c4f5d4405f",
			handler: outgoing{span: "process userSignedUp", kind: trace.SpanKindConsumer},
			out:     []outgoing{{what: "event welcomeQueued", span: "send welcomeQueued", kind: trace.SpanKindProducer}}},
		{name: "custom event", vector: "event-user-audit", wantTrace: "a54301eb06be5516017fad45eb49d5d9",
			handler: outgoing{span: "process userAudit", kind: trace.SpanKindConsumer},
			out:     []outgoing{{what: "command sendWelcome", span: "Email.v1/sendWelcome", kind: trace.SpanKindClient}}},
	}
	for _, tracing := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name + "/tracing off"
			if tracing {
				name = tt.name + "/tracing on"
			}
			t.Run(name, func(t *testing.T) {
				in := tsVector(t, tt.vector)
				if tt.traceID != "" {
					in.TraceID = tt.traceID
				}
				inTrace, inSpan := traceParentParts(t, wire.TraceParent(in))
				rec := tracetest.NewSpanRecorder()
				var opts []framework.StartOption
				if tracing {
					tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
					t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
					opts = append(opts, framework.WithTracerProvider(tp))
				}
				n := memory.NewNetwork()
				goBridge := n.NewBridge()
				opts = append(opts, framework.WithLogger(slog.New(slog.DiscardHandler)))
				rt, err := framework.Start(context.Background(), goBridge, tsServices(false), opts...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
				peer := newTSPeer(t, n, goBridge.InstanceID())

				got := map[string]*wire.Message{}
				if in.MessageType == wire.TypeCommand {
					resp, err := peer.b.Invoke(context.Background(), in, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					got["response"] = resp
				} else if err := peer.b.Emit(context.Background(), in); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the Go side's messages", func() bool {
					for _, m := range peer.sent() {
						k := "event " + m.EventName
						if m.MessageType == wire.TypeCommand {
							k = "command " + m.Receiver.ServiceTarget
						}
						if got[k] == nil { // the first one: the handler's own, not a subscriber's
							got[k] = m
						}
					}
					for _, o := range tt.out {
						if got[o.what] == nil {
							return false
						}
					}
					return true
				})
				var handlerSpan sdktrace.ReadOnlySpan
				if tracing {
					waitFor(t, "the handler's span", func() bool {
						handlerSpan = findSpan(rec, func(s sdktrace.ReadOnlySpan) bool {
							return s.Name() == tt.handler.span && s.SpanKind() == tt.handler.kind
						})
						return handlerSpan != nil
					})
					// The handler's span continues the incoming W3C context.
					if p := handlerSpan.Parent(); p.TraceID().String() != inTrace || p.SpanID().String() != inSpan || !p.IsRemote() {
						t.Errorf("%s span: parent %s/%s remote=%v, want the incoming %s/%s", tt.handler.span,
							p.TraceID(), p.SpanID(), p.IsRemote(), inTrace, inSpan)
					}
				}
				for _, o := range tt.out {
					m := got[o.what]
					if m == nil {
						t.Errorf("%s: not sent (got %v)", o.what, keys(got))
						continue
					}
					if m.TraceID != tt.wantTrace {
						t.Errorf("%s: traceId %q, want %q (the chain's)", o.what, m.TraceID, tt.wantTrace)
					}
					if m.MessageType == wire.TypeCommandErrorResponse {
						var ep wire.ErrorPayload
						if err := json.Unmarshal(m.Payload, &ep); err != nil || ep.TraceID != tt.wantTrace {
							t.Errorf("%s: payload traceId %q (%v), want %q", o.what, ep.TraceID, err, tt.wantTrace)
						}
					}
					trID, spanID := traceParentParts(t, wire.TraceParent(m))
					if trID != inTrace {
						t.Errorf("%s: W3C trace %s, want the incoming %s (otp %s)", o.what, trID, inTrace, m.OTP)
					}
					if spanID == inSpan {
						t.Errorf("%s: W3C parent span %s is the caller's own: the context was not continued", o.what, spanID)
					}
					if !tracing {
						continue
					}
					s := findSpan(rec, func(s sdktrace.ReadOnlySpan) bool { return s.SpanContext().SpanID().String() == spanID })
					if s == nil || s.Name() != o.span || s.SpanKind() != o.kind {
						t.Errorf("%s: W3C parent span %s is %v, want the %s span %q", o.what, spanID, spanDesc(s), o.kind, o.span)
					}
				}
			})
		}
	}
}

// traceParentParts returns the trace and parent span id of a W3C traceparent.
func traceParentParts(t *testing.T, tp string) (traceID, spanID string) {
	t.Helper()
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 || parts[3] != "01" {
		t.Fatalf("traceparent %q is not a sampled W3C version-00 one", tp)
	}
	return parts[1], parts[2]
}

func findSpan(rec *tracetest.SpanRecorder, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	for _, s := range rec.Ended() {
		if match(s) {
			return s
		}
	}
	return nil
}

func spanDesc(s sdktrace.ReadOnlySpan) string {
	if s == nil {
		return "no ended span"
	}
	return s.SpanKind().String() + " " + s.Name()
}

func keys(m map[string]*wire.Message) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestSpansOfAChain runs User.signUp → Email.sendWelcome, the userAudit and userSignedUp
// events and their subscriptions on the memory bridge and checks that the spans form one
// trace with the semantic-convention names, kinds, attributes and parents.
func TestSpansOfAChain(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	rt, err := framework.Start(context.Background(), memory.New(), tsServices(true), framework.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
	if _, err := tsSignUp.Invoke(rt.Client(context.Background()), tsSignUpIn{Email: "alice@example.com", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	type span struct {
		name   string
		kind   trace.SpanKind
		parent string // name/kind of the parent span, "" for the root
	}
	key := func(name string, kind trace.SpanKind) string { return kind.String() + " " + name }
	want := []span{
		{"User.v1/signUp", trace.SpanKindClient, ""},
		{"User.v1/signUp", trace.SpanKindServer, key("User.v1/signUp", trace.SpanKindClient)},
		{"Email.v1/sendWelcome", trace.SpanKindServer, ""}, // two of them: parents checked below
		{"send userAudit", trace.SpanKindProducer, key("User.v1/signUp", trace.SpanKindServer)},
		{"process userSignedUp", trace.SpanKindConsumer, key("User.v1/signUp", trace.SpanKindServer)},
		{"process userAudit", trace.SpanKindConsumer, key("send userAudit", trace.SpanKindProducer)},
		{"send welcomeQueued", trace.SpanKindProducer, key("process userSignedUp", trace.SpanKindConsumer)},
	}
	var spans []sdktrace.ReadOnlySpan
	waitFor(t, "every span of the chain", func() bool {
		spans = rec.Ended()
		return len(spans) >= 10 // the 7 above, a second sendWelcome server and both sendWelcome clients
	})
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	byKey := map[string]sdktrace.ReadOnlySpan{}
	traceID := spans[0].SpanContext().TraceID()
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		byKey[key(s.Name(), s.SpanKind())] = s
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("%s: trace %s, want one trace %s", key(s.Name(), s.SpanKind()), s.SpanContext().TraceID(), traceID)
		}
	}
	parentKey := func(s sdktrace.ReadOnlySpan) string {
		if p, ok := byID[s.Parent().SpanID()]; ok {
			return key(p.Name(), p.SpanKind())
		}
		return ""
	}
	for _, w := range want {
		s := byKey[key(w.name, w.kind)]
		if s == nil {
			t.Errorf("no %s span", key(w.name, w.kind))
			continue
		}
		if w.parent != "" && parentKey(s) != w.parent {
			t.Errorf("%s: parent %q, want %q", key(w.name, w.kind), parentKey(s), w.parent)
		}
	}
	// Every sendWelcome server span is the child of a sendWelcome client span, which is
	// the child of signUp's handler or of the userAudit subscription.
	for _, s := range spans {
		switch key(s.Name(), s.SpanKind()) {
		case key("Email.v1/sendWelcome", trace.SpanKindServer):
			if p := parentKey(s); p != key("Email.v1/sendWelcome", trace.SpanKindClient) {
				t.Errorf("sendWelcome server span: parent %q", p)
			}
		case key("Email.v1/sendWelcome", trace.SpanKindClient):
			if p := parentKey(s); p != key("User.v1/signUp", trace.SpanKindServer) && p != key("process userAudit", trace.SpanKindConsumer) {
				t.Errorf("sendWelcome client span: parent %q", p)
			}
		}
	}
	if root := byKey[key("User.v1/signUp", trace.SpanKindClient)]; root != nil && root.Parent().IsValid() {
		t.Errorf("the client's invoke has a parent %s: want a root span", root.Parent().SpanID())
	}
	checkAttrs(t, byKey[key("User.v1/signUp", trace.SpanKindServer)], map[string]string{
		"rpc.system.name": "purista", "rpc.method": "User.v1/signUp", "messaging.system": "memory",
		"purista.trace_id": traceID.String()})
	checkAttrs(t, byKey[key("send userAudit", trace.SpanKindProducer)], map[string]string{
		"messaging.system": "memory", "messaging.operation.type": "send", "messaging.operation.name": "send",
		"messaging.destination.name": "userAudit"})
	checkAttrs(t, byKey[key("process userSignedUp", trace.SpanKindConsumer)], map[string]string{
		"messaging.operation.type": "process", "messaging.destination.name": "userSignedUp",
		"messaging.destination.subscription.name": "onUserSignedUp"})
}

// TestSpanErrors checks the status of failed calls: the client span fails for every error,
// the server span only for an unhandled one (a handled error is the command's answer).
func TestSpanErrors(t *testing.T) {
	tests := []struct {
		name                   string
		ref                    framework.CommandRef[struct{}, struct{}]
		clientCode, serverCode codes.Code
		errorType              string
	}{
		{"handled", tsFailHandled, codes.Error, codes.Unset, "404"},
		{"unhandled", tsFailUnhandle, codes.Error, codes.Error, "500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			rt, err := framework.Start(context.Background(), memory.New(), tsServices(true), framework.WithTracerProvider(tp),
				framework.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rt.Shutdown(context.Background()) })
			if _, err := tt.ref.Invoke(rt.Client(context.Background()), struct{}{}); err == nil {
				t.Fatal("no error")
			}
			for _, s := range rec.Ended() {
				want := tt.clientCode
				if s.SpanKind() == trace.SpanKindServer {
					want = tt.serverCode
				}
				if s.Status().Code != want {
					t.Errorf("%s %s: status %v, want %v", s.SpanKind(), s.Name(), s.Status(), want)
				}
				checkAttrs(t, s, map[string]string{"error.type": tt.errorType, "rpc.response.status_code": tt.errorType})
			}
			if len(rec.Ended()) != 2 {
				t.Errorf("%d spans, want the client's and the server's", len(rec.Ended()))
			}
		})
	}
}

// checkAttrs checks that s has the attributes want (compared as strings).
func checkAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	if s == nil {
		return // reported by the caller
	}
	got := map[string]string{}
	for _, kv := range s.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s: attribute %s = %q, want %q", s.SpanKind(), s.Name(), k, got[k], v)
		}
	}
}
