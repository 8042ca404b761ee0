package telemetry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// otlpConfig is what the OTEL_EXPORTER_OTLP_* variables say about the exporter of one
// signal. It is read through Options.Getenv and handed to the exporter as options, so
// that the exporter's own reading of the process environment never decides anything.
type otlpConfig struct {
	protocol string            // "http/protobuf" or "grpc"
	endpoint string            // full URL: for HTTP with the signal's path
	headers  map[string]string // never nil
	timeout  time.Duration
	gzip     bool
	insecure bool        // gRPC without TLS (also implied by an http:// endpoint)
	tls      *tls.Config // never nil
}

// otlpEnv reads the OTLP settings of signal ("traces" or "metrics"): the signal's own
// variable (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, …) before the general one.
func otlpEnv(getenv func(string) string, signal string) (otlpConfig, error) {
	sig := strings.ToUpper(signal)
	get := func(name string) (string, string) {
		specific := "OTEL_EXPORTER_OTLP_" + sig + "_" + name
		if v := strings.TrimSpace(getenv(specific)); v != "" {
			return v, specific
		}
		general := "OTEL_EXPORTER_OTLP_" + name
		return strings.TrimSpace(getenv(general)), general
	}
	c := otlpConfig{headers: map[string]string{}, timeout: 10 * time.Second, tls: &tls.Config{MinVersion: tls.VersionTLS12}}
	protocol, protocolVar := get("PROTOCOL")
	switch c.protocol = protocol; c.protocol {
	case "", "http/protobuf":
		c.protocol = "http/protobuf"
	case "grpc":
	default:
		return c, fmt.Errorf("%w: %s=%q: use http/protobuf or grpc (http/json is not supported)", ErrConfig, protocolVar, protocol)
	}
	endpointVar := "OTEL_EXPORTER_OTLP_" + sig + "_ENDPOINT"
	endpointVal := strings.TrimSpace(getenv(endpointVar))
	if endpointVal != "" {
		c.endpoint = endpointVal // used as is
	} else {
		endpointVar = "OTEL_EXPORTER_OTLP_ENDPOINT"
		endpointVal = strings.TrimSpace(getenv(endpointVar))
		base := endpointVal
		switch {
		case base == "" && c.protocol == "grpc":
			base = "http://localhost:4317"
		case base == "":
			base = "http://localhost:4318"
		}
		c.endpoint = base
		if c.protocol == "http/protobuf" {
			c.endpoint = strings.TrimSuffix(base, "/") + "/v1/" + signal
		}
	}
	if _, err := url.Parse(c.endpoint); err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // without the derived URL, which names no variable
		}
		return c, fmt.Errorf("%w: %s=%q is not a URL (e.g. http://localhost:4318): %w", ErrConfig, endpointVar, endpointVal, err)
	}
	if v, name := get("HEADERS"); v != "" {
		if err := keyValues(name, v, func(k, val string) { c.headers[k] = val }); err != nil {
			return c, err
		}
	}
	if v, name := get("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return c, fmt.Errorf("%w: %s=%q: want milliseconds, e.g. 10000", ErrConfig, name, v)
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	switch v, name := get("COMPRESSION"); v {
	case "", "none":
	case "gzip":
		c.gzip = true
	default:
		return c, fmt.Errorf("%w: %s=%q: use gzip or none", ErrConfig, name, v)
	}
	if v, name := get("INSECURE"); v != "" {
		insecure, err := envBool(name, v)
		if err != nil {
			return c, err
		}
		c.insecure = insecure
	}
	if v, name := get("CERTIFICATE"); v != "" {
		pem, err := os.ReadFile(v)
		if err != nil {
			return c, fmt.Errorf("%w: %s: %w", ErrConfig, name, err)
		}
		c.tls.RootCAs = x509.NewCertPool()
		if !c.tls.RootCAs.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("%w: %s: %s holds no PEM certificate", ErrConfig, name, v)
		}
	}
	return c, nil
}

// envMillis reads a duration in milliseconds, def when name is unset.
func envMillis(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms <= 0 {
		return 0, fmt.Errorf("%w: %s=%q: want a positive number of milliseconds", ErrConfig, name, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// envInt reads a positive integer, def when name is unset.
func envInt(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %s=%q: want a positive integer", ErrConfig, name, v)
	}
	return n, nil
}

// exportersOf returns the exporters a comma-separated OTEL_*_EXPORTER value names, each
// checked against known; "none" anywhere means none at all.
func exportersOf(name, v string, known ...string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(v, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		switch {
		case n == "none":
			return nil, nil
		case n == "":
		case slices.Contains(known, n):
			names = append(names, n)
		default:
			return nil, fmt.Errorf("%w: %s=%q: %q is not an exporter purista has: use %s or none", ErrConfig, name, v, n, strings.Join(known, ", "))
		}
	}
	return names, nil
}

// disabled reports OTEL_SDK_DISABLED=true; a value other than true or false is an error.
func disabled(getenv func(string) string) (bool, error) {
	v := strings.TrimSpace(getenv("OTEL_SDK_DISABLED"))
	if v == "" {
		return false, nil
	}
	return envBool("OTEL_SDK_DISABLED", v)
}

// envBool reads the boolean value v of the variable name: true or false, in any case.
func envBool(name, v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, fmt.Errorf("%w: %s=%q: use true or false", ErrConfig, name, v)
}

// plaintext reports whether a gRPC exporter connects without TLS: when asked to
// (OTEL_EXPORTER_OTLP_INSECURE) or when the endpoint is an http:// URL.
func (c otlpConfig) plaintext() bool {
	return c.insecure || strings.HasPrefix(strings.ToLower(c.endpoint), "http://")
}

// keyValues calls f with each pair of a comma-separated list of percent-encoded
// key=value pairs (the format of OTEL_RESOURCE_ATTRIBUTES and the OTLP headers), in
// order; name is the variable, for the error.
func keyValues(name, v string, f func(k, v string)) error {
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		k, kerr := url.PathUnescape(strings.TrimSpace(k))
		val, verr := url.PathUnescape(strings.TrimSpace(val))
		if !ok || k == "" || kerr != nil || verr != nil {
			return fmt.Errorf("%w: %s: %q is not key=value (percent-encoded)", ErrConfig, name, kv)
		}
		f(k, val)
	}
	return nil
}
