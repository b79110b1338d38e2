package tcb

import (
	"container/heap"
	"flag"
	"fmt"
	"testing"
	"time"
)

// The links: a 100 Mbit/s bottleneck with a drop-tail queue of one
// BDP, loss in both directions. The engine-level simulator runs them in
// virtual time with no goroutines, so CI can afford a few seconds of each;
// -cc.full runs the full 20 s (90 s for d).

var ccFull = flag.Bool("cc.full", false, "run the congestion-control link tests for the issue's full durations")

type ccLink struct {
	name   string
	delay  time.Duration // one way, before jitter
	jitter time.Duration // uniform [0, jitter) added one way
	loss   float64       // each direction
	queue  int           // bytes
	dur    time.Duration // full duration
	short  time.Duration // CI duration
}

const ccRate = 100e6

var ccDebug func(*sim)

var ccLinks = []ccLink{
	{name: "a", delay: 20 * time.Millisecond, queue: 500_000, dur: 20 * time.Second, short: 4 * time.Second},
	{name: "b", delay: 20 * time.Millisecond, loss: 0.01, queue: 500_000, dur: 20 * time.Second, short: 4 * time.Second},
	{name: "c", delay: 20 * time.Millisecond, loss: 0.05, queue: 500_000, dur: 20 * time.Second, short: 4 * time.Second},
	{name: "d", delay: 250 * time.Millisecond, jitter: 100 * time.Millisecond, loss: 0.10, queue: 7_500_000, dur: 90 * time.Second, short: 20 * time.Second},
}

type ccResult struct {
	goodput    float64 // Mbit/s of in-order bytes read by the receiver
	queueDelay time.Duration
	dropPct    float64 // bottleneck drops, percent of datagrams offered in the data direction
	retrans    uint64
	info       Info
	sndBuf     int // the sender's send buffer at the end
	rcvBuf     int // the receiver's receive buffer at the end
}

func (r ccResult) String() string {
	return fmt.Sprintf("%.1f Mbit/s, queue %.2f ms, drops %.2f%%, retransmits %d, mode %s bw %.1f Mbit/s minRTT %v, buffers %d/%d KiB",
		r.goodput, float64(r.queueDelay)/1e6, r.dropPct, r.retrans, r.info.Model.Mode,
		r.info.Model.Bandwidth*8/1e6, r.info.Model.MinRTT, r.sndBuf>>10, r.rcvBuf>>10)
}

// runLink moves data one way over l for d with controller cc and big
// enough buffers, and measures goodput from the first byte.
func runLink(t *testing.T, l ccLink, cc string, d time.Duration, seed uint64, tweak func(*TCB)) ccResult {
	t.Helper()
	spec := linkSpec{delay: l.delay, jitter: l.jitter, loss: l.loss, rate: ccRate, queue: l.queue}
	s := newSim(t, seed, 1<<62, spec, spec)
	s.noHash = true
	for i := range s.cfg {
		s.cfg[i].CongestionControl = cc
		// tju's defaults: 8 MiB buffers autotuned up to 64 MiB.
		s.cfg[i].SendBufSize, s.cfg[i].RecvBufSize = 8<<20, 8<<20
		s.cfg[i].MaxSendBufSize, s.cfg[i].MaxRecvBufSize = 64<<20, 64<<20
		s.cfg[i].DelayedACK = 40 * time.Millisecond
	}
	s.tcb[0] = NewActive(s.cfg[0], 0)
	var first time.Duration = -1
	for s.now < 2*time.Minute+d {
		s.app()
		if tweak != nil && s.tcb[0].cc != nil {
			tweak(s.tcb[0])
			tweak = nil
		}
		s.pollAll()
		if first < 0 && s.recvN > 0 {
			first = s.now
		}
		if first >= 0 && s.now >= first+d {
			break
		}
		next := time.Duration(-1)
		if len(s.q) > 0 {
			next = s.q[0].at
		}
		for _, c := range s.tcb {
			if c != nil {
				if x := c.NextDeadline(); x != 0 && (next < 0 || x < next) {
					next = x
				}
			}
		}
		if next < 0 {
			t.Fatalf("stalled at %v; %s", s.now, s.describe())
		}
		if next > s.now {
			s.now = next
		}
		for len(s.q) > 0 && s.q[0].at <= s.now {
			s.deliver(popPkt(s))
		}
		for _, c := range s.tcb {
			if c != nil {
				if x := c.NextDeadline(); x != 0 && x <= s.now {
					c.OnTimer(s.now)
				}
			}
		}
	}
	if first < 0 {
		t.Fatalf("no byte delivered; %s", s.describe())
	}
	if ccDebug != nil {
		ccDebug(s)
	}
	bn := s.bn[0]
	r := ccResult{
		goodput: float64(s.recvN) * 8 / d.Seconds() / 1e6,
		info:    s.tcb[0].Info(),
	}
	r.retrans = r.info.SegsRetrans
	r.sndBuf, r.rcvBuf = s.tcb[0].sendBufLimit(), s.tcb[1].rbuf.limit
	if bn.sent > 0 {
		r.queueDelay = bn.queueDelay / time.Duration(bn.sent)
		r.dropPct = 100 * float64(bn.dropped) / float64(bn.sent+bn.dropped)
	}
	return r
}

