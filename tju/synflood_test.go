package tju

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
	"github.com/tjunet/tjunet/netem"
)

// floodSYN is a SYN as a tjunet client sends it (every option offered),
// from TJU port port, with a random ISN and secret.
func floodSYN(r *rand.Rand, port uint16) []byte {
	h := wire.Header{SrcPort: port, DstPort: 1234, Seq: r.Uint32(), Flags: wire.FlagSYN, Window: 65535,
		CRC: true, HasWindowScale: true, WindowScale: 7, SACKPermitted: true, RSTPermitted: true, Auth: true}
	for i := range h.Secret {
		h.Secret[i] = byte(r.Uint32())
	}
	return segment(h, nil)
}

// attacker attaches a third host to v's network, at 172.17.0.66, with a
// perfect link; it is detached when the test ends.
func (v *vnet) attacker() *netem.PacketConn {
	v.t.Helper()
	a, err := v.net.Attach(netip.MustParseAddrPort("172.17.0.66:20218"), netem.Config{})
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { a.Close() })
	return a
}

// While a host floods the listener with SYNs from random TJU ports (and
// never answers a SYN-ACK), a client dials every 100 ms: every dial
// succeeds, through SYN cookies once the half-open queue is full, and each
// connection carries data both ways intact. The listener's state stays
// bounded: at most Backlog half-open entries.
func TestSynCookiesUnderFlood(t *testing.T) {
	for _, plain := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			const backlog = 8
			v := newVNet(t, testLink, testLink, &Config{Plain: plain}, &Config{Backlog: backlog})
			defer v.close()
			l := v.listen()
			attacker := v.attacker()
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() { // 10,000 SYNs a second
				defer close(stopped)
				r := rand.New(rand.NewPCG(1, 2))
				for {
					select {
					case <-stop:
						return
					default:
					}
					for range 10 {
						attacker.WriteToUDPAddrPort(floodSYN(r, uint16(1024+r.IntN(60000))), vServerAddr)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			go func() { // the server echoes what it gets
				for {
					c, err := l.AcceptTJU(context.Background())
					if err != nil {
						return
					}
					go func() {
						b := make([]byte, 1<<16)
						for {
							n, err := c.Read(b)
							if n > 0 {
								c.Write(b[:n])
							}
							if err != nil {
								c.Close()
								return
							}
						}
					}()
				}
			}()
			time.Sleep(200 * time.Millisecond) // the half-open queue fills
			var maxHalf int
			for i := range 20 {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				start := time.Now()
				c, err := v.dial(ctx)
				cancel()
				if err != nil {
					t.Fatalf("plain %v: dial %d under the flood: %v", plain, i, err)
				}
				if d := time.Since(start); d > 100*time.Millisecond {
					t.Errorf("plain %v: dial %d took %v (one round trip is 20 ms)", plain, i, d)
				}
				msg := patternBytes(uint64(i), 0, 5000)
				go func() { c.Write(msg); c.CloseWrite() }()
				got := <-readAllAsync(c)
				if got.err != nil || string(got.b) != string(msg) {
					t.Fatalf("plain %v: echo %d: %d bytes, %v", plain, i, len(got.b), got.err)
				}
				if !plain && !c.Info().Extensions {
					t.Errorf("connection %d lost tjunet's options through the cookie", i)
				}
				c.Close()
				l.mu.Lock()
				maxHalf = max(maxHalf, l.halfOpen)
				l.mu.Unlock()
				time.Sleep(100 * time.Millisecond)
			}
			close(stop)
			<-stopped
			st := v.se.Stats()
			if st.SynCookiesSent == 0 || st.SynCookiesAccepted < 20 {
				t.Errorf("plain %v: %d cookies sent, %d accepted; want the 20 dials through cookies", plain, st.SynCookiesSent, st.SynCookiesAccepted)
			}
			if maxHalf > backlog {
				t.Errorf("%d half-open entries, backlog %d", maxHalf, backlog)
			}
			t.Logf("plain %v: %d SYNs in, %d cookies sent, %d accepted, max half-open %d", plain,
				st.DatagramsIn, st.SynCookiesSent, st.SynCookiesAccepted, maxHalf)
		})
	}
}

// A cookie connection whose third ACK is lost still opens: the client's
// first data segment returns the cookie (and, with OptAuth, the client's
// secret) and the server rebuilds the connection from it.
func TestSynCookieThirdACKLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, &Config{Backlog: 1})
		defer v.close()
		l := v.listen()
		// Fill the half-open queue with a SYN nobody completes.
		attacker := v.attacker()
		attacker.WriteToUDPAddrPort(floodSYN(rand.New(rand.NewPCG(3, 4)), 999), vServerAddr)
		time.Sleep(50 * time.Millisecond)
		v.cl.drop(1, segPureACK)
		c, err := v.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		msg := patternBytes(9, 0, 100_000)
		go func() { c.Write(msg); c.CloseWrite() }()
		s, err := l.AcceptTJU(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := <-readAllAsync(s)
		if got.err != nil || string(got.b) != string(msg) {
			t.Fatalf("server read %d bytes, %v", len(got.b), got.err)
		}
		if st := v.se.Stats(); st.SynCookiesAccepted != 1 {
			t.Errorf("%d cookie connections, want 1", st.SynCookiesAccepted)
		}
		if !s.Info().Extensions || s.Info().DroppedBadMAC != 0 {
			t.Errorf("server side: %+v", s.Info())
		}
	})
}

// A half-open entry whose client never answers is gone after the bounded
// SYN-ACK retries (1+2+4+8 s), not after the minute a SYN's retries take.
func TestHalfOpenLifetimeBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		l := v.listen()
		attacker := v.attacker()
		attacker.WriteToUDPAddrPort(floodSYN(rand.New(rand.NewPCG(5, 6)), 999), vServerAddr)
		time.Sleep(time.Second)
		half := func() int { l.mu.Lock(); defer l.mu.Unlock(); return l.halfOpen }
		if half() != 1 {
			t.Fatalf("half-open %d after a SYN, want 1", half())
		}
		time.Sleep(16 * time.Second)
		if n := half(); n != 0 {
			t.Fatalf("half-open entry still held after 17 s")
		}
		v.se.mu.RLock()
		n := len(v.se.conns)
		v.se.mu.RUnlock()
		if n != 0 {
			t.Fatalf("%d connections left on the server", n)
		}
	})
}
