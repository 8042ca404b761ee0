package nats

import (
	"context"
	"fmt"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Emit implements bridge.EventBridge: it publishes msg on its 13-token subject with the
// PURISTA headers. With JetStream it returns after the events stream acknowledged the
// message (a publisher confirm; the message id is the stream's de-duplication id);
// without JetStream after a flush round trip. Commands cannot be emitted (use Invoke).
func (b *Bridge) Emit(ctx context.Context, msg *wire.Message) error {
	if _, err := b.intake(ctx); err != nil {
		return err
	}
	defer b.work.Leave()
	out, data, err := bridge.EncodeEvent(msg, b.cfg.InstanceID)
	if err != nil {
		return fmt.Errorf("nats: emit: %w", err)
	}
	if max := b.maxPayload.Load(); int64(len(data)) > max {
		return fmt.Errorf("nats: emit: %w: %d bytes, the server allows %d", ErrTooLarge, len(data), max)
	}
	if err := b.publish(ctx, out, data); err != nil {
		return fmt.Errorf("nats: emit %s: %w", out.MessageType, err)
	}
	return nil
}

// publish sends data (the encoding of m) on m's subject and waits for the broker's
// acceptance.
func (b *Bridge) publish(ctx context.Context, m *wire.Message, data []byte) error {
	pm := &natsgo.Msg{Subject: b.subjectOf(m), Data: data, Header: messageHeader(m)}
	return b.publishMsg(ctx, pm, m.ID)
}

// publishMsg publishes pm through JetStream (awaiting the ack, de-duplicated on msgID)
// when available, else on core NATS followed by a flush.
func (b *Bridge) publishMsg(ctx context.Context, pm *natsgo.Msg, msgID string) error {
	if js := b.jetStream(); js != nil {
		opts := []jetstream.PublishOpt{}
		if msgID != "" {
			opts = append(opts, jetstream.WithMsgID(msgID))
		}
		_, err := js.PublishMsg(ctx, pm, opts...)
		return err
	}
	nc := b.conn()
	if err := nc.PublishMsg(pm); err != nil {
		return err
	}
	return nc.FlushWithContext(ctx)
}
