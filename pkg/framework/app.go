package framework

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/purista-go/purista/pkg/framework/httpauth"
	"github.com/purista-go/purista/pkg/framework/internal/httpserver"
	"github.com/purista-go/purista/pkg/framework/internal/redact"
)

// Exit codes of Main.
const (
	ExitOK      = 0 // clean shutdown
	ExitFailure = 1 // the application failed while starting or running
	ExitConfig  = 2 // the configuration or a service definition is invalid
)

// Main runs services as an application: it reads the configuration from the command
// line and PURISTA_* environment variables (see Config), starts the chosen services on
// the chosen bridge, serves health, and shuts down gracefully on SIGINT or SIGTERM. It
// exits the process with ExitOK after a clean shutdown. It is all a project's main
// function needs:
//
//	func main() { framework.Main(usersvc.New(), emailsvc.New()) }
//
// with usersvc and emailsvc the services' implementation packages
// (services/user/v1/service, …); callers import only the contracts (services/user/v1).
func Main(services ...*Service) {
	os.Exit(RunMain(context.Background(), os.Args[1:], os.Getenv, os.Stderr, services...))
}

// RunMain is Main without os.Exit, for tests and custom entry points: it returns the
// exit code. Logs go to stderr.
func RunMain(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, services ...*Service) int {
	cfg, err := ParseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", redact.Error(err, cfg.Bridge))
		return ExitConfig
	}
	if cfg.OpenAPIOut != "" {
		return exitCode(writeOpenAPI(cfg, services), stderr)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return exitCode(Run(ctx, cfg, services, WithLogOutput(stderr)), stderr)
}

// exitCode reports err on stderr and returns Main's exit code for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	if errors.Is(err, ErrConfig) || errors.Is(err, ErrInvalidDefinition) || errors.Is(err, ErrUnknownService) {
		return ExitConfig
	}
	return ExitFailure
}

// writeOpenAPI writes the OpenAPI document of the services cfg selects to
// cfg.OpenAPIOut (--openapi-out).
func writeOpenAPI(cfg Config, services []*Service) error {
	selected, err := SelectServices(services, cfg.Services)
	if err != nil {
		return err
	}
	doc, err := OpenAPIDocument(selected)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.OpenAPIOut, doc, 0o644); err != nil {
		return fmt.Errorf("write the OpenAPI document (--openapi-out): %w", err)
	}
	return nil
}

// RunOption tunes Run.
type RunOption func(*runSettings)

type runSettings struct {
	logOut   io.Writer
	ready    func(*Runtime)
	rtOpts   []Option
	httpOpts []HTTPOption
}

// WithLogOutput sets where Run's logs go (default os.Stderr).
func WithLogOutput(w io.Writer) RunOption { return func(s *runSettings) { s.logOut = w } }

// WithReady calls f once the runtime is started and health is served.
func WithReady(f func(*Runtime)) RunOption { return func(s *runSettings) { s.ready = f } }

// WithHTTPOptions passes options to the HTTPHandler that serves cfg.HTTPAddr.
func WithHTTPOptions(opts ...HTTPOption) RunOption {
	return func(s *runSettings) { s.httpOpts = append(s.httpOpts, opts...) }
}

// WithRuntimeOptions passes options to Start.
func WithRuntimeOptions(opts ...Option) RunOption {
	return func(s *runSettings) { s.rtOpts = append(s.rtOpts, opts...) }
}

// Run starts the services selected by cfg on the bridge it names, serves health, blocks
// until ctx is done, and then shuts down gracefully within cfg.ShutdownTimeout. It
// returns nil after a clean shutdown.
//
// No credential of cfg.Bridge (password, token or user-only userinfo, ?token=) appears
// in what Run shows: its log lines (also those of the bridge and of the event stream),
// its error, and the health endpoint's bodies are scrubbed, whatever a bridge or its
// client library put into them.
func Run(ctx context.Context, cfg Config, services []*Service, opts ...RunOption) error {
	return redact.Error(run(ctx, cfg, services, opts), cfg.Bridge)
}

