//go:build !linux

package tju

import "net"

// Elsewhere the endpoint does not read ICMP errors: a Dial to a port where
// nothing listens times out, and a peer that died is found by keep-alives
// and the user timeout.

func enableRecvErr(*net.UDPConn) bool                             { return false }
func isICMPErrno(error) bool                                      { return false }
func readErrQueue(*net.UDPConn, []byte, []byte, func(icmpReport)) {}
