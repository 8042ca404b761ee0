package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/httpauth"
	"github.com/purista-go/purista/pkg/framework/internal/httpserver"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
)

// Exit codes of App.Run and App.Main.
const (
	ExitOK      = 0 // clean shutdown
	ExitFailure = 1 // the application failed while starting or running
	ExitConfig  = 2 // the command line, the configuration or a service definition is invalid
)

// Errors of the runner, matchable with errors.Is.
var (
	// ErrUnknownService: PURISTA_SERVICES (--services) names a service the application
	// does not have.
	ErrUnknownService = errors.New("unknown service")
)

// exitCode reports err on stderr and returns the exit code for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	if errors.Is(err, framework.ErrConfig) || errors.Is(err, framework.ErrInvalidDefinition) || errors.Is(err, ErrUnknownService) {
		return ExitConfig
	}
	return ExitFailure
}

// writeOpenAPI writes the OpenAPI document of the services cfg selects to
// cfg.OpenAPIOut (--openapi-out).
func writeOpenAPI(cfg config, services []*framework.Service) error {
	selected, err := selectServices(services, cfg.Services)
	if err != nil {
		return err
	}
	doc, err := framework.OpenAPIDocument(selected)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.OpenAPIOut, doc, 0o644); err != nil {
		return fmt.Errorf("write the OpenAPI document (--openapi-out): %w", err)
	}
	return nil
}

// runServices starts the services selected by cfg on the bridge it names, serves
// health, blocks until ctx is done, and then shuts down gracefully within
// cfg.ShutdownTimeout. It returns nil after a clean shutdown.
//
// No credential of cfg.Bridge (password, token or user-only userinfo, ?token=) appears
// in what it shows: its log lines (also those of the bridge and of the event stream),
// its error, and the health endpoint's bodies are scrubbed, whatever a bridge or its
// client library put into them.
func runServices(ctx context.Context, cfg config, services []*framework.Service, rs settings, logOut io.Writer) error {
	return redact.Error(run(ctx, cfg, services, rs, logOut), cfg.Bridge)
}

