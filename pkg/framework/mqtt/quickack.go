package mqtt

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/packets"
)

// Delayed ACKs and Mosquitto.
//
// Mosquitto leaves Nagle's algorithm on by default (its listener option set_tcp_nodelay is
// false). In a QoS 1 request/response the broker sends the requester a PUBACK and, a moment
// later, the response PUBLISH: Nagle holds the PUBLISH back until the PUBACK is
// acknowledged, and Linux delays that TCP acknowledgement for up to 40 ms because the
// connection looks interactive, so every sequential call waits for that delayed
// acknowledgement. The bridge avoids the stall from its side: it re-arms the socket
// option TCP_QUICKACK after every read (the kernel drops back to delayed ACKs when the
// connection looks interactive), so the broker's segments are acknowledged at once.
// Configuring the broker with set_tcp_nodelay true removes the stall as well.
//
// That is all the bridge does to its connection: the bytes paho writes and reads pass
// unchanged and at paho's own timing, on plain TCP and under TLS alike.

// quickAckConn is a TCP connection that re-arms TCP_QUICKACK after every read (one
// setsockopt), and after writes that go through its Write (single
// buffers, and every TLS record). It embeds *net.TCPConn, so paho's multi-piece packet
// writes (net.Buffers) still go out as one writev, which bypasses Write and so re-arms
// nothing: what holds is that every read re-arms the option. It is also a
// sync.Locker, which paho holds across the pieces of one packet, so that two packets never
// interleave even where a platform writes the pieces one by one.
type quickAckConn struct {
	*net.TCPConn
	sync.Mutex
}

// Write implements net.Conn; it re-arms TCP_QUICKACK (writev via net.Buffers does not
// come here).
func (c *quickAckConn) Write(b []byte) (int, error) {
	n, err := c.TCPConn.Write(b)
	setQuickAck(c.TCPConn)
	return n, err
}

// Read implements net.Conn.
func (c *quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	setQuickAck(c.TCPConn)
	return n, err
}

// QuickAck wraps conn so that it acknowledges received segments at once (see the package
// notes on Mosquitto and delayed ACKs). The result is safe for paho's concurrent packet
// writes. Connections other than *net.TCPConn, and platforms without TCP_QUICKACK, are
// returned unchanged.
func QuickAck(conn net.Conn) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok || !quickAckSupported {
		return conn
	}
	setQuickAck(tc)
	return &quickAckConn{TCPConn: tc}
}

// attemptConnection returns autopaho's AttemptConnection for u: a TCP dial wrapped in
// QuickAck and, for mqtts, tls and ssl, a TLS client with tlsCfg on top of it (the same
// code for both). It returns nil, autopaho's own dialer, for WebSockets and when an
// all_proxy setting asks for a proxy.
func attemptConnection(u *url.URL, tlsCfg *tls.Config) func(context.Context, autopaho.ClientConfig, *url.URL) (net.Conn, error) {
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp", "":
		tlsCfg = nil
	case "mqtts", "tls", "ssl":
		if tlsCfg == nil {
			tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	default:
		return nil
	}
	if os.Getenv("all_proxy") != "" {
		return nil
	}
	return func(ctx context.Context, cfg autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
		return dial(ctx, cfg, u.Host, tlsCfg)
	}
}

// dial connects to host ("host:port") within cfg.ConnectTimeout: TCP with QuickAck, then
// TLS when tlsCfg is not nil.
func dial(ctx context.Context, cfg autopaho.ClientConfig, host string, tlsCfg *tls.Config) (net.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(cctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	conn = QuickAck(conn)
	if tlsCfg == nil {
		return conn, nil
	}
	if tlsCfg.ServerName == "" && !tlsCfg.InsecureSkipVerify {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.ServerName, _, _ = net.SplitHostPort(host)
	}
	tc := tls.Client(conn, tlsCfg)
	if err := tc.HandshakeContext(cctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	// A tls.Conn writes each of paho's pieces as a record of its own: paho locks the
	// connection across one packet's pieces when it is a sync.Locker.
	return packets.NewThreadSafeConn(tc), nil
}
