package tcb

import (
	"math/rand/v2"
	"time"
)

// bbr is a model-based congestion controller after the IETF CCWG BBR
// draft (draft-ietf-ccwg-bbr) and Linux's tcp_bbr.c. It keeps a model of
// the path, the bottleneck bandwidth (a windowed maximum of delivery-rate
// samples over four round trips) and the round-trip propagation time (a
// windowed minimum over ten seconds), and from it sets the pacing rate,
// gain x bandwidth, and the window, gain x bandwidth-delay product:
//
//   - Startup: pacing gain 2/ln 2 (2.77) doubles the sending rate each
//     round, window 2.89 BDP (Linux's BBRv1: with 2 BDP a flow that starts
//     behind another's queue is window-bound and reads its bandwidth as
//     flat); it ends when the bandwidth has not grown by 25% for three
//     rounds (the pipe is full), or on congestive loss in a round that did
//     not grow by 25% (see below).
//   - Drain: pacing gain 1/2.77 until what is in flight is down to one BDP,
//     emptying the queue Startup built.
//   - ProbeBW: a cycle of phases of one min RTT each, pacing gains 1.25
//     (probe for more bandwidth), 0.75 (drain what the probe queued), then
//     1 for a random 1 to 5 phases (cruise); window 2 BDP. The random
//     cruise keeps flows sharing a bottleneck from probing in lockstep.
//   - ProbeRTT: when the min RTT has not been seen again for ten seconds,
//     the window drops to half a BDP for 200 ms and a round trip so a
//     standing queue drains and the propagation delay is measured anew.
//     The 0.75 phase of ProbeBW usually empties the queue first, which
//     refreshes the min RTT and makes ProbeRTT rare.
//
// Loss. BBRv2/v3 treat a round with more than 2% of its data lost as
// congestion and cut the window to 70% of what was in flight; on a path
// with 5% or 10% random loss every round qualifies and the window
// collapses (TestBBRRandomLossDoesNotCollapse measures it: on the lab's
// 10% link that rule moves less than a fifth of what this one moves). A
// drop-tail bottleneck that overflows, however, always has a full queue
// behind the loss. So here a round's loss counts as congestion only when it
// exceeds 2% AND the round's RTT samples show a queue: their mean exceeds
// the min RTT by a quarter of it (at least 2 ms). Then the window is capped
// at max(0.7 x in flight, BDP) (inflight_hi in the draft), Startup ends,
// and in ProbeBW the bandwidth is bounded by max(the round's delivery
// rate, 0.7 x the estimate) until the next probe (bw_lo in the draft):
// flows sharing a bottleneck otherwise each keep the share their last
// probe won, their sum exceeds the link, and the standing queue leaves
// every probe window-bound, so the shares never move. The window cap
// grows back by an eighth per round without congestion. Random loss
// alone leaves the model, the pacing rate and the window as they are; the
// engine's SACK recovery repairs it.
type bbr struct {
	mss  int
	cwnd int
	mode bbrMode

	pacingGain, cwndGain float64
	pacingRate           float64 // bytes per second

	// Round counting (draft 4.5.1).
	round              uint64
	nextRoundDelivered uint64
	roundStart         bool

	// Max-bandwidth filter: the largest sample of each of the last
	// bbrBWRounds rounds, counted by bwClock, which stands still in
	// ProbeRTT (its rounds must not age out the estimate).
	bwClock uint64
	bwRound [bbrBWRounds]uint64
	bwMax   [bbrBWRounds]float64
	maxBW   float64

	// Min-RTT filter and ProbeRTT.
	minRTT         time.Duration
	minRTTStamp    time.Duration
	probeRTTDoneAt time.Duration
	probeRTTRound  bool // a round has passed in ProbeRTT
	priorCwnd      int

	// Startup's full-pipe detection.
	filled      bool
	fullBW      float64
	fullBWCount int

	// ProbeBW's gain cycle: phase cycleIdx of bbrCycle; the cruise at
	// gain 1 ends after phase cruiseEnd-1, a random length per cycle.
	cycleIdx   int
	cycleStamp time.Duration
	cruiseEnd  int
	rng        *rand.Rand

	// Per-round loss and RTT accounting for the loss response.
	roundLost, roundAcked int
	roundRTTSum           time.Duration
	roundRTTN             int
	inflightHi            int     // 0: no cap
	lossRate              float64 // moving average of the loss rate of rounds without congestion
	lossKnown             bool
	lossNeedsQueue        bool
	congestedRounds       uint64

	// What the controller did, for Info.
	startupEnd   time.Duration
	startupBW    float64
	startupEnded bool

	lastInFlight int
	roundBW      float64 // the round's largest delivery rate
	bwLo         float64 // 0, or the bound congestion put on the bandwidth until the next probe
}

