package tju

import (
	"encoding/binary"
	"net/netip"
)

// An endpoint on a real UDP socket reads the ICMP errors the kernel
// reports about the datagrams it sent (Linux: IP_RECVERR, icmp_linux.go).
// A port unreachable ends a connection attempt at once (Dial fails with an
// error matching ErrConnRefused instead of retrying its SYN for a minute)
// and an established connection whose peer's port went away. Anyone can
// send ICMP, so a report is believed only when it quotes a segment the
// connection sent: the quoted datagram names the connection (the peer's
// UDP address and both TJU ports) and carries a sequence number that must
// be our ISN during the handshake, or lie in flight afterwards, where an
// established connection also must have stopped hearing from its peer (a
// retransmission timeout expired or a keep-alive probe went unanswered;
// tcb.TCB.Unreachable). Other ICMP errors (host or network unreachable)
// are soft, as RFC 1122 4.2.3.9 says: retransmission goes on.

// icmpReport is one ICMP error about a datagram we sent.
type icmpReport struct {
	dst             netip.AddrPort // where the datagram was going
	quoted          []byte         // its start, as the ICMP message quoted it
	portUnreachable bool           // ICMP port unreachable (ECONNREFUSED)
}

// onICMP handles one ICMP report (called by the error-queue reader).
func (e *Endpoint) onICMP(r icmpReport) {
	e.stats.icmpIn.Add(1)
	// The quoted datagram starts with our TJU header: source port (ours),
	// destination port (the peer's), sequence number.
	if !r.portUnreachable || len(r.quoted) < 8 {
		e.stats.icmpIgnored.Add(1)
		return
	}
	key := connKey{
		peer:  r.dst,
		local: binary.BigEndian.Uint16(r.quoted[0:]), remote: binary.BigEndian.Uint16(r.quoted[2:]),
	}
	seq := binary.BigEndian.Uint32(r.quoted[4:])
	e.mu.RLock()
	c := e.conns[key]
	e.mu.RUnlock()
	if c == nil {
		e.stats.icmpIgnored.Add(1)
		return
	}
	c.mu.Lock()
	now := e.now()
	if c.tcb.Unreachable(seq, now) {
		e.stats.icmpUnreachable.Add(1)
	} else {
		e.stats.icmpIgnored.Add(1)
	}
	c.afterLocked(now)
	c.mu.Unlock()
}

// errQueueLoop reads the socket's error queue whenever a socket call
// reported an ICMP errno, until the endpoint closes. It runs apart from
// the reader and the senders, which may hold a connection's lock when the
// errno surfaces.
func (e *Endpoint) errQueueLoop() {
	buf := make([]byte, 2048)
	oob := make([]byte, 512)
	for {
		select {
		case <-e.errWake:
			readErrQueue(e.udp, buf, oob, e.onICMP)
		case <-e.done:
			return
		}
	}
}

// sawSocketError notes that a socket call failed with err; it reports
// whether err was a queued ICMP error (which says nothing of the socket).
func (e *Endpoint) sawSocketError(err error) bool {
	if !e.recvErr || !isICMPErrno(err) {
		return false
	}
	signal(e.errWake)
	return true
}
