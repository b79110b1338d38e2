package netem

import (
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// FuzzDirectionAccountsForEveryDatagram drives a link with arbitrary
// impairments and traffic and checks that every datagram is accounted for
// and every received one was sent (possibly corrupted, never longer).
func FuzzDirectionAccountsForEveryDatagram(f *testing.F) {
	f.Add(uint64(1), uint8(10), uint8(5), uint16(300), uint16(50), uint8(5), uint8(5), uint8(5), uint32(1_000_000), uint8(10), uint16(1400))
	f.Add(uint64(2), uint8(0), uint8(0), uint16(0), uint16(0), uint8(0), uint8(100), uint8(100), uint32(0), uint8(0), uint16(0))
	f.Add(uint64(3), uint8(100), uint8(50), uint16(10), uint16(100), uint8(100), uint8(0), uint8(0), uint32(8000), uint8(1), uint16(1))
	f.Fuzz(func(t *testing.T, seed uint64, loss, burst uint8, delayMs, jitterMs uint16, reorder, dup, corrupt uint8, rate uint32, queue uint8, mtu uint16) {
		pct := func(v uint8) float64 { return float64(min(v, 100)) / 100 }
		cfg := Config{
			Loss: pct(loss), Delay: time.Duration(delayMs) * time.Millisecond,
			Jitter: time.Duration(jitterMs) * time.Millisecond, JitterReorders: seed%2 == 0,
			Reorder: pct(reorder), Duplicate: pct(dup), Corrupt: pct(corrupt), CorruptBits: int(seed % 4),
			Rate: int64(rate), QueuePackets: int(queue), MTU: int(mtu), Seed: seed,
		}
		if ge, err := BurstLoss(0.05, 1+float64(burst)/10); err == nil && burst > 0 {
			cfg.Burst = ge
		}
		synctest.Test(t, func(t *testing.T) {
			a, b := mustLink(t, cfg, Config{})
			stop := collect(t, b)
			rng := rand.New(rand.NewPCG(seed, 0))
			var sent [][]byte
			for i := range 200 {
				msg := make([]byte, 4+rng.IntN(1500))
				msg[0], msg[1] = byte(i), byte(i>>8)
				sent = append(sent, msg)
				if _, err := a.WriteTo(msg, b.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
			for a.InFlight() > 0 {
				time.Sleep(time.Second)
			}
			synctest.Wait()
			got := stop()
			s := a.Stats()
			if s.Offered != 200 || uint64(len(got)) != s.Delivered ||
				s.Offered+s.Duplicated != s.Delivered+s.Lost+s.BurstLost+s.TooBig+s.QueueDropped+s.RecvDropped {
				t.Fatalf("received %d, stats %v", len(got), s)
			}
			for _, g := range got {
				if cfg.MTU > 0 && len(g.data) > cfg.MTU {
					t.Fatalf("datagram of %d bytes passed an MTU of %d", len(g.data), cfg.MTU)
				}
				found := false
				for _, m := range sent {
					found = found || len(m) == len(g.data)
				}
				if !found {
					t.Fatalf("received a datagram of %d bytes that nobody sent", len(g.data))
				}
			}
		})
	})
}
