package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/purista-go/purista/pkg/framework"
	"github.com/purista-go/purista/pkg/framework/httpauth"
	"github.com/purista-go/purista/pkg/framework/wire"
)

// config is the run-time configuration of an application: which services run, on which
// bridge, and how the process behaves. Every field but OpenAPIOut has an environment
// variable and a flag of the same meaning; flags win over the environment.
type config struct {
	// getenv reads the environment (Run's getenv): also the OTEL_* variables of
	// tracing and metrics.
	getenv func(string) string
	// Bridge selects the event bridge: "memory" (default), "nats://host:4222",
	// "amqp://user:pass@host:5672/", "mqtt://host:1883" (also tls/ssl schemes:
	// "tls://", "amqps://", "mqtts://"). PURISTA_BRIDGE, --bridge.
	Bridge string
	// Services is the subset of services to run, by name ("User,Email"); empty runs all.
	// PURISTA_SERVICES, --services.
	Services []string
	// HealthAddr is where /healthz, /readyz and /metrics are served ("" disables; default
	// "127.0.0.1:8081"). PURISTA_HEALTH_ADDR, --health-addr.
	HealthAddr string
	// HTTPAddr, when set, serves every command over HTTP (serverless model): POST
	// /api/<service>/v<version>/<command>. PURISTA_HTTP_ADDR, --http-addr.
	HTTPAddr string
	// ShutdownTimeout bounds graceful shutdown (default 15s). PURISTA_SHUTDOWN_TIMEOUT,
	// --shutdown-timeout.
	ShutdownTimeout time.Duration
	// StartTimeout bounds connecting to the broker at start-up (default 30s); after it the
	// application exits with an error instead of waiting forever. PURISTA_START_TIMEOUT,
	// --start-timeout.
	StartTimeout time.Duration
	// LogLevel is debug, info (default), warn or error. PURISTA_LOG_LEVEL, --log-level.
	LogLevel slog.Level
	// LogFormat is text (default) or json. PURISTA_LOG_FORMAT, --log-format.
	LogFormat string
	// InstanceID overrides the bridge's random instance id: 32 lowercase hex characters,
	// or a stable name such as a StatefulSet's pod name (an RFC 1123 label: lowercase
	// letters, digits and '-', at most 63, starting and ending with a letter or digit). A
	// stable id lets a broker session survive a restart (MQTT durable subscriptions).
	// PURISTA_INSTANCE_ID, --instance-id.
	InstanceID string
	// Events, when set, streams runtime records and logs as JSON lines to this address
	// (a file path or "fd:3") for `purista dev`. PURISTA_EVENTS, --events.
	Events string
	// LocalDelivery short-circuits calls between services in the same process on broker
	// bridges (default true). PURISTA_LOCAL_DELIVERY, --local-delivery.
	LocalDelivery bool
	// HTTPAuth configures the authenticators of the HTTP endpoints. A process whose
	// endpoints need credentials and that configures none refuses to start.
	// PURISTA_HTTP_AUTH_JWKS_URL, _JWT_KEYS_FILE, _JWT_ISSUER, _JWT_AUDIENCE, _JWT_ALGS,
	// _JWT_CLOCK_SKEW, _PRINCIPAL_CLAIM, _TENANT_CLAIM; PURISTA_HTTP_API_KEYS,
	// PURISTA_HTTP_API_KEYS_FILE, PURISTA_HTTP_TRUSTED_PROXIES, PURISTA_HTTP_DEV_INSECURE
	// (and the flags --http-auth-jwks-url, …, --http-dev-insecure).
	HTTPAuth httpauth.Settings
	// HTTPPublicIndex serves GET /api and the OpenAPI document without credentials.
	// PURISTA_HTTP_PUBLIC_INDEX, --http-public-index.
	HTTPPublicIndex bool
	// HTTPLimits bound the HTTP command server (zero fields take the defaults).
	HTTPLimits httpLimits
	// OpenAPIOut, when set, makes RunMain write the OpenAPI document of the selected
	// services' endpoints (OpenAPIDocument) to this file and exit without starting
	// anything; `purista build` uses it. A flag only, --openapi-out, so that no
	// deployment environment can turn a process into a one-shot.
	OpenAPIOut string
}

