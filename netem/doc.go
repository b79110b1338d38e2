// Package netem emulates an impaired network for TJU TCP and any other
// protocol over UDP: random and burst (Gilbert-Elliott) loss, delay with
// jitter, reordering, duplication, corruption, a bottleneck rate with a
// drop-tail queue, and an MTU, each per direction and reproducible from a
// seed.
//
// It comes in three forms:
//
//   - NewLink and Network: in-memory net.PacketConn endpoints joined by
//     impaired paths, for tests and simulations. They run in virtual time
//     under testing/synctest: a lossy 300 ms link carries a long transfer
//     in seconds of wall time, with the same outcome on every run.
//   - Wrap: impairments applied to a real socket's writes and reads.
//   - Relay: a UDP relay between two real programs, one session per client
//     address, as used by "tju netem".
//
// Inside a direction there is no goroutine per datagram and no timer per
// datagram: copies wait in a min-heap behind one timer, and their buffers
// come from a pool.
package netem
