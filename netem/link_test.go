package netem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// arrival is one datagram received by a collector.
type arrival struct {
	at   time.Duration // since the collector started
	seq  uint32        // the first 4 bytes of the payload
	data []byte
	from net.Addr
}

// collect reads from c in a goroutine until c is closed. The returned
// function closes c and returns what was received.
func collect(t *testing.T, c *PacketConn) func() []arrival {
	t.Helper()
	start := time.Now()
	var got []arrival
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 70000)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("ReadFrom: %v", err)
				}
				return
			}
			a := arrival{at: time.Since(start), data: bytes.Clone(buf[:n]), from: from}
			if n >= 4 {
				a.seq = binary.BigEndian.Uint32(buf)
			}
			got = append(got, a)
		}
	}()
	return func() []arrival {
		c.Close()
		<-done
		return got
	}
}

// send writes count datagrams of size bytes numbered from 0, every gap.
func send(t *testing.T, c *PacketConn, to net.Addr, count, size int, gap time.Duration) {
	t.Helper()
	buf := make([]byte, max(size, 4))
	for i := range count {
		binary.BigEndian.PutUint32(buf, uint32(i))
		if _, err := c.WriteTo(buf[:size], to); err != nil {
			t.Fatalf("WriteTo #%d: %v", i, err)
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
}

func mustLink(t *testing.T, aToB, bToA Config) (a, b *PacketConn) {
	t.Helper()
	a, b, err := NewLink(aToB, bToA)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func inOrder(got []arrival) bool {
	for i := 1; i < len(got); i++ {
		if got[i].seq < got[i-1].seq {
			return false
		}
	}
	return true
}

func TestPerfectLinkDeliversEverythingInOrderAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 100, 100, 0)
		synctest.Wait()
		got := stop()
		if len(got) != 100 || !inOrder(got) {
			t.Fatalf("got %d datagrams, in order %v; want 100 in order", len(got), inOrder(got))
		}
		for _, g := range got {
			if g.at != 0 {
				t.Fatalf("datagram %d arrived after %v, want 0", g.seq, g.at)
			}
			if g.from.String() != DefaultAddrA.String() {
				t.Fatalf("from %v, want %v", g.from, DefaultAddrA)
			}
		}
		if s := a.Stats(); s.Offered != 100 || s.Delivered != 100 || s.OfferedBytes != 10000 || s.DeliveredBytes != 10000 {
			t.Fatalf("stats %v", s)
		}
	})
}

func TestDelayIsExactInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{Delay: 300 * time.Millisecond}, Config{Delay: 20 * time.Millisecond})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 3, 10, 100*time.Millisecond)
		time.Sleep(time.Second)
		got := stop()
		want := []time.Duration{300 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond}
		if len(got) != len(want) {
			t.Fatalf("got %d datagrams, want %d", len(got), len(want))
		}
		for i, g := range got {
			if g.at != want[i] {
				t.Errorf("datagram %d arrived at %v, want %v", i, g.at, want[i])
			}
		}
		// The other direction has its own delay.
		start := time.Now()
		buf := make([]byte, 10)
		c, d := mustLink(t, Config{}, Config{Delay: 20 * time.Millisecond})
		d.WriteTo([]byte("x"), c.LocalAddr())
		if _, _, err := c.ReadFrom(buf); err != nil || time.Since(start) != 20*time.Millisecond {
			t.Fatalf("b to a: err %v after %v, want 20ms", err, time.Since(start))
		}
	})
}

func TestJitterKeepsOrderByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Seed: 1}
		a, b := mustLink(t, cfg, Config{})
		stop := collect(t, b)
		const n, gap = 1000, time.Millisecond
		send(t, a, b.LocalAddr(), n, 8, gap)
		time.Sleep(time.Second)
		got := stop()
		if len(got) != n || !inOrder(got) {
			t.Fatalf("got %d datagrams, in order %v; want %d in order", len(got), inOrder(got), n)
		}
		distinct := map[time.Duration]bool{}
		for i, g := range got {
			d := g.at - time.Duration(i)*gap
			if d < 250*time.Millisecond || d > 350*time.Millisecond {
				t.Fatalf("datagram %d delayed %v, want within 300ms ± 50ms", i, d)
			}
			distinct[d] = true
		}
		if len(distinct) < n/2 {
			t.Errorf("only %d distinct delays among %d datagrams: no jitter?", len(distinct), n)
		}
	})
}

func TestJitterReordersWhenAllowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, JitterReorders: true, Seed: 1}
		a, b := mustLink(t, cfg, Config{})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 1000, 8, time.Millisecond)
		time.Sleep(time.Second)
		got := stop()
		if len(got) != 1000 || inOrder(got) {
			t.Fatalf("got %d datagrams, in order %v; want 1000 out of order", len(got), inOrder(got))
		}
		for _, g := range got {
			if d := g.at - time.Duration(g.seq)*time.Millisecond; d < 250*time.Millisecond || d > 350*time.Millisecond {
				t.Fatalf("datagram %d delayed %v, want within 300ms ± 50ms", g.seq, d)
			}
		}
	})
}

// lossPattern sends n datagrams over a link with cfg and returns which were
// delivered.
func lossPattern(t *testing.T, cfg Config, n int) []bool {
	t.Helper()
	var seen []bool
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, cfg, Config{})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), n, 4, 0)
		synctest.Wait()
		seen = make([]bool, n)
		for _, g := range stop() {
			seen[g.seq] = true
		}
		s := a.Stats()
		if s.Offered != uint64(n) || s.Delivered+s.Lost+s.BurstLost != uint64(n) {
			t.Errorf("stats do not add up: %v", s)
		}
	})
	return seen
}

func countFalse(v []bool) int {
	n := 0
	for _, b := range v {
		if !b {
			n++
		}
	}
	return n
}

func TestLossRateIsNearProbability(t *testing.T) {
	const n = 20000
	lost := countFalse(lossPattern(t, Config{Loss: 0.1, Seed: 42}, n))
	// Binomial(20000, 0.1): sd 42; the band is over 7 sd wide each side.
	if lost < 1700 || lost > 2300 {
		t.Fatalf("lost %d of %d, want about 2000", lost, n)
	}
}

func TestSameSeedGivesSameDecisions(t *testing.T) {
	cfg := Config{Loss: 0.2, Seed: 7}
	p1 := lossPattern(t, cfg, 2000)
	p2 := lossPattern(t, cfg, 2000)
	cfg.Seed = 8
	p3 := lossPattern(t, cfg, 2000)
	same := func(x, y []bool) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(p1, p2) {
		t.Error("the same seed lost different datagrams")
	}
	if same(p1, p3) {
		t.Error("different seeds lost the same datagrams")
	}
}

// meanBurst returns the mean length of runs of lost datagrams.
func meanBurst(seen []bool) float64 {
	runs, lost := 0, 0
	for i, ok := range seen {
		if !ok {
			lost++
			if i == 0 || seen[i-1] {
				runs++
			}
		}
	}
	return float64(lost) / float64(runs)
}

func TestGilbertElliottLossComesInBursts(t *testing.T) {
	const n = 50000
	ge, err := BurstLoss(0.1, 5)
	if err != nil {
		t.Fatal(err)
	}
	bursty := lossPattern(t, Config{Burst: ge, Seed: 3}, n)
	random := lossPattern(t, Config{Loss: 0.1, Seed: 3}, n)
	rate := float64(countFalse(bursty)) / n
	if rate < 0.07 || rate > 0.13 {
		t.Errorf("burst loss rate %.3f, want about 0.1", rate)
	}
	if mb := meanBurst(bursty); mb < 4 || mb > 6 {
		t.Errorf("mean burst length %.2f, want about 5", mb)
	}
	if mb := meanBurst(random); mb > 1.3 {
		t.Errorf("random loss mean burst length %.2f, want about 1.1", mb)
	}
}

func TestGilbertElliottWithLossInGoodState(t *testing.T) {
	// Never leaves Good; loses 5% there: plain random loss by another name.
	lost := countFalse(lossPattern(t, Config{Burst: GilbertElliott{LossGood: 0.05}, Seed: 1}, 10000))
	if lost < 350 || lost > 650 {
		t.Fatalf("lost %d of 10000, want about 500", lost)
	}
}

