package tcb

import "time"

// pacer spaces data segments at the controller's pacing rate without a
// timer per segment: a token bucket of at most one quantum (about 2 ms of
// data) refills at the rate. While the bucket holds a segment Poll sends;
// when it is empty Poll returns nothing until half a quantum (a
// millisecond of data, at least a segment) has built up, and
// the release time is the pace timer, part of NextDeadline, so the
// caller's one timer wakes the connection when the next quantum may leave. A caller that drains Poll in
// one go therefore gets quantum-sized runs, the unit GSO wants.
type pacer struct {
	budget float64       // bytes that may leave now
	last   time.Duration // time of the latest refill
	due    time.Duration // the release time set when Poll was last held back
	primed bool
}

// pacingMaxLate bounds the credit for a late wakeup.
const pacingMaxLate = 10 * time.Millisecond

// pacingQuantumTime is the burst the pacer allows, in time at the rate.
const pacingQuantumTime = 2 * time.Millisecond

// pacingQuantum is what a pacer at rate bytes/s may send back to back:
// about 2 ms of data, at least two segments (Linux sizes its TSO bursts to
// about 1 ms; the extra millisecond absorbs timer lateness, which a bucket
// that overflows would turn into lost rate). The connection is woken at
// most about once a millisecond, whatever the rate, and each wakeup sends
// a millisecond of data: at 100 Mbit/s nine segments, at loopback rates
// whole 64 KB GSO runs.
func pacingQuantum(rate float64, mss int) int {
	return max(int(rate*pacingQuantumTime.Seconds()), 2*mss)
}

// paced reports whether the pacer lets a data segment leave at now. When
// it does not, it sets the release time.
func (t *TCB) paced(now time.Duration) bool {
	rate := t.cc.PacingRate()
	// Below a min RTT of one quantum's time the whole window is less than
	// a quantum: the window bounds every burst more tightly than the
	// pacer would, so the pacer steps aside (on loopback it would only
	// add timer wakeups).
	if rate <= 0 || t.rtt.minRTT < pacingQuantumTime {
		t.stopTimers(timerPace)
		return true
	}
	p := &t.pace
	q := float64(pacingQuantum(rate, t.mss))
	if !p.primed {
		p.primed, p.budget = true, q
	} else if now > p.last {
		// A wakeup later than the release time (a busy machine's timer)
		// may send what it would have sent on time: the bucket's bound
		// grows by the lateness, up to 10 ms, so lateness costs no rate.
		c := q
		if late := now - p.due; p.due != 0 && late > 0 {
			c += rate * min(late, pacingMaxLate).Seconds()
		}
		p.budget = min(c, p.budget+rate*(now-p.last).Seconds())
	}
	p.due = 0
	p.last = max(p.last, now)
	if p.budget >= float64(t.mss) {
		t.stopTimers(timerPace)
		return true
	}
	want := max(float64(t.mss), q/2)
	wait := time.Duration((want - p.budget) / rate * float64(time.Second))
	p.due = now + max(wait, time.Microsecond)
	t.setTimer(timerPace, p.due)
	return false
}

// spend takes n bytes from the bucket (no-op when not pacing).
func (p *pacer) spend(n int) {
	if p.primed {
		p.budget -= float64(n)
	}
}
