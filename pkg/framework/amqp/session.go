package amqp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
)

// dialTimeout bounds the TCP connect and the AMQP handshake of one connection attempt.
const dialTimeout = 10 * time.Second

// session is one connection to the broker with its two publishing channels and its
// reply queue. Commands and replies skip publisher confirms: the reply is the end-to-end
// acknowledgement of a command, and an unroutable command still comes back through the
// mandatory flag. When any part breaks, the whole session is dead and the supervisor
// builds a new one.
type session struct {
	conn       *amqp091.Connection
	pub        *amqp091.Channel // confirm mode: events, success events, retries, dead letters
	fast       *amqp091.Channel // no confirms: commands (mandatory) and replies
	replyQueue string
	dead       chan struct{} // closed when the session broke or was closed
}

func (s *session) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

// close closes the connection; the watcher then marks the session dead.
func (s *session) close() { _ = s.conn.Close() }

// dialer returns amqp091's Dial function for one connection attempt: a TCP connection
// (TCP_NODELAY, as Go sets it) with a deadline for the TLS and AMQP handshakes, which
// amqp091 clears once the connection is open. amqp091 puts TLS on top for amqps://: the
// plain and the TLS path are the same code.
func dialer(ctx context.Context) func(network, addr string) (net.Conn, error) {
	return func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		deadline := time.Now().Add(dialTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := c.SetDeadline(deadline); err != nil {
			_ = c.Close()
			return nil, err
		}
		return c, nil
	}
}

// connect dials the broker, opens the publishing channels and the reply queue, and starts
// the session's goroutines (returns, replies, watcher), which end with the connection.
func (b *Bridge) connect(ctx context.Context) (*session, error) {
	props := amqp091.NewConnectionProperties()
	props.SetClientConnectionName(b.cfg.connName)
	conn, err := amqp091.DialConfig(b.url, amqp091.Config{
		Properties:      props,
		Heartbeat:       b.cfg.heartbeat,
		TLSClientConfig: b.cfg.tls,
		Dial:            dialer(ctx),
	})
	if err != nil {
		var aerr *amqp091.Error
		if errors.As(err, &aerr) && aerr.Code == amqp091.AccessRefused {
			return nil, fmt.Errorf("amqp: dial %s: %w: %w", b.redacted, errAccessRefused, b.scrub(err))
		}
		return nil, fmt.Errorf("amqp: dial %s: %w", b.redacted, b.scrub(err))
	}
	s := &session{conn: conn, dead: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			_ = conn.Close()
		}
	}()
	broke := make(chan *amqp091.Error, 4)
	watch := func(c chan *amqp091.Error) { // ends when c is closed, at the latest with conn
		go func() {
			if err, ok := <-c; ok {
				broke <- err
			} else {
				broke <- nil
			}
		}()
	}
	watch(conn.NotifyClose(make(chan *amqp091.Error, 1)))

	pub, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: open publishing channel: %w", err)
	}
	if err := pub.Confirm(false); err != nil {
		return nil, fmt.Errorf("amqp: confirm mode: %w", err)
	}
	if err := pub.ExchangeDeclare(wire.AMQPExchange, amqp091.ExchangeHeaders, true, false, false, false, nil); err != nil {
		return nil, fmt.Errorf("amqp: declare exchange %s: %w", wire.AMQPExchange, err)
	}
	s.pub = pub
	watch(pub.NotifyClose(make(chan *amqp091.Error, 1)))
	if s.fast, err = conn.Channel(); err != nil {
		return nil, fmt.Errorf("amqp: open command channel: %w", err)
	}
	watch(s.fast.NotifyClose(make(chan *amqp091.Error, 1)))
	returns := s.fast.NotifyReturn(make(chan amqp091.Return, 256))

	rch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("amqp: open reply channel: %w", err)
	}
	q, err := rch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return nil, fmt.Errorf("amqp: declare reply queue: %w", err)
	}
	// Replies of purista bridges arrive by the queue's name through the default exchange;
	// TypeScript PURISTA responders publish to the exchange with header replyTo.
	if err := rch.QueueBind(q.Name, "", wire.AMQPExchange, false, table(wire.AMQPReplyBindingArgs(q.Name))); err != nil {
		return nil, fmt.Errorf("amqp: bind reply queue: %w", err)
	}
	replies, err := rch.Consume(q.Name, "purista-reply-"+wire.NewID(), true, true, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("amqp: consume reply queue: %w", err)
	}
	watch(rch.NotifyClose(make(chan *amqp091.Error, 1)))
	s.replyQueue = q.Name
	ok = true

	go b.handleReturns(s, returns)
	go b.handleReplies(replies)
	go func() { // watcher: any broken part kills the session
		cause := <-broke
		_ = conn.Close()
		close(s.dead)
		if cause != nil {
			b.log.Warn("amqp: connection lost", "url", b.redacted, "err", b.scrub(cause))
		}
	}()
	return s, nil
}

