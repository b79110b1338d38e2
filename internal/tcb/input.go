package tcb

import (
	"crypto/subtle"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// Input: SEGMENT ARRIVES (RFC 793 section 3.9) for each state, the FIN and
// in-order or out-of-order data.

// Handle processes one arriving segment (RFC 793 section 3.9, "SEGMENT
// ARRIVES"). It returns false when the segment was dropped for failing the
// connection's MAC (the caller counts those), true otherwise.
func (t *TCB) Handle(s *wire.Segment, now time.Duration) bool {
	t.lastNow = now
	t.stats.SegsReceived++
	t.tracePeer(s)
	switch {
	case t.mac != nil && t.state != SynSent:
		// The client's retransmitted SYN, sent before it knew the key,
		// still makes us resend the SYN-ACK (handleSynRecv checks it).
		if t.state == SynRecv && s.Flags&wire.FlagSYN != 0 && !s.HasMAC && s.HasCRC {
			break
		}
		if !t.mac.Verify(s) {
			if s.Flags&wire.FlagRST != 0 && s.HasResetToken && t.state != Closed && t.resetTokenOK(s) {
				// The peer forgot the connection and proves it is the peer.
				t.fail(ErrReset)
				return true
			}
			t.stats.DroppedBadMAC++
			return false
		}
		if t.echo && s.Flags&wire.FlagSYN == 0 {
			t.echo = false // the server holds state now: no more echoes
		}
	case t.crc && !s.HasCRC && t.state != SynSent:
		t.stats.DroppedNoCRC++
		return true
	}
	switch t.state {
	case Closed, Listen:
		return true
	case SynSent:
		return t.handleSynSent(s, now)
	case SynRecv:
		if !t.handleSynRecv(s, now) {
			return true
		}
	}
	t.handleSynchronized(s, now)
	return true
}

// resetTokenOK reports whether s carries the peer's reset token.
func (t *TCB) resetTokenOK(s *wire.Segment) bool {
	tok := wire.ResetToken(&t.peerSec)
	return subtle.ConstantTimeCompare(s.ResetToken[:], tok[:]) == 1
}

func (t *TCB) handleSynSent(s *wire.Segment, now time.Duration) bool {
	hasAck := s.Flags&wire.FlagACK != 0
	if hasAck && seqnum(s.Ack) != t.iss+1 {
		return true // not for our SYN
	}
	if s.Flags&wire.FlagRST != 0 {
		if hasAck {
			t.fail(ErrRefused)
		}
		return true
	}
	if s.Flags&wire.FlagSYN == 0 {
		return true
	}
	var mac *wire.MAC
	if t.cfg.Extensions && hasAck && s.HasAuth {
		// The SYN-ACK answers our OptAuth: derive the keys and check that
		// it was signed with them (the server knows our secret).
		in := wire.KeyInput{ClientSecret: t.cfg.Secret, ServerSecret: s.Secret,
			ClientISN: uint32(t.iss), ServerISN: s.Seq, ClientPort: t.cfg.LocalPort, ServerPort: t.cfg.RemotePort}
		mac = wire.NewMAC(&in, true)
		if !mac.Verify(s) {
			t.stats.DroppedBadMAC++
			return false
		}
		t.echo = s.AuthFlags&wire.AuthStateless != 0
		t.peerSec = s.Secret
	} else if t.cfg.Extensions && s.HasMAC {
		return true // a MAC we cannot check (no OptAuth): not a valid SYN-ACK
	}
	t.irs = seqnum(s.Seq)
	t.rbuf.nxt = seqnum(s.Seq + 1)
	t.advRight = t.rbuf.nxt
	if t.cfg.Extensions {
		t.negotiate(s, mac)
	}
	t.setPeerWindow(s)
	t.sndWl1, t.sndWl2 = seqnum(s.Seq), seqnum(s.Ack)
	if !hasAck {
		// Simultaneous open (RFC 793 figure 8).
		t.setState(SynRecv)
		t.synPending = true
		return true
	}
	t.sndUna = seqnum(s.Ack)
	t.established(now)
	t.ackNow = true // the third ACK
	return true
}

// established enters ESTABLISHED once our SYN is acknowledged.
func (t *TCB) established(now time.Duration) {
	t.stopTimers(timerRTO)
	t.synPending = false
	if t.synRetx == 0 {
		t.rtt.sample(now - t.synSentAt)
		t.traceRTT()
	} else {
		t.rtt.restartAt(3 * time.Second) // RFC 6298 section 5.7
	}
	t.rtt.backoff = 0
	t.heard(now)
	t.setState(Established)
	if t.finQueued {
		t.setState(FinWait1)
	}
	t.startCC() // the handshake ACK does not grow cwnd (lab rule)
	t.traceWindows()
}

// handleSynRecv completes a passive open; it reports whether the segment
// should go on to the synchronized-state processing.
func (t *TCB) handleSynRecv(s *wire.Segment, now time.Duration) bool {
	if s.Flags&wire.FlagRST != 0 {
		t.fail(ErrReset)
		return false
	}
	if s.Flags&wire.FlagSYN != 0 {
		if seqnum(s.Seq) != t.irs {
			return false
		}
		if s.Flags&wire.FlagACK == 0 || seqnum(s.Ack) != t.iss+1 {
			t.synPending = true // our SYN-ACK was lost: send it again
			return false
		}
		// Simultaneous open (RFC 793 figure 8): the peer's SYN-ACK
		// acknowledges our SYN, and its SYN is the one we already have.
	}
	if s.Flags&wire.FlagACK != 0 {
		if seqnum(s.Ack) != t.iss+1 {
			return false
		}
		t.sndUna = seqnum(s.Ack)
	} else if t.ext || seqnum(s.Seq) != t.rbuf.nxt || (len(s.Payload) == 0 && s.Flags&wire.FlagFIN == 0) {
		return false
	} else {
		// A lab peer that sends data without the ACK bit: its data at
		// exactly RCV.NXT proves it saw our SYN-ACK.
		t.sndUna = t.iss + 1
	}
	t.established(now)
	return true
}

func (t *TCB) handleSynchronized(s *wire.Segment, now time.Duration) {
	wnd := int(t.advRight - t.rbuf.nxt)
	if s.Flags&wire.FlagRST != 0 {
		// RFC 5961 section 3: a RST resets only if its seq is in the window.
		off := seqnum(s.Seq).since(t.rbuf.nxt)
		if off >= 0 && off <= max(wnd, 1) {
			t.fail(ErrReset)
		}
		return
	}
	if s.Flags&wire.FlagSYN != 0 {
		// A retransmitted SYN-ACK means our third ACK was lost: answer
		// with a fresh ACK (lab rule); any other SYN gets an ACK too
		// (RFC 5961 section 4).
		t.ackNow = true
		return
	}
	if t.isKeepAlive(s) {
		t.ackNow = true // RFC 9293 3.8.4: a keep-alive probe is answered
		t.trimIdle()    // and says the connection is idle
	}
	if s.Flags&wire.FlagACK != 0 {
		t.processAck(s, now)
		if t.state == Closed {
			return
		}
	}
	if len(s.Payload) > 0 {
		t.processData(s, now)
	}
	if s.Flags&wire.FlagFIN != 0 {
		fs := seqnum(s.Seq).add(len(s.Payload))
		switch {
		case t.finRcvd:
			t.ackNow = true // a retransmitted FIN: our ACK was lost
			if t.state == TimeWait {
				t.setTimer(timerTimeWait, now+t.cfg.TimeWait)
			}
		case t.cfg.LabFINSeq0 && fs == 0 && t.rbuf.nxt != 0 && seqnum(s.Ack) == t.sndNxt && len(t.rbuf.ranges) == 0:
			// Code built on the lab's skeleton sends its FIN with seq 0 and
			// the lab's graders take it. Taken here only with an ack field
			// equal to SND.NXT (which only the peer knows) and no data
			// missing, at the next sequence number.
			t.finPending, t.peerFinSeq = true, t.rbuf.nxt
		case fs.leq(t.rbuf.nxt):
			t.finPending, t.peerFinSeq = true, fs
		case fs.lt(t.advRight + 1):
			t.finPending, t.peerFinSeq = true, fs
			t.ackNow = true
		}
	}
	if t.finPending && t.rbuf.nxt == t.peerFinSeq {
		t.consumeFin(now)
	}
}

// consumeFin takes the peer's FIN once all data before it arrived (RFC 793
// section 3.9, "eighth, check the FIN bit").
func (t *TCB) consumeFin(now time.Duration) {
	t.finPending = false
	t.finRcvd = true
	t.rbuf.nxt++
	t.advRight = seqMax(t.advRight, t.rbuf.nxt)
	t.ackNow = true // the lab wants the ACK of a FIN at once, on its own
	switch t.state {
	case Established:
		t.setState(CloseWait)
	case FinWait1:
		if t.finAcked {
			t.enterTimeWait(now)
		} else {
			t.setState(Closing)
		}
	case FinWait2:
		t.enterTimeWait(now)
	}
}

func (t *TCB) enterTimeWait(now time.Duration) {
	t.setState(TimeWait)
	t.stopTimers(timerRTO, timerFinWait2, timerPersist)
	t.setTimer(timerTimeWait, now+t.cfg.TimeWait)
}

func (t *TCB) processData(s *wire.Segment, now time.Duration) {
	t.heard(now) // also from a lab peer whose data carries no ACK bit
	if t.finRcvd {
		t.ackNow = true
		return
	}
	before := t.rbuf.nxt
	delivered, dup := t.rbuf.write(seqnum(s.Seq), s.Payload)
	if t.appClosed && delivered > 0 {
		// Nobody will read it: drop it so the window stays open.
		var sink [4096]byte
		for t.rbuf.read(sink[:]) > 0 {
		}
	}
	switch {
	case dup:
		t.stats.DupSegsRecv++
		t.ackNow = true // RFC 5681 4.2: a duplicate gets an immediate ACK
	case delivered == 0:
		// Out of order (or beyond the window): a duplicate ACK at once,
		// with SACK blocks (RFC 5681 section 4.2).
		t.ackNow = true
		if seqnum(s.Seq).gt(t.rbuf.nxt) {
			a := span{seqnum(s.Seq), seqnum(s.Seq).add(len(s.Payload))}
			copy(t.recent[1:], t.recent[:len(t.recent)-1])
			t.recent[0] = a
			// An arrival that extends the latest unreported one joins
			// it: a burst of arrivals (a GRO batch, or a jittery path's
			// bunching) then needs one entry per range, not per segment,
			// and the list's bound never hides a range from the sender.
			if n := len(t.unreported); t.sack && n > 0 && t.unreported[n-1].right == a.left {
				t.unreported[n-1].right, t.unreported[n-1].reports = a.right, 2
			} else if t.sack && n < 256 {
				t.unreported = append(t.unreported, pendingSACK{a, 2})
			}
		}
	default:
		t.stats.BytesReceived += uint64(delivered)
		t.traceDelv(before, delivered)
		t.traceRwnd()
		if len(t.rbuf.ranges) > 0 || delivered > len(s.Payload) {
			t.ackNow = true // filled a hole, or more holes remain
		}
		t.rcvdSinceAck++
		if t.rcvdSinceAck >= 2 || t.cfg.DelayedACK == 0 {
			t.ackNow = true // RFC 5681 4.2: ACK at least every second segment
		} else if !t.running(timerDelAck) {
			t.setTimer(timerDelAck, now+t.cfg.DelayedACK)
		}
	}
}
