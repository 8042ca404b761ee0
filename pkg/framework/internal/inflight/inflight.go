// Package inflight tracks the work a bridge has in flight: a Gate that admits work until
// a drain begins and tells when the last unit has left, and a Pool of reused goroutines
// for command handlers. Every bridge implementation shares them.
package inflight

import (
	"context"
	"sync"
	"time"
)

// Gate counts work in flight and lets its owner stop new work and wait for the rest.
// The zero Gate is open and empty. All methods are safe for concurrent use.
//
// Enter admits work unless the gate is shut; work that is already inside may admit
// follow-up work (retries, calls made by a draining handler, deliveries already
// buffered) with Enter(true) while anything is still in flight. Once shut and empty, the
// gate stays empty forever.
type Gate struct {
	mu   sync.Mutex
	shut bool
	n    int
	idle chan struct{} // made by Close, closed when shut and n reaches 0
}

// Enter admits one unit of work and reports whether it was admitted. internal work (a
// continuation of work already inside) is admitted after Close while other work is still
// inside. Every admitted unit must call Leave exactly once.
func (g *Gate) Enter(internal bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut && (!internal || g.n == 0) {
		return false
	}
	g.n++
	return true
}

// Leave ends one unit of work admitted by Enter.
func (g *Gate) Leave() {
	g.mu.Lock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// Close shuts the gate and returns a channel that is closed once no work is inside. It
// never blocks and may be called more than once.
func (g *Gate) Close() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = true
	if g.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	return g.idle
}

// Wait closes g and blocks until its work has left or ctx ends (then it returns
// ctx.Err()).
func (g *Gate) Wait(ctx context.Context) error {
	select {
	case <-g.Close():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ownerKey marks contexts that belong to an owner's own work (its value is the owner).
type ownerKey struct{}

// WithOwner returns ctx marked as belonging to owner. A bridge derives its handlers'
// contexts from such a context, so that EnterCall can tell its own follow-up calls apart.
func WithOwner(ctx context.Context, owner any) context.Context {
	return context.WithValue(ctx, ownerKey{}, owner)
}

// EnterCall admits a call (an Invoke or Emit) made with ctx: any call while the gate is
// open; after Close only a call from owner's own work still in flight (ctx derived from
// WithOwner(…, owner)), so that a handler finishing during a drain can still call
// others. It reports whether the call was admitted; an admitted call must Leave.
func (g *Gate) EnterCall(ctx context.Context, owner any) bool {
	if g.Enter(false) {
		return true
	}
	return ctx.Value(ownerKey{}) == owner && g.Enter(true)
}

// Pool runs functions on reused goroutines. A fresh goroutine per command pays for
// growing its stack through the JSON code and the handler on every call; a reused worker
// keeps its grown stack. There is no limit on the number of workers (a handler may block,
// or invoke another command on the same bridge), so a function never waits for another.
// Workers belong to the pool's owner: they exit after IdleWorker without work, or when
// the context given to NewPool ends.
type Pool struct {
	ctx  context.Context
	jobs chan func() // unbuffered: a send succeeds only when a worker is idle
}

// IdleWorker is how long a worker waits for work before it exits.
const IdleWorker = 10 * time.Second

// NewPool returns a pool whose workers stop when ctx ends.
func NewPool(ctx context.Context) *Pool {
	return &Pool{ctx: ctx, jobs: make(chan func())}
}

// Run hands f to an idle worker, or starts a new worker for it. It never blocks.
func (p *Pool) Run(f func()) {
	select {
	case p.jobs <- f:
	default:
		go p.worker(f)
	}
}

func (p *Pool) worker(f func()) {
	f()
	idle := time.NewTimer(IdleWorker)
	defer idle.Stop()
	for {
		select {
		case f := <-p.jobs:
			f()
			idle.Reset(IdleWorker)
		case <-idle.C:
			return
		case <-p.ctx.Done():
			return
		}
	}
}

// Queue runs jobs in order of arrival on at most max goroutines; further jobs wait in
// the queue (in memory, without limit). Every job was admitted by its owner's Gate: a
// worker calls it with the queue's context and then Leave on that Gate. Workers exit when
// the queue is empty. Push never blocks; it is safe for concurrent use.
type Queue struct {
	ctx     context.Context
	max     int
	gate    *Gate
	mu      sync.Mutex
	jobs    []func(context.Context)
	workers int
}

// NewQueue returns a queue whose jobs run with ctx on at most limit goroutines (at least 1)
// and leave gate when done.
func NewQueue(ctx context.Context, limit int, gate *Gate) *Queue {
	return &Queue{ctx: ctx, max: max(limit, 1), gate: gate}
}

// Push queues j, already admitted by the queue's Gate, and starts a worker if fewer than
// max run.
func (q *Queue) Push(j func(context.Context)) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	spawn := q.workers < q.max
	if spawn {
		q.workers++
	}
	q.mu.Unlock()
	if spawn {
		go q.worker()
	}
}

func (q *Queue) worker() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.jobs = nil
			q.workers--
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = nil
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		j(q.ctx)
		q.gate.Leave()
	}
}
