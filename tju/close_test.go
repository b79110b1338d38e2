package tju

// Connection teardown: sequential and simultaneous close, a lost FIN,
// half-close, EOF, and TIME_WAIT handled by the endpoint without blocking
// Close. Virtual time (testing/synctest), 10 ms each way, MSL 100 ms unless
// a test sets another.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

// Sequential close: the client writes, closes, and its data arrives
// before the EOF; the states go FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT ->
// CLOSED on the client and CLOSE_WAIT -> LAST_ACK -> CLOSED on the server.
func TestCloseSequential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		data := patternBytes(4, 0, 100<<10)
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		t0 := v.elapsed()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if v.elapsed() != t0 {
			t.Errorf("Close blocked for %v", v.elapsed()-t0)
		}
		if got := stateOf(c); got != StateFinWait1 {
			t.Errorf("client after Close: %v, want FIN_WAIT_1", got)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v, want net.ErrClosed", err)
		}
		got, err := io.ReadAll(s)
		if err != nil || string(got) != string(data) {
			t.Fatalf("server read %d of %d bytes, err %v, equal %v", len(got), len(data), err, string(got) == string(data))
		}
		time.Sleep(15 * time.Millisecond) // the ACK of the FIN reaches the client
		if cs, ss := stateOf(c), stateOf(s); cs != StateFinWait2 || ss != StateCloseWait {
			t.Errorf("after the client's FIN: client %v, server %v; want FIN_WAIT_2, CLOSE_WAIT", cs, ss)
		}
		tClose := v.elapsed()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := stateOf(s); got != StateLastAck {
			t.Errorf("server after Close: %v, want LAST_ACK", got)
		}
		time.Sleep(15 * time.Millisecond)
		if got := stateOf(c); got != StateTimeWait {
			t.Errorf("client after the server's FIN: %v, want TIME_WAIT", got)
		}
		<-s.Done()
		if got := v.elapsed() - tClose; got != 20*time.Millisecond {
			t.Errorf("server gone %v after its Close, want one RTT (20 ms)", got)
		}
		<-c.Done()
		if got := v.elapsed() - tClose; got != 10*time.Millisecond+200*time.Millisecond {
			t.Errorf("client gone %v after the server's Close, want 10 ms + 2*MSL", got)
		}
		if cs, ss := stateOf(c), stateOf(s); cs != StateClosed || ss != StateClosed {
			t.Errorf("final states %v, %v; want CLOSED", cs, ss)
		}
		// The FIN follows every data byte.
		fins := v.cl.sent(recFIN)
		if len(fins) != 1 {
			t.Fatalf("client sent %d FINs:%s", len(fins), v.cl.dump())
		}
		for _, r := range v.cl.sent(recData) {
			if r.at > fins[0].at || seqAfter(r.seq+uint32(r.n), fins[0].seq) {
				t.Fatalf("data %v after the FIN %v", r, fins[0])
			}
		}
		if last := v.cl.sent(recData); fins[0].seq != last[0].seq+uint32(len(data)) {
			t.Errorf("FIN seq %d, want first data seq + %d", fins[0].seq, len(data))
		}
		if c.Info().Retransmits+s.Info().Retransmits != 0 {
			t.Errorf("retransmissions on a clean link")
		}
	})
}

func seqAfter(a, b uint32) bool { return int32(a-b) > 0 }

