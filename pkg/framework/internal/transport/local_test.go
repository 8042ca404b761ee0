package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
)

// testBridge is the part of a bridge Local needs.
type testBridge struct {
	life  lifecycle.Lifecycle
	ctx   context.Context
	stop  context.CancelCauseFunc // the forced stop
	work  inflight.Gate
	logs  bytes.Buffer // written before the handler's answer reaches the caller
	local *Local
	pubs  chan *wire.Message // what Publish got, decoded from its data
}

func newTestBridge(t *testing.T) *testBridge {
	b := &testBridge{life: lifecycle.Lifecycle{Name: "test"}, pubs: make(chan *wire.Message, 16)}
	b.ctx, b.stop = context.WithCancelCause(context.Background())
	t.Cleanup(func() { b.stop(errors.New("test over")) })
	b.local = NewLocal(LocalConfig{
		Life: &b.life, Log: slog.New(slog.NewTextHandler(&b.logs, nil)), InstanceID: "self",
		Ctx: b.ctx, Work: &b.work,
		Publish: func(resp *wire.Message, data []byte) {
			m, err := wire.Decode(data)
			if err != nil || m.ID != resp.ID {
				t.Errorf("Publish got %v / %s (%v)", resp, data, err)
			}
			b.pubs <- m
		},
	})
	return b
}

// call is an Invoke on b: admitted into b's work for the duration of the call.
func (b *testBridge) call(ctx context.Context, c *Command, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	if !b.work.Enter(false) {
		return nil, errors.New("test bridge closed")
	}
	defer b.work.Leave()
	return b.local.Call(ctx, c, cmd, timeout)
}

func command(payload string) *wire.Message {
	return &wire.Message{ID: wire.NewID(), Timestamp: wire.NowMillis(), ContentType: wire.ContentTypeJSON,
		ContentEncoding: wire.EncodingUTF8, MessageType: wire.TypeCommand,
		Sender:        wire.Address{ServiceName: "Caller", ServiceVersion: "1", ServiceTarget: "run", InstanceID: "self"},
		Receiver:      &wire.Address{ServiceName: "Callee", ServiceVersion: "1", ServiceTarget: "echo"},
		CorrelationID: wire.NewID(), Payload: json.RawMessage(`{"payload":` + payload + `,"parameter":{}}`)}
}

func echo(_ context.Context, cmd *wire.Message) *wire.Message {
	var p wire.CommandPayload
	_ = json.Unmarshal(cmd.Payload, &p)
	return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: p.Payload}
}

// blockUntilDone is a handler that waits for its ctx and reports the context's cause on
// causes; it answers nil (the bridge completes it).
func blockUntilDone(causes chan<- error) bridge.CommandHandler {
	return func(ctx context.Context, _ *wire.Message) *wire.Message {
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return nil
	}
}

func errorStatus(t *testing.T, resp *wire.Message) int {
	t.Helper()
	if resp == nil || resp.MessageType != wire.TypeCommandErrorResponse {
		t.Fatalf("response %v, want a commandErrorResponse", resp)
	}
	var p wire.ErrorPayload
	if err := json.Unmarshal(resp.Payload, &p); err != nil {
		t.Fatalf("error payload %s: %v", resp.Payload, err)
	}
	return p.Status
}

