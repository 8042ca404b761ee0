package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
)

// ErrUnregistered is wrapped, together with bridge.ErrNoHandler, by Local.Call's error
// when the registration it was given is being unregistered (its Calls gate is shut). A
// bridge that would rather send the command over the broker then (another instance may
// handle it) tests for it with errors.Is; one that returns the error tells the caller
// ErrNoHandler.
var ErrUnregistered = errors.New("command handler is being unregistered")

// Command is a command handler registered on a bridge instance, as local delivery calls
// it. A bridge's registration type embeds it (or holds it) and keeps it in a Table; the
// bridge's own broker-side delivery uses the same fields.
type Command struct {
	// Handler answers the commands.
	Handler bridge.CommandHandler
	// Timeout bounds the handler's context (bridge.CommandOptions.Timeout, defaulted).
	Timeout time.Duration
	// Calls counts the calls in flight. The bridge's Unregister shuts it
	// (lifecycle.WaitUnregister) after removing the registration from its Table.
	Calls inflight.Gate
}

// LocalConfig is what Local needs of its bridge. Every field is required except Publish.
type LocalConfig struct {
	// Life names the bridge in errors ("<name>: invoke …") and recovers handler panics
	// (lifecycle.Lifecycle.CallCommand).
	Life *lifecycle.Lifecycle
	// Log receives the recovered panics and unencodable responses.
	Log *slog.Logger
	// InstanceID is stamped on responses (bridge.CompleteResponse).
	InstanceID string
	// Ctx is the bridge's context. Handler contexts derive from it, so a forced stop that
	// ends it (with a cause wrapping bridge.ErrClosed) ends them; once it has ended, a
	// caller still waiting gets bridge.ErrClosed.
	Ctx context.Context
	// Work is the bridge's gate of in-flight work. A running local handler counts in it
	// until it has returned and its event is published, so that Close waits for it. The
	// caller of Call must itself be inside Work (an Invoke admitted by the bridge's intake).
	Work *inflight.Gate
	// Publish, if set, publishes a success response that carries an eventName to the
	// bridge's subscriptions (through the broker), data being its encoding; data is valid
	// only during the call. It runs on the handler's goroutine after the caller has its
	// answer, and may block (a publisher confirm).
	Publish func(resp *wire.Message, data []byte)
	// PublishResponses offers Publish every response, not only success responses with an
	// eventName: for a bridge whose subscriptions may select responses by message type
	// (AMQP copies every response to its exchange, as TypeScript PURISTA routes them).
	PublishResponses bool
	// Disabled starts local delivery switched off (see SetEnabled).
	Disabled bool
}

// Local is a broker bridge's local short-circuit of commands: when the handler of a
// command is registered on the same bridge instance, Invoke calls it in process instead of
// sending the command through the broker. Events always travel through the broker, so
// that their at-least-once semantics and the sharing of a subscription among instances do
// not depend on where a subscriber runs. Make it with NewLocal; safe for concurrent use.
type Local struct {
	cfg     LocalConfig
	enabled atomic.Bool
}

// NewLocal returns the local delivery of a bridge.
func NewLocal(cfg LocalConfig) *Local {
	l := &Local{cfg: cfg}
	l.enabled.Store(!cfg.Disabled)
	return l
}

// Enabled reports whether local delivery is on.
func (l *Local) Enabled() bool { return l.enabled.Load() }

// SetEnabled switches local delivery on or off (bridge.LocalDelivery). Calls that start
// after it returns see the new state.
func (l *Local) SetEnabled(enabled bool) { l.enabled.Store(enabled) }

// result is a local handler's answer as the caller receives it.
type result struct {
	msg *wire.Message
	err error
}

