package nats_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// outcome is what one Invoke returned.
type outcome struct {
	resp *wire.Message
	err  error
}

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
			caller := startBridge(t, u)
			handler := startBridge(t, u)
			callee := addr(uniq("Forced"), "block")
			started, release := make(chan struct{}, n), make(chan struct{})
			causes := make(chan error, n)
			var releaseOnce sync.Once
			t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
			if _, err := handler.RegisterCommand(context.Background(), callee, func(ctx context.Context, cmd *wire.Message) *wire.Message {
				started <- struct{}{}
				if tt.ignoreCtx {
					<-release
					return &wire.Message{MessageType: wire.TypeCommandSuccessResponse, Payload: json.RawMessage(`"late"`)}
				}
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil
			}, bridge.CommandOptions{Timeout: 2 * time.Minute}); err != nil {
				t.Fatal(err)
			}
			deadline, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			answers := make(chan outcome, n)
			for i := range n {
				go func() {
					resp, err := caller.Invoke(deadline, command(addr("ForcedCaller", "run"), callee, i), 2*time.Minute)
					answers <- outcome{resp, err}
				}()
			}
			for range n {
				select {
				case <-started:
				case <-deadline.Done():
					t.Fatal("not every handler started")
				}
			}
			ctx, stop := context.WithCancel(context.Background())
			stop() // the shutdown timeout has passed with every handler still running
			if err := handler.Close(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Close = %v, want an error wrapping context.Canceled", err)
			}
			for range n {
				select {
				case o := <-answers:
					if why := status503(o); why != "" {
						t.Errorf("a caller got %s, want an unhandled 503", why)
					}
				case <-deadline.Done():
					t.Fatal("a caller is still waiting")
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
	callee := addr(uniq("Pending"), "block")
	started, release := make(chan struct{}, n), make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the handler bridge's Close
	if _, err := handler.RegisterCommand(context.Background(), callee, func(ctx context.Context, _ *wire.Message) *wire.Message {
		started <- struct{}{}
		select {
		case <-ctx.Done():
		case <-release:
		}
		return nil
	}, bridge.CommandOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	deadline, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := caller.Invoke(deadline, command(addr("PendingCaller", "run"), callee, i), 2*time.Minute)
			errs <- err
		}()
	}
	for range n {
		select {
		case <-started:
		case <-deadline.Done():
			t.Fatal("not every handler started")
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if err := caller.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want an error wrapping context.Canceled", err)
	}
	for range n {
		if err := <-errs; !errors.Is(err, bridge.ErrClosed) {
			t.Errorf("a pending Invoke returned %v, want bridge.ErrClosed", err)
		}
	}
}
