package tcb

import (
	"errors"
	"fmt"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// Liveness: how a connection notices that its peer is gone. Keep-alive
// probes (RFC 9293 section 3.8.4, RFC 1122 4.2.3.6) find a silent peer of
// an idle connection; the user timeout (RFC 9293 section 3.10.4's USER
// TIMEOUT, RFC 5482) bounds how long data or a probe may wait for an
// answer; an ICMP port unreachable (RFC 1122 4.2.3.9, RFC 5927) that
// quotes a segment we sent says the peer's port is gone.

// ErrUnreachable ends a connection whose peer's UDP port is unreachable:
// an ICMP port-unreachable report quoted one of its segments.
var ErrUnreachable = errors.New("connection refused: the peer's UDP port is unreachable (ICMP)")

// TimeoutError ends a connection whose peer stopped answering: its
// retransmissions, its keep-alive probes or its user timeout ran out.
// It matches ErrTimeout with errors.Is.
type TimeoutError struct {
	Silent      time.Duration // how long nothing acceptable arrived from the peer
	Retransmits int           // consecutive retransmission timeouts
	Probes      int           // keep-alive probes that went unanswered
	Handshake   bool          // the SYN or SYN-ACK was never answered
}

func (e *TimeoutError) Error() string {
	s := e.Silent.Round(100 * time.Millisecond)
	switch {
	case e.Handshake:
		return fmt.Sprintf("connection timed out: no answer to the handshake for %v (%d retransmissions)", s, e.Retransmits)
	case e.Probes > 0:
		return fmt.Sprintf("connection timed out: the peer stopped answering for %v (%d keep-alive probes unanswered)", s, e.Probes)
	default:
		return fmt.Sprintf("connection timed out: the peer stopped answering for %v (%d retransmission timeouts)", s, e.Retransmits)
	}
}

// Is makes a TimeoutError match ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// timedOut ends the connection because the peer stopped answering.
func (t *TCB) timedOut(now time.Duration) {
	since := t.lastHeard
	if !t.everHeard {
		since = t.synSentAt
	}
	t.fail(&TimeoutError{
		Silent: now - since, Retransmits: max(t.timeouts, t.synRetx), Probes: t.kaProbes,
		Handshake: !t.Synchronized(),
	})
}

// heard notes an acceptable segment from the peer: it is alive.
func (t *TCB) heard(now time.Duration) {
	t.lastHeard, t.everHeard = now, true
	t.kaProbes = 0
	if t.cfg.KeepAliveIdle > 0 {
		t.setTimer(timerKeepAlive, now+t.cfg.KeepAliveIdle)
	}
	// The wait is over; what is still outstanding waits anew from its next
	// (re)transmission.
	t.waiting = false
	t.stopTimers(timerUserTimeout)
}

// expectAnswer notes that a segment that needs an answer (data, a FIN, a
// keep-alive probe) went out: if none was outstanding, the wait starts.
func (t *TCB) expectAnswer(now time.Duration) {
	if !t.waiting && t.Synchronized() {
		t.waiting, t.waitSince = true, now
		t.armUserTimeout()
	}
}

func (t *TCB) armUserTimeout() {
	if t.cfg.UserTimeout > 0 {
		t.setTimer(timerUserTimeout, t.waitSince+t.cfg.UserTimeout)
	}
}

// outstanding reports whether we wait for the peer to answer something.
func (t *TCB) outstanding() bool {
	return t.recs.len() > 0 || t.kaProbes > 0 || (t.unsentBytes() > 0 && t.sndWnd == 0)
}

// minUnanswered is how many retransmission timeouts or keep-alive probes
// must go unanswered before the user timeout ends a connection: on a path
// whose RTO has backed off past UserTimeout, one lost retransmission is
// not yet proof that the peer is gone.
const minUnanswered = 3

// userTimedOut reports whether the peer has been silent for UserTimeout
// while something awaited its answer, after minUnanswered attempts.
func (t *TCB) userTimedOut(now time.Duration) bool {
	return t.cfg.UserTimeout > 0 && t.waiting && now-t.waitSince >= t.cfg.UserTimeout &&
		t.timeouts+t.kaProbes >= minUnanswered
}

// onUserTimeout runs when the user timeout expires. Short of
// minUnanswered attempts, the next retransmission timeout or probe checks
// again.
func (t *TCB) onUserTimeout(now time.Duration) {
	switch t.state {
	case Closed, TimeWait, SynSent, SynRecv:
		return
	}
	if !t.outstanding() {
		t.waiting = false // everything was answered meanwhile
		return
	}
	if t.userTimedOut(now) {
		t.timedOut(now)
	}
}

// onKeepAlive runs when nothing arrived from the peer for the keep-alive
// idle time, or a probe's interval passed: it sends another probe, or
// ends the connection once KeepAliveCount went unanswered.
func (t *TCB) onKeepAlive(now time.Duration) {
	switch t.state {
	case Established, CloseWait, FinWait2:
	default:
		return // handshake, TIME_WAIT and closing have their own timers
	}
	if t.recs.len() > 0 || t.unsentBytes() > 0 {
		// Data in flight or queued: retransmissions and the user timeout
		// watch the peer. Look again later.
		t.setTimer(timerKeepAlive, now+t.cfg.KeepAliveIdle)
		return
	}
	if (t.cfg.KeepAliveCount > 0 && t.kaProbes >= t.cfg.KeepAliveCount) || t.userTimedOut(now) {
		t.timedOut(now)
		return
	}
	t.kaProbes++
	t.kaPending = true
	t.trimIdle()
	t.setTimer(timerKeepAlive, now+t.cfg.KeepAliveInterval)
}

// pollKeepAlive emits a pending keep-alive probe: an ACK with sequence
// number SND.NXT-1, which the peer cannot accept and so must answer with
// an ACK (RFC 9293 section 3.8.4; no garbage byte: a lab peer that takes
// every payload would store it).
func (t *TCB) pollKeepAlive(now time.Duration, buf []byte) int {
	if !t.kaPending {
		return 0
	}
	t.kaPending = false
	n := t.emit(buf, now, wire.FlagACK, t.sndNxt-1, nil, 0)
	t.expectAnswer(now)
	return n
}

// isKeepAlive reports whether s is a peer's keep-alive probe: no payload,
// no FIN, seq one before RCV.NXT. It is answered with an ACK at once.
func (t *TCB) isKeepAlive(s *wire.Segment) bool {
	return len(s.Payload) == 0 && s.Flags&(wire.FlagFIN|wire.FlagSYN|wire.FlagRST) == 0 &&
		seqnum(s.Seq) == t.rbuf.nxt-1
}

// trimIdle frees empty buffers of a connection that went quiet (it sends
// or answers a keep-alive probe): they grow again on demand, and an idle
// connection then costs no more than a closed one.
func (t *TCB) trimIdle() {
	if t.sbufLen == 0 && t.recs.len() == 0 {
		t.sbuf = ring{}
		t.recs = scoreboard{}
	}
	if t.rbuf.ready == 0 && t.rbuf.hi == 0 {
		t.rbuf.r = ring{}
	}
}

// Unreachable reports an ICMP port unreachable for the peer whose quoted
// segment carried sequence number seq. It ends the connection, and
// reports true, only when the report is credible, since anyone can send
// ICMP (RFC 5927):
//
//   - in SYN_SENT and SYN_RECV, when seq is our initial sequence number:
//     the report quotes our SYN or SYN-ACK, and an off-path attacker would
//     have to guess a random 32-bit number (RFC 1122 4.2.3.9 makes port
//     unreachable a hard error that aborts a connection attempt);
//   - in a synchronized state, when seq lies in SND.UNA..SND.NXT-1 (a
//     segment in flight) or is SND.NXT-1 with a keep-alive probe out, and
//     the peer has also stopped answering: a retransmission timeout
//     expired or a probe is unanswered. RFC 5927 section 7 treats hard
//     errors in synchronized states as soft ones; acting only once the
//     peer is silent keeps a forged report from ending a live connection,
//     while a connection whose peer died ends within an RTO or two.
func (t *TCB) Unreachable(seq uint32, now time.Duration) bool {
	s := seqnum(seq)
	switch t.state {
	case SynSent, SynRecv:
		if s != t.iss {
			return false
		}
	case Established, FinWait1, FinWait2, CloseWait, Closing, LastAck:
		inFlight := t.sndUna.leq(s) && s.lt(t.sndNxt)
		probe := t.kaProbes > 0 && s == t.sndNxt-1
		if !inFlight && !probe {
			return false
		}
		if t.timeouts == 0 && t.kaProbes == 0 {
			return false
		}
	default:
		return false
	}
	t.lastNow = now
	t.fail(ErrUnreachable)
	return true
}
