// Package sigchan is the minitalk channel of real signals on Linux: symbol 1
// is SIGUSR1 and symbol 0 is SIGUSR2, and the sender of each is read from
// siginfo (si_pid). Nothing else passes between the processes.
//
// Signals are taken with a blocking rt_sigtimedwait(2) on a thread that has
// them blocked, which costs a few microseconds a symbol (going through Go's
// os/signal or the netpoller costs tens). For that, a signal must never be
// delivered to another thread of the Go process:
//
//   - a server, which is sent process-directed signals by kill(2), calls
//     [BlockInAllThreads] first thing in main: the program is executed again
//     with the signals blocked, and every thread the runtime starts inherits
//     that mask, so any thread may take them;
//   - a client opens its Port on the main thread (runtime.LockOSThread in an
//     init function keeps main there), and servers answer it with tgkill(2)
//     to that thread ([Options.ToMainThread]); process-directed signals from
//     anyone else reach other threads, where Go ignores them.
package sigchan

import (
	"errors"
)

// ErrInterrupted is returned by Port.Receive when SIGINT or SIGTERM arrived
// and the Port was opened with Options.Interrupts.
var ErrInterrupted = errors.New("sigchan: interrupted")

// Options configure a Port.
type Options struct {
	// ToMainThread sends every symbol with tgkill(pid, pid, sig) to the
	// receiver's main thread rather than with kill(pid, sig) to the
	// process. Servers set it to answer clients of this package.
	ToMainThread bool
	// Interrupts makes Receive return ErrInterrupted once SIGINT or
	// SIGTERM arrived (within the timeout it was waiting for), so that a
	// server ends cleanly.
	Interrupts bool
}
