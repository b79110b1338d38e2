package tcb

import (
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// ACK processing: the acknowledgement field, duplicate ACKs, SACK blocks
// (RFC 793 section 3.9, RFC 5681, RFC 6675, RFC 6582).

// processAck handles the acknowledgement field (RFC 793 section 3.9,
// "fifth, check the ACK field"; RFC 5681; RFC 6675; RFC 6582).
func (t *TCB) processAck(s *wire.Segment, now time.Duration) {
	ack := seqnum(s.Ack)
	if ack.gt(t.sndNxt) {
		t.ackNow = true // acknowledges something not yet sent
		return
	}
	t.timeouts = 0
	t.heard(now)
	oldWnd := t.sndWnd
	if t.sndWl1.lt(seqnum(s.Seq)) || (t.sndWl1 == seqnum(s.Seq) && t.sndWl2.leq(ack)) || ack.gt(t.sndUna) {
		t.setPeerWindow(s)
		t.sndWl1, t.sndWl2 = seqnum(s.Seq), ack
		if t.sndWnd > 0 {
			t.stopTimers(timerPersist)
			t.persistBackoff = 0
		}
	}
	newSack := false
	if t.sack && s.NumSACK > 0 {
		newSack = t.processSACK(s.SACK[:s.NumSACK])
	}
	flight := t.flightSize()
	switch {
	case ack.gt(t.sndUna):
		t.advance(ack, now, flight)
	case ack == t.sndUna && t.recs.len() > 0 && len(s.Payload) == 0 &&
		s.Flags&wire.FlagFIN == 0 && (t.sndWnd == oldWnd || newSack):
		// A duplicate ACK (RFC 5681 section 2).
		t.dupAcks++
		if !t.inRecovery && t.dupAcks == t.dupThresh() && ack.geq(t.recoverSeq) {
			t.markLost(0)
		}
	}
	if newSack && t.detectLost() && t.inRecovery && now-t.recoveryStart > t.rtt.srtt {
		// A retransmission sent in this recovery was lost too: the
		// window that recovery set is still more than the path holds, a
		// second congestion signal (RFC 5681 answers it with the RTO,
		// which a RACK-detected loss never lets expire). Start a new
		// episode so the controller reduces again, once a round trip.
		t.enterRecovery(now, flight)
	}
	if rs, ok := t.rs.sample(t.rtt.minRTT, t.recs.pipe); ok && t.cc != nil {
		t.lastRS = rs
		t.cc.OnRateSample(now, &t.lastRS)
	}
	if t.recs.lost > 0 && !t.inRecovery && t.state != Closed && t.sndUna.geq(t.recoverSeq) {
		t.enterRecovery(now, flight)
	}
	if t.sndWnd != oldWnd {
		t.traceSwnd()
	}
}

// advance handles an ACK that acknowledges new data.
func (t *TCB) advance(ack seqnum, now time.Duration, flight int) {
	acked := int(ack - t.sndUna)
	var sample time.Duration = -1
	dataAcked := acked
	for t.recs.len() > 0 && t.recs.at(0).end().leq(ack) {
		r := t.recs.popFront()
		if !r.sacked {
			t.rs.onDelivered(now, &r.tx, r.sent, int(r.n), r.retx > 0)
		}
		if r.retx == 0 && !r.sacked {
			sample = now - r.sent // Karn's rule: never a retransmitted one
		}
		t.noteDelivered(&r, now)
		if r.fin {
			t.finAcked = true
			dataAcked--
		}
	}
	if t.recs.len() > 0 && t.recs.at(0).seq.lt(ack) { // partly acknowledged
		r := *t.recs.at(0)
		if d := t.recs.trimFront(ack); !r.sacked {
			t.rs.onDelivered(now, &r.tx, r.sent, int(d), r.retx > 0)
		}
	}
	if t.finSent && ack.gt(t.finSeq) {
		t.finAcked = true
	}
	t.sndUna = ack
	if dataAcked > 0 {
		dataAcked = min(dataAcked, t.sbufLen)
		t.sbuf.advance(dataAcked)
		t.sbufLen -= dataAcked
		t.sbufSeq = t.sbufSeq.add(dataAcked)
		t.stats.BytesAcked += uint64(dataAcked)
		if t.sbufLen == 0 {
			t.sbuf.head = 0
		}
	}
	if sample >= 0 {
		t.rtt.sample(sample)
		t.traceRTT()
	}

	t.dupAcks = 0
	t.tlpOut = false
	if t.recs.len() == 0 {
		t.stopTimers(timerRTO)
	} else {
		t.restartRTO(now) // RFC 6298 5.3
	}
	defer t.armTLP(now)
	if t.inRecovery {
		if ack.geq(t.recoverSeq) {
			t.inRecovery = false
			t.cc.OnRecoveryEnd(now)
			t.traceCC(cwndPhase(t.cc))
		} else if t.recs.len() > 0 && !t.sack {
			// NewReno partial ACK (RFC 6582 3.2): the next hole is lost too,
			// unless it was already resent in this recovery. With SACK the
			// scoreboard knows better (RFC 6675): the hole may be a
			// retransmission still on its way.
			if r := t.recs.at(0); !r.sacked && !r.lost && r.sent < t.recoveryStart {
				t.markLost(0)
			}
		}
	} else if t.cc != nil {
		t.cc.OnAck(now, acked, flight, t.rtt.latest)
		t.traceCC(cwndPhase(t.cc))
	}
	switch t.state {
	case FinWait1:
		if t.finAcked {
			t.setState(FinWait2)
			if t.appClosed {
				t.setTimer(timerFinWait2, now+t.cfg.FinWait2Timeout)
			}
		}
	case Closing:
		if t.finAcked {
			t.enterTimeWait(now)
		}
	case LastAck:
		if t.finAcked {
			t.setState(Closed)
			t.stopTimers(timerRTO)
		}
	}
}

// noteDelivered advances the send time of the newest segment known
// delivered (RACK.xmit_ts, RFC 8985 section 6.2), except for a
// retransmission acknowledged within a min RTT of being sent: that ACK is
// for the original transmission, and taking the retransmission's time
// would make every segment sent in between look lost.
func (t *TCB) noteDelivered(r *rec, now time.Duration) {
	if r.retx > 0 && now-r.sent < t.rtt.minRTT {
		return
	}
	if r.sent > t.deliveredSent {
		t.deliveredSent = r.sent
	}
}

// processSACK marks the records the blocks cover SACKed and reports
// whether any record was newly SACKed; detectLost then finds what the
// blocks show lost.
//
// Every record a block applied here covers stays SACKed until the
// cumulative ACK removes it, so the part of a block that the previous
// ACK's blocks already covered is skipped: a receiver repeats its blocks,
// extended, in every ACK, and walking a large window's SACKed records for
// each ACK made the scan quadratic in the window.
func (t *TCB) processSACK(blocks []wire.Block) bool {
	newly := false
	for _, b := range blocks {
		left, right := seqnum(b.Left), seqnum(b.Right)
		if !left.lt(right) || right.leq(t.sndUna) || right.gt(t.sndNxt) {
			continue
		}
		from := left // where the records not yet SACKed by this block may start
		for moved := true; moved; {
			moved = false
			for _, c := range t.sackSeen {
				if cl, cr := seqnum(c.Left), seqnum(c.Right); cl.lt(cr) && cl.leq(from) && from.lt(cr) {
					from, moved = cr, true
				}
			}
		}
		if !from.lt(right) {
			continue
		}
		for i := t.recs.search(from); i < t.recs.len(); i++ {
			r := t.recs.at(i)
			if r.end().gt(right) {
				break
			}
			if r.seq.lt(left) || !t.recs.sack(i) {
				continue
			}
			t.rs.onDelivered(t.lastNow, &r.tx, r.sent, int(r.n), r.retx > 0)
			t.noteDelivered(r, t.lastNow)
			newly = true
		}
	}
	t.sackSeen = [wire.MaxSACKBlocks]wire.Block{}
	for i, b := range blocks {
		if seqnum(b.Left).lt(seqnum(b.Right)) && seqnum(b.Left).geq(t.sndUna) && seqnum(b.Right).leq(t.sndNxt) {
			t.sackSeen[i] = b
		}
	}
	return newly
}

// detectLost marks the records the SACK information shows lost, after the
// cumulative ACK has removed what it covers (a retransmission that filled
// the first hole is acknowledged, not lost, even when the same ACK SACKs
// segments sent after it). A record is lost when DupThresh segments' worth
// above it are SACKed (RFC 6675 section 4, IsLost) and a segment sent more
// than a quarter of the min RTT after it was delivered (RACK's reordering
// window, RFC 8985 section 6.2). The time condition matters for first
// transmissions too: one ACK holds four SACK blocks, so after a burst of
// arrivals with several holes the receiver's ACKs report the ranges one
// after another, and the first of them already shows the highest; without
// the window every range reported by the later ACKs would be resent.
//
// It reports whether a retransmission sent in the current recovery was
// found lost.
func (t *TCB) detectLost() (lostRetx bool) {
	if t.recs.sacked == 0 {
		return false
	}
	bound := t.recs.highSack.add(-t.dupThresh() * t.mss)
	reo := t.rtt.minRTT / 4
	// Records before lossScan are all SACKed or lost (a resend moves it
	// back): the scan starts there, not at the oldest record each ACK.
	if t.lossScan.lt(t.sndUna) || t.lossScan.gt(t.sndNxt) {
		t.lossScan = t.sndUna
	}
	scan := true
	for i := t.recs.search(t.lossScan); i < t.recs.len(); i++ {
		r := t.recs.at(i)
		if r.end().gt(bound) {
			break
		}
		if r.sacked || r.lost {
			if scan {
				t.lossScan = r.end()
			}
			continue
		}
		if r.sent+reo < t.deliveredSent {
			t.markLost(i)
			lostRetx = lostRetx || r.retx > 0 && r.sent >= t.recoveryStart
			if scan {
				t.lossScan = r.end()
			}
			continue
		}
		scan = false
	}
	return lostRetx
}

// resent notes that record i was sent again: it is back in the pipe, so
// detectLost must look at it again.
func (t *TCB) resent(i int) {
	if r := t.recs.at(i); r.seq.lt(t.lossScan) {
		t.lossScan = r.seq
	}
}