type bbrMode uint8

const (
	bbrStartup bbrMode = iota
	bbrDrain
	bbrProbeBW
	bbrProbeRTT
)

var bbrModeNames = [...]string{"startup", "drain", "probe_bw", "probe_rtt"}

func (m bbrMode) String() string { return bbrModeNames[m] }

const (
	bbrBWRounds        = 4
	bbrStartupCwndGain = 2.89 // 2/ln 2, as Linux's BBRv1
	bbrStartupGain     = 2.77 // 2/ln 2
	bbrDrainGain       = 1 / 2.77
	bbrCwndGain        = 2.0
	bbrMinRTTWindow    = 10 * time.Second
	bbrProbeRTTTime    = 200 * time.Millisecond
	bbrProbeRTTGain    = 0.5
	bbrLossThresh      = 0.02
	bbrBeta            = 0.7
	bbrFullBWThresh    = 1.25
	bbrFullBWRounds    = 3
	bbrMaxLossComp     = 0.2 // the most random loss the pacing rate makes up for
	bbrMinRTTTolerance = 16  // a sample within 1/16 of the min RTT refreshes it
)

// bbrCycle is ProbeBW's gain cycle: probe up, probe down, then cruise
// (the last entry repeats for as many phases as the cycle's cruise lasts).
var bbrCycle = [2 + bbrCruiseMax]float64{1.25, 0.75, 1, 1, 1, 1, 1}

// The cruise lasts 1 to 5 min RTTs, drawn anew each cycle: a cycle of 3
// to 7 phases, 5 on average against the draft's fixed 8. Each probe by the
// smaller of two flows moves their shares toward equal, so more frequent
// probes converge faster (TestFairnessTwoFlows in package tju).
const (
	bbrCruiseMin = 1
	bbrCruiseMax = 5
)

// newBBR returns a BBR controller for segments of mss bytes with an
// initial window of initial bytes. seed picks the first ProbeBW phase (the
// draft randomizes it so flows do not probe in lockstep).
func newBBR(mss, initial int, seed uint32) *bbr {
	b := &bbr{mss: mss, cwnd: initial, lossNeedsQueue: true}
	b.mode = bbrStartup
	b.pacingGain, b.cwndGain = bbrStartupGain, bbrStartupCwndGain
	b.rng = rand.New(rand.NewPCG(uint64(seed), 0xbb5))
	b.newCruise()
	// Never start in the 0.75 phase (draft 4.3.3.6 picks among the others).
	b.cycleIdx = int(seed % uint32(b.cruiseEnd-1))
	if b.cycleIdx >= 1 {
		b.cycleIdx++
	}
	return b
}

func (b *bbr) Window() int       { return b.cwnd }
func (b *bbr) Ssthresh() int     { return 1 << 30 }
func (b *bbr) InSlowStart() bool { return b.mode == bbrStartup }

// PacingRate returns gain x bandwidth, or 0 before the first RTT sample.
func (b *bbr) PacingRate() float64 { return b.pacingRate }

// bdp is the bandwidth-delay product of the model, in bytes.
func (b *bbr) bdp() float64 { return b.maxBW * b.minRTT.Seconds() }

// quantum is the burst the window allows for beyond gain x BDP: what the
// pacer sends at once (about 2 ms at the pacing rate), at most a 64 KB GSO
// run (Linux's bound on a TSO burst).
func (b *bbr) quantum() int {
	return min(pacingQuantum(b.pacingRate, b.mss), max(65536/b.mss, 2)*b.mss)
}

// targetCwnd is gain x BDP plus room for three quanta, so that the pacer
// and delayed or batched ACKs never leave the pipe short (draft 4.6.4.2).
func (b *bbr) targetCwnd(gain float64) int {
	if b.maxBW == 0 || b.minRTT == 0 {
		return b.cwnd
	}
	return max(int(gain*b.bdp())+3*b.quantum(), 4*b.mss)
}