func TestBurstLossRejectsImpossibleModels(t *testing.T) {
	for _, tc := range []struct{ loss, burst float64 }{
		{0, 2}, {1, 2}, {-0.1, 2}, {0.1, 0.5}, {0.9, 1}, {0.1, math.Inf(1)}, {math.NaN(), 2},
	} {
		if _, err := BurstLoss(tc.loss, tc.burst); err == nil {
			t.Errorf("BurstLoss(%v, %v) succeeded, want an error", tc.loss, tc.burst)
		}
	}
	ge, err := BurstLoss(0.5, 1)
	if err != nil || ge.GoodToBad != 1 || ge.BadToGood != 1 || ge.LossBad != 1 {
		t.Fatalf("BurstLoss(0.5, 1) = %+v, %v", ge, err)
	}
}

func TestRateSerializesDatagrams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1000 bytes at 1 Mbit/s take 8 ms each.
		a, b := mustLink(t, Config{Rate: 1_000_000, Delay: 10 * time.Millisecond}, Config{})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 5, 1000, 0)
		time.Sleep(time.Second)
		got := stop()
		if len(got) != 5 {
			t.Fatalf("got %d datagrams, want 5", len(got))
		}
		for i, g := range got {
			if want := time.Duration(i+1)*8*time.Millisecond + 10*time.Millisecond; g.at != want {
				t.Errorf("datagram %d arrived at %v, want %v", i, g.at, want)
			}
		}
	})
}

func TestFullQueueDropsTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"packets", Config{Rate: 1_000_000, QueuePackets: 3}},
		{"bytes", Config{Rate: 1_000_000, QueueBytes: 3500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := mustLink(t, tc.cfg, Config{})
				stop := collect(t, b)
				send(t, a, b.LocalAddr(), 10, 1000, 0)
				time.Sleep(20 * time.Millisecond) // two have left the queue
				send(t, a, b.LocalAddr(), 3, 1000, 0)
				time.Sleep(time.Second)
				got := stop()
				if s := a.Stats(); len(got) != 5 || s.Delivered != 5 || s.QueueDropped != 8 {
					t.Fatalf("delivered %d, stats %v; want 5 delivered, 8 dropped", len(got), s)
				}
				for i, want := range []uint32{0, 1, 2, 0, 1} {
					if got[i].seq != want {
						t.Errorf("datagram %d is #%d, want #%d", i, got[i].seq, want)
					}
				}
			})
		})
	}
}

// TestQueueDelayIsTheWaitForTheLink sends a burst into a bottleneck: the
// k-th datagram (from 0) waits k serialization times before it starts, so
// the mean wait of n is (n-1)/2 of one, and the dropped ones count apart.
func TestQueueDelayIsTheWaitForTheLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1000 bytes at 1 Mbit/s: 8 ms each; the queue holds 5.
		a, b := mustLink(t, Config{Rate: 1_000_000, QueueBytes: 5000, Delay: time.Millisecond}, Config{})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 8, 1000, 0)
		time.Sleep(time.Second)
		got := stop()
		s := a.Stats()
		if len(got) != 5 || s.Queued != 5 || s.QueueDropped != 3 {
			t.Fatalf("delivered %d, stats %v; want 5 queued and delivered, 3 dropped", len(got), s)
		}
		if want := (0 + 8 + 16 + 24 + 32) * time.Millisecond; s.QueueDelay != want {
			t.Errorf("QueueDelay %v, want %v", s.QueueDelay, want)
		}
		if m := s.MeanQueueDelay(); m != 16*time.Millisecond {
			t.Errorf("MeanQueueDelay %v, want 16ms", m)
		}
		// In virtual time every timer fires on the dot.
		if s.Lag != 0 || s.MaxLag != 0 || s.MeanLag() != 0 {
			t.Errorf("lag %v (max %v) in virtual time, want none", s.Lag, s.MaxLag)
		}
		if r := s.QueueDropRate(); r != 3.0/8 {
			t.Errorf("QueueDropRate %v, want 0.375", r)
		}
		// Spaced out, nothing waits.
		c, d := mustLink(t, Config{Rate: 1_000_000}, Config{})
		stop = collect(t, d)
		send(t, c, d.LocalAddr(), 4, 1000, 10*time.Millisecond)
		time.Sleep(time.Second)
		stop()
		if s := c.Stats(); s.Queued != 4 || s.QueueDelay != 0 || s.MeanQueueDelay() != 0 || s.QueueDropRate() != 0 {
			t.Errorf("spaced datagrams: %v; want 4 queued, no wait, no drop", s)
		}
	})
	if m := (Stats{Delivered: 2, RecvDropped: 2, Lag: 4 * time.Millisecond}).MeanLag(); m != time.Millisecond {
		t.Errorf("MeanLag of 4 ms over 4 copies: %v, want 1ms", m)
	}
	if (Stats{}).MeanQueueDelay() != 0 || (Stats{}).QueueDropRate() != 0 || (Stats{}).MeanLag() != 0 {
		t.Error("zero Stats: want no delay and no drop rate")
	}
}

