// Package httpserver runs the HTTP servers of a purista process (command endpoints and
// health) with limits that hold against hostile clients: read, write and idle timeouts,
// a header size limit, a cap on requests in flight, a byte budget shared by all request
// bodies being read, optional CORS, and a shutdown that answers the requests it has to
// cut off with a 503 problem instead of closing their connections.
package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/cors"
	"golang.org/x/sync/semaphore"
)

// Limits are a server's bounds. Zero values take the defaults of DefaultLimits.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from its first byte to its last (the
	// handler's own time before it answers does not count).
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the size of a request's headers.
	MaxHeaderBytes int
	// MaxConcurrent caps the requests in flight; more are answered 503 at once.
	MaxConcurrent int
	// BodyBudget caps the request body bytes held by all requests together. A request
	// takes its Content-Length from the budget when it first reads its body (a body of
	// unknown length takes what it reads, as it reads) and gives it back when it is
	// answered. A body larger than the whole budget is refused as too large (413); a
	// request that cannot get its share within BodyWait fails with a 503. Negative: no
	// request may send a body.
	BodyBudget int64
	// BodyWait bounds the wait for a share of BodyBudget (default ReadTimeout).
	BodyWait time.Duration
	// CORSOrigins enables CORS for these origins ("https://app.example.com", "*"); empty
	// leaves CORS off, so browsers refuse cross-origin calls.
	CORSOrigins []string
	// CORSHeaders are the request headers a cross-origin call may send, besides the
	// CORS-safelisted ones (default Authorization, Content-Type, X-API-Key).
	CORSHeaders []string
}

// DefaultLimits are the limits of the command server.
func DefaultLimits() Limits {
	return Limits{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10, MaxConcurrent: 256, BodyBudget: 32 << 20}
}

// HealthLimits are the limits of the health server: small, no request bodies.
func HealthLimits() Limits {
	return Limits{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 8 << 10, MaxConcurrent: 32, BodyBudget: -1}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = d.ReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = d.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = d.WriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = d.MaxConcurrent
	}
	if l.BodyBudget == 0 {
		l.BodyBudget = d.BodyBudget
	}
	if l.BodyWait <= 0 {
		l.BodyWait = l.ReadTimeout
	}
	if len(l.CORSHeaders) == 0 {
		l.CORSHeaders = []string{"Authorization", "Content-Type", "X-API-Key"}
	}
	return l
}

// ErrBodyBudget reports a request body that could not get its share of the body budget
// in time. The error a body read returns for it also has HTTPStatus() 503.
var ErrBodyBudget = errors.New("the server is reading as many request bodies as it may hold: try again")

// ErrShuttingDown is what a handler's writes return after the server answered its
// request with a 503 because shutdown cut it off.
var ErrShuttingDown = errors.New("the request was answered 503: the server is shutting down")

// Server is an HTTP server with Limits.
type Server struct {
	srv    *http.Server
	limits Limits
	log    *slog.Logger
	budget *semaphore.Weighted
	active atomic.Int64 // requests in flight

	mu       sync.Mutex
	inflight map[*guardWriter]struct{}
	cut      bool // shutdown answered every request in flight; later ones too
}