// OnRateSample runs the model on every ACK that delivered or lost data,
// in loss recovery too (draft 4.2, BBRUpdateOnACK).
func (b *bbr) OnRateSample(now time.Duration, rs *RateSample) {
	b.lastInFlight = rs.InFlight
	b.updateRound(rs)
	b.updateBW(rs)
	b.roundLost += rs.NewlyLost
	b.roundAcked += rs.NewlyAcked
	if rs.RTT > 0 {
		b.roundRTTSum += rs.RTT
		b.roundRTTN++
	}
	if b.roundStart {
		b.endRound()
	}
	b.checkFullPipe(now, rs)
	b.checkDrain(now, rs)
	b.updateCycle(now, rs)
	b.updateMinRTT(now, rs)
	b.setPacingRate()
	b.setCwnd(rs)
}

func (b *bbr) updateRound(rs *RateSample) {
	b.roundStart = false
	if rs.NewlyAcked > 0 && rs.PriorDelivered >= b.nextRoundDelivered {
		b.nextRoundDelivered = rs.TotalDelivered
		b.round++
		b.roundStart = true
	}
}

// updateBW feeds the windowed max filter. App-limited samples only count
// when they raise it: they bound the bandwidth from below.
func (b *bbr) updateBW(rs *RateSample) {
	bw := rs.DeliveryRate
	if bw <= 0 || (rs.AppLimited && bw < b.maxBW) {
		return
	}
	if b.roundStart && b.mode != bbrProbeRTT {
		b.bwClock++
	}
	if b.mode == bbrProbeRTT && bw < b.maxBW {
		return // ProbeRTT's small window says nothing of the path
	}
	i := int(b.bwClock % bbrBWRounds)
	if b.bwRound[i] != b.bwClock {
		b.bwRound[i], b.bwMax[i] = b.bwClock, 0
	}
	b.bwMax[i] = max(b.bwMax[i], bw)
	if !rs.AppLimited {
		b.roundBW = max(b.roundBW, bw)
	}
	b.maxBW = 0
	for j := range b.bwMax {
		if b.bwClock-b.bwRound[j] < bbrBWRounds {
			b.maxBW = max(b.maxBW, b.bwMax[j])
		}
	}
	if b.bwLo > 0 {
		b.maxBW = min(b.maxBW, b.bwLo)
	}
}

// endRound judges the round that just ended: congestive loss caps the
// window; a clean round lets the cap grow back.
func (b *bbr) endRound() {
	total := b.roundLost + b.roundAcked
	p := 0.0
	if total > 0 {
		p = float64(b.roundLost) / float64(total)
	}
	lossy := p > bbrLossThresh
	queued := true
	if b.lossNeedsQueue {
		// Loss well above the path's usual random loss...
		lossy = p > bbrLossThresh+1.5*b.lossRate
		queued = false
		if b.roundRTTN > 0 && b.minRTT > 0 {
			mean := b.roundRTTSum / time.Duration(b.roundRTTN)
			// ... and a queue: the round's mean RTT exceeds the min.
			queued = mean-b.minRTT > max(b.minRTT/4, 2*time.Millisecond)
		}
	}
	// A Startup whose bandwidth still grew by a quarter this round is
	// taking its share from flows that filled the queue before it: their
	// queue's overflow is no sign that this flow's pipe is full. Leaving
	// Startup on it would strand a second flow at a fifth of its share.
	growing := !b.filled && b.maxBW >= b.fullBW*bbrFullBWThresh
	if lossy && queued && !growing {
		b.congestedRounds++
		if b.filled && b.roundBW > 0 {
			b.bwLo = max(b.roundBW, bbrBeta*b.maxBW)
			b.maxBW = min(b.maxBW, b.bwLo)
		}
		hi := max(int(bbrBeta*float64(b.lastInFlight)), int(b.bdp()), 4*b.mss)
		if !b.lossNeedsQueue {
			hi = max(int(bbrBeta*float64(b.lastInFlight)), 4*b.mss) // BBRv3's rule
		}
		if b.inflightHi == 0 || hi < b.inflightHi {
			b.inflightHi = hi
		}
		if !b.filled {
			b.filled = true // Startup overflowed the queue
		}
	} else {
		if total >= 10*b.mss && b.lossNeedsQueue {
			if !b.lossKnown {
				b.lossKnown, b.lossRate = true, min(p, bbrMaxLossComp)
			}
			b.lossRate += (min(p, bbrMaxLossComp) - b.lossRate) / 4
		}
		if b.inflightHi != 0 && !lossy {
			b.inflightHi += max(b.inflightHi/8, b.mss)
			if b.inflightHi >= b.targetCwnd(b.cwndGain) {
				b.inflightHi = 0
			}
		}
	}
	b.roundLost, b.roundAcked, b.roundRTTSum, b.roundRTTN = 0, 0, 0, 0
	b.roundBW = 0
}