// Simultaneous close: both sides close at the same instant; each gets the
// other's FIN before the ACK of its own (CLOSING), then the ACK (TIME_WAIT),
// and both are gone 2*MSL later.
func TestCloseSimultaneous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		time.Sleep(100 * time.Millisecond) // let every ACK land
		t0 := v.elapsed()
		go c.Close()
		go s.Close()
		time.Sleep(15 * time.Millisecond)
		if cs, ss := stateOf(c), stateOf(s); cs != StateClosing || ss != StateClosing {
			t.Errorf("after the FINs crossed: %v, %v; want CLOSING, CLOSING", cs, ss)
		}
		time.Sleep(10 * time.Millisecond)
		if cs, ss := stateOf(c), stateOf(s); cs != StateTimeWait || ss != StateTimeWait {
			t.Errorf("after the ACKs: %v, %v; want TIME_WAIT, TIME_WAIT", cs, ss)
		}
		<-c.Done()
		<-s.Done()
		if got := v.elapsed() - t0; got != 20*time.Millisecond+200*time.Millisecond {
			t.Errorf("both gone after %v, want one RTT + 2*MSL", got)
		}
		for _, tp := range []*tap{v.cl, v.sv} {
			if n := len(tp.sent(recFIN)); n != 1 {
				t.Errorf("%d FINs sent, want 1:%s", n, tp.dump())
			}
		}
	})
}

// A lost FIN is retransmitted on the RTO, and the peer then sees EOF.
func TestCloseLostFIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		time.Sleep(100 * time.Millisecond) // nothing in flight
		v.cl.drop(1, segFIN)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		rd := readAllAsync(s)
		r := <-rd
		if r.err != nil || len(r.b) != 0 {
			t.Fatalf("server read %d bytes, %v; want EOF", len(r.b), r.err)
		}
		fins := v.cl.sent(recFIN)
		if len(fins) != 2 || !fins[0].dropped || fins[1].dropped || fins[0].seq != fins[1].seq {
			t.Fatalf("want a lost FIN and its retransmission:%s", v.cl.dump())
		}
		// Alone in flight, the FIN is repeated by a tail loss probe (2*SRTT
		// plus the delayed-ACK allowance) or at the latest by the RTO.
		if gap := fins[1].at - fins[0].at; gap <= 0 || gap > c.Info().RTO {
			t.Errorf("FIN retransmitted after %v, want within one RTO (%v); client:%s", gap, c.Info().RTO, v.cl.dump())
		}
		s.Close()
		<-c.Done()
		<-s.Done()
	})
}

// Half-close: after CloseWrite the peer reads EOF, can still write, and we
// read what it writes, then its EOF.
func TestCloseWriteHalfClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		req := patternBytes(5, 0, 10_000)
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("late")); err == nil {
			t.Error("Write after CloseWrite succeeded")
		}
		got, err := io.ReadAll(s)
		if err != nil || string(got) != string(req) {
			t.Fatalf("server read %d bytes, %v", len(got), err)
		}
		if got := stateOf(s); got != StateCloseWait {
			t.Errorf("server after EOF: %v, want CLOSE_WAIT", got)
		}
		resp := patternBytes(6, 0, 300_000)
		rd := readAllAsync(c)
		if _, err := s.Write(resp); err != nil {
			t.Fatalf("server write after the client's CloseWrite: %v", err)
		}
		time.Sleep(15 * time.Millisecond) // the ACK of the client's FIN arrives
		if got := stateOf(c); got != StateFinWait2 {
			t.Errorf("client while the server writes: %v, want FIN_WAIT_2", got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r := <-rd
		if r.err != nil || string(r.b) != string(resp) {
			t.Fatalf("client read %d of %d bytes, %v", len(r.b), len(resp), r.err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		<-c.Done()
		<-s.Done()
	})
}

// Read returns io.EOF after the peer's FIN: a Read blocked before the FIN
// wakes with it, and every later Read returns it again.
func TestReadEOFAfterPeerFIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		type res struct {
			n   int
			err error
		}
		blocked := make(chan res, 1)
		buf := make([]byte, 100)
		go func() {
			n, err := c.Read(buf)
			blocked <- res{n, err}
		}()
		time.Sleep(time.Second)
		s.Write([]byte("hello"))
		r := <-blocked
		if r.err != nil || string(buf[:r.n]) != "hello" {
			t.Fatalf("first Read: %q, %v", buf[:r.n], r.err)
		}
		go func() {
			n, err := c.Read(buf)
			blocked <- res{n, err}
		}()
		time.Sleep(time.Second)
		s.Close()
		r = <-blocked
		if r.n != 0 || r.err != io.EOF {
			t.Fatalf("Read blocked across the FIN: %d, %v; want 0, io.EOF", r.n, r.err)
		}
		for range 3 {
			if n, err := c.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after EOF: %d, %v; want 0, io.EOF", n, err)
			}
		}
		c.Close()
		<-c.Done()
		<-s.Done()
	})
}