func run(ctx context.Context, cfg config, services []*framework.Service, rs settings, logOut io.Writer) error {
	var handler slog.Handler
	hopts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(logOut, hopts)
	} else {
		handler = slog.NewTextHandler(logOut, hopts)
	}
	var stream *eventStream
	if cfg.Events != "" {
		w, closeFn, err := openEvents(cfg.Events)
		if err != nil {
			return fmt.Errorf("%w: events %q: %w", framework.ErrConfig, cfg.Events, err)
		}
		defer closeFn()
		stream = newEventStream(w)
		handler = teeHandler{handler, stream.LogHandler(cfg.LogLevel)}
	}
	log := slog.New(redactLogs(handler, cfg.Bridge))
	defer routeOtelErrors(log)() // after the providers' shutdown (deferred below) reported its errors

	selected, err := selectServices(services, cfg.Services)
	if err != nil {
		return err
	}
	getenv := cfg.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	tp, err := newTracerProvider(ctx, getenv, selected)
	if err != nil {
		return err
	}
	if tp != nil {
		defer func() { // after the drain, so that its spans are sent too
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			if err := tp.Shutdown(fctx); err != nil {
				log.Warn("traces not flushed", slog.Any("error", err))
			}
		}()
	}
	mp, err := newMetrics(ctx, getenv, selected, cfg.HealthAddr != "")
	if err != nil {
		return err
	}
	if mp != nil {
		defer func() { // after the drain, so that the last OTLP export holds all of it
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			if err := mp.shutdown(fctx); err != nil {
				log.Warn("metrics not flushed", slog.Any("error", err))
			}
		}()
	}
	b, err := newBridge(cfg, log)
	if err != nil {
		return err
	}
	rtOpts := []framework.StartOption{framework.WithLogger(log), withBridgeURL(cfg.Bridge)}
	if tp != nil {
		rtOpts = append(rtOpts, framework.WithTracerProvider(tp))
	}
	if mp != nil {
		rtOpts = append(rtOpts, framework.WithMeterProvider(mp.provider))
	}
	rtOpts = append(rtOpts, rs.startOpts...) // the application's own options win
	if stream != nil {
		rtOpts = append(rtOpts, WithObserver(stream))
		for _, s := range selected {
			stream.State(s.Name(), "starting", nil)
		}
	}
	startCtx, cancelStart := context.WithTimeout(ctx, cfg.StartTimeout)
	rt, err := framework.Start(startCtx, b, selected, rtOpts...)
	cancelStart()
	if err != nil && ctx.Err() != nil {
		// SIGINT/SIGTERM while still connecting: the user asked to stop, nothing ran.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		_ = b.Close(closeCtx)
		log.Info("stopped before the services were ready", slog.Any("reason", context.Cause(ctx)))
		return nil
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w: no connection to %s within %v: is the broker running? (raise PURISTA_START_TIMEOUT or --start-timeout to wait longer)",
				err, RedactURL(cfg.Bridge), cfg.StartTimeout)
		}
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		_ = b.Close(closeCtx)
		return err
	}
	serve := func(addr string, h http.Handler, what string, l httpserver.Limits) (*httpserver.Server, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s address %s: %w (choose another with --%s-addr)", what, addr, err, what)
		}
		srv := httpserver.New(h, l, log)
		go func() { _ = srv.Serve(ln) }() // ends when Shutdown below closes the server
		log.Info(what+" endpoint listening", append([]any{slog.String("addr", ln.Addr().String())}, srv.Limits().Describe()...)...)
		return srv, nil
	}
	// The HTTP listener opens before the health endpoint: once /readyz answers, the HTTP
	// port accepts connections.
	var healthSrv, httpSrv *httpserver.Server
	var startErr error
	authCtx, stopAuth := context.WithCancel(context.WithoutCancel(ctx)) // ends the JWKS refresh
	defer stopAuth()
	if cfg.HTTPAddr != "" {
		var h http.Handler
		if h, startErr = httpHandler(authCtx, rt, cfg, rs.httpOpts, log); startErr == nil {
			httpSrv, startErr = serve(cfg.HTTPAddr, h, "http", serverLimits(cfg.HTTPLimits))
		}
	}
	if startErr == nil && cfg.HealthAddr != "" {
		healthSrv, startErr = serve(cfg.HealthAddr, healthHandler(rt.HealthHandler(), mp), "health", httpserver.HealthLimits())
	}
	names := make([]string, len(selected))
	for i, s := range selected {
		names[i] = s.Name()
		if stream != nil && startErr == nil { // not ready when health or HTTP could not listen
			stream.State(s.Name(), "ready", s.Commands())
		}
	}
	if startErr == nil {
		log.Info("services ready", slog.String("bridge", b.Name()), slog.String("url", RedactURL(cfg.Bridge)),
			slog.String("services", strings.Join(names, ",")), slog.String("instanceId", b.InstanceID()))
		if rs.ready != nil {
			rs.ready(rt)
		}
		<-ctx.Done()
		log.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	}
	if stream != nil {
		for _, n := range names {
			stream.State(n, "draining", nil)
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if startErr != nil {
		errs = append(errs, startErr)
	}
	if httpSrv != nil {
		// Stop taking HTTP calls and finish them before the bridge drains; calls still
		// running near the end of nine tenths of the timeout are answered 503.
		hctx, hcancel := context.WithTimeout(sctx, cfg.ShutdownTimeout*9/10)
		_ = httpSrv.Shutdown(hctx)
		hcancel()
	}
	if err := rt.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("graceful shutdown did not finish within %v: %w", cfg.ShutdownTimeout, err))
	}
	if healthSrv != nil {
		_ = healthSrv.Shutdown(sctx) // health answers until the drain is over
	}
	if stream != nil {
		for _, n := range names {
			stream.State(n, "stopped", nil)
		}
	}
	if len(errs) == 0 {
		log.Info("stopped cleanly")
	}
	return errors.Join(errs...)
}

