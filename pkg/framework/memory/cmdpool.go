package memory

import (
	"context"
	"time"
)

// cmdPool runs command handlers on reused goroutines. A fresh goroutine per command
// would pay for growing its stack through the JSON and validation code on every call;
// reused workers keep their grown stacks. Workers belong to the bridge: they exit after
// idleWorker without work or when the bridge's context is cancelled (Close).
type cmdPool struct {
	ctx  context.Context
	jobs chan func() // unbuffered: a send succeeds only when a worker is idle
}

// idleWorker is how long a command worker waits for work before it exits.
const idleWorker = 10 * time.Second

func newCmdPool(ctx context.Context) *cmdPool {
	return &cmdPool{ctx: ctx, jobs: make(chan func())}
}

// run hands f to an idle worker, or starts a new worker for it. It never blocks.
func (p *cmdPool) run(f func()) {
	select {
	case p.jobs <- f:
	default:
		go p.worker(f)
	}
}

func (p *cmdPool) worker(f func()) {
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