// establish connects and declares every registration's topology on the new session, then
// publishes the session to Invoke and Emit. On the first connection (initial) a
// declaration the broker refuses fails it with errTopology; on a reconnect it is logged
// and the other registrations go on.
func (b *Bridge) establish(ctx context.Context, initial bool) (*session, error) {
	s, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	b.topo.Lock()
	defer b.topo.Unlock()
	var regs []attacher
	for _, r := range b.cmds.All() {
		regs = append(regs, r)
	}
	for _, r := range b.subs.All() {
		regs = append(regs, r)
	}
	for r := range b.dls {
		regs = append(regs, r)
	}
	for _, r := range regs {
		if err := r.attach(s); err != nil {
			if s.isDead() {
				return nil, err
			}
			if initial {
				s.close()
				return nil, fmt.Errorf("%w: %w", errTopology, err)
			}
			b.log.Error("amqp: re-declaring a registration failed", "err", err)
		}
	}
	if s.isDead() {
		return nil, fmt.Errorf("amqp: connection lost while declaring the topology")
	}
	b.sess.Store(s)
	return s, nil
}

// supervise owns the reconnect loop: when the session dies it fails the invocations
// waiting on it, then reconnects with backoff until it succeeds or Close stops it.
func (b *Bridge) supervise(s *session) {
	defer close(b.supDone)
	for {
		select {
		case <-b.stop:
			return
		case <-s.dead:
		}
		b.mon.Connected(false)
		b.sess.CompareAndSwap(s, nil)
		b.failPending(s, fmt.Errorf("amqp: connection lost before the response arrived: %w", bridge.ErrUnavailable))
		for attempt := 0; ; attempt++ {
			select {
			case <-b.stop:
				return
			case <-time.After(b.backoff(attempt)):
			}
			ctx, cancel := context.WithCancel(context.Background())
			stopDial := context.AfterFunc(b.ctx, cancel)
			next, err := b.establish(ctx, false)
			stopDial()
			cancel()
			if err == nil {
				s = next
				b.mon.Connected(true)
				b.log.Info("amqp: reconnected", "url", b.redacted, "attempts", attempt+1)
				break
			}
			b.log.Warn("amqp: reconnect failed", "url", b.redacted, "attempt", attempt+1, "err", b.scrub(err))
		}
	}
}

// attacher is a registration that declares its queue and consumer on a session.
type attacher interface{ attach(s *session) error }

// consumer is a registration's consumer on the current session. Its dispatch loop ends
// when the deliveries channel closes: after cancel, or when the session dies.
type consumer struct {
	// quick, if set, is offered each delivery in the receiving phase (pool consumers only,
	// see relay): it handles what it can at once and reports whether it did. The dispatch
	// loop ends after its last quick handling.
	quick func(d amqp091.Delivery) bool

	mu      sync.Mutex
	ch      *amqp091.Channel
	tag     string
	done    chan struct{}
	stopped bool
}

// start opens a channel on s with the given prefetch, lets declare make the queue, and
// consumes it (without acknowledgements when autoAck), calling handle for each delivery on
// one dispatch goroutine, or, with a pool, concurrently on its workers (see relay).
func (c *consumer) start(s *session, prefetch int, autoAck bool, pool *inflight.Pool, declare func(ch *amqp091.Channel) (string, error), handle func(d amqp091.Delivery)) error {
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		return nil
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return fmt.Errorf("amqp: open channel: %w", err)
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return fmt.Errorf("amqp: qos: %w", err)
	}
	q, err := declare(ch)
	if err != nil {
		_ = ch.Close()
		return err
	}
	tag := "purista-" + wire.NewID()
	dels, err := ch.Consume(q, tag, autoAck, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqp: consume %s: %w", q, err)
	}
	done := make(chan struct{})
	if pool != nil {
		pool.Run((&relay{pool: pool, dels: dels, quick: c.quick, handle: handle, done: done}).run)
	} else {
		go func() {
			defer close(done)
			for d := range dels {
				handle(d)
			}
		}()
	}
	c.mu.Lock()
	c.ch, c.tag, c.done = ch, tag, done
	stopped = c.stopped
	c.mu.Unlock()
	if stopped {
		_ = ch.Cancel(tag, false)
	}
	return nil
}

