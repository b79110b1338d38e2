//go:build linux

package tju

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ICMP errors on Linux. With IP_RECVERR (IPV6_RECVERR on IPv6 sockets) the
// kernel queues each ICMP error about a datagram we sent on the socket's
// error queue, with the original destination and the start of the
// datagram as the ICMP message quoted it, and fails the next recvmsg or
// sendmsg once with the error's errno; QUIC stacks read the queue the same
// way. Without it, an unconnected UDP socket never hears of ICMP at all.

// enableRecvErr asks the kernel to queue ICMP errors on u, and reports
// whether it will.
func enableRecvErr(u *net.UDPConn) bool {
	rc, err := u.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		// An IPv6 socket may carry IPv4 too (mapped addresses): ask for both.
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1) == nil {
			ok = true
		}
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1) == nil {
			ok = true
		}
	})
	return ok
}

// isICMPErrno reports whether a socket call failed with the errno of a
// queued ICMP error (the call then says nothing else: the socket is fine).
func isICMPErrno(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case unix.ECONNREFUSED, unix.EHOSTUNREACH, unix.ENETUNREACH, unix.EHOSTDOWN,
		unix.ENETDOWN, unix.EPROTO, unix.EMSGSIZE, unix.EACCES, unix.EPERM, unix.ENOPROTOOPT:
		return true
	}
	return false
}

// readErrQueue drains u's error queue without blocking and passes each
// ICMP error to fn. buf and oob are scratch space.
func readErrQueue(u *net.UDPConn, buf, oob []byte, fn func(icmpReport)) {
	rc, err := u.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		for range 1024 { // bounded: a flood cannot keep us here
			n, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: the queue is empty
			}
			r, ok := parseErrQueue(buf[:n], oob[:oobn], from)
			if ok {
				fn(r)
			}
		}
	})
}

// parseErrQueue decodes one error-queue message: the quoted datagram, the
// control message with the sock_extended_err, and the original
// destination.
func parseErrQueue(quoted, oob []byte, from unix.Sockaddr) (icmpReport, bool) {
	var r icmpReport
	switch a := from.(type) {
	case *unix.SockaddrInet4:
		r.dst = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		r.dst = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	default:
		return r, false
	}
	r.dst = unmap(r.dst)
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return r, false
	}
	for _, m := range msgs {
		v4 := m.Header.Level == unix.SOL_IP && m.Header.Type == unix.IP_RECVERR
		v6 := m.Header.Level == unix.SOL_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if (!v4 && !v6) || len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			continue
		}
		ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
		if ee.Origin != unix.SO_EE_ORIGIN_ICMP && ee.Origin != unix.SO_EE_ORIGIN_ICMP6 {
			return r, false // a local error (for example EMSGSIZE): no peer spoke
		}
		r.portUnreachable = syscall.Errno(ee.Errno) == unix.ECONNREFUSED
		r.quoted = quoted
		return r, true
	}
	return r, false
}