// Call answers cmd, a validated command, with c's handler in process and blocks until the
// answer, the timeout (> 0, the caller's: Options.Timeout), the end of ctx or the bridge's
// forced stop. The command and the response are encoded and decoded as on the wire, so
// caller and handler share no memory and a message that could not travel fails as it
// would over the broker. cmd stays the caller's.
//
// The handler runs on a goroutine of its own with a context that ends at the sooner of
// c.Timeout and timeout, when ctx ends, or when the bridge's context ends. The goroutine
// counts in c.Calls and in the bridge's Work until the handler has returned and a success
// response with an eventName has been published (LocalConfig.Publish); the caller does
// not wait for the publish. A panic in the handler is recovered and answered with an
// unhandled 500, a nil response completed by bridge.CompleteResponse (504 when its time
// ran out, 503 when the bridge was force-stopped), an unencodable one answered 500.
//
// The outcome does not depend on which clock fires first: the caller's deadline is fixed
// when Call begins, and an answer ready only at or after it is bridge.ErrTimeout. Errors:
// "<name>: invoke <receiver>…" wrapping ctx's error when ctx ended, bridge.ErrTimeout,
// bridge.ErrClosed when the bridge was force-stopped before the caller had its answer (or
// Work no longer admits work), and ErrUnregistered with bridge.ErrNoHandler when c is
// being unregistered.
func (l *Local) Call(ctx context.Context, c *Command, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	name := l.cfg.Life.Name
	if timeout <= 0 {
		timeout = bridge.DefaultTimeout
	}
	start := time.Now()
	deadline := start.Add(timeout)
	data, err := wire.Encode(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, err)
	}
	in, err := wire.DecodeOwned(data) // data is ours alone
	if err != nil {
		return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, err)
	}
	if !c.Calls.Enter(false) {
		return nil, fmt.Errorf("%s: invoke %s: %w: %w", name, cmd.Receiver, ErrUnregistered, bridge.ErrNoHandler)
	}
	if !l.cfg.Work.Enter(true) {
		c.Calls.Leave()
		return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, bridge.ErrClosed)
	}
	handlerDeadline := deadline
	if c.Timeout > 0 && c.Timeout < timeout {
		handlerDeadline = start.Add(c.Timeout)
	}
	hctx, cancel := context.WithDeadline(l.cfg.Ctx, handlerDeadline)
	res := make(chan result, 1)
	go func() {
		defer l.cfg.Work.Leave()
		defer c.Calls.Leave()
		defer cancel()
		l.answer(hctx, c, in, res)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-res:
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, ctx.Err())
		case !time.Now().Before(deadline):
			return nil, fmt.Errorf("%s: invoke %s after %s: %w", name, cmd.Receiver, timeout, bridge.ErrTimeout)
		case l.cfg.Ctx.Err() != nil:
			return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, bridge.ErrClosed)
		}
		return r.msg, r.err
	case <-timer.C:
		cancel()
		return nil, fmt.Errorf("%s: invoke %s after %s: %w", name, cmd.Receiver, timeout, bridge.ErrTimeout)
	case <-ctx.Done():
		cancel()
		return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, ctx.Err())
	case <-l.cfg.Ctx.Done():
		return nil, fmt.Errorf("%s: invoke %s: %w", name, cmd.Receiver, bridge.ErrClosed)
	}
}

// answer runs the handler for cmd, sends the caller its copy of the response on res and
// then publishes a success event (every response with PublishResponses).
func (l *Local) answer(ctx context.Context, c *Command, cmd *wire.Message, res chan<- result) {
	name := l.cfg.Life.Name
	resp := bridge.CompleteResponse(ctx, cmd, l.cfg.Life.CallCommand(ctx, l.cfg.Log, c.Handler, cmd), l.cfg.InstanceID)
	out, err := wire.Encode(resp)
	if err != nil {
		l.cfg.Log.Error(name+": command response not encodable", "command", cmd.Receiver.String(), "err", err)
		resp = bridge.UnhandledResponse(cmd, 500, l.cfg.InstanceID)
		out, _ = wire.Encode(resp) // made by the bridge: always encodes
	}
	event := l.cfg.Publish != nil && (l.cfg.PublishResponses ||
		resp.MessageType == wire.TypeCommandSuccessResponse && resp.EventName != "")
	var back *wire.Message
	if event {
		back, err = wire.Decode(out) // a copy: the publish below reads out
	} else {
		back, err = wire.DecodeOwned(out)
	}
	if err != nil {
		err = fmt.Errorf("%s: invoke %s: response: %w", name, cmd.Receiver, err)
	}
	res <- result{back, err}
	if event {
		l.cfg.Publish(resp, out)
	}
}
