package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/purista-go/purista/pkg/framework/httpauth"
)

// Config is what New needs to serve a set of compiled routes.
type Config struct {
	// Routes are the routes Compile returned.
	Routes []*Route
	// Auth verifies callers; nil when none is configured (then non-public endpoints
	// answer 401, and New's caller should have refused to start).
	Auth httpauth.Authenticator
	// PublicIndex serves GET /api and GET /openapi.json without credentials.
	PublicIndex bool
	// Index and OpenAPI are the bodies of GET /api and GET /openapi.json.
	Index, OpenAPI []byte
	// Invoke runs a command call.
	Invoke InvokeFunc
	// Trace returns the request's context and trace id.
	Trace TraceFunc
	// Log receives internal failures (an authenticator's errors).
	Log *slog.Logger
	// Observe, when set, receives every request once it is answered: its method, the
	// path pattern of the route it matched ("" for none), the status and the duration.
	Observe func(method, route string, status int, d time.Duration)
}

// Handler serves compiled routes. It is safe for concurrent use.
type Handler struct {
	cfg       Config
	challenge string // WWW-Authenticate of 401 answers
}

// New returns the handler of cfg.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, challenge: challenge(cfg.Auth)}
}

// ServeHTTP implements http.Handler. Every answer other than a command's success is an
// RFC 9457 problem; no path is ever redirected.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	if h.cfg.Observe != nil {
		start = time.Now()
	}
	ctx, traceID := h.cfg.Trace(r)
	instance := r.URL.EscapedPath()
	var rt *Route
	out, p := h.serve(ctx, w, r, traceID, &rt)
	if span := trace.SpanFromContext(ctx); rt != nil && span.IsRecording() {
		// The HTTP server span around the handler (if any) is named by its route.
		span.SetName(r.Method + " " + rt.Path)
		span.SetAttributes(semconv.HTTPRoute(rt.Path))
	}
	if p != nil {
		p.write(w, instance, traceID)
	} else if out != nil {
		_, _ = w.Write(out) // the client may have gone
	}
	if h.cfg.Observe != nil {
		route, status := "", http.StatusOK
		if rt != nil {
			route = rt.Path
			if rt.Status != 0 {
				status = rt.Status
			}
		}
		if p != nil {
			status = p.Status
		}
		h.cfg.Observe(r.Method, route, status, time.Since(start))
	}
}

// serve answers r: the problem to send, or the body of a success whose headers are
// already written.
// *matched is set to the route r matched.
func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, traceID string, matched **Route) ([]byte, *Problem) {
	segs, p := splitPath(r.URL)
	if p != nil {
		return nil, p
	}
	rt, values, p := h.match(r.Method, segs)
	if p != nil {
		return nil, p
	}
	*matched = rt
	id, p := h.authenticate(r, rt)
	if p != nil {
		return nil, p
	}
	switch rt.builtin {
	case indexRoute:
		return h.document(w, h.cfg.Index, "application/json")
	case openAPIRoute:
		return h.document(w, h.cfg.OpenAPI, "application/json")
	}
	body, p := readBody(w, r, rt)
	if p != nil {
		return nil, p
	}
	param, p := rt.parameter(values, r.URL.Query())
	if p != nil {
		return nil, p
	}
	out, p := h.cfg.Invoke(ctx, Call{Route: rt, Payload: body, Parameter: param, Identity: id, TraceID: traceID})
	if p != nil {
		return nil, p
	}
	w.Header().Set("Content-Type", rt.Produces[0])
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(rt.Status)
	if rt.Status == http.StatusNoContent {
		return nil, nil
	}
	return append(out, '\n'), nil
}

func (h *Handler) document(w http.ResponseWriter, body []byte, ct string) ([]byte, *Problem) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	return body, nil
}

// splitPath returns the unescaped segments of a request path, or a 400 problem for a
// path that is not in canonical form (empty, '.' or '..' segments, bad escapes): such
// paths are refused, never cleaned and redirected.
func splitPath(u *url.URL) ([]string, *Problem) {
	raw := u.EscapedPath()
	if !strings.HasPrefix(raw, "/") {
		return nil, NewProblem(http.StatusBadRequest, "the request path must start with '/'")
	}
	if raw == "/" {
		return nil, nil
	}
	parts := strings.Split(raw[1:], "/")
	segs := make([]string, len(parts))
	for i, part := range parts {
		s, err := url.PathUnescape(part)
		switch {
		case err != nil:
			return nil, NewProblem(http.StatusBadRequest, "the request path has a malformed %-escape")
		case part == "" && i == len(parts)-1:
			return nil, NewProblem(http.StatusNotFound, "no endpoint at this path: paths have no trailing '/'")
		case s == "" || s == "." || s == "..":
			return nil, NewProblem(http.StatusBadRequest, "the request path has an empty, '.' or '..' segment: send the canonical path")
		}
		segs[i] = s
	}
	return segs, nil
}

