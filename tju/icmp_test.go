package tju

// ICMP port unreachable on real loopback sockets (Linux: IP_RECVERR): Dial
// to a UDP port where nothing listens is refused at once, an established
// connection whose peer's socket vanished ends, and a forged report that
// does not quote a segment in flight changes nothing.

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func skipUnlessICMP(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("ICMP errors are read on Linux only (IP_RECVERR)")
	}
}

// closedUDPPort returns a loopback UDP address where nothing listens: a
// port the kernel just handed out and was given back.
func closedUDPPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// Dial to a UDP port where nothing listens fails with an error matching
// ErrConnRefused and ECONNREFUSED as soon as the kernel's port unreachable
// arrives, instead of retrying the SYN for a minute: with tjunet's options,
// with a plain lab peer's wire format, and in lab mode.
func TestICMPDialRefused(t *testing.T) {
	skipUnlessICMP(t)
	for _, tc := range []struct {
		name string
		cfg  *Config
	}{
		{"default", nil},
		{"plain", &Config{Plain: true}},
		{"lab", &Config{Lab: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			c, err := DialContext(ctx, closedUDPPort(t), tc.cfg)
			el := time.Since(start)
			if err == nil {
				c.Close()
				t.Fatal("Dial to a closed UDP port succeeded")
			}
			if !errors.Is(err, ErrConnRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("Dial: %v; want an error matching ErrConnRefused and ECONNREFUSED", err)
			}
			t.Logf("Dial refused after %v: %v", el, err)
		})
	}
}

// The same on an endpoint that also carries a working connection: the
// refused Dial ends, the other connection is untouched, and the counters
// say one report was acted on.
func TestICMPDialRefusedLeavesOthersAlone(t *testing.T) {
	skipUnlessICMP(t)
	c, s, ce, cleanup := loopbackPair(t, nil)
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ce.Dial(ctx, closedUDPPort(t), 1234); !errors.Is(err, ErrConnRefused) {
		t.Fatalf("Dial: %v, want ErrConnRefused", err)
	}
	exchange(t, c, s)
	if st := ce.Stats(); st.ICMPUnreachable != 1 {
		t.Errorf("ICMPUnreachable %d, want 1 (stats %+v)", st.ICMPUnreachable, st)
	}
}

// loopbackPair opens a server endpoint and a client endpoint on loopback
// and a connection between them; the server endpoint's socket is returned
// so that a test can close it under the endpoint, as a killed process's
// socket vanishes.
func loopbackPair(t *testing.T, cfg *Config) (c, s *Conn, ce *Endpoint, cleanup func()) {
	t.Helper()
	se, ce, l := loopbackEndpoints(t, cfg)
	acc := make(chan *Conn, 1)
	go func() {
		s, _ := l.AcceptTJU(context.Background())
		acc <- s
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ce.Dial(ctx, se.Addr().String(), 1234)
	if err != nil {
		t.Fatal(err)
	}
	s = <-acc
	return c, s, ce, func() { ce.Close(); se.Close() }
}

// vanish closes the socket under s's endpoint without telling any peer,
// as when the process that owned it is killed.
func vanish(s *Conn) { s.e.pc.Close() }

// A sender whose receiver's socket vanished: its data draws port
// unreachables; once a retransmission timeout shows the peer silent, the
// next one ends the connection with ErrConnRefused, long before the user
// timeout.
func TestICMPEstablishedPeerGone(t *testing.T) {
	skipUnlessICMP(t)
	c, s, ce, cleanup := loopbackPair(t, nil)
	defer cleanup()
	exchange(t, c, s)
	vanish(s)
	start := time.Now()
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	var err error
	for err == nil {
		_, err = c.Write(make([]byte, 4096))
	}
	if !errors.Is(err, ErrConnRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Write: %v; want ErrConnRefused", err)
	}
	t.Logf("Write failed %v after the peer's socket vanished: %v; stats %+v", time.Since(start), err, ce.Stats())
}

// An idle receiver whose sender's socket vanished: the first keep-alive
// probe draws a port unreachable, which ends the connection at once.
func TestICMPIdlePeerGoneKeepAlive(t *testing.T) {
	skipUnlessICMP(t)
	c, s, _, cleanup := loopbackPair(t, &Config{KeepAlive: 300 * time.Millisecond})
	defer cleanup()
	exchange(t, c, s)
	vanish(s)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, ErrConnRefused) {
		t.Fatalf("Read: %v; want ErrConnRefused", err)
	}
	t.Logf("Read failed %v after the peer's socket vanished: %v", time.Since(start), err)
}

