package tcb

import (
	"time"

	"github.com/tjunet/tjunet/trace"
)

// Controller is a congestion-control algorithm. All quantities are bytes.
// The engine calls it; it never sends anything itself. Recovery bookkeeping
// (which segments to retransmit, when recovery ends) stays in the engine, so
// an algorithm only decides the window.
type Controller interface {
	// Window returns the congestion window.
	Window() int
	// Ssthresh returns the slow-start threshold.
	Ssthresh() int
	// InSlowStart reports whether the window grows exponentially.
	InSlowStart() bool
	// OnAck is called for bytes newly acknowledged outside loss recovery.
	// flight is what was in flight before the acknowledgement.
	OnAck(now time.Duration, acked, flight int, rtt time.Duration)
	// OnFastRetransmit is called once when loss recovery starts.
	OnFastRetransmit(now time.Duration, flight int)
	// OnTimeout is called when the retransmission timer expires.
	OnTimeout(now time.Duration, flight int)
	// OnRecoveryEnd is called when loss recovery ends.
	OnRecoveryEnd(now time.Duration)
}

// deliverySampler is implemented by controllers that model the path from
// every delivery, in loss recovery too (bbr).
type deliverySampler interface {
	OnDelivered(now time.Duration, delivered int, rtt time.Duration)
}

// NewController returns the algorithm of the given name ("reno", "cubic"
// or "bbr"; "" means reno) for segments of mss bytes with an initial window
// of initial bytes, or nil when the name is unknown.
func NewController(name string, mss, initial int) Controller {
	switch name {
	case "", "reno":
		return &reno{mss: mss, cwnd: initial, ssthresh: 1 << 30}
	case "cubic":
		return newCubic(mss, initial)
	case "bbr":
		return newBBR(mss, initial)
	}
	return nil
}

// reno is TCP Reno as RFC 5681 and the lab's guide describe it, with cwnd
// in bytes: slow start below ssthresh, congestion avoidance above it, and
// ssthresh = max(FlightSize/2, 2*SMSS) on loss. On a fast retransmit cwnd
// becomes ssthresh (NewReno's deflated window; RFC 6582); on a timeout it
// becomes one segment.
//
// Slow start counts every acknowledged byte (appropriate byte counting,
// RFC 3465, without the L limit): the endpoint acknowledges a whole batch of
// segments with one ACK, so limiting growth per ACK would stall it.
type reno struct {
	mss, cwnd, ssthresh int
	acc                 int // bytes acknowledged in congestion avoidance
}

func (r *reno) Window() int       { return r.cwnd }
func (r *reno) Ssthresh() int     { return r.ssthresh }
func (r *reno) InSlowStart() bool { return r.cwnd < r.ssthresh }

func (r *reno) OnAck(_ time.Duration, acked, flight int, _ time.Duration) {
	// RFC 7661: do not grow a window the sender is not using.
	if flight+acked < r.cwnd/2 && r.cwnd >= 4*r.mss {
		return
	}
	if r.cwnd < r.ssthresh {
		r.cwnd += acked
		if r.cwnd > r.ssthresh {
			r.acc = r.cwnd - r.ssthresh
			r.cwnd = r.ssthresh
		}
		return
	}
	r.acc += acked
	for r.acc >= r.cwnd {
		r.acc -= r.cwnd
		r.cwnd += r.mss
	}
}

func (r *reno) OnFastRetransmit(_ time.Duration, flight int) {
	r.ssthresh = max(flight/2, 2*r.mss)
	r.cwnd, r.acc = r.ssthresh, 0
}

func (r *reno) OnTimeout(_ time.Duration, flight int) {
	r.ssthresh = max(flight/2, 2*r.mss)
	r.cwnd, r.acc = r.mss, 0
}

func (r *reno) OnRecoveryEnd(time.Duration) { r.cwnd = max(r.cwnd, r.ssthresh) }

// cwndPhase is the lab's CWND trace type for growth under c.
func cwndPhase(c Controller) int {
	if c.InSlowStart() {
		return trace.CwndSlowStart
	}
	return trace.CwndCongAvoid
}
