package handlerctx

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type key struct{}

// ended waits (at most 5 s) for ctx to be done and returns its Err.
func ended(t *testing.T, ctx context.Context) error {
	t.Helper()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
		t.Fatal("context never ended")
		return nil
	}
}

func TestContext(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		act     func(t *testing.T, c *Context, cancelParent context.CancelFunc)
		want    error // Err and Cause at the end
	}{
		{"alive", time.Hour, func(*testing.T, *Context, context.CancelFunc) {}, nil},
		{"deadline passed, nobody waited", time.Millisecond, func(t *testing.T, c *Context, _ context.CancelFunc) {
			time.Sleep(5 * time.Millisecond)
		}, context.DeadlineExceeded},
		{"deadline passes while waited on", 20 * time.Millisecond, func(t *testing.T, c *Context, _ context.CancelFunc) {
			if err := ended(t, c); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("ended with %v", err)
			}
		}, context.DeadlineExceeded},
		{"parent ends, nobody waited", time.Hour, func(t *testing.T, c *Context, cancel context.CancelFunc) {
			cancel()
		}, context.Canceled},
		{"parent ends while waited on", time.Hour, func(t *testing.T, c *Context, cancel context.CancelFunc) {
			_ = c.Done()
			cancel()
			if err := ended(t, c); !errors.Is(err, context.Canceled) {
				t.Fatalf("ended with %v", err)
			}
		}, context.Canceled},
		{"finished, then waited on", time.Hour, func(t *testing.T, c *Context, _ context.CancelFunc) {
			c.Finish()
			if err := ended(t, c); !errors.Is(err, context.Canceled) {
				t.Fatalf("ended with %v", err)
			}
		}, context.Canceled},
		{"waited on, then finished", time.Hour, func(t *testing.T, c *Context, _ context.CancelFunc) {
			done := c.Done()
			c.Finish()
			<-done
		}, context.Canceled},
		{"an ended context keeps its error", time.Millisecond, func(t *testing.T, c *Context, cancel context.CancelFunc) {
			time.Sleep(5 * time.Millisecond)
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Err = %v", err)
			}
			cancel() // after it ended: Err stays DeadlineExceeded, Done is closed
			if err := ended(t, c); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("ended with %v", err)
			}
		}, context.DeadlineExceeded},
		{"derived context ends with it", time.Hour, func(t *testing.T, c *Context, _ context.CancelFunc) {
			child, cancel := context.WithCancel(c)
			defer cancel()
			c.Finish()
			if err := ended(t, child); !errors.Is(err, context.Canceled) {
				t.Fatalf("child ended with %v", err)
			}
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			t.Cleanup(cancel)
			c := NewParent(parent).WithTimeout(tt.timeout)
			t.Cleanup(c.Finish)
			if d, ok := c.Deadline(); !ok || time.Until(d) > tt.timeout {
				t.Fatalf("Deadline = %v, %v", d, ok)
			}
			tt.act(t, c, cancel)
			if err := c.Err(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Err = %v, want %v", err, tt.want)
			}
			if cause := context.Cause(c); !errors.Is(cause, tt.want) || (tt.want == nil) != (cause == nil) {
				t.Fatalf("Cause = %v, want %v", cause, tt.want)
			}
			if v := c.Value(key{}); v != "v" {
				t.Fatalf("Value = %v, want the parent's", v)
			}
			if tt.want != nil {
				select {
				case <-c.Done():
				default:
					t.Fatal("Err is set but Done is not closed")
				}
			}
		})
	}
}

// TestContextWithoutWaiting: a handler that never waits costs one allocation.
func TestContextWithoutWaiting(t *testing.T) {
	p := NewParent(context.Background())
	if n := testing.AllocsPerRun(1000, func() {
		c := p.WithTimeout(time.Minute)
		_ = c.Err()
		c.Finish()
	}); n > 1 {
		t.Fatalf("%.0f allocations, want 1", n)
	}
}

// TestContextConcurrent: Done, Err, Value and Finish from many goroutines at once.
func TestContextConcurrent(t *testing.T) {
	p := NewParent(context.Background())
	for range 50 {
		c := p.WithTimeout(time.Millisecond)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				switch i % 4 {
				case 0:
					<-c.Done()
				case 1:
					_ = c.Err()
				case 2:
					_ = c.Value(key{})
				case 3:
					c.Finish()
				}
			})
		}
		wg.Wait()
		if c.Err() == nil {
			t.Fatal("finished context without error")
		}
	}
}

// TestContextMatchesWithDeadline: against a parent that has a deadline or ends with a
// cause, Deadline, Err and context.Cause answer as for context.WithTimeout, whether or not
// Done was called first.
func TestContextMatchesWithDeadline(t *testing.T) {
	cause := errors.New("bridge shut down by its owner")
	for _, done := range []bool{false, true} {
		// A parent with an earlier deadline: the handler's deadline is the parent's.
		pd := time.Now().Add(time.Hour)
		pctx, pcancel := context.WithDeadline(context.Background(), pd)
		c := NewParent(pctx).WithTimeout(2 * time.Hour)
		ref, refCancel := context.WithTimeout(pctx, 2*time.Hour)
		if done {
			_ = c.Done() // makes the real context
		}
		got, _ := c.Deadline()
		want, _ := ref.Deadline()
		if !got.Equal(want) {
			t.Errorf("done=%v: Deadline %v, want the parent's %v", done, got, want)
		}
		c.Finish()
		refCancel()
		pcancel()

		// A parent cancelled with a cause: the handler's Cause is that cause.
		cctx, ccancel := context.WithCancelCause(context.Background())
		c = NewParent(cctx).WithTimeout(time.Hour)
		ref, refCancel = context.WithTimeout(cctx, time.Hour)
		ccancel(cause)
		if done {
			ended(t, c)
		}
		if err := c.Err(); err != ref.Err() {
			t.Errorf("done=%v: Err %v, want %v", done, err, ref.Err())
		}
		if got := context.Cause(c); got != context.Cause(ref) {
			t.Errorf("done=%v: Cause %v, want %v", done, got, context.Cause(ref))
		}
		if !done {
			ended(t, c) // Done after the fact: same answers
			if got := context.Cause(c); got != cause {
				t.Errorf("after Done: Cause %v, want %v", got, cause)
			}
		}
		c.Finish()
		refCancel()
	}
}
