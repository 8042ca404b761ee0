// Package mqttembed runs an in-process MQTT v5 broker (mochi-mqtt) for development and
// tests, when no Mosquitto is at hand. It supports what the mqtt bridge needs: MQTT 5,
// QoS 1, shared subscriptions ($share/<group>/…), subscription identifiers, message
// expiry and persistent sessions (kept in memory: a broker restart loses them). It allows
// every client (no authentication).
package mqttembed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// closeTimeout bounds Close.
const closeTimeout = 5 * time.Second

// Server is a running embedded broker. Its methods are safe for concurrent use.
type Server struct {
	srv  *mochi.Server
	addr string
	once sync.Once
	err  error
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves MQTT until Close or
// until ctx ends. It returns once the listener accepts connections.
func Start(ctx context.Context, addr string) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mqttembed: listen on %s: %w", addr, err)
	}
	caps := mochi.NewDefaultServerCapabilities()
	caps.ReceiveMaximum = 65535
	caps.MaximumClientWritesPending = 64 * 1024
	caps.MaximumInflight = 65535
	srv := mochi.New(&mochi.Options{
		Capabilities: caps,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("mqttembed: %w", err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("mqttembed: %w", err)
	}
	if err := srv.Serve(); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("mqttembed: serve: %w", err)
	}
	s := &Server{srv: srv, addr: ln.Addr().String()}
	context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// Addr returns the broker's "host:port".
func (s *Server) Addr() string { return s.addr }

// URL returns the broker's URL for the mqtt bridge, "mqtt://host:port".
func (s *Server) URL() string { return "mqtt://" + s.addr }

// Close stops the broker and disconnects every client. Safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		done := make(chan error, 1)
		go func() { done <- s.srv.Close() }()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				s.err = fmt.Errorf("mqttembed: close: %w", err)
			}
		case <-time.After(closeTimeout):
			// mochi-mqtt v2.7.9 can deadlock on a client's inflight lock under load; its
			// goroutines are then abandoned (the listener is already closed).
			s.err = fmt.Errorf("mqttembed: close: broker did not stop within %s", closeTimeout)
		}
	})
	return s.err
}
