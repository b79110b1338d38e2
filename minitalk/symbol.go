package minitalk

import "time"

// Symbol is one symbol on the channel: on signals, One is SIGUSR1 and Zero is
// SIGUSR2.
type Symbol uint8

// The two symbols.
const (
	Zero Symbol = 0 // SIGUSR2: reject; message flag "end"; data bit 0
	One  Symbol = 1 // SIGUSR1: knock; accept; message flag "more"; data bit 1
)

// Answers of the server.
const (
	Accept = One  // the symbol was taken
	Reject = Zero // busy, not bound, or the message was damaged: start over
)

// String returns "1" or "0".
func (s Symbol) String() string {
	if s == One {
		return "1"
	}
	return "0"
}

// Default timing. The order matters for the protocol's safety argument:
// DefaultRetry < DefaultPatience < DefaultResend < DefaultDrop; and
// DefaultMaxRetry < DefaultRelease, so that a client waiting for an answer
// speaks again before a server could take its silence for a stop.
const (
	// DefaultRetry is how long a client waits for an answer before it
	// sends its symbol again; it doubles on each retry up to DefaultMaxRetry,
	// and grows for the rest of a message after a slow answer.
	DefaultRetry = 50 * time.Millisecond
	// DefaultMaxRetry caps the client's retry timeout.
	DefaultMaxRetry = time.Second
	// DefaultPatience is how long a client waits for an answer to one
	// symbol, over all its retries, before it gives up.
	DefaultPatience = 5 * time.Second
	// DefaultFirstSymbol is how long a server waits for the first message
	// flag after it accepted a knock; a real client sends it at once.
	DefaultFirstSymbol = 100 * time.Millisecond
	// DefaultRelease is the silence after which a server drops its client
	// if that process is not running (stopped, or asleep: waiting for
	// something that is not coming); a client that is running, merely slow
	// on a loaded machine, is kept until DefaultDrop.
	DefaultRelease = 1500 * time.Millisecond
	// DefaultResend is the silence after which a server sends its last
	// answer again. It is longer than DefaultPatience.
	DefaultResend = 6 * time.Second
	// DefaultDrop is the silence after which a server drops its client.
	DefaultDrop = 8 * time.Second
	// DefaultBackoff and DefaultMaxBackoff bound a rejected client's sleep
	// before it knocks again (doubling, with jitter).
	DefaultBackoff    = time.Millisecond
	DefaultMaxBackoff = 50 * time.Millisecond
	// DefaultMaxRestarts is how many times a client starts a message over
	// (after being dropped or after a damaged transfer) before it fails.
	DefaultMaxRestarts = 8
	// DefaultMaxMessage bounds the size of one message the server keeps.
	DefaultMaxMessage = 64 << 20
)
