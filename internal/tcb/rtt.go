package tcb

import "time"

// rttEstimator computes the retransmission timeout as RFC 6298 section 2
// specifies: SRTT and RTTVAR with alpha = 1/8 and beta = 1/4, RTO = SRTT +
// max(G, 4*RTTVAR), clamped to [min, max]. Backoff doubles the RTO after each
// timeout (section 5.5) until a new sample arrives; samples from
// retransmitted segments are never taken (Karn's rule), which the caller
// enforces by not calling sample for them.
type rttEstimator struct {
	srtt, rttvar time.Duration
	latest       time.Duration
	minRTT       time.Duration
	rto          time.Duration
	backoff      uint // number of doublings in force
	min, max     time.Duration
	hasSample    bool
}

const clockGranularity = time.Millisecond

func (e *rttEstimator) init(initial, minRTO, maxRTO time.Duration) {
	*e = rttEstimator{rto: initial, min: minRTO, max: maxRTO}
}

// sample folds one round-trip measurement into the estimate (section 2.2
// and 2.3) and clears any backoff.
func (e *rttEstimator) sample(r time.Duration) {
	if r <= 0 {
		r = time.Microsecond
	}
	e.latest = r
	if !e.hasSample || r < e.minRTT {
		e.minRTT = r
	}
	if !e.hasSample {
		e.srtt, e.rttvar, e.hasSample = r, r/2, true
	} else {
		d := e.srtt - r
		if d < 0 {
			d = -d
		}
		e.rttvar += (d - e.rttvar) / 4
		e.srtt += (r - e.srtt) / 8
	}
	e.rto = e.srtt + max(clockGranularity, 4*e.rttvar)
	e.backoff = 0
}

// current returns the RTO in force, backoff included.
func (e *rttEstimator) current() time.Duration {
	r := max(e.rto, e.min)
	for i := uint(0); i < e.backoff && r < e.max; i++ {
		r *= 2
	}
	return min(r, e.max)
}

// currentAtLeast returns the RTO in force as if the RTO were at least
// floor: the larger of the two, backoff included.
func (e *rttEstimator) currentAtLeast(floor time.Duration) time.Duration {
	r := max(e.rto, e.min, floor)
	for i := uint(0); i < e.backoff && r < e.max; i++ {
		r *= 2
	}
	return min(r, e.max)
}

// backOff doubles the timer (section 5.5).
func (e *rttEstimator) backOff() {
	if e.current() < e.max {
		e.backoff++
	}
}

// restartAt sets the RTO to d when no sample exists yet: section 5.7 says
// that if the SYN or SYN-ACK was retransmitted and no sample was taken, the
// RTO goes back to 3 seconds once data transfer begins.
func (e *rttEstimator) restartAt(d time.Duration) {
	if !e.hasSample {
		e.rto, e.backoff = d, 0
	}
}
