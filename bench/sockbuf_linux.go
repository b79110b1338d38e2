//go:build linux

package main

import (
	"net"
	"syscall"
)

// forceUDPBuffers does for the kcp sockets exactly what quic-go does for its
// own: if the size the kernel reports is below n, try SO_RCVBUFFORCE /
// SO_SNDBUFFORCE (allowed with CAP_NET_ADMIN). Like quic-go it compares with
// the reported size, which Linux doubles, so a buffer capped at
// net.core.rmem_max >= n/2 is accepted as it is; both peers then run with the
// same buffers.
func forceUDPBuffers(c *net.UDPConn, n int) (rcv, snd int) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0
	}
	_ = raw.Control(func(fd uintptr) {
		s := int(fd)
		if v, err := syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil && v < n {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
		}
		if v, err := syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUF); err == nil && v < n {
			_ = syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, n)
		}
		rcv, _ = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, _ = syscall.GetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	return rcv, snd
}
