// Package natsembed runs a NATS server with JetStream inside the current process, for
// development and tests when no broker is reachable.
package natsembed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady is wrapped by Start's error when the server did not accept connections in
// time.
var ErrNotReady = errors.New("natsembed: server not ready")

// Server is an in-process nats-server listening on 127.0.0.1 on a free port, with
// JetStream storing under the directory given to Start. Its methods are safe for
// concurrent use.
type Server struct {
	s *server.Server
}

// Option configures Start.
type Option func(*server.Options)

// WithTLS makes the server require TLS on client connections with cfg (its certificate
// must cover 127.0.0.1). Clients then need a TLS configuration that trusts it. Default:
// no TLS.
func WithTLS(cfg *tls.Config) Option {
	return func(o *server.Options) {
		o.TLS, o.TLSConfig = true, cfg
	}
}

// Start starts a server with JetStream whose store is dir (use a fresh temporary
// directory; it must be writable) and waits until it accepts connections or ctx ends.
// Signal handling is off. Call Shutdown to stop it.
func Start(ctx context.Context, dir string, opts ...Option) (*Server, error) {
	o := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  dir,
		NoSigs:    true,
		NoLog:     true,
	}
	for _, opt := range opts {
		opt(o)
	}
	s, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	go s.Start()
	for !s.ReadyForConnections(50 * time.Millisecond) {
		if err := ctx.Err(); err != nil {
			s.Shutdown()
			s.WaitForShutdown()
			return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
		}
	}
	return &Server{s: s}, nil
}

// ClientURL returns the URL clients connect to, e.g. nats://127.0.0.1:43127 (with
// WithTLS the connection is upgraded to TLS after the server's INFO).
func (s *Server) ClientURL() string { return s.s.ClientURL() }

// Shutdown stops the server and waits until it has stopped. Safe to call more than once.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
