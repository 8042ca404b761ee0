package mqtt

import (
	"net"
	"syscall"
)

// quickAckSupported reports whether setQuickAck does anything on this platform.
const quickAckSupported = true

// setQuickAck turns TCP_QUICKACK on for c; errors are ignored (the option is an
// optimisation only).
func setQuickAck(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
