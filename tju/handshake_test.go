package tju

// Connection establishment: lost handshake segments, a full accept queue,
// refused ports, cancelled and timed-out dials. Everything runs in virtual
// time (testing/synctest) on an in-memory network with 10 ms each way, so
// the 1 s initial RTO and its doublings take no wall time.

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/netem"
)

// A lost SYN is retransmitted after the initial RTO (1 s) and the
// connection opens then.
func TestHandshakeLostSYN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		l := v.listen()
		v.cl.drop(1, segSYN)
		c, s := v.pair(l)
		if got := v.elapsed(); got < time.Second || got > time.Second+100*time.Millisecond {
			t.Errorf("connection opened after %v, want just over the 1 s initial RTO", got)
		}
		syns := v.cl.sent(recSYN)
		if len(syns) != 2 || !syns[0].dropped || syns[1].dropped || syns[0].seq != syns[1].seq {
			t.Fatalf("want a dropped SYN then the same SYN again; client sent:%s", v.cl.dump())
		}
		if gap := syns[1].at - syns[0].at; gap != time.Second {
			t.Errorf("SYN retransmitted after %v, want the initial RTO of 1 s", gap)
		}
		exchange(t, c, s)
	})
}

// A lost SYN-ACK is sent again (the server's own RTO and the client's
// retransmitted SYN both ask for it) and the connection opens.
func TestHandshakeLostSYNACK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		l := v.listen()
		v.sv.drop(1, segSYNACK)
		c, s := v.pair(l)
		synacks := v.sv.sent(recSYNACK)
		if len(synacks) < 2 || !synacks[0].dropped || synacks[1].dropped || synacks[0].seq != synacks[1].seq {
			t.Fatalf("want a dropped SYN-ACK then the same one again; server sent:%s", v.sv.dump())
		}
		if n := len(v.sv.sent(recSYNACK)); n > 3 {
			t.Errorf("server sent %d SYN-ACKs for one lost one", n)
		}
		if got := v.elapsed(); got > 1100*time.Millisecond {
			t.Errorf("connection opened after %v, want about one initial RTO", got)
		}
		exchange(t, c, s)
	})
}

// The third ACK is lost and the client stays silent: the server's
// retransmitted SYN-ACK is answered with a fresh ACK (the lab's rule), which
// completes the passive open.
func TestHandshakeLostThirdACKAnsweredOnSYNACKRetransmit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		l := v.listen()
		v.cl.drop(1, segPureACK)
		c, err := v.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if v.elapsed() != 20*time.Millisecond {
			t.Errorf("Dial returned after %v, want one RTT (20 ms)", v.elapsed())
		}
		s, err := l.AcceptTJU(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := v.elapsed(); got < time.Second || got > 1100*time.Millisecond {
			t.Errorf("server established after %v, want after its 1 s SYN-ACK timeout", got)
		}
		synacks := v.sv.sent(recSYNACK)
		acks := v.cl.sent(func(r tapRec) bool { return recPureACK(r) && r.ack == synacks[0].seq+1 })
		if len(synacks) != 2 || len(acks) != 2 || !acks[0].dropped || acks[1].dropped {
			t.Fatalf("want SYN-ACK, lost ACK, SYN-ACK again, fresh ACK; client sent:%s\nserver sent:%s", v.cl.dump(), v.sv.dump())
		}
		if acks[1].at < synacks[1].at {
			t.Errorf("second ACK at %v before the retransmitted SYN-ACK at %v", acks[1].at, synacks[1].at)
		}
		exchange(t, c, s)
	})
}

// The third ACK is lost but the client writes at once: its first data
// segment acknowledges the SYN-ACK and completes the passive open, with no
// timeout.
func TestHandshakeLostThirdACKCompletedByData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		l := v.listen()
		v.cl.drop(1, segPureACK)
		c, err := v.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		msg := patternBytes(1, 0, 3000)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		s, err := l.AcceptTJU(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := v.elapsed(); got != 30*time.Millisecond {
			t.Errorf("server established after %v, want 30 ms (the data's arrival)", got)
		}
		got := make([]byte, len(msg))
		if _, err := readFull(s, got); err != nil || string(got) != string(msg) {
			t.Fatalf("server read %v, data equal: %v", err, string(got) == string(msg))
		}
		if n := len(v.sv.sent(recSYNACK)); n != 1 {
			t.Errorf("server sent %d SYN-ACKs, want 1:%s", n, v.sv.dump())
		}
		if c.Info().Retransmits != 0 || s.Info().Retransmits != 0 {
			t.Errorf("retransmissions: client %d, server %d", c.Info().Retransmits, s.Info().Retransmits)
		}
	})
}