func TestReorderHoldsBackAboutTheConfiguredFraction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Delay: 50 * time.Millisecond, Reorder: 0.2, ReorderDelay: 5 * time.Millisecond, Seed: 9}
		a, b := mustLink(t, cfg, Config{})
		stop := collect(t, b)
		const n = 2000
		send(t, a, b.LocalAddr(), n, 8, time.Millisecond)
		time.Sleep(time.Second)
		got := stop()
		if len(got) != n {
			t.Fatalf("got %d datagrams, want %d", len(got), n)
		}
		late := 0 // datagrams that arrive after a later-sent one
		for i := range got {
			if g := got[i]; g.at == 55*time.Millisecond+time.Duration(g.seq)*time.Millisecond {
				late++
			} else if g.at != 50*time.Millisecond+time.Duration(g.seq)*time.Millisecond {
				t.Fatalf("datagram %d arrived at %v", g.seq, g.at)
			}
		}
		s := a.Stats()
		if uint64(late) != s.Reordered || late < 300 || late > 500 {
			t.Fatalf("%d held back, Stats.Reordered %d; want both about 400", late, s.Reordered)
		}
		if inOrder(got) {
			t.Fatal("arrived in order")
		}
	})
}

func TestDuplicateDeliversTwoCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{Duplicate: 1}, Config{})
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 10, 100, 0)
		synctest.Wait()
		got := stop()
		if len(got) != 20 {
			t.Fatalf("got %d datagrams, want 20", len(got))
		}
		for i, g := range got {
			if g.seq != uint32(i/2) {
				t.Fatalf("datagram %d is #%d, want #%d", i, g.seq, i/2)
			}
		}
		if s := a.Stats(); s.Duplicated != 10 || s.Delivered != 20 {
			t.Fatalf("stats %v", s)
		}
	})
}

func TestCorruptFlipsBitsInTheCopyOnly(t *testing.T) {
	for _, nbits := range []int{0, 3} {
		synctest.Test(t, func(t *testing.T) {
			a, b := mustLink(t, Config{Corrupt: 1, CorruptBits: nbits, Seed: 5}, Config{})
			stop := collect(t, b)
			sent := bytes.Repeat([]byte{0xA5}, 64)
			orig := bytes.Clone(sent)
			for range 50 {
				a.WriteTo(sent, b.LocalAddr())
				if !bytes.Equal(sent, orig) {
					t.Fatal("WriteTo modified the caller's buffer")
				}
			}
			synctest.Wait()
			got := stop()
			if len(got) != 50 {
				t.Fatalf("got %d datagrams", len(got))
			}
			want := max(nbits, 1)
			for _, g := range got {
				diff := 0
				for i := range g.data {
					diff += bits.OnesCount8(g.data[i] ^ orig[i])
				}
				// Flipping the same bit twice undoes it, so allow fewer, with
				// the same parity.
				if diff == 0 || diff > want || diff%2 != want%2 {
					t.Fatalf("%d bits differ, want %d", diff, want)
				}
			}
			if s := a.Stats(); s.Corrupted != 50 {
				t.Fatalf("Corrupted = %d, want 50", s.Corrupted)
			}
		})
	}
}

func TestMTUDropsLargerDatagrams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{MTU: 1400}, Config{})
		stop := collect(t, b)
		for _, n := range []int{1400, 1401, 100, 9000} {
			a.WriteTo(make([]byte, n), b.LocalAddr())
		}
		synctest.Wait()
		got := stop()
		if len(got) != 2 || len(got[0].data) != 1400 || len(got[1].data) != 100 {
			t.Fatalf("got %d datagrams", len(got))
		}
		if s := a.Stats(); s.TooBig != 2 {
			t.Fatalf("TooBig = %d, want 2", s.TooBig)
		}
	})
}

func TestFullReceiveBufferDropsAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		if err := b.SetReadBuffer(2500); err != nil {
			t.Fatal(err)
		}
		send(t, a, b.LocalAddr(), 5, 1000, 0)
		if s := a.Stats(); s.Delivered != 2 || s.RecvDropped != 3 {
			t.Fatalf("stats %v, want 2 delivered and 3 dropped", s)
		}
	})
}

func TestDatagramToNobodyIsCountedAsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := mustLink(t, Config{Delay: time.Millisecond}, Config{})
		n, err := a.WriteTo([]byte("hello"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9), Port: 1})
		if n != 5 || err != nil {
			t.Fatalf("WriteTo = %d, %v", n, err)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait() // let the timer callback run
		if s := a.Stats(); s.RecvDropped != 1 {
			t.Fatalf("stats %v", s)
		}
	})
}

func TestShortBufferTruncatesDatagram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		a.WriteTo([]byte("hello, world"), b.LocalAddr())
		a.WriteTo([]byte("next"), b.LocalAddr())
		buf := make([]byte, 5)
		if n, _, _ := b.ReadFrom(buf); string(buf[:n]) != "hello" {
			t.Fatalf("got %q", buf[:n])
		}
		if n, _, _ := b.ReadFrom(buf); string(buf[:n]) != "next" {
			t.Fatalf("got %q, want the next datagram", buf[:n])
		}
	})
}

func TestReadDeadlineTimesOutAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := mustLink(t, Config{}, Config{})
		start := time.Now()
		a.SetReadDeadline(start.Add(2 * time.Second))
		_, _, err := a.ReadFrom(make([]byte, 10))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("timed out after %v, want 2s", d)
		}
		// Past deadlines fail at once, even with data waiting.
		_, _, err = a.ReadFrom(make([]byte, 10))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("second read: %v", err)
		}
	})
}

func TestReadDeadlineCanBeMovedWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		a.SetReadDeadline(time.Now().Add(time.Second))
		done := make(chan error)
		go func() {
			_, _, err := a.ReadFrom(make([]byte, 10))
			done <- err
		}()
		time.Sleep(500 * time.Millisecond)
		a.SetReadDeadline(time.Time{}) // cleared: the reader waits on
		time.Sleep(2 * time.Second)
		b.WriteTo([]byte("x"), a.LocalAddr())
		if err := <-done; err != nil {
			t.Fatalf("read after clearing deadline: %v", err)
		}
		go func() {
			_, _, err := a.ReadFrom(make([]byte, 10))
			done <- err
		}()
		synctest.Wait()
		a.SetReadDeadline(time.Now().Add(-time.Second)) // expired: the reader returns
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
}

func TestCloseUnblocksReadFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := mustLink(t, Config{}, Config{})
		done := make(chan error)
		for range 3 {
			go func() {
				_, _, err := a.ReadFrom(make([]byte, 10))
				done <- err
			}()
		}
		synctest.Wait()
		a.Close()
		for range 3 {
			if err := <-done; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("err = %v, want net.ErrClosed", err)
			}
		}
		if _, err := a.WriteTo([]byte("x"), a.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("WriteTo after Close: %v", err)
		}
		if err := a.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestWriteDeadlineInThePastFailsWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mustLink(t, Config{}, Config{})
		a.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := a.WriteTo([]byte("x"), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if _, err := a.WriteTo([]byte("x"), b.LocalAddr()); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		a.SetDeadline(time.Time{})
		if _, err := a.WriteTo([]byte("x"), b.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestInvalidInputIsRejected(t *testing.T) {
	bad := []Config{
		{Loss: -0.1}, {Loss: 1.5}, {Duplicate: 2}, {Reorder: -1}, {Corrupt: 1.01},
		{Burst: GilbertElliott{GoodToBad: 2}}, {Delay: -1}, {Jitter: -1}, {Rate: -1},
		{QueueBytes: -1}, {MTU: -5}, {CorruptBits: -1},
	}
	for _, cfg := range bad {
		if _, _, err := NewLink(cfg, Config{}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewLink(%+v) err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		a, _ := mustLink(t, Config{}, Config{})
		if _, err := a.WriteTo([]byte("x"), nil); err == nil {
			t.Error("WriteTo(nil addr) succeeded")
		}
		if _, err := a.WriteTo(make([]byte, 70000), a.LocalAddr()); err == nil {
			t.Error("WriteTo of 70000 bytes succeeded")
		}
		if err := a.SetReadBuffer(-1); err == nil {
			t.Error("SetReadBuffer(-1) succeeded")
		}
	})
}

func TestNetworkJoinsManyClientsToOneServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork()
		srvAddr := netip.MustParseAddrPort("10.0.0.1:20218")
		// The server's egress is a shared 8 Mbit/s bottleneck.
		srv, err := n.Attach(srvAddr, Config{Rate: 8_000_000, Delay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		if _, err := n.Attach(srvAddr, Config{}); !errors.Is(err, ErrAddrInUse) {
			t.Fatalf("second Attach: %v, want ErrAddrInUse", err)
		}
		var clients []*PacketConn
		for range 4 {
			c, err := n.Attach(netip.MustParseAddrPort("10.0.0.2:0"), Config{Delay: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			clients = append(clients, c)
		}
		go func() { // echo server
			buf := make([]byte, 2000)
			for {
				n, from, err := srv.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				srv.WriteToUDPAddrPort(buf[:n], from)
			}
		}()
		start := time.Now()
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				msg := bytes.Repeat([]byte{byte(i)}, 1000)
				c.WriteTo(msg, srv.LocalAddr())
				buf := make([]byte, 2000)
				n, from, err := c.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) || from.String() != srvAddr.String() {
					t.Errorf("client %d: %v %q from %v", i, err, buf[:n], from)
				}
				// 5 ms up, then the replies queue at 1 ms each, then 10 ms down.
				if d := time.Since(start); d < 16*time.Millisecond || d > 19*time.Millisecond {
					t.Errorf("client %d: round trip %v", i, d)
				}
			})
		}
		wg.Wait()
		if s := srv.Stats(); s.Delivered != 4 {
			t.Fatalf("server stats %v", s)
		}
	})
}

func TestStatsAccountForEveryDatagram(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ge, _ := BurstLoss(0.05, 3)
		cfg := Config{
			Loss: 0.05, Burst: ge, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond,
			Reorder: 0.05, Duplicate: 0.05, Corrupt: 0.05, Rate: 10_000_000, QueuePackets: 50, MTU: 1200, Seed: 11,
		}
		a, b := mustLink(t, cfg, Config{})
		stop := collect(t, b)
		for i := range 5000 {
			a.WriteTo(make([]byte, 100+i%1200), b.LocalAddr())
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(time.Second)
		if a.InFlight() != 0 {
			t.Fatalf("%d in flight", a.InFlight())
		}
		got := stop()
		s := a.Stats()
		if uint64(len(got)) != s.Delivered {
			t.Fatalf("received %d, Delivered %d", len(got), s.Delivered)
		}
		if s.Offered+s.Duplicated != s.Delivered+s.Lost+s.BurstLost+s.TooBig+s.QueueDropped+s.RecvDropped {
			t.Fatalf("stats do not add up: %v", s)
		}
		for _, v := range []uint64{s.Lost, s.BurstLost, s.TooBig, s.QueueDropped, s.Duplicated, s.Corrupted, s.Reordered} {
			if v == 0 {
				t.Fatalf("some impairment never happened: %v", s)
			}
		}
	})
}

