//go:build linux

package tju

import (
	"encoding/binary"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP segmentation offload (GSO, UDP_SEGMENT) sends a run of equal-sized
// datagrams in one sendmsg; receive offload (GRO, UDP_GRO) hands a run of
// them to one recvmsg. On loopback both keep the run whole, so a bulk
// transfer costs one system call per up to 46 segments in each direction.

// enableOffload turns GRO on for u and reports which offloads work.
func enableOffload(u *net.UDPConn) (gso, gro bool) {
	rc, err := u.SyscallConn()
	if err != nil {
		return false, false
	}
	_ = rc.Control(func(fd uintptr) {
		if _, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT); err == nil {
			gso = true
		}
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) == nil {
			gro = true
		}
		// As root, go past net.core.rmem_max: bursts must not overflow.
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
	})
	return gso, gro
}

// gsoControl returns the control message asking for segments of size seg.
func gsoControl(b []byte, seg int) []byte {
	n := unix.CmsgSpace(2)
	b = b[:n]
	clear(b)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(seg))
	return b
}

// groSegmentSize returns the segment size reported by a UDP_GRO control
// message in oob, or 0.
func groSegmentSize(oob []byte) int {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0
		}
		if h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO && l >= unix.CmsgLen(4) {
			return int(binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]))
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}

// isGSOError reports whether a send failed because the path cannot
// segment (then the endpoint falls back to one datagram per call).
func isGSOError(err error) bool {
	var errno unix.Errno
	for e := err; e != nil; {
		if en, ok := e.(unix.Errno); ok {
			errno = en
			break
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return errno == unix.EIO || errno == unix.EINVAL || errno == unix.EOPNOTSUPP || errno == unix.ENOPROTOOPT
}
