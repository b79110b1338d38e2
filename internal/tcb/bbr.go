package tcb

import "time"

// bbr is a simplified BBR (version 1 ideas, without pacing): the window
// follows a model of the path, gain x (windowed max delivery rate) x (min
// RTT), instead of reacting to each loss. Random loss, which Reno and CUBIC
// read as congestion, barely moves it, so it keeps a lossy long path full.
//
// Startup doubles the window each round trip until the delivery rate stops
// growing by 25% for three rounds; then the window is 1.5 BDP, probing at
// 1.75 BDP one round in eight. BBR proper keeps 2 BDP because it paces its
// sending at the estimated rate; without pacing a window of 2 BDP keeps a
// whole BDP queued, and on a one-BDP bottleneck queue that cost eight times
// the drops for no more goodput (tju demo --cc bbr). A delivered byte is
// counted once, when first ACKed or SACKed, so a cumulative ACK that jumps
// over SACKed data does not inflate the rate. A timeout halves the window;
// the model restores it within a round trip of ACKs.
type bbr struct {
	mss  int
	cwnd int

	minRTT     time.Duration
	minRTTAt   time.Duration
	bwSamples  [10]float64 // bytes/s, one per round trip (windowed max filter)
	bwIdx      int
	roundStart time.Duration
	roundBytes int
	full       bool // startup has ended
	fullCount  int
	lastBW     float64
	cycle      int
}

func newBBR(mss, initial int) *bbr { return &bbr{mss: mss, cwnd: initial} }

func (b *bbr) Window() int       { return b.cwnd }
func (b *bbr) Ssthresh() int     { return 1 << 30 }
func (b *bbr) InSlowStart() bool { return !b.full }

func (b *bbr) maxBW() float64 {
	m := 0.0
	for _, s := range b.bwSamples {
		m = max(m, s)
	}
	return m
}

// OnDelivered is called for every ACK that acknowledges or SACKs data,
// in or out of recovery.
func (b *bbr) OnDelivered(now time.Duration, delivered int, rtt time.Duration) {
	if rtt > 0 && (b.minRTT == 0 || rtt <= b.minRTT || now-b.minRTTAt > 10*time.Second) {
		b.minRTT, b.minRTTAt = rtt, now
	}
	if b.minRTT == 0 {
		return
	}
	if b.roundStart == 0 {
		b.roundStart = now
	}
	b.roundBytes += delivered
	if now-b.roundStart < b.minRTT {
		if !b.full {
			b.cwnd += delivered // exponential growth within the round
		}
		return
	}
	// One round trip ended: a delivery-rate sample.
	bw := float64(b.roundBytes) / (now - b.roundStart).Seconds()
	b.bwSamples[b.bwIdx] = bw
	b.bwIdx = (b.bwIdx + 1) % len(b.bwSamples)
	b.roundStart, b.roundBytes = now, 0
	mbw := b.maxBW()
	if !b.full {
		if mbw >= b.lastBW*1.25 {
			b.lastBW, b.fullCount = mbw, 0
		} else if b.fullCount++; b.fullCount >= 3 {
			b.full = true
		}
		if !b.full {
			b.cwnd += delivered
			return
		}
	}
	b.cycle = (b.cycle + 1) % 8
	gain := 1.5
	if b.cycle == 0 {
		gain = 1.75 // probe for more bandwidth one round in eight
	}
	bdp := mbw * b.minRTT.Seconds()
	b.cwnd = max(int(gain*bdp), 4*b.mss)
}

func (b *bbr) OnAck(time.Duration, int, int, time.Duration) {}

// OnFastRetransmit keeps the window: one loss says little about the path.
func (b *bbr) OnFastRetransmit(time.Duration, int) {}

// OnTimeout falls back to a small window; the model restores it within a
// round trip of ACKs.
func (b *bbr) OnTimeout(_ time.Duration, flight int) {
	b.cwnd = max(flight/2, 4*b.mss)
}

func (b *bbr) OnRecoveryEnd(time.Duration) {}
