// Package driver runs minitalk's state machines over a channel: [Send] drives
// a [minitalk.Client] and [Serve] a [minitalk.Server] over any [Port], with
// the clock and the timers the state machines do not have. Package
// github.com/tjunet/tjunet/minitalk/sigchan is the Port of real signals and
// github.com/tjunet/tjunet/minitalk/memchan an in-memory one for tests.
package driver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tjunet/tjunet/minitalk"
)

// Signal is a symbol together with the process that sent it.
type Signal struct {
	From int             // sender's process ID
	Sym  minitalk.Symbol // the symbol
}

// Port is one process's end of a channel that carries symbols between
// processes, such as signals.
type Port interface {
	// Send sends s to process pid. It returns an error wrapping
	// ErrNoProcess if pid does not exist.
	Send(pid int, s minitalk.Symbol) error
	// Receive waits up to timeout for a symbol and returns it; ok is false
	// if none came in time. A timeout of 0 only looks at what is pending.
	Receive(timeout time.Duration) (sig Signal, ok bool, err error)
	// Status tells whether process pid is running, idle or gone.
	Status(pid int) Status
}

// Status is what a Port can tell of a process.
type Status uint8

// Statuses.
const (
	StatusRunning Status = iota // running or waiting for a processor: alive, maybe slow
	StatusIdle                  // stopped, or asleep other than waiting for a symbol
	StatusGone                  // no such process, or a zombie
)

// ErrNoProcess is wrapped by Port.Send when the process does not exist.
var ErrNoProcess = errors.New("no such process")

// Event is something that happened, as reported to a Logger.
type Event struct {
	Kind minitalk.EventKind
	PID  int             // the other process
	Wait time.Duration   // minitalk.EventRejected, minitalk.EventRestarted: the sleep before the next knock
	Sym  minitalk.Symbol // minitalk.EventResent: the symbol sent again
	Err  error           // minitalk.EventFailed
}

// Logger receives events; it is called synchronously, so it must be quick.
type Logger func(Event)

// Send sends msg to the server with process ID server over p and returns nil
// once the server acknowledged the end of the message. It returns an error
// wrapping ErrNoProcess, minitalk.ErrNoAnswer, minitalk.ErrBusy, minitalk.ErrTooManyRestarts, a Port
// error or ctx's error. ctx is looked at between symbols and during sleeps.
//
// When cfg.Rand is nil, Send draws the jitter of its sleeps from a source of
// its own, seeded at random.
func Send(ctx context.Context, p Port, server int, msg []byte, cfg minitalk.ClientConfig, log Logger) error {
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	c := minitalk.NewClient(msg, cfg)
	st := c.Start()
	var answered time.Time
	for {
		switch st.Op {
		case minitalk.OpSend:
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("minitalk: sending to %d: %w", server, err)
			}
			if st.Event == minitalk.EventResent && log != nil {
				log(Event{Kind: minitalk.EventResent, PID: server, Sym: st.Sym})
			}
			// Nothing the server sent can be pending before this send, but
			// for an answer it sent again while this process was stopped
			// or starved, an answer to a symbol it read twice, or its
			// rejection of a message it ended early. Taken for the answer
			// to this symbol, a stale 1 would let a later loss go unseen;
			// so every send but a retry first clears what is pending, and
			// a 0 among it means start over.
			if !answered.IsZero() && st.Event != minitalk.EventResent {
				rejected, err := drainFrom(p, server)
				if err != nil {
					return err
				}
				if rejected {
					st = c.Answer(minitalk.Reject)
					continue
				}
			}
			sent := time.Now()
			if err := p.Send(server, st.Sym); err != nil {
				return fmt.Errorf("minitalk: sending to %d: %w", server, err)
			}
			a, ok, err := await(p, server, st.Wait)
			if err == nil && !ok {
				// Look once more: this process may have been descheduled
				// between the timeout and now, while the answer came.
				a, ok, err = await(p, server, 0)
			}
			if err != nil {
				return fmt.Errorf("minitalk: waiting for %d: %w", server, err)
			}
			if !ok {
				st = c.Timeout()
				continue
			}
			answered = time.Now()
			c.Latency(answered.Sub(sent))
			st = c.Answer(a)
			if st.Event == minitalk.EventAccepted && log != nil {
				log(Event{Kind: minitalk.EventAccepted, PID: server})
			}
		case minitalk.OpSleep:
			if log != nil {
				log(Event{Kind: st.Event, PID: server, Wait: st.Wait})
			}
			t := time.NewTimer(st.Wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("minitalk: waiting for %d: %w", server, ctx.Err())
			case <-t.C:
			}
			if err := drain(p); err != nil {
				return err
			}
			answered = time.Time{}
			st = c.Start()
		case minitalk.OpDone:
			if log != nil {
				log(Event{Kind: minitalk.EventDone, PID: server})
			}
			return nil
		case minitalk.OpFail:
			if log != nil {
				log(Event{Kind: minitalk.EventFailed, PID: server, Err: st.Err})
			}
			return fmt.Errorf("minitalk: sending to %d: %w", server, st.Err)
		default:
			return fmt.Errorf("minitalk: client in state %v asked for nothing", c.State())
		}
	}
}

