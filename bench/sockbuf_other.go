//go:build !linux

package main

import "net"

// forceUDPBuffers cannot force past the system limit here; it reports
// nothing.
func forceUDPBuffers(c *net.UDPConn, n int) (rcv, snd int) { return 0, 0 }
