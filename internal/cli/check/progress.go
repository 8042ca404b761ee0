package check

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/purista-go/purista/internal/check"
	"github.com/purista-go/purista/internal/cli/iostreams"
)

// progress shows what runs on standard error: a spinner line redrawn in place on a
// terminal, plain lines otherwise (CI logs).
type progress struct {
	io      *iostreams.IOStreams
	tty     bool
	start   time.Time
	mu      sync.Mutex
	running map[string]time.Time
	done    chan struct{}
	wg      sync.WaitGroup
}

func newProgress(ios *iostreams.IOStreams) *progress {
	p := &progress{io: ios, tty: ios.IsStderrTTY(), start: time.Now(), running: map[string]time.Time{}, done: make(chan struct{})}
	if p.tty {
		p.wg.Go(p.spin)
	}
	return p
}

// update is check.Options.Progress.
func (p *progress) update(ev check.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ev.Done {
		p.running[ev.Step] = time.Now()
		if !p.tty {
			fmt.Fprintf(p.io.ErrOut, "purista check: %s …\n", ev.Step)
		}
		return
	}
	took := time.Since(p.running[ev.Step])
	delete(p.running, ev.Step)
	line := fmt.Sprintf("purista check: %s done (%.1fs)", ev.Step, took.Seconds())
	switch {
	case errors.Is(ev.Err, context.DeadlineExceeded):
		line = fmt.Sprintf("purista check: %s timed out (%.1fs)", ev.Step, took.Seconds())
	case errors.Is(ev.Err, context.Canceled):
		line = fmt.Sprintf("purista check: %s interrupted (%.1fs)", ev.Step, took.Seconds())
	case ev.Err != nil:
		line = fmt.Sprintf("purista check: %s failed (%.1fs)", ev.Step, took.Seconds())
	case ev.Result != nil:
		line = fmt.Sprintf("purista check: %s %s (%.1fs)", ev.Step, ev.Result.Status, took.Seconds())
	}
	if p.tty {
		fmt.Fprintf(p.io.ErrOut, "\r\033[K%s\n", line)
		return
	}
	fmt.Fprintln(p.io.ErrOut, line)
}

func (p *progress) spin() {
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-p.done:
			p.mu.Lock()
			fmt.Fprint(p.io.ErrOut, "\r\033[K")
			p.mu.Unlock()
			return
		case <-t.C:
		}
		p.mu.Lock()
		names := make([]string, 0, len(p.running))
		for n := range p.running {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) > 0 {
			fmt.Fprintf(p.io.ErrOut, "\r\033[K%s %s (%.0fs)", frames[i%len(frames)], strings.Join(names, ", "), time.Since(p.start).Seconds())
		}
		p.mu.Unlock()
	}
}

// stop ends the spinner.
func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}
