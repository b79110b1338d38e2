package netem

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config describes the impairments of one direction of a path. The zero
// Config is a perfect link: no loss, no delay, unlimited rate, datagrams
// delivered in order, immediately, exactly once and intact.
//
// Each datagram offered to a direction goes through these stages, in order:
//
//  1. MTU: a datagram longer than MTU bytes is dropped (Stats.TooBig).
//  2. Loss: random loss (Loss) then burst loss (Burst); a lost datagram is
//     gone (Stats.Lost, Stats.BurstLost).
//  3. Duplication: with probability Duplicate a second copy follows the
//     original through the rest of the pipeline (Stats.Duplicated).
//  4. Corruption: each copy is corrupted with probability Corrupt
//     (Stats.Corrupted); the caller's buffer is never modified.
//  5. Bottleneck: with Rate > 0, copies are serialized one after another at
//     Rate bits/s behind a drop-tail queue bounded by QueueBytes and
//     QueuePackets (Stats.QueueDropped).
//  6. Propagation: Delay plus jitter, plus ReorderDelay for the datagrams
//     held back by Reorder (Stats.Reordered).
//  7. The receiver's queue: a copy is delivered (Stats.Delivered) unless the
//     receiver is gone or its receive buffer is full (Stats.RecvDropped).
//
// All random decisions come from a PCG generator seeded from Seed, so the
// same Config and the same sequence of datagrams, offered at the same
// (virtual) times, give the same decisions.
type Config struct {
	// Loss is the probability, in [0, 1], that a datagram is lost
	// independently of the others. Default 0: no random loss.
	Loss float64

	// Burst adds correlated loss with the Gilbert-Elliott model. The zero
	// value is off. See GilbertElliott and BurstLoss.
	Burst GilbertElliott

	// Delay is the one-way propagation delay added to every datagram.
	// Default 0.
	Delay time.Duration

	// Jitter spreads the delay: each datagram's delay is drawn uniformly
	// from [Delay-Jitter, Delay+Jitter] (never below zero). Unless
	// JitterReorders is set, a datagram is never delivered before one sent
	// earlier: its delivery time is raised to that of the previous one, as
	// with netem's rate or a FIFO qdisc, so jitter varies the spacing but
	// keeps the order. Default 0: no jitter.
	Jitter time.Duration

	// JitterReorders lets jitter reorder datagrams: each one is delivered
	// at its own drawn time. Default false: jitter keeps the order.
	JitterReorders bool

	// Reorder is the probability, in [0, 1], that a datagram is held back
	// by an extra ReorderDelay so that later datagrams overtake it.
	// Default 0: no reordering.
	Reorder float64

	// ReorderDelay is the extra delay of a held-back datagram. Default 0
	// means 10 ms when Reorder > 0.
	ReorderDelay time.Duration

	// Duplicate is the probability, in [0, 1], that a datagram is
	// delivered twice. Default 0.
	Duplicate float64

	// Corrupt is the probability, in [0, 1], that a delivered copy has
	// CorruptBits random bits flipped. Default 0.
	Corrupt float64

	// CorruptBits is the number of bits flipped in a corrupted copy, each
	// at a random position (the same bit may be drawn twice and flip back).
	// Default 0 means 1.
	CorruptBits int

	// Rate is the bottleneck rate in bits per second: a datagram of n
	// bytes occupies the link for n*8/Rate seconds, and datagrams wait
	// their turn in a drop-tail queue. Default 0: unlimited, no queue.
	Rate int64

	// QueueBytes bounds the bottleneck queue in bytes, counting the
	// datagram being serialized; a datagram that would exceed it is
	// dropped. Used only with Rate > 0. Default 0: no byte bound.
	QueueBytes int

	// QueuePackets bounds the bottleneck queue in datagrams, counting the
	// one being serialized. Used only with Rate > 0. Default 0: no bound.
	QueuePackets int

	// MTU drops datagrams longer than MTU bytes. Default 0: no limit.
	MTU int

	// Seed seeds the direction's random generator. Every value, zero
	// included, is a valid seed.
	Seed uint64
}

// defaultReorderDelay is the hold-back used when Config.ReorderDelay is 0.
const defaultReorderDelay = 10 * time.Millisecond

// GilbertElliott is the two-state burst loss model of Gilbert and Elliott.
// The channel is in the Good or the Bad state; each datagram is lost with
// the loss probability of the current state, then the state changes with
// the transition probability. The zero value never leaves the Good state
// and loses nothing: it is off.
//
// The classic Gilbert model is LossGood = 0, LossBad = 1: the mean burst
// length is then 1/BadToGood datagrams and the average loss rate
// GoodToBad/(GoodToBad+BadToGood). BurstLoss builds it from those two.
type GilbertElliott struct {
	// GoodToBad is the probability, in [0, 1], of moving from Good to Bad
	// after a datagram (p in the literature).
	GoodToBad float64
	// BadToGood is the probability, in [0, 1], of moving from Bad to Good
	// after a datagram (r in the literature).
	BadToGood float64
	// LossGood is the loss probability in the Good state (1-k).
	LossGood float64
	// LossBad is the loss probability in the Bad state (1-h).
	LossBad float64
}

