package transport

import (
	"sync/atomic"

	"github.com/purista-go/purista/pkg/framework/bridge"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// Monitor is the bridge.Monitor a bridge reports to. Embedded in a bridge it makes the
// bridge a bridge.Monitored. The zero Monitor reports nowhere; reporting costs one
// atomic load then. Safe for concurrent use.
type Monitor struct {
	m atomic.Pointer[bridge.Monitor]
}

// SetMonitor implements bridge.Monitored.
func (m *Monitor) SetMonitor(mon bridge.Monitor) {
	if mon == nil {
		m.m.Store(nil)
		return
	}
	m.m.Store(&mon)
}

// Connected reports a connection change (see bridge.Monitor).
func (m *Monitor) Connected(up bool) {
	if p := m.m.Load(); p != nil {
		(*p).Connected(up)
	}
}

// Retried reports a scheduled redelivery to subscriber.
func (m *Monitor) Retried(subscriber wire.Address) {
	if p := m.m.Load(); p != nil {
		(*p).Retried(subscriber)
	}
}

// DeadLettered reports a dead letter of subscriber.
func (m *Monitor) DeadLettered(subscriber wire.Address) {
	if p := m.m.Load(); p != nil {
		(*p).DeadLettered(subscriber)
	}
}
