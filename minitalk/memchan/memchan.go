// Package memchan is an in-memory channel for the minitalk protocol that
// behaves as POSIX standard signals do: each process has one pending slot per
// symbol, so a symbol sent while the same symbol is pending for that process
// is merged into it (the first sender's PID is kept), and symbols from several
// senders interleave. It can also lose symbols and delay them, which real
// signals between minitalk processes do not, to show that the protocol then
// still never delivers a wrong message.
//
// It uses only channels, mutexes and timers, so it runs inside a
// testing/synctest bubble, where its delays and the protocol's timeouts pass
// in virtual time.
package memchan

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
)

// Faults are the channel's impairments beyond merging.
type Faults struct {
	// Drop is the probability that a symbol is lost in transit; DropTo, if
	// set, limits the losses to symbols sent to the processes it selects.
	Drop   float64
	DropTo func(pid int) bool
	// Delay: each symbol arrives after a uniform delay in [0, Delay]. Real
	// signals are never in transit that long; use Stall for a slow process.
	// DelayRate, if set, delays only that fraction of the symbols.
	Delay     time.Duration
	DelayRate float64
	// Latency is added to every symbol's transit, so that transfers take
	// (virtual) time.
	Latency time.Duration
	// Stall: with probability StallRate a Receive first sleeps a uniform
	// time in [0, Stall] before it looks at what is pending, as a
	// descheduled or stopped process does; symbols sent meanwhile merge.
	// StallOnly, if set, limits the stalls to the processes it selects.
	Stall     time.Duration
	StallRate float64
	StallOnly func(pid int) bool
	Seed      uint64 // seeds the random choices
}

// Stats counts what the channel did.
type Stats struct {
	Sent, Merged, Dropped, Delayed, Stalled int
	LongestStall                            time.Duration
}

// Net is a set of processes that can send each other symbols.
type Net struct {
	f     Faults
	mu    sync.Mutex
	rng   *rand.Rand
	procs map[int]*Port
	next  int
	stats Stats
}

// New returns an empty network with the given faults.
func New(f Faults) *Net {
	return &Net{f: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)), procs: map[int]*Port{}, next: FirstPID - 1}
}

// Stats returns the counts so far.
func (n *Net) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Port is one process of a Net. It implements driver.Port.
type Port struct {
	n       *Net
	pid     int
	wake    chan struct{} // capacity 1: something became pending
	pending [2]int        // sender PID per symbol, 0 if none is pending
	cont    chan struct{} // not nil while stopped; closed by Continue
}

// FirstPID is the PID of the first process spawned in a Net; the next ones
// follow in order.
const FirstPID = 101

// Spawn adds a process to the network and returns its port.
func (n *Net) Spawn() *Port {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.next++
	p := &Port{n: n, pid: n.next, wake: make(chan struct{}, 1)}
	n.procs[p.pid] = p
	return p
}

// PID returns the process's ID.
func (p *Port) PID() int { return p.pid }

// Kill removes the process from the network: symbols to it fail with
// driver.ErrNoProcess and Status reports driver.StatusGone.
func (p *Port) Kill() {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	delete(p.n.procs, p.pid)
}

// Stop stops the process, as SIGSTOP does: until Continue, its Send and
// Receive do not return (symbols sent to it stay pending and merge), and
// Status reports driver.StatusIdle.
func (p *Port) Stop() {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	if p.cont == nil {
		p.cont = make(chan struct{})
	}
}

// Continue lets a stopped process run again, as SIGCONT does.
func (p *Port) Continue() {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	if p.cont != nil {
		close(p.cont)
		p.cont = nil
	}
}

// whileStopped waits until the process is not stopped.
func (p *Port) whileStopped() {
	for {
		p.n.mu.Lock()
		c := p.cont
		p.n.mu.Unlock()
		if c == nil {
			return
		}
		<-c
	}
}

// Send sends s to process pid, subject to the network's faults.
func (p *Port) Send(pid int, s minitalk.Symbol) error {
	p.whileStopped()
	n := p.n
	n.mu.Lock()
	defer n.mu.Unlock()
	to, ok := n.procs[pid]
	if !ok {
		return fmt.Errorf("memchan: send to %d: %w", pid, driver.ErrNoProcess)
	}
	n.stats.Sent++
	if n.f.Drop > 0 && (n.f.DropTo == nil || n.f.DropTo(pid)) && n.rng.Float64() < n.f.Drop {
		n.stats.Dropped++
		return nil
	}
	if n.f.Delay > 0 || n.f.Latency > 0 {
		d := n.f.Latency
		if n.f.Delay > 0 && (n.f.DelayRate <= 0 || n.rng.Float64() < n.f.DelayRate) {
			d += time.Duration(n.rng.Int64N(int64(n.f.Delay) + 1))
		}
		if d > 0 {
			n.stats.Delayed++
			from := p.pid
			time.AfterFunc(d, func() {
				n.mu.Lock()
				defer n.mu.Unlock()
				n.arrive(to, from, s)
			})
			return nil
		}
	}
	n.arrive(to, p.pid, s)
	return nil
}

// arrive makes s pending at to, or merges it. n.mu is held.
func (n *Net) arrive(to *Port, from int, s minitalk.Symbol) {
	if to.pending[s] != 0 {
		n.stats.Merged++
		return
	}
	to.pending[s] = from
	select {
	case to.wake <- struct{}{}:
	default:
	}
}

// take returns a pending symbol, One before Zero as Linux delivers SIGUSR1
// before SIGUSR2.
func (p *Port) take() (driver.Signal, bool) {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	for _, s := range []minitalk.Symbol{minitalk.One, minitalk.Zero} {
		if from := p.pending[s]; from != 0 {
			p.pending[s] = 0
			return driver.Signal{From: from, Sym: s}, true
		}
	}
	return driver.Signal{}, false
}

// Receive waits up to timeout for a pending symbol.
func (p *Port) Receive(timeout time.Duration) (driver.Signal, bool, error) {
	defer p.whileStopped()
	p.whileStopped()
	if d := p.stall(); d > 0 && timeout > 0 {
		time.Sleep(d) // descheduled: running, not asleep
		timeout = max(0, timeout-d)
	}
	if sig, ok := p.take(); ok || timeout <= 0 {
		return sig, ok, nil
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-p.wake:
			if sig, ok := p.take(); ok {
				return sig, true, nil
			}
		case <-t.C:
			sig, ok := p.take()
			return sig, ok, nil
		}
	}
}

// stall draws how long this Receive sleeps first.
func (p *Port) stall() time.Duration {
	n := p.n
	if n.f.Stall <= 0 || n.f.StallRate <= 0 || (n.f.StallOnly != nil && !n.f.StallOnly(p.pid)) {
		return 0
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rng.Float64() >= n.f.StallRate {
		return 0
	}
	n.stats.Stalled++
	d := time.Duration(n.rng.Int64N(int64(n.f.Stall) + 1))
	n.stats.LongestStall = max(n.stats.LongestStall, d)
	return d
}

// Status reports whether process pid is in the network and, if so, whether
// it is stopped (driver.StatusIdle) or running; a process blocked in Receive
// is running, as sigchan reports a process waiting in rt_sigtimedwait.
func (p *Port) Status(pid int) driver.Status {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	q, ok := p.n.procs[pid]
	switch {
	case !ok:
		return driver.StatusGone
	case q.cont != nil:
		return driver.StatusIdle
	}
	return driver.StatusRunning
}
