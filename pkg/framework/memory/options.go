package memory

import (
	"log/slog"
	"time"

	"github.com/purista-go/purista/pkg/framework/internal/transport"
)

// Option configures a Bridge. Options are applied in order; later ones win.
type Option func(*config)

type config struct {
	// Options holds Logger, InstanceID and InvokeTimeout; LocalDelivery is unused (the
	// Network is memory's transport: there is no broker to short-circuit).
	transport.Options
	maxConcurrency int
	// handlerGoroutines runs command handlers on worker goroutines (WithHandlerGoroutines).
	handlerGoroutines bool
}

// DefaultMaxConcurrency is the number of goroutines a bridge uses at most to run event and
// dead-letter handlers when WithMaxConcurrency is not given.
const DefaultMaxConcurrency = 64

func defaultConfig() config {
	return config{Options: transport.DefaultOptions(), maxConcurrency: DefaultMaxConcurrency}
}

// WithLogger sets the logger for dropped messages, recovered panics and dead letters.
// Default: a logger that discards everything. A nil logger keeps the default.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.SetLogger(l) } }

// WithInvokeTimeout sets the timeout Invoke uses when it is called with a zero timeout.
// Default: bridge.DefaultTimeout (30s). Values <= 0 keep the default.
func WithInvokeTimeout(d time.Duration) Option { return func(c *config) { c.SetInvokeTimeout(d) } }

// WithInstanceID sets the bridge's instance id (PURISTA_INSTANCE_ID). Default: a fresh
// wire.NewID(). An empty id keeps the default. An id that a broker bridge could not carry
// (one with a control character or without an ASCII letter or digit) still works here;
// New logs a warning about it.
func WithInstanceID(id string) Option { return func(c *config) { c.SetInstanceID(id) } }

// WithMaxConcurrency bounds the goroutines that run event and dead-letter handlers of one
// bridge instance; further deliveries queue (in memory, without limit) until a worker is
// free. Command handlers are not bounded by it: they run on their callers' goroutines (or,
// with WithHandlerGoroutines, each on a goroutine of its own). Default:
// DefaultMaxConcurrency. Values <= 0 keep the default.
func WithMaxConcurrency(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConcurrency = n
		}
	}
}

// WithHandlerGoroutines runs this bridge's command handlers on worker goroutines of their
// own instead of on their callers' goroutines. A caller then stops waiting when its
// timeout passes even if the handler ignores its context (it goes on running, its answer
// discarded); the price is two goroutine switches per call (docs/performance.md has
// the latency). Default: off — handlers run like function calls, and a handler that
// ignores its context holds its caller, as bridge.CommandHandler says it must not.
func WithHandlerGoroutines() Option {
	return func(c *config) { c.handlerGoroutines = true }
}