// enabled reports whether the model can lose anything.
func (g GilbertElliott) enabled() bool {
	return g.LossGood > 0 || (g.GoodToBad > 0 && g.LossBad > 0)
}

// BurstLoss returns the Gilbert model (every datagram lost in the Bad
// state, none in the Good state) whose average loss rate is avgLoss, in
// (0, 1), and whose bursts of consecutive losses average meanBurst
// datagrams (at least 1). It returns an error if no such model exists, for
// example avgLoss 0.9 with meanBurst 1.
func BurstLoss(avgLoss, meanBurst float64) (GilbertElliott, error) {
	if !(avgLoss > 0 && avgLoss < 1) {
		return GilbertElliott{}, fmt.Errorf("netem: average loss %v not in (0, 1)", avgLoss)
	}
	if !(meanBurst >= 1) || math.IsInf(meanBurst, 0) {
		return GilbertElliott{}, fmt.Errorf("netem: mean burst length %v is not a finite number >= 1", meanBurst)
	}
	r := 1 / meanBurst
	p := avgLoss * r / (1 - avgLoss)
	if p > 1 {
		return GilbertElliott{}, fmt.Errorf("netem: average loss %v needs bursts longer than %v datagrams (at least %.3g)",
			avgLoss, meanBurst, avgLoss/(1-avgLoss))
	}
	return GilbertElliott{GoodToBad: p, BadToGood: r, LossBad: 1}, nil
}

// ErrInvalidConfig is wrapped by the errors Config.Validate returns.
var ErrInvalidConfig = errors.New("netem: invalid config")

// Validate reports the first field of c that is out of range: a
// probability outside [0, 1] (or NaN), a negative duration, rate, bound or
// bit count. The error wraps ErrInvalidConfig.
func (c Config) Validate() error {
	probs := []struct {
		name string
		v    float64
	}{
		{"Loss", c.Loss}, {"Reorder", c.Reorder}, {"Duplicate", c.Duplicate}, {"Corrupt", c.Corrupt},
		{"Burst.GoodToBad", c.Burst.GoodToBad}, {"Burst.BadToGood", c.Burst.BadToGood},
		{"Burst.LossGood", c.Burst.LossGood}, {"Burst.LossBad", c.Burst.LossBad},
	}
	for _, p := range probs {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("%w: %s = %v, want a probability in [0, 1]", ErrInvalidConfig, p.name, p.v)
		}
	}
	durs := []struct {
		name string
		v    time.Duration
	}{{"Delay", c.Delay}, {"Jitter", c.Jitter}, {"ReorderDelay", c.ReorderDelay}}
	for _, d := range durs {
		if d.v < 0 {
			return fmt.Errorf("%w: %s = %v is negative", ErrInvalidConfig, d.name, d.v)
		}
	}
	ints := []struct {
		name string
		v    int64
	}{
		{"Rate", c.Rate}, {"QueueBytes", int64(c.QueueBytes)}, {"QueuePackets", int64(c.QueuePackets)},
		{"MTU", int64(c.MTU)}, {"CorruptBits", int64(c.CorruptBits)},
	}
	for _, n := range ints {
		if n.v < 0 {
			return fmt.Errorf("%w: %s = %d is negative", ErrInvalidConfig, n.name, n.v)
		}
	}
	return nil
}

// Stats counts what happened to the datagrams of one direction. A
// duplicated datagram counts once in Offered and once in Duplicated, and
// each of its copies then counts where it ends. Once nothing is in flight,
//
//	Offered + Duplicated = Delivered + Lost + BurstLost + TooBig + QueueDropped + RecvDropped
//
// Reordered and Corrupted count copies that were also delivered or dropped
// later, so they are not in that sum. Queued counts the copies that
// entered the bottleneck queue and QueueDelay their summed wait in it, so
// that MeanQueueDelay and QueueDropRate describe the bottleneck.
type Stats struct {
	Offered        uint64        // datagrams written into the direction
	OfferedBytes   uint64        // their bytes
	Delivered      uint64        // copies put in the receiver's queue (or written, for a real socket)
	DeliveredBytes uint64        // their bytes
	Lost           uint64        // dropped by random loss (Config.Loss)
	BurstLost      uint64        // dropped by the Gilbert-Elliott model (Config.Burst)
	TooBig         uint64        // dropped for exceeding Config.MTU
	QueueDropped   uint64        // dropped by the full bottleneck queue
	Queued         uint64        // copies the bottleneck queue accepted (Config.Rate > 0)
	QueueDelay     time.Duration // summed over the Queued copies: each one's wait for the link, serialization excluded
	Lag            time.Duration // summed over the copies handed on: how late each was for its due time (the emulator's own delay: timers, a busy machine)
	MaxLag         time.Duration // the largest of those
	RecvDropped    uint64        // dropped at the receiver: no endpoint at the address, closed, or receive buffer full
	Duplicated     uint64        // extra copies made
	Corrupted      uint64        // copies with flipped bits
	Reordered      uint64        // copies held back by Config.Reorder
}

