package memory

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"

	"github.com/purista-go/purista/pkg/framework/internal/inflight"
	"github.com/purista-go/purista/pkg/framework/internal/lifecycle"
	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// errPartitioned is the cause Healthy, Invoke and Emit report while the network is
// partitioned.
var errPartitioned = errors.New("memory network partitioned")

// Network is a process-local broker. Every Bridge made by NewBridge on the same Network
// sees the commands, events and dead letters of the others, the way service instances on one
// real broker do; tests use it to model several instances in one process.
//
// A Network has no goroutines of its own and needs no closing: each Bridge owns the
// goroutines that run its handlers. It is safe for concurrent use.
type Network struct {
	mu   sync.RWMutex
	cmds map[transport.Endpoint]*cmdGroup
	subs map[subKey]*subGroup
	dls  []*dlReg

	partitions  atomic.Int32 // > 0 while Partition is in effect
	cmdWatchers atomic.Int32 // subscriptions whose filter asks for commands
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{cmds: map[transport.Endpoint]*cmdGroup{}, subs: map[subKey]*subGroup{}}
}

// NewBridge returns a new, unstarted bridge instance attached to n.
func (n *Network) NewBridge(opts ...Option) *Bridge { return newBridge(n, opts) }

// Partition simulates a broken broker connection for every bridge of n: until heal is
// called, Healthy reports an error wrapping bridge.ErrUnavailable, Invoke and Emit fail
// with it, and no message is delivered. Messages already being handled finish. Partitions
// nest; heal is safe to call more than once. It is a test hook.
func (n *Network) Partition() (heal func()) {
	n.partitions.Add(1)
	var once sync.Once
	return func() { once.Do(func() { n.partitions.Add(-1) }) }
}

func (n *Network) fault() error {
	if n.partitions.Load() > 0 {
		return errPartitioned
	}
	return nil
}

// subKey groups the instances of one subscription. Shared and every-instance
// registrations of the same subscriber are separate groups.
type subKey struct {
	transport.Endpoint
	every bool
}

// cmdGroup is every instance's registration of one command; regs is copy-on-write.
type cmdGroup struct {
	regs []*cmdReg
	next atomic.Uint64
}

// subGroup is every instance's registration of one subscription; regs is copy-on-write.
type subGroup struct {
	regs []*subReg
	next atomic.Uint64
}

func (n *Network) addCommand(r *cmdReg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.cmds[r.ep]
	if g == nil {
		g = &cmdGroup{}
		n.cmds[r.ep] = g
	}
	g.regs = append(slices.Clip(g.regs), r)
}

func (n *Network) removeCommand(r *cmdReg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.cmds[r.ep]
	if g == nil {
		return
	}
	g.regs = slices.DeleteFunc(slices.Clone(g.regs), func(x *cmdReg) bool { return x == r })
	if len(g.regs) == 0 {
		delete(n.cmds, r.ep)
	}
}

func (n *Network) addSubscription(r *subReg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.subs[r.key]
	if g == nil {
		g = &subGroup{}
		n.subs[r.key] = g
	}
	g.regs = append(slices.Clip(g.regs), r)
	if r.sub.Filter.MessageType == wire.TypeCommand {
		n.cmdWatchers.Add(1)
	}
}

func (n *Network) removeSubscription(r *subReg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g := n.subs[r.key]
	if g == nil {
		return
	}
	before := len(g.regs)
	g.regs = slices.DeleteFunc(slices.Clone(g.regs), func(x *subReg) bool { return x == r })
	if len(g.regs) < before && r.sub.Filter.MessageType == wire.TypeCommand {
		n.cmdWatchers.Add(-1)
	}
	if len(g.regs) == 0 {
		delete(n.subs, r.key)
	}
}

func (n *Network) addDeadLetter(r *dlReg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dls = append(slices.Clip(n.dls), r)
}

func (n *Network) removeDeadLetter(r *dlReg) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dls = slices.DeleteFunc(slices.Clone(n.dls), func(x *dlReg) bool { return x == r })
}

