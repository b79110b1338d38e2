package netem

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoServer answers every datagram with the same bytes on 127.0.0.1:0
// and records the distinct peers it saw.
type echoServer struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	peers map[string]int
	done  chan struct{}
}

func startEcho(t testing.TB) *echoServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{conn: conn, peers: map[string]int{}, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.peers[from.String()]++
			e.mu.Unlock()
			conn.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-e.done })
	return e
}

func udpClient(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newRelay(t testing.TB, cfg RelayConfig) *Relay {
	t.Helper()
	r, err := NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// settle waits, up to 10 s, until cond holds.
func settle(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRelayForwardsBothWaysThroughImpairments(t *testing.T) {
	echo := startEcho(t)
	r := newRelay(t, RelayConfig{
		Upstream: echo.conn.LocalAddr().String(),
		Up:       Config{Loss: 0.2, Delay: 2 * time.Millisecond, Seed: 1},
		Down:     Config{Loss: 0.1, Duplicate: 0.1, Seed: 2},
	})
	client := udpClient(t)
	var received sync.WaitGroup // the replies, read as they come so the socket buffer never fills
	var got, wrongSender int
	var mu sync.Mutex
	received.Go(func() {
		buf := make([]byte, 100)
		for {
			_, from, err := client.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got++
			if from.String() != r.Addr().String() {
				wrongSender++
			}
			mu.Unlock()
		}
	})
	const n = 300
	for i := range n {
		if _, err := client.WriteTo([]byte(fmt.Sprint(i)), r.Addr()); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 { // let the relay catch up: loopback drops what overflows a socket buffer
			settle(t, "the relay to read", func() bool { up, _ := r.Stats(); return up.Offered == uint64(i+1) })
		}
	}
	settle(t, "the relay to forward everything", func() bool {
		up, down := r.Stats()
		return up.Offered == n && r.up.inFlight() == 0 && down.Offered == up.Delivered && r.down.inFlight() == 0
	})
	up, down := r.Stats()
	if up.Lost == 0 || up.Lost > n/2 || up.Delivered+up.Lost != n {
		t.Fatalf("up stats %v", up)
	}
	if down.Lost == 0 || down.Duplicated == 0 || down.Delivered+down.Lost != down.Offered+down.Duplicated {
		t.Fatalf("down stats %v", down)
	}
	settle(t, "the client to read every reply", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return uint64(got) == down.Delivered
	})
	client.Close()
	received.Wait()
	if wrongSender != 0 {
		t.Fatalf("%d replies did not come from the relay", wrongSender)
	}
}

func TestRelayGivesEachClientItsOwnSession(t *testing.T) {
	echo := startEcho(t)
	r := newRelay(t, RelayConfig{Upstream: echo.conn.LocalAddr().String()})
	c1, c2 := udpClient(t), udpClient(t)
	buf := make([]byte, 100)
	for round := range 3 {
		for i, c := range []*net.UDPConn{c1, c2} {
			msg := fmt.Sprintf("client %d round %d", i, round)
			c.WriteTo([]byte(msg), r.Addr())
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := c.ReadFrom(buf)
			if err != nil || string(buf[:n]) != msg {
				t.Fatalf("got %q, %v; want %q", buf[:n], err, msg)
			}
		}
	}
	if r.Sessions() != 2 || r.TotalSessions() != 2 {
		t.Fatalf("%d sessions (%d in total), want 2", r.Sessions(), r.TotalSessions())
	}
	echo.mu.Lock()
	defer echo.mu.Unlock()
	if len(echo.peers) != 2 {
		t.Fatalf("upstream saw peers %v, want 2", echo.peers)
	}
	for p, count := range echo.peers {
		if count != 3 {
			t.Fatalf("upstream saw %d datagrams from %s, want 3", count, p)
		}
	}
}

func TestRelayAddsDelay(t *testing.T) {
	echo := startEcho(t)
	r := newRelay(t, RelayConfig{
		Upstream: echo.conn.LocalAddr().String(),
		Up:       Config{Delay: 30 * time.Millisecond},
		Down:     Config{Delay: 20 * time.Millisecond},
	})
	c := udpClient(t)
	start := time.Now()
	c.WriteTo([]byte("x"), r.Addr())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadFrom(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 50*time.Millisecond {
		t.Fatalf("round trip %v, want at least 50ms", rtt)
	}
}

func TestRelayExpiresIdleSessions(t *testing.T) {
	echo := startEcho(t)
	r := newRelay(t, RelayConfig{Upstream: echo.conn.LocalAddr().String(), IdleTimeout: 20 * time.Millisecond})
	c := udpClient(t)
	c.WriteTo([]byte("x"), r.Addr())
	settle(t, "a session", func() bool { return r.TotalSessions() == 1 })
	settle(t, "the session to expire", func() bool { return r.Sessions() == 0 })
	c.WriteTo([]byte("y"), r.Addr())
	settle(t, "a new session", func() bool { return r.TotalSessions() == 2 })
}

func TestRelayRejectsClientsBeyondMaxSessions(t *testing.T) {
	echo := startEcho(t)
	r := newRelay(t, RelayConfig{Upstream: echo.conn.LocalAddr().String(), MaxSessions: 1})
	c1, c2 := udpClient(t), udpClient(t)
	c1.WriteTo([]byte("x"), r.Addr())
	settle(t, "a session", func() bool { return r.Sessions() == 1 })
	c2.WriteTo([]byte("y"), r.Addr())
	settle(t, "a rejection", func() bool { return r.Rejected() == 1 })
}

func TestRelayCountsDatagramsNobodyReceives(t *testing.T) {
	// An upstream port with nothing behind it: writes are refused.
	closed := udpClient(t)
	addr := closed.LocalAddr().String()
	closed.Close()
	r := newRelay(t, RelayConfig{Upstream: addr})
	c := udpClient(t)
	for range 5 {
		c.WriteTo([]byte("x"), r.Addr())
		time.Sleep(time.Millisecond)
	}
	settle(t, "five datagrams", func() bool { up, _ := r.Stats(); return up.Offered == 5 })
	if up, _ := r.Stats(); up.Delivered+up.RecvDropped != 5 {
		t.Fatalf("up stats %v", up)
	}
}

func TestNewRelayRejectsBadConfig(t *testing.T) {
	for _, cfg := range []RelayConfig{
		{},
		{Upstream: "127.0.0.1"},
		{Upstream: "127.0.0.1:0"},
		{Upstream: "127.0.0.1:9", Up: Config{Loss: 2}},
		{Upstream: "127.0.0.1:9", Down: Config{Delay: -1}},
		{Upstream: "127.0.0.1:9", IdleTimeout: -1},
		{Upstream: "127.0.0.1:9", Listen: "not an address"},
	} {
		if r, err := NewRelay(cfg); err == nil {
			r.Close()
			t.Errorf("NewRelay(%+v) succeeded", cfg)
		}
	}
}

func TestRelayCloseStopsEverything(t *testing.T) {
	echo := startEcho(t)
	var report strings.Builder
	r, err := NewRelay(RelayConfig{Upstream: echo.conn.LocalAddr().String(), Up: Config{Delay: time.Hour}, IdleTimeout: time.Minute, Report: &report})
	if err != nil {
		t.Fatal(err)
	}
	c := udpClient(t)
	c.WriteTo([]byte("x"), r.Addr())
	settle(t, "a session", func() bool { return r.Sessions() == 1 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if !strings.HasPrefix(report.String(), "up:   offered 1 (1 B), delivered 0") || !strings.Contains(report.String(), "\ndown: offered 0") {
		t.Fatalf("report:\n%s", report.String())
	}
}