// checkFullPipe ends Startup once three rounds in a row brought less than
// 25% more bandwidth (draft 4.3.1.2).
func (b *bbr) checkFullPipe(now time.Duration, rs *RateSample) {
	if !b.filled && b.roundStart && !rs.AppLimited && b.maxBW > 0 {
		if b.maxBW >= b.fullBW*bbrFullBWThresh {
			b.fullBW, b.fullBWCount = b.maxBW, 0
		} else if b.fullBWCount++; b.fullBWCount >= bbrFullBWRounds {
			b.filled = true
		}
	}
	if b.filled && b.mode == bbrStartup {
		b.mode = bbrDrain
		b.pacingGain, b.cwndGain = bbrDrainGain, bbrCwndGain
		if !b.startupEnded {
			b.startupEnded, b.startupEnd, b.startupBW = true, now, b.maxBW
		}
	}
}

func (b *bbr) checkDrain(now time.Duration, rs *RateSample) {
	if b.mode == bbrDrain && float64(rs.InFlight) <= b.bdp() {
		b.enterProbeBW(now)
	}
}

func (b *bbr) enterProbeBW(now time.Duration) {
	b.mode = bbrProbeBW
	b.cwndGain = bbrCwndGain
	b.cycleStamp = now
	b.pacingGain = bbrCycle[b.cycleIdx]
}

// updateCycle moves through the gain cycle: a phase lasts a min RTT; the
// probe phase lasts until it has put gain x BDP in flight or seen loss;
// the drain phase lasts until in flight is down to one BDP.
func (b *bbr) updateCycle(now time.Duration, rs *RateSample) {
	if b.mode != bbrProbeBW {
		return
	}
	elapsed := now-b.cycleStamp > b.minRTT
	next := elapsed
	switch g := b.pacingGain; {
	case g > 1:
		next = elapsed && (rs.NewlyLost > 0 || float64(rs.InFlight) >= g*b.bdp())
		if elapsed && b.inflightHi != 0 && rs.InFlight >= b.inflightHi {
			next = true // the cap stops the probe from reaching its goal
		}
	case g < 1:
		// Linux leaves this phase after a min RTT even with data still
		// queued; then cruising at 1.0 keeps that queue for the whole
		// cycle. Stay until in flight is down to one BDP (the queue is
		// empty), for at most two min RTTs.
		next = float64(rs.InFlight) <= b.bdp() || now-b.cycleStamp > 2*b.minRTT
	}
	if next {
		b.cycleIdx++
		if b.cycleIdx >= b.cruiseEnd {
			b.cycleIdx = 0
			b.newCruise()
			b.bwLo = 0
		}
		b.cycleStamp = now
		b.pacingGain = bbrCycle[b.cycleIdx]
	}
}

// newCruise draws the number of cruise phases of the next cycle,
// bbrCruiseMin to bbrCruiseMax min RTTs. A fixed cycle lets two flows
// that once probed together (their drain phases end together, when the
// shared queue is empty) stay in lockstep: then each probe raises both
// flows' shares alike and the larger flow keeps its lead. With random
// lengths their probes soon fall apart, and a flow probing alone takes
// a share from the other in proportion to its own rate.
func (b *bbr) newCruise() {
	b.cruiseEnd = 2 + bbrCruiseMin + b.rng.IntN(bbrCruiseMax-bbrCruiseMin+1)
}

