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
	if t.cfg.Extensions && !t.cfg.NoAuth && hasAck && s.HasAuth {
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
	t.startCC(now) // the handshake ACK does not grow cwnd (lab rule)
	t.traceWindows()
}

// handleSynRecv completes a passive open; it reports whether the segment
// should go on to the synchronized-state processing.
func (t *TCB) handleSynRecv(s *wire.Segment, now time.Duration) bool {
	if s.Flags&wire.FlagRST != 0 {
		t.handleRST(seqnum(s.Seq).since(t.rbuf.nxt), 0, now) // exactly RCV.NXT
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
	seq := seqnum(s.Seq)
	fin := s.Flags&wire.FlagFIN != 0
	segLen := len(s.Payload)
	if fin {
		segLen++
	}
	wnd := max(t.advRight.since(t.rbuf.nxt), 0)
	off := seq.since(t.rbuf.nxt)
	if s.Flags&wire.FlagSYN != 0 {
		// RFC 5961 section 4.2: a SYN on a synchronized connection, whatever
		// its sequence number, gets a challenge ACK and changes nothing. A
		// retransmitted SYN-ACK (our third ACK was lost) is answered so too.
		t.challengeACK(now)
		return
	}
	if s.Flags&wire.FlagRST != 0 {
		t.handleRST(off, wnd, now)
		return
	}
	// RFC 9293 section 3.10.7.4, first: the sequence number check.
	if !acceptable(off, segLen, wnd) {
		switch {
		case t.labFINSeq0(s):
			// Code built on the lab's skeleton sends its FIN with seq 0 and
			// the lab's graders take it. Taken here only with an ack field
			// equal to SND.NXT (which only the peer knows) and no data
			// missing, at the next sequence number.
			if s.Flags&wire.FlagACK != 0 {
				t.processAck(s, now)
				if t.state == Closed {
					return
				}
			}
			t.finPending, t.peerFinSeq = true, t.rbuf.nxt
			t.consumeFin(now)
		case off+segLen <= 0 && -off <= min(t.rbuf.limit, 0xffff<<t.rcvShift):
			// A duplicate from the recent past (a retransmission whose ACK
			// was lost): ACK at once, as RFC 5681 4.2 wants.
			t.stats.DupSegsRecv++
			t.ackNow = true
			if t.isKeepAlive(s) && s.Flags&wire.FlagACK != 0 && t.ackAcceptable(seqnum(s.Ack)) {
				t.heard(now) // RFC 9293 3.8.4: a keep-alive probe, answered; its sender lives
				t.trimIdle() // and the connection is idle
			}
			if fin && t.finRcvd && t.state == TimeWait {
				t.setTimer(timerTimeWait, now+t.cfg.TimeWait) // RFC 9293: restart the 2 MSL timeout
			}
		case off == 0 && wnd == 0:
			// A zero-window probe: its data cannot be taken, but its ACK
			// field can (RFC 9293: "special allowance should be made to
			// accept valid ACKs"), and the answer says the window is shut.
			if s.Flags&wire.FlagACK != 0 && t.ackAcceptable(seqnum(s.Ack)) {
				t.processAck(s, now)
			}
			t.ackNow = true
		default:
			// Outside the window: dropped, answered with an ACK (rate
			// limited, as blind segments would otherwise turn into a
			// stream of duplicate ACKs to the real peer).
			t.stats.OutOfWindow++
			t.challengeACK(now)
		}
		return
	}
	if s.Flags&wire.FlagACK == 0 {
		// RFC 9293: a segment without ACK is dropped. Lab implementations
		// send data and FIN that way (the skeleton's flags 0): accepted from
		// a plain peer, never on a connection that negotiated tjunet's
		// options, whose segments always carry ACK.
		if t.ext {
			t.stats.OutOfWindow++
			return
		}
	} else {
		ack := seqnum(s.Ack)
		if !t.ackAcceptable(ack) {
			// RFC 5961 section 5.2: an ACK of data never sent, or of data
			// older than the largest window the peer ever offered: dropped
			// with a challenge ACK (RFC 9293 3.10.7.4, fifth).
			t.stats.BadACKs++
			t.challengeACK(now)
			return
		}
		t.processAck(s, now)
		if t.state == Closed {
			return
		}
	}
	// Bytes beyond the window are trimmed, never stored; a FIN after them
	// is beyond it too.
	payload := s.Payload
	if over := off + len(payload) - wnd; over > 0 {
		payload = payload[:len(payload)-min(over, len(payload))]
		fin = false
	}
	if len(payload) > 0 {
		t.processData(seq, payload, now)
	}
	if fin {
		fs := seq.add(len(payload))
		switch {
		case t.finRcvd:
			t.ackNow = true // a retransmitted FIN: our ACK was lost
			if t.state == TimeWait {
				t.setTimer(timerTimeWait, now+t.cfg.TimeWait)
			}
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

func (t *TCB) processData(seq seqnum, payload []byte, now time.Duration) {
	t.heard(now) // also from a lab peer whose data carries no ACK bit
	if t.finRcvd {
		t.ackNow = true
		return
	}
	before := t.rbuf.nxt
	t.autotuneRecv(seq.add(len(payload)), now)
	delivered, dup := t.rbuf.write(seq, payload)
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
		if seq.gt(t.rbuf.nxt) {
			a := span{seq, seq.add(len(payload))}
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
		if len(t.rbuf.ranges) > 0 || delivered > len(payload) {
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

// labFINSeq0 reports whether s is the FIN of a lab skeleton, seq 0, that
// Config.LabFINSeq0 takes although it lies outside the window.
func (t *TCB) labFINSeq0(s *wire.Segment) bool {
	return t.cfg.LabFINSeq0 && s.Flags&wire.FlagFIN != 0 && s.Seq == 0 && len(s.Payload) == 0 &&
		!t.finRcvd && t.rbuf.nxt != 0 && seqnum(s.Ack) == t.sndNxt && len(t.rbuf.ranges) == 0
}

// acceptable is RFC 9293's sequence number test (section 3.10.7.4) for a
// segment that starts off bytes after RCV.NXT and occupies segLen of
// sequence space, with a receive window of wnd bytes: it must overlap the
// window (an empty one must start in it, or at RCV.NXT when the window is
// zero). A segment that straddles RCV.NXT is acceptable, as in Linux; its
// old bytes are discarded and those beyond the window trimmed.
func acceptable(off, segLen, wnd int) bool {
	if segLen == 0 {
		return off == 0 || off > 0 && off < wnd
	}
	return off < wnd && off+segLen > 0
}

// ackAcceptable is RFC 5961 section 5.2's test: SND.UNA - MAX.SND.WND <=
// SEG.ACK <= SND.NXT. The lower bound lets old duplicate ACKs through (they
// are ignored) while a blind ACK must land in a window-sized range.
func (t *TCB) ackAcceptable(ack seqnum) bool {
	return ack.leq(t.sndNxt) && ack.geq(t.sndUna.add(-max(t.maxSndWnd, 1)))
}

// handleRST applies RFC 5961 section 3.2 to a RST that starts off bytes
// after RCV.NXT: it resets the connection only at exactly RCV.NXT; anywhere
// else in the window it gets a challenge ACK (a peer that really reset
// answers it with a RST at the right place); outside, it is dropped. A RST
// whose MAC verified comes from the peer: anywhere in the window will do.
func (t *TCB) handleRST(off, wnd int, now time.Duration) {
	inWnd := off >= 0 && off < max(wnd, 1)
	switch {
	case off == 0 || inWnd && t.mac != nil:
		t.fail(ErrReset)
	case inWnd:
		t.challengeACK(now)
	default:
		t.stats.OutOfWindow++
	}
}

// challengeLimit is how many challenge ACKs (and ACKs for out-of-window
// segments) a connection sends per second at most (RFC 5961 section 7).
const challengeLimit = 10

// challengeACK sends an ACK that tells the sender where the connection
// really is (RFC 5961 sections 3.2, 4.2, 5.2), at most challengeLimit a
// second.
func (t *TCB) challengeACK(now time.Duration) {
	if now-t.chalStart >= time.Second || now < t.chalStart {
		t.chalStart, t.chalCount = now, 0
	}
	if t.chalCount < challengeLimit {
		t.chalCount++
		t.stats.ChallengeACKs++
		t.ackNow = true
	}
}
