package bridge

import (
	"math/rand/v2"
	"time"
)

// Default retry delays, used when a RetryPolicy leaves InitialInterval or MaxInterval zero.
const (
	DefaultInitialInterval = 100 * time.Millisecond
	DefaultMaxInterval     = 10 * time.Second
)

// Delay returns how long to wait before delivery attempt+1 after attempt failed deliveries
// (attempt counts from 1): zero for BackoffImmediate; otherwise a random duration in
// [0, d] ("full jitter"), where d starts at InitialInterval and doubles per attempt up to
// MaxInterval. Every bridge schedules its redeliveries with it.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	if p.Backoff == BackoffImmediate {
		return 0
	}
	initial, ceiling := p.InitialInterval, p.MaxInterval
	if initial <= 0 {
		initial = DefaultInitialInterval
	}
	if ceiling <= 0 {
		ceiling = DefaultMaxInterval
	}
	d := min(initial, ceiling)
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return rand.N(min(d, ceiling) + 1)
}