// With Backlog 2 and nobody accepting, a third SYN is dropped and counted
// in AcceptOverflows; once Accept frees a place, the client's retransmitted
// SYN gets in.
func TestHandshakeAcceptQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, &Config{Backlog: 2})
		defer v.close()
		l := v.listen()
		for i := range 2 {
			if _, err := v.dial(context.Background()); err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
		}
		if n := v.se.Stats().AcceptOverflows; n != 0 {
			t.Fatalf("AcceptOverflows = %d before the queue is full", n)
		}
		type res struct {
			c   *Conn
			err error
		}
		third := make(chan res, 1)
		go func() {
			c, err := v.dial(context.Background())
			third <- res{c, err}
		}()
		time.Sleep(2500 * time.Millisecond) // SYNs at 40 ms and 1040 ms are dropped
		select {
		case r := <-third:
			t.Fatalf("third dial returned (%v) while the accept queue is full", r.err)
		default:
		}
		if n := v.se.Stats().AcceptOverflows; n != 2 {
			t.Errorf("AcceptOverflows = %d after two SYNs met a full queue, want 2", n)
		}
		if _, err := l.AcceptTJU(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := <-third // the SYN retransmitted at about 3 s finds room
		if r.err != nil {
			t.Fatalf("third dial after Accept: %v", r.err)
		}
		if got := v.elapsed(); got < 3*time.Second || got > 3200*time.Millisecond {
			t.Errorf("third connection opened at %v, want at its third SYN (about 3 s)", got)
		}
		for range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := l.AcceptTJU(ctx)
			cancel()
			if err != nil {
				t.Fatalf("accepting the queued connections: %v", err)
			}
		}
		if n := v.se.Stats().AcceptOverflows; n != 2 {
			t.Errorf("AcceptOverflows = %d at the end, want 2", n)
		}
	})
}

// Dialing a TJU port nobody listens on fails at once with ErrConnRefused,
// which also matches syscall.ECONNREFUSED.
func TestHandshakeRefusedPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		v.listen() // on 1234; the dial goes to 999
		_, err := v.ce.Dial(context.Background(), vServerAddr.String(), 999)
		checkRefused(t, err)
		if got := v.elapsed(); got != 20*time.Millisecond {
			t.Errorf("refused after %v, want one RTT (20 ms)", got)
		}
		if st := v.se.Stats(); st.ConnsRefused != 1 || st.ResetsSent != 1 {
			t.Errorf("server stats %+v, want one refusal and one reset", st)
		}
	})
}

// The same over real UDP sockets on the loopback interface, through the
// package-level Dial: an endpoint with no listener answers the SYN with a
// reset.
func TestHandshakeRefusedPortRealSocket(t *testing.T) {
	e, err := OpenEndpoint("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	start := time.Now()
	_, err = Dial(e.Addr().String()+"/4321", &Config{InitialRTO: 10 * time.Second})
	checkRefused(t, err)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("refusal took %v: it waited for a timeout instead of the reset", el)
	}
}

func checkRefused(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrConnRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial error %v, want ErrConnRefused matching ECONNREFUSED", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Errorf("dial error %#v is not a *net.OpError for dial", err)
	}
}

// A peer that never answers: DialContext returns as soon as its context
// ends, with the context's error, and the half-open connection is gone.
func TestHandshakeDialContextCancelled(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 2500*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(2500*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := newVNet(t, testLink, testLink, nil, nil)
				defer v.close()
				v.sv.Close() // nobody answers: the datagrams find no socket
				ctx, cancel := tc.ctx()
				defer cancel()
				_, err := v.dial(ctx)
				if !errors.Is(err, tc.want) {
					t.Fatalf("dial error %v, want %v", err, tc.want)
				}
				if got := v.elapsed(); got != 2500*time.Millisecond {
					t.Errorf("dial returned after %v, want when the context ended (2.5 s)", got)
				}
				// The connection is forgotten: no SYN after the dial gave up.
				n := len(v.cl.sent(recSYN))
				time.Sleep(time.Minute)
				if m := len(v.cl.sent(recSYN)); m != n {
					t.Errorf("%d SYNs sent after the dial was cancelled", m-n)
				}
			})
		})
	}
}

