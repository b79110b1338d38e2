//go:build !linux

package tju

import "net"

func enableOffload(*net.UDPConn) (gso, gro bool) { return false, false }
func gsoControl(b []byte, seg int) []byte        { return b[:0] }
func groSegmentSize([]byte) int                  { return 0 }
func isGSOError(error) bool                      { return false }
