package framework

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the run-time configuration of an application: which services run, on which
// bridge, and how the process behaves. Every field has an environment variable and a
// flag of the same meaning; flags win over the environment.
type Config struct {
	// Bridge selects the event bridge: "memory" (default), "nats://host:4222",
	// "amqp://user:pass@host:5672/", "mqtt://host:1883" (also tls/ssl schemes:
	// "tls://", "amqps://", "mqtts://"). PURISTA_BRIDGE, --bridge.
	Bridge string
	// Services is the subset of services to run, by name ("User,Email"); empty runs all.
	// PURISTA_SERVICES, --services.
	Services []string
	// HealthAddr is where /healthz and /readyz are served ("" disables; default
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
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid configuration")

// ParseConfig reads the configuration from args (flags, without the program name) and
// getenv (usually os.Getenv). Help output goes to out; flag.ErrHelp is returned for -h.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	cfg := Config{Bridge: "memory", HealthAddr: "127.0.0.1:8081", ShutdownTimeout: 15 * time.Second,
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

	fs := flag.NewFlagSet(filepath.Base(os.Args[0]), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; -h prints the settings below
	fs.Usage = func() {}
	fs.StringVar(&cfg.Bridge, "bridge", cfg.Bridge, "event bridge: memory | nats://host:4222 | amqp://user:pass@host:5672/ | mqtt://host:1883 (env PURISTA_BRIDGE)")
	fs.StringVar(&services, "services", services, "comma-separated services to run; empty runs all (env PURISTA_SERVICES)")
	fs.StringVar(&cfg.HealthAddr, "health-addr", cfg.HealthAddr, "health endpoint address; off (or an empty value) disables (env PURISTA_HEALTH_ADDR: off)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "serve commands over HTTP on this address (env PURISTA_HTTP_ADDR)")
	fs.StringVar(&shutdown, "shutdown-timeout", shutdown, "graceful shutdown bound, e.g. 15s (env PURISTA_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&startTimeout, "start-timeout", startTimeout, "bound for connecting to the broker at start-up, e.g. 30s (env PURISTA_START_TIMEOUT)")
	fs.StringVar(&level, "log-level", level, "debug | info | warn | error (env PURISTA_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text | json (env PURISTA_LOG_FORMAT)")
	fs.StringVar(&cfg.InstanceID, "instance-id", cfg.InstanceID, "bridge instance id: 32 hex characters or a pod name such as signup-0 (env PURISTA_INSTANCE_ID)")
	fs.StringVar(&cfg.Events, "events", cfg.Events, "stream runtime records as JSON lines to a file or fd:N (env PURISTA_EVENTS)")
	fs.StringVar(&local, "local-delivery", local, "deliver calls between services of this process in memory (env PURISTA_LOCAL_DELIVERY)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(out, "Usage of %s (every setting is also an environment variable):\n", fs.Name())
			fs.SetOutput(out)
			fs.PrintDefaults()
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w (run with -h to list the settings)", ErrConfig, err)
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
	if id := cfg.InstanceID; id != "" && !isHex32(id) && !isLabel(id) {
		errs = append(errs, fmt.Errorf("instance id %q%s is neither 32 lowercase hex characters nor a pod-name-like label (lowercase letters, digits and '-', at most 63): leave it empty for a random one, or use e.g. the pod name signup-0", id, from("instance-id", "PURISTA_INSTANCE_ID")))
	}
	if _, err := BridgeKind(cfg.Bridge); err != nil {
		if src := from("bridge", "PURISTA_BRIDGE"); src != "" {
			err = fmt.Errorf("%s: %w", strings.Trim(src, " ()"), err)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, err)
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
