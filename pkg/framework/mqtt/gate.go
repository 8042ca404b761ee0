package mqtt

import "sync"

// gate counts work in flight and lets an owner stop new work and wait for the rest.
//
// enter admits work unless the gate is shut; work that is already inside may admit follow-up
// work (retries, calls made by a draining handler) with enter(true) while anything is still in
// flight. Once shut and empty, the gate stays empty forever.
type gate struct {
	mu   sync.Mutex
	shut bool
	n    int
	idle chan struct{} // made by close, closed when shut and n reaches 0
}

// enter admits one unit of work. internal work is admitted after shut while other work is
// still inside (it is a continuation of that work).
func (g *gate) enter(internal bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut && (!internal || g.n == 0) {
		return false
	}
	g.n++
	return true
}

// leave ends one unit of work admitted by enter.
func (g *gate) leave() {
	g.mu.Lock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// close shuts the gate and returns a channel that is closed once no work is inside.
func (g *gate) close() <-chan struct{} {
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
