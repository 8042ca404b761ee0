package httpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purista-go/purista/internal/testutil/bodyload"
	"github.com/purista-go/purista/pkg/framework/internal/httpserver"
)

// slack is what a test allows beyond a configured timeout for the server to act on it.
const slack = 2 * time.Second

// start serves h with limits on a loopback port and returns the server and its address.
func start(t *testing.T, h http.Handler, l httpserver.Limits) (*httpserver.Server, string) {
	t.Helper()
	s, addr, _ := startTracked(t, h, l)
	return s, addr
}

// startTracked is start that also reports every connection the server closes.
func startTracked(t *testing.T, h http.Handler, l httpserver.Limits) (*httpserver.Server, string, <-chan struct{}) {
	t.Helper()
	s := httpserver.New(h, l, slog.New(slog.NewTextHandler(io.Discard, nil)))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &trackListener{Listener: inner, closed: make(chan struct{}, 64)}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-served
	})
	return s, ln.Addr().String(), ln.closed
}

// trackListener reports on closed each accepted connection the server closes.
type trackListener struct {
	net.Listener
	closed chan struct{}
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackConn{Conn: c, closed: l.closed}, nil
}

type trackConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *trackConn) Close() error {
	c.once.Do(func() { c.closed <- struct{}{} })
	return c.Conn.Close()
}

// readBody answers like the command handler does: the body under a limit, 413 when
// too large, the error's own status when it names one, 200 with the byte count.
func readBody(limit int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		var mbe *http.MaxBytesError
		var se interface{ HTTPStatus() int }
		switch {
		case errors.As(err, &mbe):
			httpserver.WriteProblem(w, r, http.StatusRequestEntityTooLarge, "too large")
		case errors.As(err, &se):
			httpserver.WriteProblem(w, r, se.HTTPStatus(), "")
		case err != nil:
			httpserver.WriteProblem(w, r, http.StatusBadRequest, "unreadable")
		default:
			fmt.Fprintf(w, "%d", len(body))
		}
	}
}

// waitClosed reads from c until the server closes it, and fails when that takes
// longer than within.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(within)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for more than %v", within)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestServerSlowBodyIsCut(t *testing.T) {
	l := httpserver.Limits{ReadTimeout: 300 * time.Millisecond}
	_, addr := start(t, readBody(1<<20), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // one byte at a time, far slower than the read timeout allows
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	waitClosed(t, c, l.ReadTimeout+slack)
}

func TestServerSlowHeadersAreCut(t *testing.T) {
	l := httpserver.Limits{ReadHeaderTimeout: 200 * time.Millisecond}
	_, addr := start(t, readBody(1<<20), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\n"); err != nil { // never ends the headers
		t.Fatal(err)
	}
	waitClosed(t, c, l.ReadHeaderTimeout+slack)
}

func TestServerIdleKeepAliveIsClosed(t *testing.T) {
	l := httpserver.Limits{IdleTimeout: 200 * time.Millisecond}
	_, addr := start(t, readBody(1<<20), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.Close {
		t.Fatal("the server closed a keep-alive connection right away; the test needs it idle")
	}
	waitClosed(t, c, l.IdleTimeout+slack)
}

func TestServerSlowReaderIsCut(t *testing.T) {
	l := httpserver.Limits{WriteTimeout: 300 * time.Millisecond}
	writeErr := make(chan error, 1)
	big := bytes.Repeat([]byte("x"), 64<<20) // more than the socket buffers hold
	_, addr, closed := startTracked(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, err := w.Write(big)
		writeErr <- err
	}), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing; the server's write must fail within the write timeout.
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("the server wrote 64 MiB to a client that reads nothing")
		}
	case <-time.After(l.WriteTimeout + slack):
		t.Fatalf("the handler's write to a client that reads nothing still blocks after %v", l.WriteTimeout+slack)
	}
	select { // the server's side is closed; the client would still read what the kernel buffered
	case <-closed:
	case <-time.After(slack):
		t.Fatal("the server did not close the connection of a client that reads nothing")
	}
}

func TestServerWriteTimeoutCountsFromTheFirstByte(t *testing.T) {
	l := httpserver.Limits{WriteTimeout: 100 * time.Millisecond}
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-time.After(3 * l.WriteTimeout) // a command that takes longer than the write timeout
		_, _ = io.WriteString(w, "done")
	}), l)
	resp, err := http.Get("http://" + addr + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "done" {
		t.Fatalf("got %q, %v", b, err)
	}
}

func TestServerHeaderBytesCapped(t *testing.T) {
	_, addr := start(t, readBody(1<<20), httpserver.Limits{MaxHeaderBytes: 4 << 10})
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

// problem reads an RFC 9457 problem response.
func problem(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p["status"] != float64(resp.StatusCode) || p["title"] == "" {
		t.Fatalf("problem %v does not match status %d", p, resp.StatusCode)
	}
	return p
}

func TestServerConcurrencyCap(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
	}), httpserver.Limits{MaxConcurrent: 2})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := http.Get("http://" + addr + "/hold"); err == nil {
				_ = resp.Body.Close()
			}
		}()
	}
	<-entered
	<-entered
	resp, err := http.Get("http://" + addr + "/third")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	problem(t, resp)
	close(release)
	wg.Wait()
}