// match finds the route for method and path segments, with the values of its path
// parameters: the most specific route whose path matches, a 405 problem (with Allow)
// when only other methods match, a 404 problem when no path does.
func (h *Handler) match(method string, segs []string) (*Route, map[string]string, *Problem) {
	var best *Route
	var allow []string
	for _, rt := range h.cfg.Routes {
		if !matches(rt.segs, segs) {
			continue
		}
		if rt.Method != method {
			if !slices.Contains(allow, rt.Method) {
				allow = append(allow, rt.Method)
			}
			continue
		}
		if best == nil || moreSpecific(rt.segs, best.segs) {
			best = rt
		}
	}
	if best == nil && len(allow) > 0 {
		slices.Sort(allow)
		return nil, nil, NewProblem(http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here: use %s", method, orList(allow))).
			withHeader("Allow", strings.Join(allow, ", "))
	}
	if best == nil {
		return nil, nil, NewProblem(http.StatusNotFound, "no endpoint at this path")
	}
	var values map[string]string
	for i, s := range best.segs {
		if s.param != "" {
			if values == nil {
				values = map[string]string{}
			}
			values[s.param] = segs[i]
		}
	}
	return best, values, nil
}

func matches(route []segment, segs []string) bool {
	if len(route) != len(segs) {
		return false
	}
	for i, s := range route {
		if s.param == "" && s.lit != segs[i] {
			return false
		}
	}
	return true
}

// moreSpecific reports whether a has a literal at the first position where a and b
// differ in kind.
func moreSpecific(a, b []segment) bool {
	for i := range a {
		if (a[i].param == "") != (b[i].param == "") {
			return a[i].param == ""
		}
	}
	return false
}

// authenticate verifies the caller of rt. Non-public routes need an identity; public
// routes take one when the request carries credentials.
func (h *Handler) authenticate(r *http.Request, rt *Route) (httpauth.Identity, *Problem) {
	public := rt.Public || rt.builtin != notBuiltin && h.cfg.PublicIndex
	if h.cfg.Auth == nil {
		if public {
			return httpauth.Identity{}, nil
		}
		return httpauth.Identity{}, h.unauthorized("this endpoint needs credentials and the server has no authenticator configured")
	}
	id, err := h.callAuth(r)
	switch {
	case err == nil && id.PrincipalID != "":
		return id, nil
	case err == nil:
		return id, h.unauthorized("the credentials name no principal")
	case public && errors.Is(err, httpauth.ErrNoCredentials):
		return httpauth.Identity{}, nil
	case errors.Is(err, httpauth.ErrForbidden):
		return id, NewProblem(http.StatusForbidden, "the credentials may not call this endpoint")
	case errors.Is(err, httpauth.ErrNoCredentials):
		return id, h.unauthorized("this endpoint needs credentials")
	case errors.Is(err, httpauth.ErrInvalidCredentials):
		return id, h.unauthorized("the credentials are not valid")
	}
	h.cfg.Log.Error("authenticator failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	return id, NewProblem(http.StatusInternalServerError, "")
}

// callAuth runs the authenticator, turning a panic into an error.
func (h *Handler) callAuth(r *http.Request) (id httpauth.Identity, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("authenticator panicked: %v", p)
		}
	}()
	return h.cfg.Auth.Authenticate(r)
}

func (h *Handler) unauthorized(detail string) *Problem {
	return NewProblem(http.StatusUnauthorized, detail).withHeader("WWW-Authenticate", h.challenge)
}

// readBody returns the command input of a request: the body of POST, PUT and PATCH
// requests ("{}" when empty) after checking its content type, size and JSON syntax; "{}"
// for methods without a body, which must send none.
func readBody(w http.ResponseWriter, r *http.Request, rt *Route) (json.RawMessage, *Problem) {
	if !hasBody(rt.Method) {
		if r.ContentLength != 0 {
			return nil, NewProblem(http.StatusBadRequest, rt.Method+" takes no request body: send the values in the path or query")
		}
		return json.RawMessage("{}"), nil
	}
	mt, utf8 := mediaType(r.Header.Get("Content-Type"))
	if !slices.Contains(rt.Consumes, mt) || !utf8 {
		p := NewProblem(http.StatusUnsupportedMediaType,
			fmt.Sprintf("the request body must be %s (UTF-8): set the Content-Type header", orList(rt.Consumes)))
		switch rt.Method { // RFC 5789 and the Linked Data Platform name the accepted types
		case http.MethodPost:
			p.withHeader("Accept-Post", strings.Join(rt.Consumes, ", "))
		case http.MethodPatch:
			p.withHeader("Accept-Patch", strings.Join(rt.Consumes, ", "))
		}
		return nil, p
	}
	if r.ContentLength > rt.BodyLimit {
		return nil, tooLarge(rt.BodyLimit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rt.BodyLimit))
	var mbe *http.MaxBytesError
	var se statusError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge(rt.BodyLimit)
	case errors.As(err, &se):
		return nil, NewProblem(se.HTTPStatus(), "") // the server's own limit, such as its body budget
	case err != nil:
		return nil, NewProblem(http.StatusBadRequest, "the request body could not be read")
	case len(body) == 0:
		return json.RawMessage("{}"), nil
	case !json.Valid(body):
		return nil, NewProblem(http.StatusBadRequest, "the request body is not valid JSON")
	}
	return body, nil
}

func tooLarge(limit int64) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than this endpoint's limit of %d bytes", limit))
}

// statusError is a body read error that names the status to answer with (the server's
// request-body budget does).
type statusError interface {
	error
	HTTPStatus() int
}

// orList joins items as "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