// pickCommand chooses, round-robin, an instance that handles ep and admits the call on
// it: a running, connected instance, or local (the caller's own instance, nil for none) as
// long as it has work in flight, so that handlers finishing during drain can still call
// their neighbours in the same process. The caller must end the call with r.release.
// When no instance can take the command, r is nil and draining is one of the instances
// that registered ep and are draining (nil when none is): it refuses the command with a
// 503, the way a broker bridge answers a command that reaches it during its drain.
func (n *Network) pickCommand(ep transport.Endpoint, local *Bridge) (r *cmdReg, draining *Bridge) {
	n.mu.RLock()
	g := n.cmds[ep]
	var regs []*cmdReg
	if g != nil {
		regs = g.regs
	}
	n.mu.RUnlock()
	if len(regs) == 0 {
		return nil, nil
	}
	start := g.next.Add(1)
	for i := range uint64(len(regs)) {
		r := regs[(start+i)%uint64(len(regs))]
		if !r.b.admit(r.b == local) {
			if draining == nil && r.b.life.Load() == lifecycle.StateDraining {
				draining = r.b
			}
			continue
		}
		if !r.g.Enter(false) {
			r.b.work.Leave()
			continue
		}
		return r, nil
	}
	return nil, draining
}

// publish hands data (the encoding of msg) to every matching subscription: to each
// instance of an every-instance subscription, to one instance of a shared one. Running,
// connected instances take it, and so does local (the sender's instance, nil for none)
// while it has work in flight. msg is only read, and only before publish returns; every
// delivery decodes its own copy of data.
func (n *Network) publish(data []byte, msg *wire.Message, local *Bridge) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for key, g := range n.subs {
		if key.every {
			for _, r := range g.regs {
				if r.sub.Filter.Match(msg) {
					r.b.accept(r.delivery(data, 1), r.b == local)
				}
			}
			continue
		}
		start := g.next.Add(1)
		for i := range uint64(len(g.regs)) {
			r := g.regs[(start+i)%uint64(len(g.regs))]
			if r.sub.Filter.Match(msg) && r.b.accept(r.delivery(data, 1), r.b == local) {
				break
			}
		}
	}
}

// deadLetter hands dl to every dead-letter handler that observes it. from is the bridge
// whose subscription gave up; data is the encoded message.
func (n *Network) deadLetter(from *Bridge, dl bridge.DeadLetter, data []byte) int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	delivered := 0
	for _, r := range n.dls {
		if !transport.ObservesDeadLetter(r.addr, r.b.cfg.InstanceID, dl.Subscriber) {
			continue
		}
		if r.b.accept(r.job(dl, data), r.b == from) {
			delivered++
		}
	}
	return delivered
}

// cmdReg is one instance's registration of a command handler.
type cmdReg struct {
	b       *Bridge
	ep      transport.Endpoint
	h       bridge.CommandHandler
	timeout time.Duration
	g       inflight.Gate // calls in flight; shut by Unregister
	once    sync.Once
}

// Unregister implements bridge.Registration. It waits, until ctx ends, for the calls the
// handler is answering; a handler must not unregister itself.
func (r *cmdReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.net.removeCommand(r)
		r.b.cmds.Remove(r.ep, r)
	})
	return r.b.life.WaitUnregister(ctx, &r.g)
}

// subReg is one instance's registration of a subscription.
type subReg struct {
	b    *Bridge
	key  subKey
	sub  bridge.Subscription
	h    bridge.MessageHandler
	g    inflight.Gate // deliveries in flight; shut by Unregister
	once sync.Once
}

// Unregister implements bridge.Registration. It waits, until ctx ends, for the messages the
// handler is handling; a handler must not unregister itself.
func (r *subReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.net.removeSubscription(r)
		r.b.subs.Remove(r.key.Endpoint, r)
	})
	return r.b.life.WaitUnregister(ctx, &r.g)
}

// delivery is the job that delivers data to r as attempt number attempt.
func (r *subReg) delivery(data []byte, attempt int) job {
	return func(ctx context.Context) { r.b.deliver(ctx, r, data, attempt) }
}

// dlReg is a dead-letter handler registration.
type dlReg struct {
	b    *Bridge
	addr wire.Address // zero: every subscription of b
	h    bridge.DeadLetterHandler
	g    inflight.Gate
	once sync.Once
}

func (r *dlReg) job(dl bridge.DeadLetter, data []byte) job {
	return func(ctx context.Context) {
		if ctx.Err() != nil || !r.g.Enter(false) {
			return
		}
		defer r.g.Leave()
		if msg, err := wire.Decode(data); err == nil {
			dl.Message = msg
		}
		transport.CallDeadLetter(ctx, r.b.log, Name, r.h, dl)
	}
}

// Unregister implements bridge.Registration.
func (r *dlReg) Unregister(ctx context.Context) error {
	r.once.Do(func() {
		r.b.net.removeDeadLetter(r)
		r.b.forget(r)
	})
	return r.b.life.WaitUnregister(ctx, &r.g)
}
