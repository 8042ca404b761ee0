package nats_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// status503 reports why o is not an unhandled 503 response ("" when it is).
func status503(o outcome) string {
	if o.err != nil {
		return "error " + o.err.Error()
	}
	var p wire.ErrorPayload
	if o.resp.MessageType != wire.TypeCommandErrorResponse || json.Unmarshal(o.resp.Payload, &p) != nil ||
		p.Status != http.StatusServiceUnavailable || o.resp.IsHandledError == nil || *o.resp.IsHandledError {
		return string(o.resp.MessageType) + " " + string(o.resp.Payload)
	}
	return ""
}

// endedClose closes b with a ctx that has already ended (the shutdown timeout passed
// with handlers still running) and checks that Close says so.
func endedClose(t *testing.T, b bridge.EventBridge) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := b.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want an error wrapping context.Canceled", err)
	}
}

// TestForcedStopAnswersEveryCaller: 50 commands in flight on the real broker, each in a
// handler that blocks (until its ctx ends, or ignoring its ctx altogether); Close's ctx
// ends first. Close returns the ctx error, every caller gets an unhandled 503 (none waits
// for its two-minute timeout: the test's own deadline is far shorter), and the handler
// contexts end with a cause wrapping bridge.ErrClosed.
func TestForcedStopAnswersEveryCaller(t *testing.T) {
	u := needBroker(t)
	for _, tt := range []struct {
		name      string
		ignoreCtx bool
	}{
		{"handler returns when its ctx ends", false},
		{"handler ignores its ctx", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const n = 50
			caller, handler := startBridge(t, u), startBridge(t, u)
			release, free := releaser(t)
			causes := make(chan error, n)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, answers := blockingCalls(ctx, t, caller, handler, n, free, func(ctx context.Context, _ *wire.Message) *wire.Message {
				if tt.ignoreCtx {
					<-release
					return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`"late"`)}
				}
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil
			})
			endedClose(t, handler)
			for _, o := range collect(ctx, t, answers, n) {
				if why := status503(o); why != "" {
					t.Errorf("a caller got %s, want an unhandled 503", why)
				}
			}
			if tt.ignoreCtx {
				return
			}
			for range n {
				if cause := <-causes; !errors.Is(cause, bridge.ErrClosed) {
					t.Errorf("handler context.Cause = %v, want one wrapping bridge.ErrClosed", cause)
				}
			}
		})
	}
}

// TestCloseFailsPendingInvokes: a bridge closed with calls of its own still waiting for
// their answers fails them with bridge.ErrClosed when Close's ctx ends.
func TestCloseFailsPendingInvokes(t *testing.T) {
	u := needBroker(t)
	const n = 20
	handler := startBridge(t, u)
	caller := startBridge(t, u)
	release, free := releaser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, answers := blockingCalls(ctx, t, caller, handler, n, free, func(ctx context.Context, _ *wire.Message) *wire.Message {
		<-release
		return nil
	})
	endedClose(t, caller)
	for _, o := range collect(ctx, t, answers, n) {
		if !errors.Is(o.err, bridge.ErrClosed) {
			t.Errorf("a pending Invoke returned %v %v, want bridge.ErrClosed", o.resp, o.err)
		}
	}
}

// TestForcedStopWithQueuedCommands: Close's ctx ends while one handler blocks and many
// more commands are still arriving or waiting in the registration's channel (receivers
// start one by one for blocked handlers). Every caller is told at once: an unhandled
// 503 (the blocked handler's, or a command the instance took but never started), or
// bridge.ErrNoHandler for a command the server no longer routed to it.
func TestForcedStopWithQueuedCommands(t *testing.T) {
	u := needBroker(t)
	const n = 300
	caller, handler := startBridge(t, u), startBridge(t, u)
	release, free := releaser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	callee := addr(uniq("Queued"), "run")
	started := make(chan struct{}, n)
	reg, err := handler.RegisterCommand(ctx, callee, func(context.Context, *wire.Message) *wire.Message {
		started <- struct{}{}
		<-release
		return nil
	}, bridge.CommandOptions{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waitHandlers(t, reg, free)
	queued := make(chan outcome, n)
	for i := range n {
		go func() {
			resp, err := caller.Invoke(ctx, command(addr("QueuedCaller", "run"), callee, i), 2*time.Minute)
			queued <- outcome{resp, err}
		}()
	}
	<-started
	endedClose(t, handler)
	for _, o := range collect(ctx, t, queued, n) {
		if why := status503(o); why != "" && !errors.Is(o.err, bridge.ErrNoHandler) {
			t.Errorf("a caller got %s, want an unhandled 503 or ErrNoHandler", why)
		}
	}
}
