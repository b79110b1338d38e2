package tcb

import (
	"math"
	"time"
)

// cubic is CUBIC (RFC 9438) with its Reno-friendly region, in bytes.
type cubic struct {
	windowOnly
	mss, cwnd, ssthresh int
	wMax                float64 // window before the last reduction, segments
	k                   float64 // seconds to reach wMax again
	epoch               time.Duration
	inEpoch             bool
	wEst                float64 // Reno-friendly estimate, segments
	acc                 int
}

const (
	cubicC    = 0.4
	cubicBeta = 0.7
)

func newCubic(mss, initial int) *cubic {
	return &cubic{mss: mss, cwnd: initial, ssthresh: 1 << 30}
}

func (c *cubic) Window() int       { return c.cwnd }
func (c *cubic) Ssthresh() int     { return c.ssthresh }
func (c *cubic) InSlowStart() bool { return c.cwnd < c.ssthresh }

func (c *cubic) OnAck(now time.Duration, acked, flight int, rtt time.Duration) {
	if flight+acked < c.cwnd/2 && c.cwnd >= 4*c.mss {
		return
	}
	if c.cwnd < c.ssthresh {
		c.cwnd = min(c.cwnd+acked, c.ssthresh)
		return
	}
	seg := float64(c.mss)
	cw := float64(c.cwnd) / seg
	if !c.inEpoch {
		c.inEpoch, c.epoch = true, now
		if c.wMax < cw {
			c.wMax, c.k = cw, 0
		} else {
			c.k = math.Cbrt((c.wMax - cw) / cubicC)
		}
		c.wEst = cw
	}
	t := (now - c.epoch + rtt).Seconds()
	target := cubicC*math.Pow(t-c.k, 3) + c.wMax
	// Reno-friendly estimate (RFC 9438 section 4.3).
	c.wEst += 3 * (1 - cubicBeta) / (1 + cubicBeta) * float64(acked) / float64(c.cwnd)
	if c.wEst > target {
		target = c.wEst
	}
	// RFC 9438 4.2: the target is at most 1.5 cwnd, and the window grows
	// by (target - cwnd)/cwnd segments per segment acknowledged; a target
	// below the window leaves it alone.
	target = min(target, 1.5*cw)
	if target > cw {
		c.acc += int((target - cw) / cw * float64(acked))
	}
	for c.acc >= c.mss {
		c.acc -= c.mss
		c.cwnd += c.mss
	}
}

func (c *cubic) reduce(flight int) {
	cw := float64(c.cwnd) / float64(c.mss)
	if cw < c.wMax {
		c.wMax = cw * (1 + cubicBeta) / 2 // fast convergence
	} else {
		c.wMax = cw
	}
	// RFC 9438 4.6: ssthresh = cwnd * beta (the window, not the flight).
	c.ssthresh = max(int(float64(min(flight, c.cwnd))*cubicBeta), 2*c.mss)
	c.inEpoch = false
	c.acc = 0
}

func (c *cubic) OnFastRetransmit(_ time.Duration, flight int) {
	c.reduce(flight)
	c.cwnd = c.ssthresh
}

func (c *cubic) OnTimeout(_ time.Duration, flight int) {
	c.reduce(flight)
	c.cwnd = c.mss
}

func (c *cubic) OnRecoveryEnd(time.Duration) { c.cwnd = max(c.cwnd, c.ssthresh) }