// httpLimits bound the HTTP command server. Each has an environment variable and a
// flag; zero takes the default.
type httpLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 5s).
	// PURISTA_HTTP_READ_HEADER_TIMEOUT, --http-read-header-timeout.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request (default 30s). PURISTA_HTTP_READ_TIMEOUT,
	// --http-read-timeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response from its first byte (default 30s).
	// PURISTA_HTTP_WRITE_TIMEOUT, --http-write-timeout.
	WriteTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection's wait for its next request (default
	// 60s). PURISTA_HTTP_IDLE_TIMEOUT, --http-idle-timeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (default 64 KiB).
	// PURISTA_HTTP_MAX_HEADER_BYTES, --http-max-header-bytes.
	MaxHeaderBytes int
	// MaxConcurrent caps the requests in flight; more are answered 503 (default 256).
	// PURISTA_HTTP_MAX_CONCURRENT, --http-max-concurrent.
	MaxConcurrent int
	// BodyMemory caps the request body bytes held by all requests together (default
	// 32 MiB); it must be at least the largest endpoint body limit.
	// PURISTA_HTTP_MAX_BODY_MEMORY, --http-max-body-memory.
	BodyMemory int64
	// CORSOrigins enables CORS for these origins; empty (the default) leaves it off.
	// PURISTA_HTTP_CORS_ORIGINS, --http-cors-origins.
	CORSOrigins []string
}

