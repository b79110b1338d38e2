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
// # Virtual time
//
// Create the link inside the bubble; every delay then follows the fake
// clock, and goroutines waiting in ReadFrom are durably blocked:
//
//	func TestTransferOverBadLink(t *testing.T) {
//		synctest.Test(t, func(t *testing.T) {
//			cfg := netem.Config{Delay: 300 * time.Millisecond, Loss: 0.1, Seed: 1}
//			a, b, err := netem.NewLink(cfg, cfg)
//			if err != nil {
//				t.Fatal(err)
//			}
//			defer a.Close()
//			defer b.Close()
//			// Run a client on a and a server on b; time.Sleep, timers and
//			// deadlines all use the bubble's clock.
//		})
//	}
//
// # Cost
//
// Inside a direction there is no goroutine per datagram and no timer per
// datagram: copies wait in a min-heap behind one timer, and their buffers
// come from a pool.
package netem
