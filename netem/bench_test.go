package netem

import (
	"testing"
	"time"
)

// BenchmarkLink measures datagrams per second through a link: one writer,
// one reader, 1200-byte datagrams.
func BenchmarkLink(b *testing.B) {
	ge, _ := BurstLoss(0.01, 3)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"perfect", Config{}},
		{"lossy", Config{Loss: 0.05, Burst: ge, Duplicate: 0.01, Corrupt: 0.01, Seed: 1}},
		{"delayed", Config{Loss: 0.05, Delay: time.Millisecond, Jitter: 200 * time.Microsecond, Reorder: 0.01, Rate: 100_000_000_000, Seed: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a, c, err := NewLink(bc.cfg, Config{})
			if err != nil {
				b.Fatal(err)
			}
			c.SetReadBuffer(1 << 30)
			received := make(chan int)
			go func() {
				buf := make([]byte, 2048)
				n := 0
				for {
					if _, _, err := c.ReadFrom(buf); err != nil {
						received <- n
						return
					}
					n++
				}
			}()
			msg := make([]byte, 1200)
			to := c.LocalAddr()
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for range b.N {
				if _, err := a.WriteTo(msg, to); err != nil {
					b.Fatal(err)
				}
			}
			for a.InFlight() > 0 {
				time.Sleep(100 * time.Microsecond)
			}
			delivered := a.Stats().Delivered
			for c.in.queued() > 0 {
				time.Sleep(100 * time.Microsecond)
			}
			b.StopTimer()
			c.Close()
			if n := <-received; uint64(n) != delivered {
				b.Fatalf("received %d, delivered %d", n, delivered)
			}
			a.Close()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "dgrams/s")
		})
	}
}
