package tcb

import (
	"time"
)

// Timers: when OnTimer must next run and what each expiry does.

// NextDeadline returns when OnTimer must next be called (0: never).
func (t *TCB) NextDeadline() time.Duration {
	d := time.Duration(0)
	for _, x := range [...]time.Duration{t.rtoAt, t.delackAt, t.timeWaitAt, t.finWait2At, t.persistAt, t.tlpAt} {
		if x != 0 && (d == 0 || x < d) {
			d = x
		}
	}
	return d
}

// OnTimer runs every timer that is due at now.
func (t *TCB) OnTimer(now time.Duration) {
	t.lastNow = now
	if t.timeWaitAt != 0 && now >= t.timeWaitAt {
		t.timeWaitAt = 0
		t.setState(Closed) // RFC 793: TIME_WAIT ends after 2*MSL
		return
	}
	if t.finWait2At != 0 && now >= t.finWait2At {
		t.finWait2At = 0
		if t.state == FinWait2 {
			t.fail(ErrTimeout)
			return
		}
	}
	if t.delackAt != 0 && now >= t.delackAt {
		t.delackAt = 0
		t.ackNow = true
	}
	if t.persistAt != 0 && now >= t.persistAt {
		t.persistAt = 0
		if t.recs.len() == 0 && t.unsentBytes() > 0 {
			t.probe = true
			t.persistBackoff++
		}
	}
	if t.tlpAt != 0 && now >= t.tlpAt {
		t.tlpAt = 0
		if t.recs.len() > 0 && !t.inRecovery && !t.tlpOut && t.sndWnd > 0 {
			t.tlpProbe = true
		}
	}
	if t.rtoAt != 0 && now >= t.rtoAt {
		t.rtoAt = 0
		t.tlpAt = 0
		t.onRTO(now)
	}
}