// await waits up to d for a symbol from process from, ignoring others; with
// d == 0 it only looks at what is pending.
func await(p Port, from int, d time.Duration) (minitalk.Symbol, bool, error) {
	var deadline time.Time
	for {
		sig, ok, err := p.Receive(d)
		if err != nil || !ok {
			return 0, false, err
		}
		if sig.From == from {
			return sig.Sym, true, nil
		}
		if d == 0 {
			continue
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(d)
		}
		if d = deadline.Sub(now); d <= 0 {
			return 0, false, nil
		}
	}
}

// drainFrom discards every symbol pending at p and reports whether one was a
// 0 from process from.
func drainFrom(p Port, from int) (rejected bool, err error) {
	for {
		sig, ok, err := p.Receive(0)
		if err != nil {
			return false, fmt.Errorf("minitalk: draining: %w", err)
		}
		if !ok {
			return rejected, nil
		}
		rejected = rejected || (sig.From == from && sig.Sym == minitalk.Reject)
	}
}

// drain discards every symbol pending at p.
func drain(p Port) error {
	for {
		_, ok, err := p.Receive(0)
		if err != nil {
			return fmt.Errorf("minitalk: draining: %w", err)
		}
		if !ok {
			return nil
		}
	}
}

// pollEvery bounds how long the server waits without looking at its context
// and, when bound, at whether its client still exists and runs.
const pollEvery = 100 * time.Millisecond

// Serve runs a server over p until ctx is done or p fails, serving clients
// one after another. deliver is called with every whole message (the slice
// is valid only during the call), before the client's end is acknowledged; an
// error from deliver ends Serve. It returns ctx's error or a Port error,
// wrapped.
func Serve(ctx context.Context, p Port, cfg minitalk.ServerConfig, deliver func(from int, msg []byte) error, log Logger) error {
	s := minitalk.NewServer(cfg)
	do := func(st minitalk.ServerStep) error {
		if st.Message != nil {
			if err := deliver(st.Peer, st.Message); err != nil {
				return fmt.Errorf("minitalk: delivering a message: %w", err)
			}
		}
		if st.Event != minitalk.EventNone && log != nil {
			log(Event{Kind: st.Event, PID: st.Peer})
		}
		if st.Reply {
			if err := p.Send(st.To, st.Sym); err != nil {
				if errors.Is(err, ErrNoProcess) {
					if st.To == s.Peer() {
						st = s.PeerGone()
						if log != nil {
							log(Event{Kind: st.Event, PID: st.Peer})
						}
					}
					return nil
				}
				return fmt.Errorf("minitalk: answering %d: %w", st.To, err)
			}
		}
		return nil
	}
	var checked time.Time // when the bound client's process was last looked for
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("minitalk: server: %w", err)
		}
		wait := pollEvery
		if d, ok := s.Deadline(); ok {
			wait = max(0, min(wait, time.Until(d)))
		}
		sig, ok, err := p.Receive(wait)
		if err != nil {
			return fmt.Errorf("minitalk: server: %w", err)
		}
		now := time.Now()
		if ok {
			if err := do(s.Receive(sig.From, sig.Sym, now)); err != nil {
				return err
			}
		}
		// Symbols from other processes may keep coming while the bound
		// client is silent: the timers do not wait for a quiet channel.
		if s.Quiet(now) >= pollEvery && now.Sub(checked) >= pollEvery {
			checked = now
			var st minitalk.ServerStep
			switch p.Status(s.Peer()) {
			case StatusGone:
				st = s.PeerGone()
			case StatusIdle:
				st = s.PeerIdle(now)
			}
			if err := do(st); err != nil {
				return err
			}
		}
		if d, ok := s.Deadline(); ok && !now.Before(d) {
			if err := do(s.Tick(now)); err != nil {
				return err
			}
		}
	}
}
