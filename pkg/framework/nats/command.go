package nats

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Invoke implements bridge.EventBridge. With local delivery on and the handler registered
// on this bridge, the call stays in process; otherwise the command is a core NATS request
// on its 13-token subject. No responders → bridge.ErrNoHandler at once; no response within
// timeout → bridge.ErrTimeout; a broken connection → bridge.ErrUnavailable.
func (b *Bridge) Invoke(ctx context.Context, cmd *wire.Message, timeout time.Duration) (*wire.Message, error) {
	nc, err := b.intake(ctx)
	if err != nil {
		return nil, err
	}
	defer b.work.Leave()
	if cmd == nil || cmd.MessageType != wire.TypeCommand {
		return nil, fmt.Errorf("nats: invoke: %w: not a command", wire.ErrInvalidMessage)
	}
	if err := cmd.Validate(); err != nil {
		return nil, fmt.Errorf("nats: invoke: %w", err)
	}
	timeout = b.cfg.Timeout(timeout)
	out := cmd // only read; copied when the sender needs this instance's id
	if cmd.Sender.InstanceID == "" {
		c := *cmd
		c.Sender.InstanceID = b.cfg.InstanceID
		out = &c
	}
	if b.local.Enabled() {
		if r, ok := b.cmds.Get(transport.EndpointOf(*out.Receiver)); ok {
			resp, err := b.local.Call(ctx, &r.Command, out, timeout)
			if !errors.Is(err, transport.ErrUnregistered) {
				return resp, err
			}
			// Being unregistered here: another instance may still take it over the broker.
		}
	}
	buf := b.bufs.Get()
	defer b.bufs.Put(buf) // nats.go has copied the request once it is published
	data, err := buf.Encode(out)
	if err != nil {
		return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, err)
	}
	if max := b.maxPayload.Load(); int64(len(data)) > max {
		return nil, fmt.Errorf("nats: invoke %s: %w: %d bytes, the server allows %d", cmd.Receiver, ErrTooLarge, len(data), max)
	}
	reply, err := b.request(ctx, nc, out, data, timeout)
	if err != nil {
		return nil, fmt.Errorf("nats: invoke %s: %w", cmd.Receiver, err)
	}
	resp, err := wire.DecodeOwned(reply.Data) // nats.go allocated it for this message
	if err != nil {
		return nil, fmt.Errorf("nats: invoke %s: response: %w", cmd.Receiver, err)
	}
	return resp, nil
}

// request publishes the encoded command data with a reply subject of b.calls and waits for
// the reply. Its errors wrap bridge.ErrNoHandler (the server reports no responders),
// bridge.ErrTimeout, ctx's error, bridge.ErrUnavailable (the connection is down or
// dropped while the call waited) or bridge.ErrClosed (the bridge closed).
func (b *Bridge) request(ctx context.Context, nc *natsgo.Conn, cmd *wire.Message, data []byte, timeout time.Duration) (*natsgo.Msg, error) {
	var deadline time.Time // only for telling the invoke timeout from the caller's
	if _, ok := ctx.Deadline(); ok {
		deadline = time.Now().Add(timeout)
	}
	tok, cl, inbox := b.calls.add()
	// A connection lost after this check fails the call through b.calls.fail (the
	// disconnect handler clears b.up before it fails the calls); one lost before is seen
	// here.
	if err := b.connected(nc); err != nil {
		return nil, b.abandon(tok, cl, err)
	}
	subject := b.subjectOf(cmd)
	var err error
	if b.cfg.commandHeaders {
		err = nc.PublishMsg(&natsgo.Msg{Subject: subject, Reply: inbox, Data: data, Header: messageHeader(cmd)})
	} else {
		err = nc.PublishRequest(subject, inbox, data)
	}
	if err != nil {
		if errors.Is(err, natsgo.ErrConnectionClosed) {
			err = fmt.Errorf("%w: %w", bridge.ErrClosed, err)
		} else {
			err = fmt.Errorf("%w: %w", bridge.ErrUnavailable, err)
		}
		return nil, b.abandon(tok, cl, err)
	}
	t := b.calls.timer(timeout)
	defer b.calls.putTimer(t)
	var res callResult
	select {
	case res = <-cl.done:
	case <-t.C:
		var settled bool
		if res, settled = b.calls.abandon(tok, cl); !settled {
			b.calls.release(cl)
			return nil, fmt.Errorf("no answer after %s: %w", timeout, bridge.ErrTimeout)
		}
	case <-ctx.Done():
		var settled bool
		if res, settled = b.calls.abandon(tok, cl); !settled {
			b.calls.release(cl)
			if callerOutlasts(ctx, deadline) {
				return nil, fmt.Errorf("no answer after %s: %w", timeout, bridge.ErrTimeout)
			}
			return nil, ctx.Err()
		}
	}
	b.calls.release(cl)
	if res.err != nil {
		return nil, res.err
	}
	if m := res.msg; len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return nil, bridge.ErrNoHandler // nats-server's no-responders status message
	}
	return res.msg, nil
}

// abandon removes a call that never went out and returns err; a failure that settled it
// meanwhile (the connection dropped) is returned instead.
func (b *Bridge) abandon(tok uint64, cl *call, err error) error {
	if res, settled := b.calls.abandon(tok, cl); settled && res.err != nil {
		err = res.err
	}
	b.calls.release(cl)
	return err
}

// callerOutlasts reports whether ctx's deadline is not before deadline (so a timeout at
// deadline is the invoke timeout, not the caller's).
func callerOutlasts(ctx context.Context, deadline time.Time) bool {
	d, ok := ctx.Deadline()
	return ok && !d.Before(deadline) && errors.Is(ctx.Err(), context.DeadlineExceeded)
}

// ErrTooLarge is wrapped by Invoke and Emit when a message exceeds the server's
// max_payload (1 MiB by default on nats-server).
var ErrTooLarge = errors.New("message larger than the server's max_payload")

// publishEvent publishes a success response with an eventName a second time on its own
// subject (so subscriptions see it, TS PURISTA's behaviour), awaiting the JetStream ack
// when JetStream is available so durable subscriptions surely get it. It is also the
// Publish of local delivery (transport.LocalConfig).
func (b *Bridge) publishEvent(resp *wire.Message, data []byte) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := b.publish(ctx, resp, data); err != nil {
		b.log.Error("nats: success event not published", "eventName", resp.EventName, "id", resp.ID, "err", err)
	}
}
