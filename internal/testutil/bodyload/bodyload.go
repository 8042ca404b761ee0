// Package bodyload sends many request bodies to an HTTP server at once and measures what
// the test process took from the OS meanwhile, for tests that bound the memory a server
// spends on request bodies.
package bodyload

import (
	"bytes"
	"net/http"
	"runtime"
	"sync"
)

// JSONBody returns the JSON object {"pad":"aaa…"} of exactly size bytes (size ≥ 10).
func JSONBody(size int) []byte {
	return append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), size-10)...), '"', '}')
}

// Result is what one concurrent load saw.
type Result struct {
	// Statuses holds the status of each request's answer, 0 for a request that failed.
	Statuses []int
	// SysGrowth is how much runtime.MemStats.Sys (memory taken from the OS) grew from
	// just before the load, after a garbage collection, to after every answer.
	SysGrowth int64
}

// Post sends payload as application/json to url from n goroutines at once and returns
// once every request is answered or failed. It blocks for as long as the slowest request.
func Post(url string, payload []byte, n int) Result {
	res := Result{Statuses: make([]int, n)}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := http.Post(url, "application/json", bytes.NewReader(payload))
			if err != nil {
				return
			}
			res.Statuses[i] = resp.StatusCode
			_ = resp.Body.Close()
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	res.SysGrowth = int64(after.Sys) - int64(before.Sys)
	return res
}