// parseConfig reads the configuration from args (flags, without the program name) and
// getenv (usually os.Getenv); the flags of appFlags (the application's own, nil for
// none) are parsed with purista's. Help output goes to out; flag.ErrHelp is returned for
// -h.
func parseConfig(appFlags *flag.FlagSet, args []string, getenv func(string) string, out io.Writer) (config, error) {
	cfg := config{getenv: getenv, Bridge: "memory", HealthAddr: "127.0.0.1:8081", ShutdownTimeout: 15 * time.Second,
		StartTimeout: 30 * time.Second, LogLevel: slog.LevelInfo, LogFormat: "text", LocalDelivery: true}
	fromEnv := map[string]bool{} // PURISTA_* variables that were set
	env := func(name string) (string, bool) {
		v := strings.TrimSpace(getenv(name))
		fromEnv[name] = v != ""
		return v, v != ""
	}
	var errs []error
	if v, ok := env("PURISTA_BRIDGE"); ok {
		cfg.Bridge = v
	}
	var services string
	if v, ok := env("PURISTA_SERVICES"); ok {
		services = v
	}
	if v, ok := env("PURISTA_HEALTH_ADDR"); ok {
		cfg.HealthAddr = v
		if v == "off" || v == "none" {
			cfg.HealthAddr = ""
		}
	}
	if v, ok := env("PURISTA_HTTP_ADDR"); ok {
		cfg.HTTPAddr = v
	}
	shutdown := cfg.ShutdownTimeout.String()
	if v, ok := env("PURISTA_SHUTDOWN_TIMEOUT"); ok {
		shutdown = v
	}
	startTimeout := cfg.StartTimeout.String()
	if v, ok := env("PURISTA_START_TIMEOUT"); ok {
		startTimeout = v
	}
	level := "info"
	if v, ok := env("PURISTA_LOG_LEVEL"); ok {
		level = v
	}
	if v, ok := env("PURISTA_LOG_FORMAT"); ok {
		cfg.LogFormat = v
	}
	if v, ok := env("PURISTA_INSTANCE_ID"); ok {
		cfg.InstanceID = v
	}
	if v, ok := env("PURISTA_EVENTS"); ok {
		cfg.Events = v
	}
	local := "true"
	if v, ok := env("PURISTA_LOCAL_DELIVERY"); ok {
		local = v
	}
	hs := httpSettingTable()
	for i := range hs {
		if v, ok := env(hs[i].env); ok {
			hs[i].value = v
		}
	}

	fs := flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints the settings below
	fs.Usage = func() {}
	fs.StringVar(&cfg.Bridge, "bridge", cfg.Bridge, "event bridge: memory | nats://host:4222 | amqp://user:pass@host:5672/ | mqtt://host:1883 (env PURISTA_BRIDGE)")
	fs.StringVar(&services, "services", services, "comma-separated services to run; empty runs all (env PURISTA_SERVICES)")
	fs.StringVar(&cfg.HealthAddr, "health-addr", cfg.HealthAddr, "address of /healthz, /readyz and /metrics; off (or an empty value) serves none of them (env PURISTA_HEALTH_ADDR)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "serve commands over HTTP on this address (env PURISTA_HTTP_ADDR)")
	fs.StringVar(&shutdown, "shutdown-timeout", shutdown, "graceful shutdown bound, e.g. 15s (env PURISTA_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&startTimeout, "start-timeout", startTimeout, "bound for connecting to the broker at start-up, e.g. 30s (env PURISTA_START_TIMEOUT)")
	fs.StringVar(&level, "log-level", level, "debug | info | warn | error (env PURISTA_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text | json (env PURISTA_LOG_FORMAT)")
	fs.StringVar(&cfg.InstanceID, "instance-id", cfg.InstanceID, "bridge instance id: 32 hex characters or a pod name such as signup-0 (env PURISTA_INSTANCE_ID)")
	fs.StringVar(&cfg.Events, "events", cfg.Events, "stream runtime records as JSON lines to a file or fd:N (env PURISTA_EVENTS)")
	fs.StringVar(&local, "local-delivery", local, "deliver calls between services of this process in memory (env PURISTA_LOCAL_DELIVERY)")
	fs.StringVar(&cfg.OpenAPIOut, "openapi-out", "", "write the OpenAPI document of the selected services' HTTP endpoints to this file and exit (no environment variable)")
	for i := range hs {
		fs.StringVar(&hs[i].value, hs[i].flag, hs[i].value, hs[i].usage+" (env "+hs[i].env+")")
	}
	if appFlags != nil {
		var clash []string
		appFlags.VisitAll(func(f *flag.Flag) {
			if fs.Lookup(f.Name) != nil {
				clash = append(clash, "-"+f.Name)
				return
			}
			fs.Var(f.Value, f.Name, f.Usage)
		})
		if len(clash) > 0 {
			return cfg, fmt.Errorf("%w: the application defines the flag %s, which purista uses: rename it", framework.ErrConfig, strings.Join(clash, ", "))
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(out, "Usage of %s (every setting is also an environment variable):\n", fs.Name())
			fs.SetOutput(out)
			fs.PrintDefaults()
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w (run with -h to list the settings)", framework.ErrConfig, err)
	}
	if cfg.HealthAddr == "off" || cfg.HealthAddr == "none" {
		cfg.HealthAddr = ""
	}
	flagSet := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagSet[f.Name] = true })
	// from names where a setting came from, for errors: the flag when given, else the
	// environment variable.
	from := func(flagName, envName string) string {
		switch {
		case flagSet[flagName]:
			return " (--" + flagName + ")"
		case fromEnv[envName]:
			return " (" + envName + ")"
		}
		return ""
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q: settings are flags such as --bridge=nats://127.0.0.1:4222", RedactURL(fs.Arg(0))))
	}
	for _, s := range strings.Split(services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Services = append(cfg.Services, s)
		}
	}
	d, err := time.ParseDuration(shutdown)
	if err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %q%s is not a positive duration: use e.g. 15s", shutdown, from("shutdown-timeout", "PURISTA_SHUTDOWN_TIMEOUT")))
	} else {
		cfg.ShutdownTimeout = d
	}
	if d, err := time.ParseDuration(startTimeout); err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("start timeout %q%s is not a positive duration: use e.g. 30s", startTimeout, from("start-timeout", "PURISTA_START_TIMEOUT")))
	} else {
		cfg.StartTimeout = d
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("log level %q%s is unknown: use debug, info, warn or error", level, from("log-level", "PURISTA_LOG_LEVEL")))
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q%s is unknown: use text or json", cfg.LogFormat, from("log-format", "PURISTA_LOG_FORMAT")))
	}
	switch strings.ToLower(local) {
	case "1", "true", "yes", "on":
		cfg.LocalDelivery = true
	case "0", "false", "no", "off":
		cfg.LocalDelivery = false
	default:
		errs = append(errs, fmt.Errorf("local delivery %q%s is not a boolean: use true or false", local, from("local-delivery", "PURISTA_LOCAL_DELIVERY")))
	}
	if id := cfg.InstanceID; id != "" && !wire.IsID(id) && !isLabel(id) {
		errs = append(errs, fmt.Errorf("instance id %q%s is neither 32 lowercase hex characters nor a pod-name-like label (lowercase letters, digits and '-', at most 63): leave it empty for a random one, or use e.g. the pod name signup-0", id, from("instance-id", "PURISTA_INSTANCE_ID")))
	}
	for _, h := range hs {
		if h.value == "" {
			continue
		}
		if err := h.set(&cfg, h.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %q%s: %w", strings.ReplaceAll(h.flag, "-", " "), h.value, from(h.flag, h.env), err))
		}
	}
	if _, err := BridgeKind(cfg.Bridge); err != nil {
		if src := from("bridge", "PURISTA_BRIDGE"); src != "" {
			err = fmt.Errorf("%s: %w", strings.Trim(src, " ()"), err)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("%w: %w", framework.ErrConfig, err)
	}
	return cfg, nil
}

