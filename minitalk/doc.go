// Package minitalk carries messages between two processes one bit at a time,
// using nothing but two symbols, as the minitalk protocol of seed 001 draws it:
// on the signal channel 1 is SIGUSR1 and 0 is SIGUSR2, in both directions.
//
// The package is the protocol and nothing else: [Client] and [Server] are
// deterministic state machines that own no signal, no goroutine, no clock and
// no global randomness. They are told "this symbol arrived" and "this much
// time passed" and answer with the symbol to send, how long to wait, and what
// happened. Package github.com/tjunet/tjunet/minitalk/driver drives them
// over a channel (its Send and Serve loops hold the clock and the timers);
// package github.com/tjunet/tjunet/minitalk/sigchan is the channel of real
// signals (Linux, sender PID from siginfo) and package
// github.com/tjunet/tjunet/minitalk/memchan an in-memory channel that merges,
// drops and delays symbols for tests.
//
// # The exchange
//
// Every symbol the client sends is answered by the server. The client knocks
// with 1; a waiting server answers 1 (accept) and is bound to that client; a
// busy server answers 0 (reject) and the client sleeps and knocks again.
// Then, for every bit of the payload, the client sends a message flag 1 and
// the bit, each answered with 1; a message flag 0 ends the message, and the
// server answers 1 once the message is printed. An answer 0 in the middle of a
// message means "you are not bound (any more)": the client starts over.
//
// The payload is the message followed by its CRC-32 (IEEE, big-endian) with
// the lowest bit cleared, most significant bit first. The server prints a
// message only when the check matches and answers the end with 0 otherwise, so
// a damaged transfer is retried or reported, never printed; the last bit being
// 0 makes a symbol read twice show up before the end (see docs/minitalk.md).
//
// # Retries
//
// The client resends its last symbol when no answer comes within its retry
// timeout (doubling up to a cap) and gives up after its patience. The server
// sends its last answer again when the bound client has been silent for longer
// than the client's whole patience, and drops the client after a longer
// silence or as soon as it learns that the process is gone. docs/minitalk.md
// in the repository argues why a retried symbol is never read as a new one.
package minitalk