// relay dispatches a consumer's deliveries on the workers of a pool. A delivery is
// handled by the goroutine that received it, with no hand-off between the client library
// and the handler; while it handles, another goroutine receives. Receivers are counted:
// one that takes the last receiving place starts another on the pool (so a long handler
// never holds up the next delivery), and one that finishes handling rejoins the receivers
// while fewer than two wait, else returns to the pool. Under steady sequential traffic
// two receivers take turns and no goroutine is woken besides the one the delivery wakes;
// under load the receivers grow with the handlers in flight. A delivery quick (if set)
// takes is done with in the receiving phase. done is closed once the deliveries ended and
// no goroutine receives (nor runs quick) any more; handlers may still run then.
type relay struct {
	pool   *inflight.Pool
	dels   <-chan amqp091.Delivery
	quick  func(amqp091.Delivery) bool
	handle func(amqp091.Delivery)
	done   chan struct{}
	once   sync.Once
	recv   atomic.Int32 // goroutines receiving or running quick
}

// run is one receiver; it starts on the pool.
func (l *relay) run() {
	l.recv.Add(1)
	for {
		d, ok := <-l.dels
		if !ok {
			if l.recv.Add(-1) == 0 {
				l.once.Do(func() { close(l.done) })
			}
			return
		}
		if l.quick != nil && l.quick(d) {
			continue
		}
		if l.recv.Add(-1) == 0 { // nobody else receives: keep one receiving
			l.pool.Run(l.run)
		}
		l.handle(d)
		if l.recv.Load() >= 2 {
			return
		}
		l.recv.Add(1)
	}
}

// cancel stops the consumer for good: no new deliveries; buffered ones are still handled.
func (c *consumer) cancel() {
	c.mu.Lock()
	c.stopped = true
	ch, tag := c.ch, c.tag
	c.mu.Unlock()
	if ch != nil {
		_ = ch.Cancel(tag, false)
	}
}

// wait waits for the dispatch loop to end and closes the channel.
func (c *consumer) wait() { _ = c.waitUntil(context.Background()) }

// waitUntil waits until ctx ends for the dispatch loop to end, then closes the channel;
// it returns ctx's error when ctx ended first (the channel then stays open until wait,
// a later waitUntil or the connection's end closes it).
func (c *consumer) waitUntil(ctx context.Context) error {
	c.mu.Lock()
	ch, done := c.ch, c.done
	c.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if ch != nil {
		_ = ch.Close()
	}
	return nil
}

// table converts string headers to an AMQP table.
func table(m map[string]string) amqp091.Table {
	t := make(amqp091.Table, len(m))
	for k, v := range m {
		t[k] = v
	}
	return t
}

// millis is the AMQP timestamp property PURISTA writes: milliseconds since the epoch in
// the field AMQP defines in seconds. amqp091 writes Timestamp.Unix(), so the value is
// smuggled as a time whose Unix seconds are the milliseconds.
func millis(ms int64) time.Time { return time.Unix(ms, 0) }

// errTopology marks a start the broker refused a queue, binding or consumer of a
// registration for (such as 406 PRECONDITION_FAILED): retrying cannot help.
var errTopology = errors.New("the broker refused the topology of a registration")

// errAccessRefused marks a dial the broker refused for the user, password or vhost:
// retrying cannot help.
var errAccessRefused = errors.New("the broker refused access: check the user, password and vhost in the URL")

// scrub returns err with every credential of the bridge URL removed from its text (see
// redact.Error); errors.Is and errors.As still see through it.
func (b *Bridge) scrub(err error) error { return redact.Error(err, b.url) }

func randN(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