// Forged port unreachables, sent as an off-path attacker would (a raw
// socket; it knows both UDP addresses and TJU ports but no sequence
// numbers) and quoting random sequence numbers, change nothing: each is
// counted and ignored (internal/tcb's tests cover the sequence rules).
// Needs root (raw sockets).
func TestICMPForgedReportsIgnored(t *testing.T) {
	skipUnlessICMP(t)
	raw, err := net.ListenPacket("ip4:icmp", "127.0.0.1")
	if err != nil {
		t.Skipf("raw ICMP socket: %v (needs root)", err)
	}
	defer raw.Close()
	c, s, ce, cleanup := loopbackPair(t, nil)
	defer cleanup()
	exchange(t, c, s)
	from, to := netip.MustParseAddrPort(ce.Addr().String()), netip.MustParseAddrPort(s.e.Addr().String())
	ck := c.key
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		forgeUnreachable(t, raw, from, to, ck.local, ck.remote, r.Uint32())
	}
	deadline := time.Now().Add(5 * time.Second)
	for ce.Stats().ICMPIn < 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := ce.Stats()
	if st.ICMPIn == 0 {
		t.Skip("the kernel delivered no forged report (ICMP rate limit?)")
	}
	if st.ICMPUnreachable != 0 || st.ICMPIgnored != st.ICMPIn {
		t.Errorf("forged reports: %+v; want every one ignored", st)
	}
	if got := stateOf(c); got != StateEstablished {
		t.Fatalf("after %d forged reports the connection is %v", st.ICMPIn, got)
	}
	exchange(t, c, s)
	t.Logf("%d forged port unreachables reached the endpoint, %d ignored", st.ICMPIn, st.ICMPIgnored)
}

// forgeUnreachable sends an ICMP port unreachable as if from the peer's
// host, quoting a datagram from our socket to the peer with the given TJU
// ports and sequence number.
func forgeUnreachable(t *testing.T, raw net.PacketConn, from, to netip.AddrPort, local, remote uint16, seq uint32) {
	t.Helper()
	var q [20 + 8 + 20]byte // quoted IPv4 header, UDP header, TJU header
	q[0], q[8], q[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(q[2:], 20+8+20+100)
	f4, t4 := from.Addr().As4(), to.Addr().As4()
	copy(q[12:], f4[:])
	copy(q[16:], t4[:])
	binary.BigEndian.PutUint16(q[10:], ipChecksum(q[:20]))
	u := q[20:]
	binary.BigEndian.PutUint16(u[0:], from.Port())
	binary.BigEndian.PutUint16(u[2:], to.Port())
	binary.BigEndian.PutUint16(u[4:], 8+20+100)
	h := q[28:]
	binary.BigEndian.PutUint16(h[0:], local)
	binary.BigEndian.PutUint16(h[2:], remote)
	binary.BigEndian.PutUint32(h[4:], seq)
	msg := append([]byte{3, 3, 0, 0, 0, 0, 0, 0}, q[:]...) // type 3 code 3: port unreachable
	binary.BigEndian.PutUint16(msg[2:], ipChecksum(msg))
	if _, err := raw.WriteTo(msg, &net.IPAddr{IP: net.IP(f4[:])}); err != nil {
		t.Fatalf("send forged ICMP: %v", err)
	}
}

func ipChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