// TestSimLinks asserts a loose band per controller and link, wide enough
// for seeds and small changes, narrow enough that a controller behaving
// like another fails: Reno and CUBIC collapse on 1% loss, BBR must not;
// BBR must keep the queue short on the clean link. Exact figures: README.
func TestSimLinks(t *testing.T) {
	type band struct{ min, max float64 }
	bands := map[string]map[string]band{
		// Goodput bands in Mbit/s over the CI duration.
		"bbr":   {"a": {85, 97}, "b": {85, 97}, "c": {80, 97}, "d": {25, 97}},
		"cubic": {"a": {80, 97}, "b": {1, 25}, "c": {0.1, 6}, "d": {0, 2}},
		"reno":  {"a": {70, 97}, "b": {1, 15}, "c": {0.1, 5}, "d": {0, 2}},
	}
	for _, cc := range []string{"bbr", "cubic", "reno"} {
		for _, l := range ccLinks {
			t.Run(cc+"/"+l.name, func(t *testing.T) {
				t.Parallel()
				d := l.short
				if raceBuild && l.name != "d" {
					d = 3 * time.Second
				}
				if *ccFull {
					d = l.dur
				}
				if testing.Short() && l.name == "d" {
					d = 10 * time.Second
				}
				r := runLink(t, l, cc, d, 1, nil)
				t.Logf("link %s %s over %v: %v", l.name, cc, d, r)
				b := bands[cc][l.name]
				if *ccFull && cc == BBR {
					// The targets over its full durations, but
					// for a: 94 Mbit/s, not 95. The ceiling with 1364-byte
					// payloads is 95.5 Mbit/s, and Startup from a
					// 10-segment window costs at least ~170 ms of line
					// rate (measured: 204 ms; the steady state after it
					// is TestBBRSteadyStateFillsLinkA's), so 20 s from
					// the first byte can reach about 94.7 at best.
					b.min = map[string]float64{"a": 94, "b": 93, "c": 90, "d": 40}[l.name]
				}
				if r.goodput < b.min || r.goodput > b.max {
					t.Errorf("goodput %.1f Mbit/s outside [%g, %g]", r.goodput, b.min, b.max)
				}
				if cc == "bbr" && l.name == "a" {
					// Startup's overflow weighs more in a short run.
					maxDrop := 0.5
					if d < l.dur {
						// Startup's window of 2.89 BDP overflows the
						// queue in its last round by about 640 packets,
						// 2.5% of a 3 s run, 0.37% of the full 20 s.
						maxDrop = 3
					}
					if r.queueDelay > 5*time.Millisecond {
						t.Errorf("mean queueing delay %v > 5 ms", r.queueDelay)
					}
					if r.dropPct > maxDrop {
						t.Errorf("bottleneck drops %.2f%% > %g%%", r.dropPct, maxDrop)
					}
				}
			})
		}
	}
}

func popPkt(s *sim) *pkt { return heap.Pop(&s.q).(*pkt) }

// TestBBRRandomLossDoesNotCollapse measures BBRv3's loss rule (a round
// with more than 2% loss caps the window at 0.7 x in flight) against this
// controller's (such a round counts only when the RTT shows a queue) on
// the random-loss links c and d.
func TestBBRRandomLossDoesNotCollapse(t *testing.T) {
	if testing.Short() || raceBuild {
		t.Skip("long simulation; runs without -short and -race")
	}
	for _, l := range []ccLink{ccLinks[2], ccLinks[3]} {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			d := l.short
			ours := runLink(t, l, BBR, d, 2, nil)
			v3 := runLink(t, l, BBR, d, 2, func(c *TCB) { c.cc.(*bbr).lossNeedsQueue = false })
			t.Logf("link %s over %v: queue-gated loss rule %v; BBRv3 loss rule %v", l.name, d, ours, v3)
			if ours.goodput < 2*v3.goodput {
				t.Errorf("queue-gated rule %.1f Mbit/s is not twice the v3 rule's %.1f", ours.goodput, v3.goodput)
			}
		})
	}
}

// ccCeiling is link a's goodput ceiling: 1364-byte payloads in 1428-byte
// IP packets on a 100 Mbit/s link.
const ccCeiling = ccRate / 1e6 * 1364 / 1428

// TestBBRSteadyStateFillsLinkA splits link a's shortfall from the ceiling
// into Startup's cost and the steady state's: goodput over the first 2 s
// and over the whole run, both counted from the first byte. The deficit,
// the line-rate time the run falls short by, must hardly grow after 2 s:
// the steady state keeps the pipe busy at least 99.5% of the time, so
// ProbeRTT, the gain cycle's drain and ACK bunching cost at most 0.5%.
func TestBBRSteadyStateFillsLinkA(t *testing.T) {
	l := ccLinks[0]
	d := l.short
	if *ccFull {
		d = l.dur
	}
	deficit := func(r ccResult, d time.Duration) time.Duration {
		return time.Duration((ccCeiling*d.Seconds() - r.goodput*d.Seconds()) / ccCeiling * float64(time.Second))
	}
	early := 2 * time.Second
	r0 := runLink(t, l, BBR, early, 1, nil)
	r1 := runLink(t, l, BBR, d, 1, nil)
	d0, d1 := deficit(r0, early), deficit(r1, d)
	busy := 1 - (d1-d0).Seconds()/(d-early).Seconds()
	t.Logf("link a: %.2f Mbit/s over %v (deficit %v), %.2f over %v (deficit %v): after %v the pipe is busy %.2f%% of the time",
		r0.goodput, early, d0.Round(time.Millisecond), r1.goodput, d, d1.Round(time.Millisecond), early, 100*busy)
	if busy < 0.995 {
		t.Errorf("steady state busy %.2f%% < 99.5%%", 100*busy)
	}
}