func run(ctx context.Context, cfg Config, services []*Service, opts []RunOption) error {
	rs := runSettings{logOut: os.Stderr}
	for _, o := range opts {
		o(&rs)
	}
	var handler slog.Handler
	hopts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		handler = slog.NewJSONHandler(rs.logOut, hopts)
	} else {
		handler = slog.NewTextHandler(rs.logOut, hopts)
	}
	var stream *EventStream
	if cfg.Events != "" {
		w, closeFn, err := openEvents(cfg.Events)
		if err != nil {
			return fmt.Errorf("%w: events %q: %w", ErrConfig, cfg.Events, err)
		}
		defer closeFn()
		stream = NewEventStream(w)
		handler = teeHandler{handler, stream.LogHandler(cfg.LogLevel)}
	}
	log := slog.New(redactLogs(handler, cfg.Bridge))

	selected, err := SelectServices(services, cfg.Services)
	if err != nil {
		return err
	}
	b, err := NewBridge(cfg, log)
	if err != nil {
		return err
	}
	rtOpts := append([]Option{WithLogger(log), WithBridgeURL(cfg.Bridge)}, rs.rtOpts...)
	if stream != nil {
		rtOpts = append(rtOpts, WithObserver(stream))
		for _, s := range selected {
			stream.State(s.contract.name, "starting", nil)
		}
	}
	startCtx, cancelStart := context.WithTimeout(ctx, cfg.StartTimeout)
	rt, err := Start(startCtx, b, selected, rtOpts...)
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
	var healthSrv, httpSrv *httpserver.Server
	var startErr error
	if cfg.HealthAddr != "" {
		healthSrv, startErr = serve(cfg.HealthAddr, rt.HealthHandler(), "health", httpserver.HealthLimits())
	}
	authCtx, stopAuth := context.WithCancel(context.WithoutCancel(ctx)) // ends the JWKS refresh
	defer stopAuth()
	if startErr == nil && cfg.HTTPAddr != "" {
		var h http.Handler
		if h, startErr = httpHandler(authCtx, rt, cfg, rs.httpOpts, log); startErr == nil {
			httpSrv, startErr = serve(cfg.HTTPAddr, h, "http", serverLimits(cfg.HTTPLimits))
		}
	}
	names := make([]string, len(selected))
	for i, s := range selected {
		names[i] = s.contract.name
		if stream != nil && startErr == nil { // not ready when health or HTTP could not listen
			stream.State(s.contract.name, "ready", s.Commands())
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
func httpHandler(ctx context.Context, rt *Runtime, cfg Config, opts []HTTPOption, log *slog.Logger) (http.Handler, error) {
	a, err := httpauth.New(ctx, cfg.HTTPAuth, log)
	if err != nil {
		return nil, fmt.Errorf("%w: HTTP authentication: %w", ErrConfig, err)
	}
	var first []HTTPOption
	if a != nil {
		first = append(first, WithAuthenticator(a))
	}
	if cfg.HTTPPublicIndex {
		first = append(first, WithPublicIndex())
	}
	if cfg.HTTPAuth.DevInsecure {
		first = append(first, WithCommandRoutes())
		log.Warn("HTTP DEVELOPMENT MODE (PURISTA_HTTP_DEV_INSECURE): requests without credentials are let in as whoever their X-Principal-Id header names, and every command is served at POST /api/<service>/v<version>/<command>; never run this in production")
	}
	budget := serverLimits(cfg.HTTPLimits).BodyBudget
	if budget == 0 {
		budget = httpserver.DefaultLimits().BodyBudget
	}
	for _, svc := range rt.services {
		for _, c := range svc.Commands() {
			if c.HTTP != nil && c.HTTP.BodyLimit > budget {
				return nil, fmt.Errorf("%w: the endpoint %s %s of %s/v%s.%s takes bodies of up to %d bytes, more than the %d bytes all requests may hold together: raise PURISTA_HTTP_MAX_BODY_MEMORY (--http-max-body-memory) or lower its BodyLimit",
					ErrConfig, c.HTTP.Method, c.HTTP.Path, c.Service, c.Version, c.Name, c.HTTP.BodyLimit, budget)
			}
		}
	}
	h, err := rt.HTTPHandler(append(first, opts...)...)
	if errors.Is(err, ErrNoAuthenticator) {
		err = fmt.Errorf("%w; configure an authenticator: PURISTA_HTTP_AUTH_JWKS_URL or PURISTA_HTTP_AUTH_JWT_KEYS_FILE with PURISTA_HTTP_AUTH_JWT_AUDIENCE (bearer JWTs), "+
			"PURISTA_HTTP_API_KEYS or PURISTA_HTTP_API_KEYS_FILE (API keys), or PURISTA_HTTP_TRUSTED_PROXIES (identity headers from your gateway); "+
			"mark endpoints Public: true if anyone may call them; for local development only, PURISTA_HTTP_DEV_INSECURE=1 (docs/http.md)", err)
	}
	return h, err
}

// serverLimits turns the configured limits into the server's.
func serverLimits(l HTTPLimits) httpserver.Limits {
	return httpserver.Limits{ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes, MaxConcurrent: l.MaxConcurrent,
		BodyBudget: l.BodyMemory, CORSOrigins: l.CORSOrigins}
}

// SelectServices returns the services named in names (all when names is empty), or an
// error wrapping ErrUnknownService that lists the available names.
func SelectServices(all []*Service, names []string) ([]*Service, error) {
	if len(names) == 0 {
		return all, nil
	}
	byName := map[string]*Service{}
	avail := make([]string, 0, len(all))
	for _, s := range all {
		if s == nil {
			continue
		}
		byName[strings.ToLower(s.contract.name)] = s
		avail = append(avail, s.contract.name)
	}
	var out []*Service
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
