// Package sigchan is the minitalk channel of real signals on Linux: symbol 1
// is SIGUSR1 and symbol 0 is SIGUSR2, and the sender of each is read from
// siginfo (si_pid). Nothing else passes between the processes.
//
// Every process of the channel, client or server, takes its signals on its
// main thread, where it keeps them blocked, with rt_sigtimedwait(2); and
// every symbol is sent to the receiver's main thread with tgkill(pid, pid,
// sig). A thread-directed signal waits in that thread's own pending set, so
// no other thread of the Go runtime (which do not block SIGUSR1/2 and would
// swallow a process-directed one, the runtime catching it with no action)
// can take it, and the signals need to be blocked on one thread only. So a
// program needs no second exec to be safe: it is from the moment [Open]
// returned, and a server can print its PID right then.
//
// A process-directed signal from anyone else (kill(2)) lands in the
// process's shared pending set: the waiting thread may read it (its si_pid
// names a process the protocol ignores or rejects), or another thread
// swallows it. It never merges with a symbol of the channel, which is in the
// main thread's own set.
//
// Before it blocks, Receive polls for a short while ([Options.Spin]), with
// the server's thread and the client's pinned to different processors
// ([Options.Pin]): on two or more idle processors the peer answers within
// microseconds, and a thread that went to sleep would have to be woken up,
// which costs more than the whole exchange. It does so only while the
// machine has room for it (no more runnable threads than processors, as
// /proc/loadavg says, looked at every 10 ms); on a loaded machine spinning
// would take the processor from others, the peer among them, and Receive
// sleeps at once on a thread free to run anywhere.
package sigchan

import (
	"errors"
	"time"
)

// ErrInterrupted is returned by Port.Receive when SIGINT or SIGTERM arrived
// and the Port was opened with Options.Interrupts.
var ErrInterrupted = errors.New("sigchan: interrupted")

// DefaultSpin is how long Receive polls for a signal before it blocks, unless
// Options.Spin says otherwise. It is a few times the answer time of a peer
// that is running on the other core, and short enough that a peer that is
// not (a loaded machine, or one core) costs little CPU.
const DefaultSpin = 50 * time.Microsecond

// Pin chooses the processor a Port's thread runs on.
type Pin uint8

// Pinning. A server pins its thread to the first processor it may run on and
// a client to all the others, so that on two or more processors the two
// are never on the same one: a Port spinning for its peer's answer on the
// processor the peer needs to run would only delay it.
const (
	PinNone   Pin = iota // run anywhere
	PinServer            // the first processor of the allowed set
	PinClient            // the allowed set without its first processor
)

// Options configure a Port.
type Options struct {
	// Pin pins the Port's thread; with PinNone, or when only one
	// processor is allowed, the Port does not spin unless Spin is set.
	Pin Pin
	// Interrupts makes Receive return ErrInterrupted once SIGINT or
	// SIGTERM arrived (within the timeout it was waiting for), so that a
	// server ends cleanly.
	Interrupts bool
	// Spin is how long Receive polls before it blocks: 0 means
	// DefaultSpin when the thread was pinned (and no spinning otherwise),
	// a negative value never polls.
	Spin time.Duration
}
