package nats

import (
	"context"
	"time"
)

// workers runs command handlers on reused goroutines (the memory bridge's cmdPool). A
// fresh goroutine per command pays for growing its stack through the JSON code and the
// handler on every call; a reused worker keeps its grown stack. There is no limit on the
// number of workers (a handler may block, or invoke another command on this bridge), so a
// command never waits for another one. Workers belong to the bridge: they exit after
// idleWorker without work, or when the bridge's context ends (Close).
type workers struct {
	ctx  context.Context
	jobs chan func() // unbuffered: a send succeeds only when a worker is idle
}

// idleWorker is how long a worker waits for work before it exits.
const idleWorker = 10 * time.Second

func newWorkers(ctx context.Context) *workers {
	return &workers{ctx: ctx, jobs: make(chan func())}
}

// run hands f to an idle worker, or starts a new worker for it. It never blocks.
func (p *workers) run(f func()) {
	select {
	case p.jobs <- f:
	default:
		go p.worker(f)
	}
}

func (p *workers) worker(f func()) {
	f()
	idle := time.NewTimer(idleWorker)
	defer idle.Stop()
	for {
		select {
		case f := <-p.jobs:
			f()
			idle.Reset(idleWorker)
		case <-idle.C:
			return
		case <-p.ctx.Done():
			return
		}
	}
}