// httpHandler builds the HTTP command handler with the authenticator cfg configures
// (before the options of WithHTTPOptions, so that one given there wins). ctx bounds the
// authenticator's background work.
func httpHandler(ctx context.Context, rt *framework.Runtime, cfg config, opts []framework.HTTPOption, log *slog.Logger) (http.Handler, error) {
	a, err := httpauth.New(ctx, cfg.HTTPAuth, log)
	if err != nil {
		return nil, fmt.Errorf("%w: HTTP authentication: %w", framework.ErrConfig, err)
	}
	var first []framework.HTTPOption
	if a != nil {
		first = append(first, framework.WithAuthenticator(a))
	}
	if cfg.HTTPPublicIndex {
		first = append(first, framework.WithPublicIndex())
	}
	if cfg.HTTPAuth.DevInsecure {
		first = append(first, framework.WithCommandRoutes())
		log.Warn("HTTP DEVELOPMENT MODE (PURISTA_HTTP_DEV_INSECURE): requests without credentials are let in as whoever their X-Principal-Id header names, and every command is served at POST /api/<service>/v<version>/<command>; never run this in production")
	}
	budget := serverLimits(cfg.HTTPLimits).BodyBudget
	if budget == 0 {
		budget = httpserver.DefaultLimits().BodyBudget
	}
	for _, svc := range rt.Services() {
		for _, c := range svc.Commands() {
			if c.HTTP != nil && c.HTTP.BodyLimit > budget {
				return nil, fmt.Errorf("%w: the endpoint %s %s of %s/v%s.%s takes bodies of up to %d bytes, more than the %d bytes all requests may hold together: raise PURISTA_HTTP_MAX_BODY_MEMORY (--http-max-body-memory) or lower its BodyLimit",
					framework.ErrConfig, c.HTTP.Method, c.HTTP.Path, c.Service, c.Version, c.Name, c.HTTP.BodyLimit, budget)
			}
		}
	}
	h, err := rt.HTTPHandler(append(first, opts...)...)
	if errors.Is(err, framework.ErrNoAuthenticator) {
		err = fmt.Errorf("%w; configure an authenticator: PURISTA_HTTP_AUTH_JWKS_URL or PURISTA_HTTP_AUTH_JWT_KEYS_FILE with PURISTA_HTTP_AUTH_JWT_AUDIENCE (bearer JWTs), "+
			"PURISTA_HTTP_API_KEYS or PURISTA_HTTP_API_KEYS_FILE (API keys), or PURISTA_HTTP_TRUSTED_PROXIES (identity headers from your gateway); "+
			"mark endpoints Public: true if anyone may call them; for local development only, PURISTA_HTTP_DEV_INSECURE=1 (docs/http.md)", err)
	}
	return h, err
}

// serverLimits turns the configured limits into the server's.
func serverLimits(l httpLimits) httpserver.Limits {
	return httpserver.Limits{ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes, MaxConcurrent: l.MaxConcurrent,
		BodyBudget: l.BodyMemory, CORSOrigins: l.CORSOrigins}
}

// selectServices returns the services named in names (all when names is empty), or an
// error wrapping ErrUnknownService that lists the available names.
func selectServices(all []*framework.Service, names []string) ([]*framework.Service, error) {
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]*framework.Service{}
	avail := make([]string, 0, len(all))
	for _, s := range all {
		if s == nil {
			continue
		}
		byName[strings.ToLower(s.Name())] = s
		avail = append(avail, s.Name())
	}
	var out []*framework.Service
	for _, n := range names {
		s, ok := byName[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("%w %q: this application has %s", ErrUnknownService, n, strings.Join(avail, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// openEvents opens the event stream destination: "fd:N" or a file path.
func openEvents(dest string) (io.Writer, func(), error) {
	if n, ok := strings.CutPrefix(dest, "fd:"); ok {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 1 {
			return nil, nil, fmt.Errorf("use fd:N with N a file descriptor number, e.g. fd:3")
		}
		f := os.NewFile(uintptr(fd), "purista-events")
		if f == nil {
			return nil, nil, fmt.Errorf("file descriptor %d is not open", fd)
		}
		if _, err := f.Stat(); err != nil {
			return nil, nil, fmt.Errorf("file descriptor %d is not open in this process: start it with that descriptor open (purista dev does), or name a file", fd)
		}
		return f, func() { _ = f.Close() }, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { _ = f.Close() }, nil
}
