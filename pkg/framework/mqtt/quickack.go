package mqtt

import (
	"context"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/eclipse/paho.golang/autopaho"
)

// Delayed ACKs and Mosquitto.
//
// Mosquitto leaves Nagle's algorithm on by default (its listener option set_tcp_nodelay is
// false). In a QoS 1 request/response the broker sends the requester a PUBACK and, a moment
// later, the response PUBLISH: Nagle holds the PUBLISH back until the PUBACK is
// acknowledged, and Linux delays that TCP acknowledgement for up to 40 ms because the
// connection looks interactive. Every sequential call then takes ≈ 40 ms instead of well
// under a millisecond. The bridge avoids the stall from its side: on plain TCP
// connections it re-arms TCP_QUICKACK after every read and write (the kernel drops back to
// delayed ACKs when the connection looks interactive), so the broker's segments are acknowledged at
// once. Configuring the broker with set_tcp_nodelay true removes the stall as well.

// quickAckConn re-arms TCP_QUICKACK after every read and write (one setsockopt each,
// about a microsecond); re-arming after writes alone leaves the stall in place.
type quickAckConn struct {
	*net.TCPConn
}

// Write implements net.Conn.
func (c quickAckConn) Write(b []byte) (int, error) {
	n, err := c.TCPConn.Write(b)
	setQuickAck(c.TCPConn)
	return n, err
}

// Read implements net.Conn.
func (c quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	setQuickAck(c.TCPConn)
	return n, err
}

// QuickAck wraps conn so that it acknowledges received segments at once (see the package
// notes on Mosquitto and delayed ACKs). Connections other than *net.TCPConn, and platforms
// without TCP_QUICKACK, are returned unchanged.
func QuickAck(conn net.Conn) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok || !quickAckSupported {
		return conn
	}
	setQuickAck(tc)
	return quickAckConn{tc}
}

// attemptConnection returns autopaho's AttemptConnection for u: a plain TCP dial wrapped
// in QuickAck and newConn (buffered reads, batched writes) for the mqtt and tcp schemes
// (without an all_proxy setting), nil (autopaho's own dialer) for everything else.
func attemptConnection(u *url.URL) func(context.Context, autopaho.ClientConfig, *url.URL) (net.Conn, error) {
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp", "":
	default:
		return nil
	}
	if !quickAckSupported || os.Getenv("all_proxy") != "" {
		return nil
	}
	return func(ctx context.Context, cfg autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
		cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
		defer cancel()
		var d net.Dialer
		conn, err := d.DialContext(cctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		return newConn(QuickAck(conn)), nil
	}
}
