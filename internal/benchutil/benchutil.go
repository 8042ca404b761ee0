// Package benchutil measures our code against a raw baseline side by side, in one run,
// and prints the `ratio <case> <number>` lines that `make bench` collects.
//
// testing.Benchmark cannot be called from inside a running benchmark (it deadlocks on the
// testing package's lock), so a ratio benchmark times both sides itself with TimePerOp
// and Latency, or with Compare, which does both and prints the lines. Nothing here
// asserts on speed.
//
// The machine running the benchmarks is usually shared, so Compare never measures one
// side in one long stretch and the other side afterwards: it warms both up, then
// alternates them in rounds (and alternates single calls for latency), so a burst of
// load elsewhere hits both sides alike.
package benchutil

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// TimePerOp runs call from inFlight goroutines for about window and returns the wall
// time per completed call. The first error stops the measurement and is returned.
func TimePerOp(inFlight int, window time.Duration, call func() error) (time.Duration, error) {
	n, elapsed, err := run(inFlight, window, call)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("no call completed within %v", window)
	}
	return elapsed / time.Duration(n), nil
}

// run runs call from inFlight goroutines for about window and returns the number of
// completed calls and the wall time they took (until the last goroutine returned).
func run(inFlight int, window time.Duration, call func() error) (int64, time.Duration, error) {
	var (
		done    atomic.Int64
		stop    atomic.Bool
		errOnce sync.Once
		firstE  error
		wg      sync.WaitGroup
	)
	start := time.Now()
	for range max(1, inFlight) {
		wg.Go(func() {
			for !stop.Load() {
				if err := call(); err != nil {
					errOnce.Do(func() { firstE = err })
					stop.Store(true)
					return
				}
				done.Add(1)
			}
		})
	}
	time.Sleep(window)
	stop.Store(true)
	wg.Wait()
	return done.Load(), time.Since(start), firstE
}

// Latency calls call n times in a row and returns the p50 and p99 latencies.
func Latency(n int, call func() error) (p50, p99 time.Duration, err error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := call(); err != nil {
			return 0, 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return percentiles(ds)
}

// percentiles sorts ds and returns its p50 and p99.
func percentiles(ds []time.Duration) (p50, p99 time.Duration, err error) {
	if len(ds) == 0 {
		return 0, 0, fmt.Errorf("no latency sample")
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*99/100], nil
}

// Side is one side of a comparison: a name for the report and the call to measure.
type Side struct {
	Name string
	Call func() error
}

// Rounds is how many alternating rounds Compare splits each window into.
const Rounds = 4

// Compare measures ours against baseline and prints
//
//	ratio <name>-seq <x>
//	ratio <name>-<inFlight> <x>
//	ratio <name>-p50 <x>
//
// each followed by both sides' figures. The first two are time per op (TimePerOp with 1
// and with inFlight goroutines): after a warm-up of both sides (window/4 each), window is
// split into Rounds rounds that alternate ours and baseline, and each side's calls and
// time are summed. The p50 (with p99 beside it) comes from n sequential calls of each side,
// interleaved call by call. It returns the first error of either side.
func Compare(name string, inFlight int, window time.Duration, n int, ours, baseline Side) error {
	return CompareAs(name, fmt.Sprint(inFlight), inFlight, window, n, ours, baseline)
}

// CompareAs is Compare with the in-flight line labelled inFlightLabel instead of the
// number: CompareAs("amqp-samewire", "inflight64", 64, …) prints
// "ratio amqp-samewire-inflight64 <x>".
func CompareAs(name, inFlightLabel string, inFlight int, window time.Duration, n int, ours, baseline Side) error {
	for _, s := range []Side{ours, baseline} {
		if _, _, err := run(inFlight, window/4, s.Call); err != nil {
			return fmt.Errorf("%s (warm-up): %w", s.Name, err)
		}
	}
	for _, c := range []struct {
		label string
		par   int
	}{{"seq", 1}, {inFlightLabel, inFlight}} {
		o, b, err := alternate(c.par, window, ours, baseline)
		if err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
		fmt.Printf("ratio %s-%s %.2f\t(%s %v/op, %s %v/op)\n", name, c.label, float64(o)/float64(b), ours.Name, o, baseline.Name, b)
	}
	var od, bd []time.Duration
	for range n {
		for _, s := range []struct {
			side Side
			ds   *[]time.Duration
		}{{ours, &od}, {baseline, &bd}} {
			start := time.Now()
			if err := s.side.Call(); err != nil {
				return fmt.Errorf("%s latency: %w", s.side.Name, err)
			}
			*s.ds = append(*s.ds, time.Since(start))
		}
	}
	o50, o99, err := percentiles(od)
	if err != nil {
		return err
	}
	b50, b99, _ := percentiles(bd)
	fmt.Printf("ratio %s-p50 %.2f\t(%s p50 %v p99 %v, %s p50 %v p99 %v)\n",
		name, float64(o50)/float64(b50), ours.Name, o50, o99, baseline.Name, b50, b99)
	return nil
}

// alternate runs ours and baseline in Rounds alternating rounds of window/Rounds each
// (par goroutines) and returns each side's time per op over all its rounds.
func alternate(par int, window time.Duration, ours, baseline Side) (o, b time.Duration, err error) {
	var calls [2]int64
	var took [2]time.Duration
	for range Rounds {
		for i, s := range []Side{ours, baseline} {
			n, d, err := run(par, window/Rounds, s.Call)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %w", s.Name, err)
			}
			calls[i] += n
			took[i] += d
		}
	}
	for i, s := range []Side{ours, baseline} {
		if calls[i] == 0 {
			return 0, 0, fmt.Errorf("%s: no call completed within %v", s.Name, window)
		}
	}
	return took[0] / time.Duration(calls[0]), took[1] / time.Duration(calls[1]), nil
}
