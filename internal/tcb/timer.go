package tcb

import (
	"time"
)

// Timers: when OnTimer must next run and what each expiry does.

// timer names one of the TCB's timers. t.timers[k] is the time timer k
// fires, 0 while it is stopped; setTimer is the one place that writes it.
type timer uint8

const (
	timerRTO         timer = iota // retransmission timeout (RFC 6298)
	timerTLP                      // tail loss probe (RFC 8985 section 7.2)
	timerPersist                  // zero-window probe / SWS override (RFC 1122 4.2.2.17, 4.2.3.4)
	timerDelAck                   // delayed ACK (RFC 1122 4.2.3.2, RFC 5681 section 4.2)
	timerFinWait2                 // FIN_WAIT_2 after Close: give up on the peer's FIN
	timerTimeWait                 // TIME_WAIT, 2*MSL (RFC 793)
	timerKeepAlive                // keep-alive probe (RFC 9293 3.8.4)
	timerUserTimeout              // user timeout (RFC 5482)
	timerPace                     // the pacer lets the next data segment go
	numTimers
)

// setTimer sets timer k to fire at at (0 stops it).
func (t *TCB) setTimer(k timer, at time.Duration) { t.timers[k] = at }

// stopTimers stops each timer named.
func (t *TCB) stopTimers(ks ...timer) {
	for _, k := range ks {
		t.setTimer(k, 0)
	}
}

// running reports whether timer k is set.
func (t *TCB) running(k timer) bool { return t.timers[k] != 0 }

// expired reports whether timer k is set and due at now, and stops it if so.
func (t *TCB) expired(k timer, now time.Duration) bool {
	if !t.running(k) || now < t.timers[k] {
		return false
	}
	t.setTimer(k, 0)
	return true
}

// restartRTO sets the retransmission timer to one RTO from now (RFC 6298
// 5.3 on new data acknowledged, 5.6 after a timeout, backed off). A FIN
// that closes first with no data before it waits at least
// Config.FirstFinRTO (see there).
func (t *TCB) restartRTO(now time.Duration) {
	d := t.rtt.current()
	if t.cfg.FirstFinRTO > 0 && t.finSent && !t.finAcked && t.finSeq == t.iss+1 &&
		(t.state == FinWait1 || t.state == Closing) {
		d = t.rtt.currentAtLeast(t.cfg.FirstFinRTO)
	}
	t.setTimer(timerRTO, now+d)
}

// startRTO starts the retransmission timer unless it is running (RFC 6298
// 5.1: a segment sent with none outstanding starts it).
func (t *TCB) startRTO(now time.Duration) {
	if !t.running(timerRTO) {
		t.restartRTO(now)
	}
}

// NextDeadline returns when OnTimer must next be called (0: never).
func (t *TCB) NextDeadline() time.Duration {
	d := time.Duration(0)
	for _, x := range t.timers {
		if x != 0 && (d == 0 || x < d) {
			d = x
		}
	}
	return d
}

// OnTimer runs every timer that is due at now.
func (t *TCB) OnTimer(now time.Duration) {
	t.lastNow = now
	if t.expired(timerTimeWait, now) {
		t.setState(Closed) // RFC 793: TIME_WAIT ends after 2*MSL
		return
	}
	if t.expired(timerFinWait2, now) && t.state == FinWait2 {
		t.fail(ErrTimeout)
		return
	}
	if t.expired(timerUserTimeout, now) {
		t.onUserTimeout(now)
		if t.state == Closed {
			return
		}
	}
	if t.expired(timerKeepAlive, now) {
		t.onKeepAlive(now)
		if t.state == Closed {
			return
		}
	}
	t.expired(timerPace, now) // Poll, called next, sends what the pacer allows
	if t.expired(timerDelAck, now) {
		t.ackNow = true
	}
	if t.expired(timerPersist, now) && t.recs.len() == 0 && t.unsentBytes() > 0 {
		t.probe = true
		t.persistBackoff++
	}
	if t.expired(timerTLP, now) && t.recs.len() > 0 && !t.inRecovery && !t.tlpOut && t.sndWnd > 0 {
		t.tlpProbe = true
	}
	if t.expired(timerRTO, now) {
		t.stopTimers(timerTLP)
		t.onRTO(now)
	}
}
