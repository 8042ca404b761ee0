// Package benchutil measures our code against a raw baseline side by side, in one run,
// and prints the `ratio <case> <number>` lines that `make bench` collects.
//
// testing.Benchmark cannot run inside a benchmark (it deadlocks), so ratios are computed
// from a test that is skipped unless PURISTA_BENCH=1 — `make bench` sets it. The test
// prints; it never asserts on speed.
package benchutil

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"
)

// Enabled reports whether ratio measurements were asked for (PURISTA_BENCH=1); when not,
// it skips t with the reason.
func Enabled(t *testing.T) bool {
	t.Helper()
	if os.Getenv("PURISTA_BENCH") != "1" {
		t.Skip("ratio measurement runs only under `make bench` (PURISTA_BENCH=1)")
		return false
	}
	return true
}

// Result is one side of a comparison.
type Result struct {
	NsPerOp     int64
	AllocsPerOp int64
}

// Compare benchmarks ours and baseline one after the other, prints
// `ratio <name> <ours÷baseline ns/op>` with both figures, and returns the ratio.
func Compare(t *testing.T, name string, ours, baseline func(b *testing.B)) float64 {
	t.Helper()
	o, p := testing.Benchmark(ours), testing.Benchmark(baseline)
	if o.N == 0 || p.N == 0 {
		t.Errorf("%s: a benchmark failed (ours N=%d, baseline N=%d)", name, o.N, p.N)
		return 0
	}
	r := float64(o.NsPerOp()) / float64(p.NsPerOp())
	fmt.Printf("ratio %s %.2f\t(ours %d ns/op %d allocs/op; baseline %d ns/op %d allocs/op)\n",
		name, r, o.NsPerOp(), o.AllocsPerOp(), p.NsPerOp(), p.AllocsPerOp())
	return r
}

// Sequential returns a benchmark body that calls call once per iteration.
func Sequential(call func() error) func(b *testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// InFlight returns a benchmark body that keeps n calls in flight (n goroutines in all,
// whatever GOMAXPROCS is).
func InFlight(n int, call func() error) func(b *testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		procs := testingProcs()
		b.SetParallelism(max(1, n/procs))
		var once sync.Once
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := call(); err != nil {
					once.Do(func() { b.Error(err) })
				}
			}
		})
	}
}

// Latency calls call n times sequentially and returns the p50 and p99 latencies.
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
	return ds[n/2], ds[n*99/100], nil
}

// CompareLatency measures p50/p99 of ours and baseline and prints
// `ratio <name>-p50 <x>` plus the figures.
func CompareLatency(t *testing.T, name string, n int, ours, baseline func() error) {
	t.Helper()
	o50, o99, err := Latency(n, ours)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	b50, b99, err := Latency(n, baseline)
	if err != nil {
		t.Errorf("%s baseline: %v", name, err)
		return
	}
	fmt.Printf("ratio %s-p50 %.2f\t(ours p50 %v p99 %v; baseline p50 %v p99 %v)\n",
		name, float64(o50)/float64(b50), o50, o99, b50, b99)
}