// TIME_WAIT lasts 2*MSL, in the endpoint: Close returns at once and the
// connection's Done channel closes 2*MSL after the last FIN arrived.
func TestCloseTimeWaitDoesNotBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const msl = 500 * time.Millisecond
		v := newVNet(t, testLink, testLink, &Config{MSL: msl}, &Config{MSL: msl})
		defer v.close()
		c, s := v.pair(v.listen())
		t0 := v.elapsed()
		c.Close()
		if v.elapsed() != t0 {
			t.Fatalf("Close took %v of virtual time", v.elapsed()-t0)
		}
		if _, err := io.ReadAll(s); err != nil {
			t.Fatal(err)
		}
		s.Close() // at t0 + 10 ms; its FIN reaches the client at t0 + 20 ms
		<-s.Done()
		time.Sleep(20*time.Millisecond + 2*msl - time.Millisecond - (v.elapsed() - t0))
		if got := stateOf(c); got != StateTimeWait {
			t.Fatalf("client just before 2*MSL: %v, want TIME_WAIT", got)
		}
		if !closedWithin(c.Done(), 2*time.Millisecond) {
			t.Fatalf("client not gone after 2*MSL; state %v", stateOf(c))
		}
		if got := v.elapsed() - t0; got != 20*time.Millisecond+2*msl {
			t.Errorf("client gone after %v, want 20 ms + 2*MSL", got)
		}
	})
}

// TIME_WAIT answers a retransmitted FIN (its ACK was lost) with a new ACK
// and starts the 2*MSL again.
func TestCloseTimeWaitReacksRetransmittedFIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const msl = time.Second
		v := newVNet(t, testLink, testLink, &Config{MSL: msl}, &Config{MSL: msl})
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		time.Sleep(100 * time.Millisecond)
		v.cl.drop(1, segPureACK) // the ACK of the server's FIN
		c.Close()
		if _, err := io.ReadAll(s); err != nil {
			t.Fatal(err)
		}
		s.Close()
		<-s.Done()
		fins := v.sv.sent(recFIN)
		if len(fins) != 2 {
			t.Fatalf("server sent %d FINs, want 2:%s", len(fins), v.sv.dump())
		}
		acks := v.cl.sent(func(r tapRec) bool { return recPureACK(r) && r.ack == fins[0].seq+1 })
		if len(acks) != 2 || !acks[0].dropped || acks[1].dropped {
			t.Fatalf("want the lost ACK of the FIN and a fresh one:%s", v.cl.dump())
		}
		if got := stateOf(c); got != StateTimeWait {
			t.Fatalf("client %v, want TIME_WAIT", got)
		}
		<-c.Done()
		if got := v.elapsed() - (fins[1].at + 10*time.Millisecond); got != 2*msl {
			t.Errorf("client gone %v after the retransmitted FIN, want 2*MSL", got)
		}
	})
}

