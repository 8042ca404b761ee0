package transport

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Endpoint is an address without its instance: what a bridge instance keys its command
// handlers and subscriptions by (one registration per endpoint and kind).
type Endpoint struct{ Service, Version, Target string }

// EndpointOf returns a's endpoint (a without InstanceID).
func EndpointOf(a wire.Address) Endpoint {
	return Endpoint{a.ServiceName, a.ServiceVersion, a.ServiceTarget}
}

// Address returns e as an address without instance id.
func (e Endpoint) Address() wire.Address {
	return wire.Address{ServiceName: e.Service, ServiceVersion: e.Version, ServiceTarget: e.Target}
}

// String renders e as wire.Address.String does.
func (e Endpoint) String() string { return e.Address().String() }

// Table is a bridge instance's registrations of one kind (command handlers, or
// subscriptions), at most one per endpoint. R is the bridge's registration type (a
// pointer). The zero Table is empty and ready.
//
// All methods are safe for concurrent use and never block on anything but a short
// internal lock. Get, All and Len take no lock at all: writers (Add, Remove, Take, which
// are rare) replace the map instead of changing it, so Invoke's local lookup costs one
// atomic load. A bridge that must decide on a registration together with its own state
// (refuse it while draining, subscribe before it becomes visible) does so under its own
// lock and calls Add there.
type Table[R comparable] struct {
	mu sync.Mutex                     // serialises writers
	m  atomic.Pointer[map[Endpoint]R] // nil: empty; never changed once stored
}

// Add registers r at ep. If ep already has a registration, Add changes nothing and
// returns bridge.ErrDuplicate (unwrapped: the bridge adds its "<name>: register …:"
// context).
func (t *Table[R]) Add(ep Endpoint, r R) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.load()
	if _, dup := old[ep]; dup {
		return bridge.ErrDuplicate
	}
	m := make(map[Endpoint]R, len(old)+1)
	maps.Copy(m, old)
	m[ep] = r
	t.m.Store(&m)
	return nil
}

// Get returns the registration at ep.
func (t *Table[R]) Get(ep Endpoint) (R, bool) {
	r, ok := t.load()[ep]
	return r, ok
}

// Remove removes r from ep and reports whether it did: a registration that replaced r
// after r was removed (or taken) stays.
func (t *Table[R]) Remove(ep Endpoint, r R) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.load()
	if cur, ok := old[ep]; !ok || cur != r {
		return false
	}
	m := maps.Clone(old)
	delete(m, ep)
	t.m.Store(&m)
	return true
}

// All returns the registrations, in no particular order. The slice is the caller's.
func (t *Table[R]) All() []R {
	return values(t.load())
}

// Take empties the table and returns what it held (Close: the bridge then stops each).
func (t *Table[R]) Take() []R {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.load()
	t.m.Store(nil)
	return values(old)
}

// Len returns the number of registrations.
func (t *Table[R]) Len() int { return len(t.load()) }

func (t *Table[R]) load() map[Endpoint]R {
	if p := t.m.Load(); p != nil {
		return *p
	}
	return nil
}

func values[R any](m map[Endpoint]R) []R {
	out := make([]R, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	return out
}