// New returns a server for h with limits l. log receives the server's own errors (TLS
// handshakes, panics, refused connections).
func New(h http.Handler, l Limits, log *slog.Logger) *Server {
	l = l.withDefaults()
	s := &Server{limits: l, log: log, inflight: map[*guardWriter]struct{}{}}
	if l.BodyBudget > 0 {
		s.budget = semaphore.NewWeighted(l.BodyBudget)
	}
	if len(l.CORSOrigins) > 0 {
		h = cors.New(cors.Options{AllowedOrigins: l.CORSOrigins, AllowedHeaders: l.CORSHeaders,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			MaxAge:         600}).Handler(h)
	}
	s.srv = &http.Server{
		Handler:           s.guard(h),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s
}

// Limits returns the server's limits, defaults filled in.
func (s *Server) Limits() Limits { return s.limits }

// Serve accepts connections on ln until Shutdown; it returns http.ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting connections and waits for the requests in flight until ctx
// is done. Shortly before ctx's deadline (a tenth of the time left, at most a second) it
// answers every request still in flight that has not begun its response with a 503
// problem, then closes all connections when ctx is done. It returns nil when every
// request finished in time.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(ctx) }() // ends at the latest when ctx is done
	var cutAt <-chan time.Time
	if dl, ok := ctx.Deadline(); ok {
		margin := min(time.Until(dl)/10, time.Second)
		t := time.NewTimer(time.Until(dl) - margin)
		defer t.Stop()
		cutAt = t.C
	}
	select {
	case err := <-done:
		return err
	case <-cutAt:
		s.cutOff()
	case <-ctx.Done():
		s.cutOff()
	}
	err := <-done
	if err != nil {
		_ = s.srv.Close() // the cut-off requests are answered; their handlers may still run
	}
	return err
}

// Close closes the listeners and connections at once.
func (s *Server) Close() error { return s.srv.Close() }

// cutOff answers every request in flight that has not begun its response with a 503.
func (s *Server) cutOff() {
	s.mu.Lock()
	s.cut = true
	ws := make([]*guardWriter, 0, len(s.inflight))
	for w := range s.inflight {
		ws = append(ws, w)
	}
	s.mu.Unlock()
	for _, w := range ws {
		w.cutOff()
	}
}

// guard wraps h with the concurrency cap, the body budget and the shutdown answer.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := s.active.Add(1); n > int64(s.limits.MaxConcurrent) {
			s.active.Add(-1)
			w.Header().Set("Retry-After", "1")
			WriteProblem(w, r, http.StatusServiceUnavailable, "the server is answering as many requests as it may: try again")
			return
		}
		defer s.active.Add(-1)
		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		r = r.WithContext(ctx)
		gw := &guardWriter{w: w, req: r, header: http.Header{}, writeTimeout: s.limits.WriteTimeout, cancel: cancel}
		s.mu.Lock()
		if s.cut {
			s.mu.Unlock()
			w.Header().Set("Connection", "close")
			WriteProblem(w, r, http.StatusServiceUnavailable, "the server is shutting down: try again")
			return
		}
		s.inflight[gw] = struct{}{}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			delete(s.inflight, gw)
			s.mu.Unlock()
			gw.mu.Lock() // a cut-off in progress ends before the server finishes the response
			gw.done = true
			gw.mu.Unlock()
		}()
		body := &budgetBody{rc: r.Body, s: s, ctx: r.Context(), length: r.ContentLength}
		defer body.release()
		r.Body = body
		h.ServeHTTP(gw, r)
	})
}

// guardWriter serialises the handler's writes with the shutdown's 503, and gives every
// response the full WriteTimeout from its first byte. The handler writes headers into
// its own map, copied to the connection's when the response begins.
type guardWriter struct {
	w            http.ResponseWriter
	req          *http.Request
	header       http.Header
	writeTimeout time.Duration
	cancel       context.CancelCauseFunc // of the request's context

	mu      sync.Mutex
	started bool // WriteHeader was called on w
	cut     bool // answered 503 by shutdown
	done    bool // the handler returned
}

func (g *guardWriter) Header() http.Header { return g.header }

// begin starts the response; g.mu is held.
func (g *guardWriter) begin(code int) {
	if g.started {
		return
	}
	g.started = true
	dst := g.w.Header()
	for k, v := range g.header {
		dst[k] = v
	}
	_ = http.NewResponseController(g.w).SetWriteDeadline(time.Now().Add(g.writeTimeout))
	g.w.WriteHeader(code)
}

func (g *guardWriter) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.cut && code >= 200 { // 1xx headers are not the response
		g.begin(code)
	} else if !g.cut {
		g.w.WriteHeader(code)
	}
}

func (g *guardWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cut {
		return 0, ErrShuttingDown
	}
	g.begin(http.StatusOK)
	return g.w.Write(p)
}