func post(addr string, size int) (*http.Response, error) {
	return http.Post("http://"+addr+"/x", "application/json", bytes.NewReader(bytes.Repeat([]byte(" "), size)))
}

func TestServerBodyBudgetRefuses(t *testing.T) {
	holding := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			_, _ = io.ReadAll(r.Body)
			close(holding)
			<-release
			return
		}
		readBody(8<<20).ServeHTTP(w, r)
	})
	_, addr := start(t, h, httpserver.Limits{BodyBudget: 1 << 20, BodyWait: 100 * time.Millisecond})

	resp, err := post(addr, 2<<20) // more than the whole budget
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("body over the budget: status %d, want 413", resp.StatusCode)
	}
	problem(t, resp)

	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post("http://"+addr+"/hold", "application/json", bytes.NewReader(make([]byte, 1<<20)))
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	<-holding // the whole budget is held
	resp, err = post(addr, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("no budget left: status %d, want 503", resp.StatusCode)
	}
	problem(t, resp)
	close(release)
	<-done
	resp, err = post(addr, 1<<10) // given back when the holder was answered
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the budget was given back: status %d", resp.StatusCode)
	}
}

func TestServerBodyBudgetBoundsMemory(t *testing.T) {
	const (
		bodies   = 20
		bodySize = 8 << 20
		budget   = 32 << 20
	)
	var holders, maxHolders atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bodySize))
		if err != nil {
			var se interface{ HTTPStatus() int }
			if errors.As(err, &se) {
				w.WriteHeader(se.HTTPStatus())
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n := holders.Add(1)
		defer holders.Add(-1)
		for m := maxHolders.Load(); n > m && !maxHolders.CompareAndSwap(m, n); m = maxHolders.Load() {
		}
		if len(body) != bodySize { // the handler holds the whole body while it runs
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	_, addr := start(t, h, httpserver.Limits{BodyBudget: budget})
	res := bodyload.Post("http://"+addr+"/x", bodyload.JSONBody(bodySize), bodies)
	for i, s := range res.Statuses {
		if s != http.StatusOK {
			t.Errorf("body %d: status %d", i, s)
		}
	}
	if got := maxHolders.Load(); got > budget/bodySize {
		t.Errorf("%d bodies held at once, the budget allows %d", got, budget/bodySize)
	}
	// Sys is what the process took from the OS: its growth bounds the peak.
	grew := res.SysGrowth
	const bound = 4*budget + 32<<20
	t.Logf("Sys grew by %d MiB for %d concurrent %d MiB bodies under a %d MiB budget (bound %d MiB)",
		grew>>20, bodies, bodySize>>20, budget>>20, bound>>20)
	if grew > bound {
		t.Errorf("Sys grew by %d MiB, over the bound of %d MiB", grew>>20, bound>>20)
	}
}

func TestServerShutdownAnswers503(t *testing.T) {
	const inflight = 20
	entered := make(chan struct{}, inflight)
	lateWrites := make(chan error, inflight)
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			entered <- struct{}{}
			<-time.After(50 * time.Millisecond)
			_, _ = io.WriteString(w, "finished")
			return
		}
		entered <- struct{}{}
		<-r.Context().Done() // a command that outlasts the shutdown timeout
		_, err := io.WriteString(w, "too late")
		lateWrites <- err
	}), httpserver.Limits{})
	type result struct {
		status int
		body   string
		ct     string
		err    error
	}
	results := make(chan result, inflight+1)
	get := func(path string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			results <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		results <- result{resp.StatusCode, string(b), resp.Header.Get("Content-Type"), err}
	}
	for range inflight {
		go get("/stuck")
	}
	go get("/quick")
	for range inflight + 1 {
		<-entered
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want a deadline error: requests were cut off", err)
	}
	finished := 0
	for range inflight + 1 {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("a request cut off by shutdown got no response: %v", r.err)
		case r.status == http.StatusOK && r.body == "finished":
			finished++
		case r.status != http.StatusServiceUnavailable || r.ct != "application/problem+json" || !strings.Contains(r.body, `"status":503`):
			t.Errorf("cut-off request: %d %s %q, want a 503 problem", r.status, r.ct, r.body)
		}
	}
	if finished != 1 {
		t.Errorf("%d quick requests finished during shutdown, want 1", finished)
	}
	for range inflight {
		if err := <-lateWrites; !errors.Is(err, httpserver.ErrShuttingDown) {
			t.Errorf("a handler writing after the 503: err = %v, want ErrShuttingDown", err)
		}
	}
}

func TestServerCORS(t *testing.T) {
	preflight := func(addr, origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, "http://"+addr+"/api/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	_, off := start(t, readBody(1<<10), httpserver.Limits{})
	if got := preflight(off, "https://app.example.com").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS is off by default, yet the preflight allows %q", got)
	}
	_, on := start(t, readBody(1<<10), httpserver.Limits{CORSOrigins: []string{"https://app.example.com"}})
	resp := preflight(on, "https://app.example.com")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Errorf("configured origin: Access-Control-Allow-Origin %q", got)
	}
	if got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "authorization") {
		t.Errorf("Access-Control-Allow-Headers %q lacks Authorization", got)
	}
	if got := preflight(on, "https://evil.example").Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("another origin is allowed: %q", got)
	}
}
