package netem

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// direction applies one Config to a stream of datagrams and hands each
// surviving copy to deliver at its due time. It has no goroutine of its
// own: copies due now are delivered by the writer, later ones wait in a
// min-heap behind a single timer whose callback delivers them, so the
// cost per datagram is a few heap operations and no allocation.
//
// Under testing/synctest the timer is a fake-clock timer, so delays take
// no wall time.
type direction struct {
	mu  sync.Mutex
	cfg Config
	rng *rand.Rand
	ge  bool // cfg.Burst.enabled()
	bad bool // Gilbert-Elliott state

	// Bottleneck: the link is busy until linkFree; queue holds the finish
	// times of the copies accepted and not yet fully serialized.
	linkFree   time.Time
	queue      ring[queued]
	queueBytes int

	lastDue time.Time // due time of the last in-order copy
	pending packetHeap
	seq     uint64

	timer Timer
	// afterFunc makes the timer; nil means time.AfterFunc.
	afterFunc func(time.Duration, func()) Timer
	armed     bool
	armedAt   time.Time
	closed    bool

	// deliver takes ownership of p and reports whether it reached the
	// receiver. It is called with mu held and must not block for long.
	deliver func(p *packet) bool
	stats   Stats
}

type queued struct {
	finish time.Time
	size   int
}

// Timer is what the emulator needs of the timer that wakes it for the
// next delivery: Reset re-arms it (whether it fired or not), Stop ends it
// for good when its direction closes. A *time.Timer is one.
type Timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// newDirection returns a direction applying cfg, which must be valid.
// stream selects one of the generator's independent streams for the seed,
// so that two directions with the same seed do not make the same choices.
func newDirection(cfg Config, stream uint64, deliver func(*packet) bool) *direction {
	return &direction{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, stream)),
		ge:      cfg.Burst.enabled(),
		deliver: deliver,
	}
}

// offer takes ownership of p and sends it through the impairments at the
// current time. It returns net.ErrClosed after close.
func (d *direction) offer(p *packet) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		p.free()
		return net.ErrClosed
	}
	now := time.Now()
	c := &d.cfg
	d.stats.Offered++
	d.stats.OfferedBytes += uint64(p.n)
	if c.MTU > 0 && p.n > c.MTU {
		d.stats.TooBig++
		p.free()
		return nil
	}
	if c.Loss > 0 && d.rng.Float64() < c.Loss {
		d.stats.Lost++
		p.free()
		return nil
	}
	if d.ge && d.burstLost() {
		d.stats.BurstLost++
		p.free()
		return nil
	}
	var dup *packet
	if c.Duplicate > 0 && d.rng.Float64() < c.Duplicate {
		d.stats.Duplicated++
		dup = p.clone()
	}
	d.admit(p, now)
	if dup != nil {
		d.admit(dup, now)
	}
	d.drain(now)
	return nil
}

// burstLost runs one step of the Gilbert-Elliott chain: the loss decision
// in the current state, then the transition.
func (d *direction) burstLost() bool {
	g := &d.cfg.Burst
	p := g.LossGood
	if d.bad {
		p = g.LossBad
	}
	lost := p > 0 && d.rng.Float64() < p
	if d.bad {
		if d.rng.Float64() < g.BadToGood {
			d.bad = false
		}
	} else if g.GoodToBad > 0 && d.rng.Float64() < g.GoodToBad {
		d.bad = true
	}
	return lost
}

// admit corrupts, queues and schedules one copy.
func (d *direction) admit(p *packet, now time.Time) {
	c := &d.cfg
	if c.Corrupt > 0 && p.n > 0 && d.rng.Float64() < c.Corrupt {
		bits := max(c.CorruptBits, 1)
		for range bits {
			pos := d.rng.IntN(p.n * 8)
			p.buf[pos/8] ^= 1 << (pos % 8)
		}
		d.stats.Corrupted++
	}
	t := now
	if c.Rate > 0 {
		for d.queue.len() > 0 && !d.queue.front().finish.After(now) {
			d.queueBytes -= d.queue.pop().size
		}
		if (c.QueuePackets > 0 && d.queue.len() >= c.QueuePackets) ||
			(c.QueueBytes > 0 && d.queueBytes+p.n > c.QueueBytes) {
			d.stats.QueueDropped++
			p.free()
			return
		}
		start := now
		if d.linkFree.After(now) {
			start = d.linkFree
		}
		d.stats.Queued++
		d.stats.QueueDelay += start.Sub(now)
		t = start.Add(serialization(p.n, c.Rate))
		d.linkFree = t
		d.queue.push(queued{finish: t, size: p.n})
		d.queueBytes += p.n
	}
	delay := c.Delay
	if c.Jitter > 0 {
		delay += time.Duration(d.rng.Int64N(2*int64(c.Jitter)+1)) - c.Jitter
		delay = max(delay, 0)
	}
	due := t.Add(delay)
	if !c.JitterReorders && due.Before(d.lastDue) {
		due = d.lastDue
	}
	if c.Reorder > 0 && d.rng.Float64() < c.Reorder {
		hold := c.ReorderDelay
		if hold == 0 {
			hold = defaultReorderDelay
		}
		due = due.Add(hold)
		d.stats.Reordered++
	} else {
		d.lastDue = due
	}
	p.due = due
	p.seq = d.seq
	d.seq++
	if len(d.pending) == 0 && !due.After(now) {
		d.out(p, now)
		return
	}
	d.pending.push(p)
}

// serialization is the time n bytes occupy a link of rate bits/s.
func serialization(n int, rate int64) time.Duration {
	return time.Duration(int64(n) * 8 * int64(time.Second) / rate)
}

// out hands p to the receiver at now and counts the outcome, and how late
// now is for p.
func (d *direction) out(p *packet, now time.Time) {
	if lag := now.Sub(p.due); lag > 0 {
		d.stats.Lag += lag
		d.stats.MaxLag = max(d.stats.MaxLag, lag)
	}
	n := uint64(p.n)
	if d.deliver(p) {
		d.stats.Delivered++
		d.stats.DeliveredBytes += n
	} else {
		d.stats.RecvDropped++
	}
}

// drain delivers the copies due by now and arms the timer for the next.
func (d *direction) drain(now time.Time) {
	for len(d.pending) > 0 && !d.pending[0].due.After(now) {
		d.out(d.pending.pop(), now)
	}
	if len(d.pending) == 0 {
		return
	}
	head := d.pending[0].due
	if d.armed && !head.Before(d.armedAt) {
		return
	}
	wait := head.Sub(now)
	if d.timer == nil {
		if d.afterFunc != nil {
			d.timer = d.afterFunc(wait, d.fire)
		} else {
			d.timer = time.AfterFunc(wait, d.fire)
		}
	} else {
		d.timer.Reset(wait)
	}
	d.armed, d.armedAt = true, head
}

// fire is the timer callback.
func (d *direction) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.armed = false
	d.drain(time.Now())
}

// inFlight returns the number of copies waiting for their due time.
func (d *direction) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// snapshot returns the counters.
func (d *direction) snapshot() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// close stops the timer and discards the copies in flight. Later offers
// fail with net.ErrClosed.
func (d *direction) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if d.timer != nil {
		d.timer.Stop()
	}
	for len(d.pending) > 0 {
		d.pending.pop().free()
	}
	d.pending = nil
}