// updateMinRTT keeps the windowed min RTT and runs ProbeRTT (draft
// 4.3.4). A sample within 1/16 of the min refreshes its timestamp: path
// noise of a few percent is not a queue worth draining.
func (b *bbr) updateMinRTT(now time.Duration, rs *RateSample) {
	expired := b.minRTT != 0 && now-b.minRTTStamp > bbrMinRTTWindow
	if r := rs.RTT; r > 0 {
		if b.minRTT == 0 || r <= b.minRTT || expired {
			b.minRTT, b.minRTTStamp = r, now
		} else if r <= b.minRTT+b.minRTT/bbrMinRTTTolerance {
			b.minRTTStamp = now
		}
	}
	if expired && b.mode != bbrProbeRTT {
		b.mode = bbrProbeRTT
		b.pacingGain, b.cwndGain = 1, bbrCwndGain
		b.priorCwnd = b.cwnd
		b.probeRTTDoneAt = 0
	}
	if b.mode != bbrProbeRTT {
		return
	}
	if b.probeRTTDoneAt == 0 && rs.InFlight <= b.probeRTTCwnd() {
		b.probeRTTDoneAt = now + bbrProbeRTTTime
		b.probeRTTRound = false
		b.nextRoundDelivered = rs.TotalDelivered
	} else if b.probeRTTDoneAt != 0 {
		if b.roundStart {
			b.probeRTTRound = true
		}
		if b.probeRTTRound && now >= b.probeRTTDoneAt {
			b.minRTTStamp = now
			b.cwnd = max(b.cwnd, b.priorCwnd)
			b.priorCwnd = 0
			if b.filled {
				b.enterProbeBW(now)
			} else {
				b.mode = bbrStartup
				b.pacingGain, b.cwndGain = bbrStartupGain, bbrStartupCwndGain
			}
		}
	}
}

func (b *bbr) probeRTTCwnd() int {
	return max(int(bbrProbeRTTGain*b.bdp()), 4*b.mss)
}

func (b *bbr) setPacingRate() {
	if b.maxBW == 0 {
		return // keep the initial rate from the handshake RTT
	}
	// Random loss before the bottleneck thins what reaches it: send
	// 1/(1-p) more so it stays busy (the bandwidth is what it delivers).
	r := b.pacingGain * b.maxBW / (1 - b.lossRate)
	// Until the pipe is full the rate only grows (draft 4.6.2).
	if b.filled || r > b.pacingRate {
		b.pacingRate = r
	}
}

// setCwnd grows the window by what is delivered, up to the model's
// target (draft 4.6.4.4); ProbeRTT and the congestion cap bound it.
func (b *bbr) setCwnd(rs *RateSample) {
	target := b.targetCwnd(b.cwndGain)
	switch {
	case b.maxBW == 0:
		b.cwnd += rs.NewlyAcked
	case b.filled:
		b.cwnd = min(b.cwnd+rs.NewlyAcked, target)
	case b.cwnd < target:
		b.cwnd += rs.NewlyAcked
	}
	if b.inflightHi != 0 {
		b.cwnd = min(b.cwnd, b.inflightHi)
	}
	if b.mode == bbrProbeRTT {
		b.cwnd = min(b.cwnd, b.probeRTTCwnd())
	}
	b.cwnd = max(b.cwnd, 4*b.mss)
}

// OnRTTSample sets the first pacing rate from the handshake's round trip
// (draft 4.6.2: startup gain x initial window / RTT).
func (b *bbr) OnRTTSample(rtt time.Duration) {
	if b.pacingRate == 0 && rtt > 0 {
		b.pacingRate = bbrStartupGain * float64(b.cwnd) / rtt.Seconds()
	}
}

// OnAck is unused: the model learns from rate samples.
func (b *bbr) OnAck(time.Duration, int, int, time.Duration) {}

// OnFastRetransmit keeps the window: one loss says little about the path.
func (b *bbr) OnFastRetransmit(time.Duration, int) {}

// OnTimeout falls back to a small window; it grows back by what each ACK
// delivers (doubling each round trip), up to the model's target, which the
// timeout leaves alone.
func (b *bbr) OnTimeout(time.Duration, int) { b.cwnd = 4 * b.mss }

// OnRecoveryEnd does nothing: recovery never changed the window.
func (b *bbr) OnRecoveryEnd(time.Duration) {}

// model reports the controller's state for Info.
func (b *bbr) model() CCModel {
	return CCModel{Mode: b.mode.String(), Bandwidth: b.maxBW, MinRTT: b.minRTT,
		PacingRate: b.pacingRate, StartupEnd: b.startupEnd, StartupBandwidth: b.startupBW,
		StartupDone: b.startupEnded, CongestedRounds: b.congestedRounds, Rounds: b.round}
}
