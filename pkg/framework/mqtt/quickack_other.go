//go:build !linux

package mqtt

import "net"

// quickAckSupported reports whether setQuickAck does anything on this platform.
const quickAckSupported = false

// setQuickAck does nothing: TCP_QUICKACK exists on Linux only.
func setQuickAck(*net.TCPConn) {}
