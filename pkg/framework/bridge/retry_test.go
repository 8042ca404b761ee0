package bridge_test

import (
	"testing"
	"time"

	"github.com/purista-go/purista/pkg/framework/bridge"
)

func TestRetryPolicyDelay(t *testing.T) {
	tests := []struct {
		name    string
		p       bridge.RetryPolicy
		attempt int
		max     time.Duration
	}{
		{"immediate", bridge.RetryPolicy{Backoff: bridge.BackoffImmediate, InitialInterval: time.Second}, 3, 0},
		{"first retry", bridge.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second}, 1, 10 * time.Millisecond},
		{"doubles", bridge.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second}, 4, 80 * time.Millisecond},
		{"capped", bridge.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond}, 30, 50 * time.Millisecond},
		{"defaults", bridge.RetryPolicy{}, 1, bridge.DefaultInitialInterval},
		{"huge attempt", bridge.RetryPolicy{}, 1000, bridge.DefaultMaxInterval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var top time.Duration
			for range 200 {
				d := tc.p.Delay(tc.attempt)
				if d < 0 || d > tc.max {
					t.Fatalf("delay %s outside [0, %s]", d, tc.max)
				}
				top = max(top, d)
			}
			if tc.max > 0 && top < tc.max/4 {
				t.Errorf("200 delays all below %s: no full jitter up to %s", top, tc.max)
			}
		})
	}
}