// BridgeKind returns the transport a bridge setting selects ("memory", "nats", "amqp",
// "mqtt"), or an error that lists the accepted forms.
func BridgeKind(setting string) (string, error) {
	if setting == "" || setting == "memory" || setting == "memory://" {
		return "memory", nil
	}
	u, err := url.Parse(setting)
	if err != nil || u.Scheme == "" {
		return "", fmt.Errorf("bridge %q is not understood: use memory, nats://host:4222, amqp://user:pass@host:5672/ or mqtt://host:1883", RedactURL(setting))
	}
	switch u.Scheme {
	case "memory":
		return "memory", nil
	case "nats", "tls":
		return "nats", nil
	case "amqp", "amqps":
		return "amqp", nil
	case "mqtt", "mqtts", "tcp", "ssl", "ws", "wss":
		return "mqtt", nil
	}
	return "", fmt.Errorf("bridge scheme %q is unknown: use memory, nats://, amqp:// or mqtt://", u.Scheme)
}

// isLabel reports whether s is an RFC 1123 label, the form of a Kubernetes pod name.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// httpSetting is a string setting of the HTTP server or its authentication: its
// environment variable, flag, usage, raw value, and how it lands in a Config.
type httpSetting struct {
	env, flag, usage, value string
	set                     func(cfg *config, v string) error
}