func TestLocalCall(t *testing.T) {
	tests := []struct {
		name       string
		handler    bridge.CommandHandler // nil with blocks
		blocks     bool                  // the handler waits for its ctx, then answers nil
		cmdTimeout time.Duration         // the registration's Timeout
		timeout    time.Duration         // the invoke's
		payload    string
		cancel     bool // the caller cancels once the handler runs
		forceStop  bool // the bridge is force-stopped once the handler runs
		unregister bool // the registration is being unregistered
		check      func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error)
	}{
		{name: "success is completed from the command", handler: echo, payload: `"hi"`,
			check: func(t *testing.T, _ *testBridge, cmd, resp *wire.Message, err error, _ error) {
				if err != nil || resp.MessageType != wire.TypeCommandSuccessResponse || string(resp.Payload) != `"hi"` {
					t.Fatalf("Call = %v, %v", resp, err)
				}
				if resp.CorrelationID != cmd.CorrelationID || resp.ID != cmd.ID || resp.Sender.InstanceID != "self" ||
					resp.Sender.ServiceName != "Callee" || resp.Receiver == nil || resp.Receiver.ServiceName != "Caller" {
					t.Errorf("response not completed from the command: %+v", resp)
				}
			}},
		{name: "nil answer is an unhandled 500", handler: func(context.Context, *wire.Message) *wire.Message { return nil },
			check: wantStatus(500)},
		{name: "a panic is an unhandled 500 and logged", handler: func(context.Context, *wire.Message) *wire.Message { panic("kaboom") },
			check: func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
				wantStatus(500)(t, b, cmd, resp, err, cause)
				if !strings.Contains(b.logs.String(), "test: command handler panicked") || !strings.Contains(b.logs.String(), "kaboom") {
					t.Errorf("panic not logged: %s", b.logs.String())
				}
			}},
		{name: "an unencodable answer is an unhandled 500", handler: func(context.Context, *wire.Message) *wire.Message {
			return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`{`)}
		}, check: func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
			wantStatus(500)(t, b, cmd, resp, err, cause)
			if !strings.Contains(b.logs.String(), "test: command response not encodable") {
				t.Errorf("not logged: %s", b.logs.String())
			}
		}},
		{name: "an unencodable command fails like on the wire", handler: echo, payload: `{`,
			check: func(t *testing.T, _ *testBridge, _, resp *wire.Message, err error, _ error) {
				if err == nil || !strings.HasPrefix(err.Error(), "test: invoke Callee.v1.echo: ") {
					t.Errorf("Call = %v, %v; want an encoding error", resp, err)
				}
			}},
		{name: "the handler's own shorter timeout answers 504", blocks: true, cmdTimeout: time.Millisecond, timeout: time.Hour,
			check: func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
				wantStatus(504)(t, b, cmd, resp, err, cause)
				if !errors.Is(cause, context.DeadlineExceeded) {
					t.Errorf("handler ctx cause %v, want DeadlineExceeded", cause)
				}
			}},
		{name: "the invoke timeout is ErrTimeout", blocks: true, cmdTimeout: time.Hour, timeout: time.Millisecond,
			check: wantErr(bridge.ErrTimeout, "test: invoke Callee.v1.echo after 1ms: invocation timed out")},
		{name: "equal timeouts are always ErrTimeout, never the handler's 504", blocks: true, cmdTimeout: time.Millisecond, timeout: time.Millisecond,
			check: wantErr(bridge.ErrTimeout, "test: invoke Callee.v1.echo after 1ms: invocation timed out")},
		{name: "the caller's cancellation ends the handler", blocks: true, cancel: true,
			check: func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
				wantErr(context.Canceled, "test: invoke Callee.v1.echo: context canceled")(t, b, cmd, resp, err, cause)
				if !errors.Is(cause, context.Canceled) {
					t.Errorf("handler ctx cause %v, want Canceled", cause)
				}
			}},
		{name: "a forced stop is ErrClosed and ends the handler with its cause", blocks: true, forceStop: true,
			check: func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
				wantErr(bridge.ErrClosed, "test: invoke Callee.v1.echo: event bridge closed")(t, b, cmd, resp, err, cause)
				if !errors.Is(cause, bridge.ErrClosed) {
					t.Errorf("handler ctx cause %v, want one wrapping ErrClosed", cause)
				}
			}},
		{name: "an unregistering handler is ErrUnregistered and ErrNoHandler", handler: echo, unregister: true,
			check: func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
				wantErr(ErrUnregistered, "test: invoke Callee.v1.echo: command handler is being unregistered: no handler registered for command")(t, b, cmd, resp, err, cause)
				if !errors.Is(err, bridge.ErrNoHandler) {
					t.Errorf("%v does not wrap ErrNoHandler", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBridge(t)
			causes := make(chan error, 1)
			h := tt.handler
			if tt.blocks {
				h = blockUntilDone(causes)
			}
			running := make(chan struct{})
			c := &Command{Handler: func(ctx context.Context, cmd *wire.Message) *wire.Message {
				close(running)
				return h(ctx, cmd)
			}, Timeout: tt.cmdTimeout}
			if c.Timeout == 0 {
				c.Timeout = time.Hour
			}
			if tt.unregister {
				c.Calls.Close()
			}
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Hour
			}
			payload := tt.payload
			if payload == "" {
				payload = "1"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel || tt.forceStop {
				go func() {
					select {
					case <-running:
					case <-time.After(wait):
						return
					}
					if tt.cancel {
						cancel()
					} else {
						b.stop(fmt.Errorf("test: closed: %w", bridge.ErrClosed))
					}
				}()
			}
			cmd := command(payload)
			before, _ := json.Marshal(cmd)
			resp, err := b.call(ctx, c, cmd, timeout)
			var cause error
			if tt.blocks {
				select {
				case cause = <-causes:
				case <-time.After(wait):
					t.Fatal("the handler's context never ended")
				}
			}
			tt.check(t, b, cmd, resp, err, cause)
			if after, _ := json.Marshal(cmd); string(after) != string(before) {
				t.Errorf("Call changed the caller's command:\n%s\n%s", before, after)
			}
			// The handler's goroutine leaves the work gate once it has returned.
			waitClosed(t, b.work.Close(), "the bridge's work to go idle")
		})
	}
}

func wantStatus(status int) func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
	return func(t *testing.T, _ *testBridge, cmd, resp *wire.Message, err error, _ error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Call error %v, want a %d response", err, status)
		}
		if got := errorStatus(t, resp); got != status || resp.CorrelationID != cmd.CorrelationID {
			t.Errorf("status %d correlationId %s, want %d %s", got, resp.CorrelationID, status, cmd.CorrelationID)
		}
	}
}