// With SynRetries 3 and nobody answering, the SYN goes out at 0, 1, 3 and
// 7 s and Dial fails at 15 s with ErrConnTimeout (ETIMEDOUT, Timeout()).
func TestHandshakeDialSynRetriesTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, &Config{SynRetries: 3}, nil)
		defer v.close()
		v.sv.Close()
		_, err := v.dial(context.Background())
		if !errors.Is(err, ErrConnTimeout) || !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("dial error %v, want ErrConnTimeout", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial error %v is not a net.Error with Timeout()", err)
		}
		if got := v.elapsed(); got != 15*time.Second {
			t.Errorf("dial gave up after %v, want 15 s (1+2+4+8)", got)
		}
		var at []time.Duration
		for _, r := range v.cl.sent(recSYN) {
			at = append(at, r.at)
		}
		want := []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second}
		if len(at) != len(want) {
			t.Fatalf("SYNs at %v, want %v", at, want)
		}
		for i := range at {
			if at[i] != want[i] {
				t.Fatalf("SYNs at %v, want %v", at, want)
			}
		}
	})
}

// A handshake over a link that loses every other datagram on average
// still opens, whatever is lost.
func TestHandshakeOverLossyLink(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		synctest.Test(t, func(t *testing.T) {
			link := netem.Config{Delay: 10 * time.Millisecond, Loss: 0.5, Seed: seed}
			// Half of all datagrams lost: a peer silent for the user
			// timeout is likely, and not what this test is about.
			cfg := &Config{SynRetries: 10, UserTimeout: -1, KeepAlive: -1}
			v := newVNet(t, link, link, cfg, cfg)
			defer v.close()
			l := v.listen()
			c, err := v.dial(context.Background())
			if err != nil {
				t.Fatalf("seed %d: dial: %v", seed, err)
			}
			// The server may still be in SYN_RECV: data from the client
			// completes it.
			go c.Write([]byte("x"))
			s, err := l.AcceptTJU(context.Background())
			if err != nil {
				t.Fatalf("seed %d: accept: %v", seed, err)
			}
			b := make([]byte, 1)
			if _, err := readFull(s, b); err != nil || b[0] != 'x' {
				t.Fatalf("seed %d: read %q, %v", seed, b, err)
			}
		})
	}
}

// exchange checks that a fresh connection carries data both ways.
func exchange(t *testing.T, c, s *Conn) {
	t.Helper()
	a, b := patternBytes(2, 0, 5000), patternBytes(3, 0, 7000)
	go c.Write(a)
	go s.Write(b)
	gotA, gotB := make([]byte, len(a)), make([]byte, len(b))
	if _, err := readFull(s, gotA); err != nil || string(gotA) != string(a) {
		t.Fatalf("server read: %v (equal %v)", err, string(gotA) == string(a))
	}
	if _, err := readFull(c, gotB); err != nil || string(gotB) != string(b) {
		t.Fatalf("client read: %v (equal %v)", err, string(gotB) == string(b))
	}
}

// readFull is io.ReadFull for a Conn.
func readFull(c *Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Closing a listener resets the connections still in its accept queue;
// the port can be listened on again at once and takes new connections.
func TestHandshakeListenerCloseResetsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		l := v.listen()
		var queued []*Conn
		for i := range 2 {
			c, err := v.dial(context.Background())
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			queued = append(queued, c)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
		for i, c := range queued {
			c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, ErrConnReset) {
				t.Errorf("queued connection %d: Read %v, want ErrConnReset", i, err)
			}
		}
		// Nobody listens now: refused.
		_, err := v.dial(context.Background())
		checkRefused(t, err)
		l2 := v.listen()
		c, s := v.pair(l2)
		exchange(t, c, s)
	})
}