// Teardown over a link that loses 20% of datagrams each way, under 30
// seeds: whichever side half-closes first (or both at once), each reads
// everything the other wrote, then EOF, and after Close both connections
// end (Done) within bounded time. Each seed and order is a subtest, so one
// can be rerun alone: -run 'TestCloseOverLossyLink/seed=7/both'.
func TestCloseOverLossyLink(t *testing.T) {
	modes := []string{"client-first", "server-first", "both"}
	for seed := uint64(1); seed <= 30; seed++ {
		for mode, name := range modes {
			t.Run(fmt.Sprintf("seed=%d/%s", seed, name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					link := netem.Config{Delay: 15 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.2, Seed: seed}
					cfg := &Config{SynRetries: 10, Retries: 20}
					v := newVNet(t, link, link, cfg, cfg)
					defer v.close()
					l := v.listen()
					c, err := v.dial(t.Context())
					if err != nil {
						t.Fatalf("dial: %v", err)
					}
					go c.Write([]byte{0}) // completes the open if the third ACK was lost
					s, err := l.AcceptTJU(t.Context())
					if err != nil {
						t.Fatalf("accept: %v", err)
					}
					a, b := patternBytes(seed, 0, 40_000), patternBytes(seed+100, 0, 30_000)
					fromC, fromS := readAllAsync(s), readAllAsync(c)
					closeC := func() { c.Write(a); c.CloseWrite() }
					closeS := func() { s.Write(b); s.CloseWrite() }
					switch mode {
					case 0:
						closeC()
						time.Sleep(5 * time.Second)
						closeS()
					case 1:
						closeS()
						time.Sleep(5 * time.Second)
						closeC()
					case 2:
						go closeC()
						closeS()
					}
					rs := <-fromC
					if rs.err != nil || len(rs.b) != 1+len(a) || string(rs.b[1:]) != string(a) {
						t.Errorf("server read %d bytes, %v", len(rs.b), rs.err)
					}
					rc := <-fromS
					if rc.err != nil || string(rc.b) != string(b) {
						t.Errorf("client read %d bytes, %v", len(rc.b), rc.err)
					}
					c.Close()
					s.Close()
					for name, conn := range map[string]*Conn{"client": c, "server": s} {
						select {
						case <-conn.Done():
						case <-time.After(10 * time.Minute):
							t.Errorf("%s connection not gone after 10 min: %+v", name, conn.Info())
						}
					}
				})
			})
		}
	}
}

// Abort resets the connection: the peer's pending Read fails with
// ErrConnReset (ECONNRESET) one one-way delay later, and both are gone at
// once, with no TIME_WAIT.
func TestCloseAbortResetsPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		rd := readAllAsync(s)
		t0 := v.elapsed()
		if err := c.Abort(); err != nil {
			t.Fatal(err)
		}
		r := <-rd
		if !errors.Is(r.err, ErrConnReset) || !errors.Is(r.err, syscall.ECONNRESET) {
			t.Fatalf("peer's Read after Abort: %v, want ErrConnReset", r.err)
		}
		if got := v.elapsed() - t0; got != 10*time.Millisecond {
			t.Errorf("reset seen after %v, want the 10 ms one-way delay", got)
		}
		synctest.Wait()
		if !gone(c) || !gone(s) {
			t.Errorf("connections not gone after the reset")
		}
		if _, err := s.Write([]byte("x")); !errors.Is(err, ErrConnReset) {
			t.Errorf("peer's Write after the reset: %v, want ErrConnReset", err)
		}
		// One RST at once; segments that arrive afterwards (the peer's
		// ACKs in flight) find no connection and are refused with RSTs.
		if rsts := v.cl.sent(recRST); len(rsts) == 0 || rsts[0].at != t0 {
			t.Errorf("aborting side sent RSTs %v, want the first at %v", rsts, t0)
		}
	})
}

// Closing the server's endpoint aborts its connections; the clients see
// resets, and the endpoint's goroutines end. (The server's side of the
// link has no delay: a netem socket that closes discards what it still
// has in flight, as a real network would not.)
func TestCloseEndpointResetsConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, netem.Config{}, nil, nil)
		defer v.close()
		l := v.listen()
		var clients []*Conn
		for range 3 {
			c, _ := v.pair(l)
			clients = append(clients, c)
		}
		if err := v.se.Close(); err != nil {
			t.Fatal(err)
		}
		for i, c := range clients {
			c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrConnReset) {
				t.Errorf("client %d Read after the server endpoint closed: %v, want ErrConnReset", i, err)
			}
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept on a closed endpoint: %v, want net.ErrClosed", err)
		}
	})
}

// gone reports whether c's Done channel is closed now.
func gone(c *Conn) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}