// MeanQueueDelay is the mean time a copy accepted by the bottleneck
// queue waited there before its serialization began; 0 when none was.
func (s Stats) MeanQueueDelay() time.Duration {
	if s.Queued == 0 {
		return 0
	}
	return s.QueueDelay / time.Duration(s.Queued)
}

// MeanLag is how late, on average, the copies handed on (delivered or
// dropped at the receiver) left the emulator for their due time: 0 in
// virtual time, a few microseconds on an idle machine; more says the
// emulator itself added delay and bunched its deliveries.
func (s Stats) MeanLag() time.Duration {
	if n := s.Delivered + s.RecvDropped; n > 0 {
		return s.Lag / time.Duration(n)
	}
	return 0
}

// QueueDropRate is the fraction, in [0, 1], of the copies reaching the
// bottleneck that its full queue dropped: QueueDropped / (Queued +
// QueueDropped); 0 when none reached it.
func (s Stats) QueueDropRate() float64 {
	if n := s.Queued + s.QueueDropped; n > 0 {
		return float64(s.QueueDropped) / float64(n)
	}
	return 0
}

// String formats s on one line, for logs and the relay's summary.
func (s Stats) String() string {
	q := ""
	if s.Queued > 0 {
		q = fmt.Sprintf(", queued %d (mean wait %v)", s.Queued, s.MeanQueueDelay())
	}
	return fmt.Sprintf("offered %d (%d B), delivered %d (%d B), lost %d, burst-lost %d, too-big %d, queue-dropped %d, recv-dropped %d, duplicated %d, corrupted %d, reordered %d",
		s.Offered, s.OfferedBytes, s.Delivered, s.DeliveredBytes, s.Lost, s.BurstLost, s.TooBig,
		s.QueueDropped, s.RecvDropped, s.Duplicated, s.Corrupted, s.Reordered) + q
}

// String summarizes the impairments of c on one line, such as
// "loss 10%, delay 300ms ± 50ms", or "none" for a perfect link.
func (c Config) String() string {
	var parts []string
	pct := func(p float64) string { return strconv.FormatFloat(p*100, 'g', 4, 64) + "%" }
	if c.Loss > 0 {
		parts = append(parts, "loss "+pct(c.Loss))
	}
	if b := c.Burst; b.LossGood == 0 && b.LossBad == 1 && b.GoodToBad > 0 && b.BadToGood > 0 {
		parts = append(parts, fmt.Sprintf("burst loss %s in bursts of %s",
			pct(b.GoodToBad/(b.GoodToBad+b.BadToGood)), strconv.FormatFloat(1/b.BadToGood, 'g', 4, 64)))
	} else if b != (GilbertElliott{}) {
		parts = append(parts, fmt.Sprintf("burst loss (good->bad %s, bad->good %s, loss good %s, bad %s)",
			pct(b.GoodToBad), pct(b.BadToGood), pct(b.LossGood), pct(b.LossBad)))
	}
	if c.Delay > 0 || c.Jitter > 0 {
		s := "delay " + c.Delay.String()
		if c.Jitter > 0 {
			s += " ± " + c.Jitter.String()
			if c.JitterReorders {
				s += " (may reorder)"
			}
		}
		parts = append(parts, s)
	}
	if c.Reorder > 0 {
		d := c.ReorderDelay
		if d == 0 {
			d = defaultReorderDelay
		}
		parts = append(parts, fmt.Sprintf("reorder %s (held %v)", pct(c.Reorder), d))
	}
	if c.Duplicate > 0 {
		parts = append(parts, "duplicate "+pct(c.Duplicate))
	}
	if c.Corrupt > 0 {
		parts = append(parts, fmt.Sprintf("corrupt %s (%d bits)", pct(c.Corrupt), max(c.CorruptBits, 1)))
	}
	if c.Rate > 0 {
		s := "rate " + formatRate(c.Rate)
		switch {
		case c.QueueBytes > 0 && c.QueuePackets > 0:
			s += fmt.Sprintf(", queue %d B / %d packets", c.QueueBytes, c.QueuePackets)
		case c.QueueBytes > 0:
			s += fmt.Sprintf(", queue %d B", c.QueueBytes)
		case c.QueuePackets > 0:
			s += fmt.Sprintf(", queue %d packets", c.QueuePackets)
		default:
			s += ", unbounded queue"
		}
		parts = append(parts, s)
	}
	if c.MTU > 0 {
		parts = append(parts, fmt.Sprintf("mtu %d", c.MTU))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(", seed %d", c.Seed)
}

func formatRate(bps int64) string {
	for _, u := range []struct {
		div  float64
		name string
	}{{1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "kbit/s"}} {
		if float64(bps) >= u.div {
			return strconv.FormatFloat(float64(bps)/u.div, 'g', 4, 64) + " " + u.name
		}
	}
	return strconv.FormatInt(bps, 10) + " bit/s"
}
