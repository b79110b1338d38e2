// Package labpeer is a scripted TJU TCP peer, in the spirit of packetdrill
// and gVisor's packetimpact: it owns a UDP socket (any net.PacketConn),
// sends hand-built segments and asserts on what comes back: flags, sequence
// and acknowledgement numbers, window, ports and timing.
//
// The checks it runs are data (see Check and Checks): the TJU lab's four
// grader programs exactly as the lab's reference describes them (receiver,
// sender, close_server 0 and 1, close_client_for_server 0 and 1), and one
// check per transition of the lab's connection diagram and teardown states,
// retransmission timing included. The same table drives the package's tests,
// which run it against tjunet's own client and server over an in-memory
// netem network in virtual time, and "tju conform", which runs it against
// any implementation at a real address.
//
// A check tests one implementation role ("the implementation under test",
// IUT): a client (the check plays the lab's server host 172.17.0.3, TJU port
// 1234, and waits for the client's SYN) or a server (the check plays the
// lab's client host 172.17.0.2, TJU port 5678, and sends the SYN). Each
// check is one connection. Its App field says what the implementation's
// application must do meanwhile (connect and close, send a few bytes,
// accept and read until EOF...).
//
// # Timing
//
// The lab's grader measures time in whole seconds with a strict "greater
// than", so its "3 s" accepts anything from 3 to 4 s depending on where in
// the second the wait began. A check here uses the lower bound: what passes
// it passes the grader whatever the phase of the grader's clock.
//
// # Wire hygiene
//
// Every datagram of the connection is also held to the lab's format: at
// least 20 bytes, plen equal to the datagram's length, a 20-byte header (no
// options: a lab host would read them as payload), ext 0, no flag bits but
// SYN, ACK and FIN, at most 1375 bytes of payload. A violation fails the
// check it occurs in.
package labpeer
