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
	// OnRateSample is called after every ACK that delivered data or made
	// the engine mark data lost, in loss recovery too, with the ACK's
	// delivery-rate sample.
	OnRateSample(now time.Duration, rs *RateSample)
	// OnRTTSample is called with the handshake's round trip, before any
	// data is sent.
	OnRTTSample(rtt time.Duration)
	// PacingRate returns the rate in bytes per second at which the engine
	// spaces data segments, or 0 to send as the window allows.
	PacingRate() float64
}

// CCModel is what a model-based controller knows of the path.
type CCModel struct {
	Mode             string        // the controller's phase, such as "startup" or "probe_bw"
	Bandwidth        float64       // bottleneck bandwidth estimate, bytes per second
	MinRTT           time.Duration // round-trip propagation time estimate
	PacingRate       float64       // bytes per second
	StartupDone      bool          // startup has ended
	StartupEnd       time.Duration // when startup ended: in TCB.Info, time since the handshake completed
	StartupBandwidth float64       // bandwidth estimate when startup ended, bytes per second
	Rounds           uint64        // round trips counted
	CongestedRounds  uint64        // rounds whose loss was taken as congestion
}

// modeler is implemented by controllers with a path model (bbr).
type modeler interface{ model() CCModel }

// Names of the congestion-control algorithms.
const (
	Reno  = "reno"
	Cubic = "cubic"
	BBR   = "bbr"
)

// NewController returns the algorithm of the given name ("reno", "cubic"
// or "bbr"; "" means reno) for segments of mss bytes with an initial window
// of initial bytes, or nil when the name is unknown. seed varies what the
// algorithm may randomize (BBR's first probing phase).
func NewController(name string, mss, initial int, seed uint32) Controller {
	switch name {
	case "", Reno:
		return &reno{mss: mss, cwnd: initial, ssthresh: 1 << 30}
	case Cubic:
		return newCubic(mss, initial)
	case BBR:
		return newBBR(mss, initial, seed)
	}
	return nil
}

// windowOnly supplies the rate-related methods of a controller that
// decides only a window and does not pace.
type windowOnly struct{}

func (windowOnly) OnRateSample(time.Duration, *RateSample) {}
func (windowOnly) OnRTTSample(time.Duration)               {}
func (windowOnly) PacingRate() float64                     { return 0 }

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
	windowOnly
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