// httpSettingTable lists the HTTP server and authentication settings.
func httpSettingTable() []httpSetting {
	str := func(dst func(*config) *string) func(*config, string) error {
		return func(c *config, v string) error { *dst(c) = v; return nil }
	}
	list := func(dst func(*config) *[]string) func(*config, string) error {
		return func(c *config, v string) error { *dst(c) = splitList(v); return nil }
	}
	dur := func(dst func(*config) *time.Duration) func(*config, string) error {
		return func(c *config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("not a positive duration: use e.g. 30s")
			}
			*dst(c) = d
			return nil
		}
	}
	boolean := func(dst func(*config) *bool) func(*config, string) error {
		return func(c *config, v string) error {
			switch strings.ToLower(v) {
			case "1", "true", "yes", "on":
				*dst(c) = true
			case "0", "false", "no", "off":
				*dst(c) = false
			default:
				return errors.New("not a boolean: use 1 or 0")
			}
			return nil
		}
	}
	count := func(set func(*config, int64)) func(*config, string) error {
		return func(c *config, v string) error {
			n, err := parseBytes(v)
			if err != nil {
				return err
			}
			set(c, n)
			return nil
		}
	}
	return []httpSetting{
		{env: "PURISTA_HTTP_AUTH_JWKS_URL", flag: "http-auth-jwks-url", usage: "verify bearer JWTs with the keys at this JWK Set URL",
			set: str(func(c *config) *string { return &c.HTTPAuth.JWKSURL })},
		{env: "PURISTA_HTTP_AUTH_JWT_KEYS_FILE", flag: "http-auth-jwt-keys-file", usage: "verify bearer JWTs with the PEM or JWK Set public keys in this file",
			set: str(func(c *config) *string { return &c.HTTPAuth.JWTKeysFile })},
		{env: "PURISTA_HTTP_AUTH_JWT_ISSUER", flag: "http-auth-jwt-issuer", usage: "required iss of bearer JWTs",
			set: str(func(c *config) *string { return &c.HTTPAuth.JWTIssuer })},
		{env: "PURISTA_HTTP_AUTH_JWT_AUDIENCE", flag: "http-auth-jwt-audience", usage: "accepted aud values of bearer JWTs, comma-separated (required with JWTs)",
			set: list(func(c *config) *[]string { return &c.HTTPAuth.JWTAudience })},
		{env: "PURISTA_HTTP_AUTH_JWT_ALGS", flag: "http-auth-jwt-algs", usage: "accepted JWT algorithms, comma-separated (default: RS, PS, ES and EdDSA; never none)",
			set: list(func(c *config) *[]string { return &c.HTTPAuth.JWTAlgorithms })},
		{env: "PURISTA_HTTP_AUTH_JWT_CLOCK_SKEW", flag: "http-auth-jwt-clock-skew", usage: "leeway for JWT exp, nbf and iat (default 30s)",
			set: dur(func(c *config) *time.Duration { return &c.HTTPAuth.JWTClockSkew })},
		{env: "PURISTA_HTTP_AUTH_PRINCIPAL_CLAIM", flag: "http-auth-principal-claim", usage: "JWT claim naming the principal (default sub)",
			set: str(func(c *config) *string { return &c.HTTPAuth.PrincipalClaim })},
		{env: "PURISTA_HTTP_AUTH_TENANT_CLAIM", flag: "http-auth-tenant-claim", usage: "JWT claim naming the tenant (default tenant_id)",
			set: str(func(c *config) *string { return &c.HTTPAuth.TenantClaim })},
		{env: "PURISTA_HTTP_API_KEYS", flag: "http-api-keys", usage: `API keys as "sha256:<hex digest> <principal> [<tenant>]", comma-separated`,
			set: str(func(c *config) *string { return &c.HTTPAuth.APIKeys })},
		{env: "PURISTA_HTTP_API_KEYS_FILE", flag: "http-api-keys-file", usage: "file of API key entries, one per line",
			set: str(func(c *config) *string { return &c.HTTPAuth.APIKeysFile })},
		{env: "PURISTA_HTTP_TRUSTED_PROXIES", flag: "http-trusted-proxies", usage: "CIDRs of proxies whose X-Principal-Id and X-Tenant-Id headers are believed",
			set: list(func(c *config) *[]string { return &c.HTTPAuth.TrustedProxies })},
		{env: "PURISTA_HTTP_DEV_INSECURE", flag: "http-dev-insecure", usage: "development only: let callers without credentials in, as whoever X-Principal-Id names, and serve every command at its /api route (1 or 0)",
			set: boolean(func(c *config) *bool { return &c.HTTPAuth.DevInsecure })},
		{env: "PURISTA_HTTP_PUBLIC_INDEX", flag: "http-public-index", usage: "serve GET /api and the OpenAPI document without credentials (1 or 0)",
			set: boolean(func(c *config) *bool { return &c.HTTPPublicIndex })},
		{env: "PURISTA_HTTP_READ_HEADER_TIMEOUT", flag: "http-read-header-timeout", usage: "bound for reading a request's headers (default 5s)",
			set: dur(func(c *config) *time.Duration { return &c.HTTPLimits.ReadHeaderTimeout })},
		{env: "PURISTA_HTTP_READ_TIMEOUT", flag: "http-read-timeout", usage: "bound for reading a whole request (default 30s)",
			set: dur(func(c *config) *time.Duration { return &c.HTTPLimits.ReadTimeout })},
		{env: "PURISTA_HTTP_WRITE_TIMEOUT", flag: "http-write-timeout", usage: "bound for writing a response from its first byte (default 30s)",
			set: dur(func(c *config) *time.Duration { return &c.HTTPLimits.WriteTimeout })},
		{env: "PURISTA_HTTP_IDLE_TIMEOUT", flag: "http-idle-timeout", usage: "bound for an idle keep-alive connection (default 60s)",
			set: dur(func(c *config) *time.Duration { return &c.HTTPLimits.IdleTimeout })},
		{env: "PURISTA_HTTP_MAX_HEADER_BYTES", flag: "http-max-header-bytes", usage: "bound for a request's headers, e.g. 64KiB",
			set: count(func(c *config, n int64) { c.HTTPLimits.MaxHeaderBytes = int(n) })},
		{env: "PURISTA_HTTP_MAX_CONCURRENT", flag: "http-max-concurrent", usage: "requests in flight before more are answered 503 (default 256)",
			set: count(func(c *config, n int64) { c.HTTPLimits.MaxConcurrent = int(n) })},
		{env: "PURISTA_HTTP_MAX_BODY_MEMORY", flag: "http-max-body-memory", usage: "request body bytes held by all requests together (default 32MiB)",
			set: count(func(c *config, n int64) { c.HTTPLimits.BodyMemory = n })},
		{env: "PURISTA_HTTP_CORS_ORIGINS", flag: "http-cors-origins", usage: "origins allowed to call from browsers, comma-separated (default: none, CORS off)",
			set: list(func(c *config) *[]string { return &c.HTTPLimits.CORSOrigins })},
	}
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseBytes reads a positive count, optionally with a KiB, MiB or GiB suffix.
func parseBytes(v string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			v, mult = strings.TrimSpace(n), m
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt32 {
		return 0, errors.New("not a positive count: use e.g. 256 or 64MiB")
	}
	return n * mult, nil
}