func wantErr(is error, text string) func(t *testing.T, b *testBridge, cmd, resp *wire.Message, err error, cause error) {
	return func(t *testing.T, _ *testBridge, _, resp *wire.Message, err error, _ error) {
		t.Helper()
		if resp != nil || !errors.Is(err, is) || err.Error() != text {
			t.Errorf("Call = %v, %v; want %q wrapping %v", resp, err, text, is)
		}
	}
}

// TestLocalEvent: a success response with an eventName is published after the caller has
// its answer, and the caller's copy shares no memory with the published one.
func TestLocalEvent(t *testing.T) {
	b := newTestBridge(t)
	release := make(chan struct{})
	publish := b.local.cfg.Publish
	b.local.cfg.Publish = func(resp *wire.Message, data []byte) {
		<-release // the caller must not wait for the publish
		publish(resp, data)
	}
	c := &Command{Timeout: time.Hour, Handler: func(_ context.Context, cmd *wire.Message) *wire.Message {
		return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, EventName: "done", Payload: json.RawMessage(`{"n":1}`)}
	}}
	resp, err := b.call(context.Background(), c, command("1"), time.Hour)
	if err != nil || resp.EventName != "done" {
		t.Fatalf("Call = %v, %v", resp, err)
	}
	idle := b.work.Close()
	if closed(idle) {
		t.Fatal("the work gate is idle while the event is being published")
	}
	for i := range resp.Payload {
		resp.Payload[i] = ' '
	}
	close(release)
	var ev *wire.Message
	select {
	case ev = <-b.pubs:
	case <-time.After(wait):
		t.Fatal("the event was never published")
	}
	if ev.EventName != "done" || string(ev.Payload) != `{"n":1}` || ev.Sender.InstanceID != "self" {
		t.Errorf("published %+v", ev)
	}
	waitClosed(t, idle, "the work gate to go idle")
}

// TestLocalNoEventWithoutEventName: plain responses and error responses are not published.
func TestLocalNoEventWithoutEventName(t *testing.T) {
	b := newTestBridge(t)
	for _, h := range []bridge.CommandHandler{echo, func(context.Context, *wire.Message) *wire.Message { return nil }} {
		if _, err := b.call(context.Background(), &Command{Handler: h, Timeout: time.Hour}, command("1"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	<-b.work.Close() // every handler goroutine has finished, publish included
	if len(b.pubs) != 0 {
		t.Errorf("%d responses published", len(b.pubs))
	}
}

// TestLocalTimedOutHandlerHoldsClose: a handler still running after its caller timed out
// counts in the bridge's work and in its registration's calls until it returns.
func TestLocalTimedOutHandlerHoldsClose(t *testing.T) {
	b := newTestBridge(t)
	release := make(chan struct{})
	c := &Command{Timeout: time.Hour, Handler: func(context.Context, *wire.Message) *wire.Message {
		<-release // ignores its ctx
		return nil
	}}
	if _, err := b.call(context.Background(), c, command("1"), time.Millisecond); !errors.Is(err, bridge.ErrTimeout) {
		t.Fatalf("Call = %v, want ErrTimeout", err)
	}
	work, calls := b.work.Close(), c.Calls.Close()
	if closed(work) || closed(calls) {
		t.Fatal("the running handler does not hold the bridge's work and its registration's calls")
	}
	close(release)
	waitClosed(t, work, "the bridge's work to go idle")
	waitClosed(t, calls, "the registration's calls to go idle")
}

// TestLocalWorkShut: a Call outside any admitted work on a drained bridge is refused.
func TestLocalWorkShut(t *testing.T) {
	b := newTestBridge(t)
	<-b.work.Close()
	c := &Command{Handler: echo, Timeout: time.Hour}
	_, err := b.local.Call(context.Background(), c, command("1"), time.Hour)
	if !errors.Is(err, bridge.ErrClosed) {
		t.Errorf("Call = %v, want ErrClosed", err)
	}
	if !closed(c.Calls.Close()) {
		t.Error("the refused call left a unit in the registration's gate")
	}
}

func TestLocalEnabled(t *testing.T) {
	for _, tt := range []struct {
		disabled bool
		set      []bool
		want     bool
	}{{false, nil, true}, {true, nil, false}, {false, []bool{false}, false}, {true, []bool{true}, true}, {false, []bool{false, true}, true}} {
		l := NewLocal(LocalConfig{Disabled: tt.disabled})
		for _, on := range tt.set {
			l.SetEnabled(on)
		}
		if l.Enabled() != tt.want {
			t.Errorf("Disabled %v then %v: Enabled = %v, want %v", tt.disabled, tt.set, l.Enabled(), tt.want)
		}
	}
}

// TestLocalConcurrent runs many calls at once (for the race detector).
func TestLocalConcurrent(t *testing.T) {
	b := newTestBridge(t)
	c := &Command{Handler: echo, Timeout: time.Hour}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			resp, err := b.call(context.Background(), c, command(fmt.Sprint(i)), time.Hour)
			if err != nil || string(resp.Payload) != fmt.Sprint(i) {
				t.Errorf("call %d = %v, %v", i, resp, err)
			}
		})
	}
	wg.Wait()
}
