package tcb

import (
	"time"

	"github.com/tjunet/tjunet/trace"
)

// Loss recovery: the retransmission timeout (RFC 6298), tail loss probes
// (RFC 8985 section 7), the duplicate-ACK threshold and Early Retransmit
// (RFC 5681, RFC 5827), and entering fast recovery (RFC 6675, RFC 6582).

// onRTO handles expiry of the retransmission timer (RFC 6298 section 5).
func (t *TCB) onRTO(now time.Duration) {
	switch t.state {
	case SynSent, SynRecv:
		t.synRetx++
		if t.synRetx > t.cfg.SynRetries {
			t.timedOut(now)
			return
		}
		t.rtt.backOff()
		t.synPending = true
		return
	case Closed, TimeWait:
		return
	}
	if t.recs.len() == 0 {
		return
	}
	t.rtt.backOff() // 5.5
	if t.sndWnd == 0 {
		// A zero-window probe went unanswered or was refused: keep probing
		// with backoff, but this says nothing about congestion. The probe
		// (the earliest segment) goes out at once whatever the congestion
		// window, and the timer is restarted (RFC 6298 5.4 and 5.6): with
		// more than a probe outstanding, cwnd may allow nothing, and no
		// timer would be left to try again.
		t.timeouts++
		if t.timeouts > t.cfg.Retries || t.userTimedOut(now) {
			t.timedOut(now)
			return
		}
		t.markLost(0)
		t.rtoResend = true
		t.restartRTO(now)
		return
	}
	t.timeouts++
	if t.timeouts > t.cfg.Retries || t.userTimedOut(now) {
		t.timedOut(now)
		return
	}
	t.stats.Timeouts++
	flight := t.flightSize()
	t.cc.OnTimeout(now, flight)
	t.traceCC(trace.CwndTimeout)
	// What is not SACKed and has been out for longer than a round trip is
	// presumed lost and resent in order as the window allows (RFC 6675
	// section 5.1, with RACK's time condition, RFC 8985 section 6.3, so a
	// large window of segments still in flight is not all sent twice).
	// The oldest segment is always resent.
	t.markLost(0)
	horizon := t.rtt.srtt + t.rtt.minRTT/4
	for i := 1; i < t.recs.len(); i++ {
		if r := t.recs.at(i); now-r.sent >= horizon || !t.rtt.hasSample {
			t.markLost(i)
		}
	}
	t.rs.nlost = 0 // answered by OnTimeout, not by the next ACK's sample
	t.inRecovery = false
	t.recoverSeq = t.sndNxt
	t.dupAcks = 0
	t.rtoResend = true // 5.4: resend the earliest segment now, whatever the window
	t.restartRTO(now)  // 5.6: restart the timer, backed off
}

// armTLP schedules a tail loss probe (RFC 8985 section 7.2): if no ACK
// arrives within PTO = 2*SRTT (plus the peer's delayed-ACK allowance when
// one segment is out), one segment is sent again or new data goes out, so
// that the loss of the last segments of a flight is repaired by fast
// recovery instead of a retransmission timeout.
func (t *TCB) armTLP(now time.Duration) {
	if t.recs.len() == 0 || t.inRecovery || t.tlpOut || !t.rtt.hasSample || !t.sack {
		t.stopTimers(timerTLP)
		return
	}
	pto := 2 * t.rtt.srtt
	if t.recs.len() == 1 {
		pto += t.cfg.DelayedACK
	}
	pto = max(pto, 10*time.Millisecond)
	if t.running(timerRTO) && now+pto >= t.timers[timerRTO] {
		t.stopTimers(timerTLP)
		return
	}
	t.setTimer(timerTLP, now+pto)
}

// dupThresh is the number of duplicate ACKs (or segments' worth of SACKed
// data above a hole) that marks the hole lost: 3 (RFC 5681), lowered to
// one less than the segments outstanding when fewer than four are and no
// new data can go out (Early Retransmit, RFC 5827 section 3.1), so that a
// small window recovers without waiting for the RTO.
func (t *TCB) dupThresh() int {
	if n := t.recs.len(); n >= 2 && n < 4 && t.unsentBytes() == 0 {
		return n - 1 // with one segment out, a duplicate ACK proves nothing
	}
	return 3
}

// flightSize is FlightSize for the congestion controller (RFC 5681): the
// data outstanding, but never more than cwnd. With SACK, SND.NXT - SND.UNA
// also counts SACKed and lost bytes and, after a long recovery that kept
// sending, can be several times cwnd; halving that would raise the window.
func (t *TCB) flightSize() int {
	f := int(t.sndNxt - t.sndUna)
	if t.cc != nil {
		f = min(f, t.cc.Window())
	}
	return f
}

// markLost marks record i lost if it is in the pipe.
func (t *TCB) markLost(i int) {
	if t.recs.markLost(i) {
		t.rs.onLost(int(t.recs.at(i).n))
	}
}

func (t *TCB) enterRecovery(now time.Duration, flight int) {
	t.inRecovery = true
	t.recoverSeq = t.sndNxt
	t.recoveryStart = now
	t.stats.FastRecovery++
	t.cc.OnFastRetransmit(now, flight)
	t.traceCC(trace.CwndFastRetransmit)
}