func TestConcurrentUseIsSafe(t *testing.T) {
	// Real time, under the race detector: writers and readers on both ends.
	cfg := Config{Loss: 0.1, Delay: time.Millisecond, Jitter: 500 * time.Microsecond, Duplicate: 0.1, Reorder: 0.1}
	a, b := mustLink(t, cfg, cfg)
	var readers, writers sync.WaitGroup
	var mu sync.Mutex
	received := 0
	for _, c := range []*PacketConn{a, b} {
		for range 2 {
			readers.Go(func() {
				buf := make([]byte, 100)
				for {
					if _, _, err := c.ReadFrom(buf); err != nil {
						return
					}
					mu.Lock()
					received++
					mu.Unlock()
				}
			})
		}
	}
	for _, pair := range [][2]*PacketConn{{a, b}, {b, a}} {
		for range 2 {
			writers.Go(func() {
				for i := range 500 {
					pair[0].WriteTo([]byte{byte(i)}, pair[1].LocalAddr())
				}
			})
		}
	}
	writers.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for a.InFlight()+b.InFlight() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	want := a.Stats().Delivered + b.Stats().Delivered
	for time.Now().Before(deadline) {
		mu.Lock()
		r := received
		mu.Unlock()
		if uint64(r) == want {
			break
		}
		time.Sleep(time.Millisecond)
	}
	a.Close()
	b.Close()
	readers.Wait()
	if uint64(received) != want {
		t.Fatalf("received %d, delivered %d", received, want)
	}
}

func TestLongLossyTransferRunsInVirtualTime(t *testing.T) {
	// 100k datagrams of 1200 bytes (120 MB) over a 300 ms, 10% loss,
	// 100 Mbit/s path: about 10 s of virtual time.
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Loss: 0.1, Delay: 300 * time.Millisecond, Jitter: 10 * time.Millisecond, Rate: 100_000_000, Seed: 2}
		a, b := mustLink(t, cfg, Config{})
		start := time.Now()
		var received int
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 2048)
			for {
				if _, _, err := b.ReadFrom(buf); err != nil {
					return
				}
				received++
			}
		}()
		msg := make([]byte, 1200)
		for i := range 100_000 {
			a.WriteTo(msg, b.LocalAddr())
			if i%100 == 99 {
				time.Sleep(10 * time.Millisecond) // 100 Mbit/s pacing
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		b.Close()
		<-done
		s := a.Stats()
		if uint64(received) != s.Delivered || s.Delivered+s.Lost != 100_000 || s.QueueDropped != 0 {
			t.Fatalf("received %d, stats %v", received, s)
		}
		if d := time.Since(start); d != 11*time.Second {
			t.Fatalf("took %v of virtual time, want 11s", d)
		}
	})
}

func TestConfigStringSummarizesImpairments(t *testing.T) {
	ge, _ := BurstLoss(0.02, 4)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Seed: 5}, "none"},
		{Config{Loss: 0.1, Delay: 300 * time.Millisecond, Jitter: 50 * time.Millisecond, Seed: 1},
			"loss 10%, delay 300ms ± 50ms, seed 1"},
		{Config{Burst: ge, Rate: 10_000_000, QueuePackets: 100, Reorder: 0.01, Duplicate: 0.001, Corrupt: 0.5, MTU: 1400},
			"burst loss 2% in bursts of 4, reorder 1% (held 10ms), duplicate 0.1%, corrupt 50% (1 bits), rate 10 Mbit/s, queue 100 packets, mtu 1400, seed 0"},
	} {
		if got := tc.cfg.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// TestSetTimersIsUsed checks that a network's endpoints wake with the
// timers SetTimers gives, and deliver on time with them.
func TestSetTimersIsUsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var made, resets atomic.Int32
		n := NewNetwork()
		n.SetTimers(func(d time.Duration, f func()) Timer {
			made.Add(1)
			return countingTimer{time.AfterFunc(d, f), &resets}
		})
		a, err := n.Attach(DefaultAddrA, Config{Delay: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := n.Attach(DefaultAddrB, Config{})
		if err != nil {
			t.Fatal(err)
		}
		stop := collect(t, b)
		send(t, a, b.LocalAddr(), 3, 100, 20*time.Millisecond)
		time.Sleep(time.Second)
		got := stop()
		if len(got) != 3 || got[0].at != 10*time.Millisecond || got[2].at != 50*time.Millisecond {
			t.Fatalf("arrivals %v; want 3, at 10, 30 and 50 ms", got)
		}
		if made.Load() != 1 || resets.Load() != 2 {
			t.Errorf("%d timers made, %d resets; want one timer, reset for the two later datagrams", made.Load(), resets.Load())
		}
	})
}

type countingTimer struct {
	*time.Timer
	resets *atomic.Int32
}

func (c countingTimer) Reset(d time.Duration) bool { c.resets.Add(1); return c.Timer.Reset(d) }
