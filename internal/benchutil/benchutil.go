// Package benchutil measures our code against a raw baseline side by side, in one run,
// and prints the `ratio <case> <number>` lines that `make bench` collects.
//
// testing.Benchmark cannot be called from inside a running benchmark (it deadlocks on the
// testing package's lock), so a ratio benchmark times both sides itself with TimePerOp
// and Latency and prints the result with PrintRatio. Nothing here asserts on speed.
package benchutil

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// TimePerOp runs call from inFlight goroutines for about window and returns the wall
// time per completed call. The first error stops the measurement and is returned.
func TimePerOp(inFlight int, window time.Duration, call func() error) (time.Duration, error) {
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
	elapsed := time.Since(start)
	if firstE != nil {
		return 0, firstE
	}
	if done.Load() == 0 {
		return 0, fmt.Errorf("no call completed within %v", window)
	}
	return elapsed / time.Duration(done.Load()), nil
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
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*99/100], nil
}

// Side is one side of a comparison: a name for the report and the call to measure.
type Side struct {
	Name string
	Call func() error
}

// Compare measures ours and baseline with TimePerOp (sequential and at inFlight), their
// sequential p50/p99 over n calls, and prints
//
//	ratio <name>-seq <x>
//	ratio <name>-<inFlight> <x>
//	ratio <name>-p50 <x>
//
// each followed by both figures. It returns the first error.
func Compare(name string, inFlight int, window time.Duration, n int, ours, baseline Side) error {
	for _, c := range []struct {
		label string
		par   int
	}{{"seq", 1}, {fmt.Sprint(inFlight), inFlight}} {
		o, err := TimePerOp(c.par, window, ours.Call)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", ours.Name, c.label, err)
		}
		b, err := TimePerOp(c.par, window, baseline.Call)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", baseline.Name, c.label, err)
		}
		fmt.Printf("ratio %s-%s %.2f\t(%s %v/op, %s %v/op)\n", name, c.label, float64(o)/float64(b), ours.Name, o, baseline.Name, b)
	}
	o50, o99, err := Latency(n, ours.Call)
	if err != nil {
		return fmt.Errorf("%s latency: %w", ours.Name, err)
	}
	b50, b99, err := Latency(n, baseline.Call)
	if err != nil {
		return fmt.Errorf("%s latency: %w", baseline.Name, err)
	}
	fmt.Printf("ratio %s-p50 %.2f\t(%s p50 %v p99 %v, %s p50 %v p99 %v)\n",
		name, float64(o50)/float64(b50), ours.Name, o50, o99, baseline.Name, b50, b99)
	return nil
}
