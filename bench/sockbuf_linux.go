//go:build linux

package main

import (
	"net"
	"syscall"
)

// forceUDPBuffers raises the buffers with SO_RCVBUFFORCE/SO_SNDBUFFORCE
// (allowed with CAP_NET_ADMIN) where SO_RCVBUF/SO_SNDBUF were capped by
// net.core.rmem_max/wmem_max, the way quic-go does for its own sockets.
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