// FlushError flushes the response written so far.
func (g *guardWriter) FlushError() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cut {
		return ErrShuttingDown
	}
	g.begin(http.StatusOK)
	return http.NewResponseController(g.w).Flush()
}

// Flush is FlushError without the error.
func (g *guardWriter) Flush() { _ = g.FlushError() }

// Unwrap gives http.ResponseController the connection's writer (deadlines).
func (g *guardWriter) Unwrap() http.ResponseWriter { return g.w }

// cutOff answers 503 when the response has not begun, and cancels the request's
// context. A writer busy writing has begun its response and is left alone.
func (g *guardWriter) cutOff() {
	if !g.mu.TryLock() {
		return
	}
	defer g.mu.Unlock()
	if g.started || g.cut || g.done {
		return
	}
	defer g.cancel(ErrShuttingDown)
	g.cut = true
	g.started = true
	g.w.Header().Set("Connection", "close")
	g.w.Header().Set("Retry-After", "1")
	_ = http.NewResponseController(g.w).SetWriteDeadline(time.Now().Add(g.writeTimeout))
	WriteProblem(g.w, g.req, http.StatusServiceUnavailable, "the server shut down before the request finished: try again")
	_ = http.NewResponseController(g.w).Flush()
}

// budgetBody takes the request's share of the body budget when the body is first read
// and gives it back in release.
type budgetBody struct {
	rc     interface{ Read([]byte) (int, error) }
	s      *Server
	ctx    context.Context
	length int64 // Content-Length, -1 when unknown

	mu   sync.Mutex
	held int64
	err  error // a refused share: every later read fails with it
}

// budgetError is a body read refused for lack of budget; it names the status to
// answer with.
type budgetError struct{}

func (budgetError) Error() string        { return ErrBodyBudget.Error() }
func (budgetError) Is(target error) bool { return target == ErrBodyBudget }
func (budgetError) HTTPStatus() int      { return http.StatusServiceUnavailable }

// chunk is the share a body of unknown length takes per read.
const chunk = 32 << 10

func (b *budgetBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return b.rc.Read(p)
	}
	total := b.s.limits.BodyBudget
	if total < 0 && b.length != 0 {
		b.err = &http.MaxBytesError{Limit: 0}
		return 0, b.err
	}
	var want int64
	switch {
	case b.length >= 0 && b.held == 0:
		want = b.length // the whole body at once: no request waits holding part of it
	case b.length < 0:
		if len(p) > chunk {
			p = p[:chunk]
		}
		want = int64(len(p))
	}
	if want > 0 {
		if b.held+want > total {
			b.err = &http.MaxBytesError{Limit: total}
			return 0, b.err
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.s.limits.BodyWait)
		err := b.s.budget.Acquire(ctx, want)
		cancel()
		if err != nil {
			b.err = budgetError{}
			return 0, b.err
		}
		b.held += want
	}
	n, err := b.rc.Read(p)
	if b.length < 0 && int64(n) < want {
		b.s.budget.Release(want - int64(n))
		b.held -= want - int64(n)
	}
	return n, err
}

func (b *budgetBody) Close() error {
	if c, ok := b.rc.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// release gives the body's share back.
func (b *budgetBody) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held > 0 {
		b.s.budget.Release(b.held)
		b.held = 0
	}
}

// WriteProblem answers an RFC 9457 problem of status with detail.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	body, _ := json.Marshal(struct { // strings and an int always encode
		Type     string `json:"type"`
		Title    string `json:"title"`
		Status   int    `json:"status"`
		Detail   string `json:"detail,omitempty"`
		Instance string `json:"instance,omitempty"`
	}{"about:blank", http.StatusText(status), status, detail, r.URL.Path})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may have gone
}

// Describe returns the limits as log attributes.
func (l Limits) Describe() []any {
	return []any{slog.Duration("readTimeout", l.ReadTimeout), slog.Duration("writeTimeout", l.WriteTimeout),
		slog.Duration("idleTimeout", l.IdleTimeout), slog.Int("maxConcurrent", l.MaxConcurrent),
		slog.String("bodyBudget", fmt.Sprintf("%d", l.BodyBudget))}
}
