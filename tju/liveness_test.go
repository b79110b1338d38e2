package tju

// Dead peers: keep-alive probes and the user timeout end a connection whose
// peer stopped answering, with an error that says for how long; a live
// idle peer answers the probes and its connection lasts. Virtual time.

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// checkPeerTimeout checks that err is the timeout of a peer silent for
// silent.
func checkPeerTimeout(t *testing.T, what string, err error, silent time.Duration) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, ErrConnTimeout) || !errors.Is(err, syscall.ETIMEDOUT) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: %v; want a timeout matching ErrConnTimeout and ETIMEDOUT", what, err)
	}
	if want := "the peer stopped answering for " + silent.String(); !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %q does not say %q", what, err, want)
	}
}

// keepAliveProbe reports whether r is a keep-alive probe: a pure ACK.
func recProbe(r tapRec) bool { return r.flags == wire.FlagACK && r.n == 0 }

// An idle connection whose peer vanished (its socket gone, no answer of
// any kind): the defaults probe after 15 s of silence and every 15 s
// after, and the user timeout (40 s from the first unanswered probe, with
// three probes out) ends it 55 s after the peer was last heard, within the
// 60 s that tju recv promises. A blocked Read returns the error.
func TestKeepAliveIdlePeerVanished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		time.Sleep(100 * time.Millisecond) // the last ACKs arrive
		lastHeard := v.elapsed() - 70*time.Millisecond
		v.sv.Close() // the server's host is gone: nothing answers
		probesBefore := len(v.cl.sent(recProbe))
		_, err := c.Read(make([]byte, 10))
		checkPeerTimeout(t, "Read", err, 55*time.Second)
		if got := v.elapsed() - lastHeard; got < 54900*time.Millisecond || got > 55100*time.Millisecond {
			t.Errorf("the connection ended %v after the peer was last heard, want 55 s", got)
		}
		if n := len(v.cl.sent(recProbe)) - probesBefore; n != 3 {
			t.Errorf("%d probes sent, want 3 (at 15, 30 and 45 s):%s", n, v.cl.dump())
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, ErrConnTimeout) {
			t.Errorf("Write after the timeout: %v, want ErrConnTimeout", err)
		}
		<-c.Done()
	})
}

// A sender whose receiver vanished mid-transfer: retransmissions back off,
// and the user timeout ends the connection 40 s after the last ACK; the
// blocked Write returns the error.
func TestUserTimeoutReceiverVanished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, &Config{SendBuffer: 64 << 10}, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		v.sv.Close()
		t0 := v.elapsed()
		var err error
		for err == nil {
			_, err = c.Write(make([]byte, 16<<10))
		}
		checkPeerTimeout(t, "Write", err, 40*time.Second)
		if got := v.elapsed() - t0; got > 41*time.Second {
			t.Errorf("Write failed %v after the receiver vanished, want about 40 s", got)
		}
		if !strings.Contains(err.Error(), "retransmission timeouts") {
			t.Errorf("%q does not say that retransmissions went unanswered", err)
		}
	})
}

// Config.UserTimeout and KeepAliveConfig change the schedule: probes after
// 2 s and every 1 s, at most 3; no user timeout. The third unanswered
// probe ends the connection at 2 + 3*1 = 5 s.
func TestKeepAliveConfigCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &Config{UserTimeout: -1, KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 2 * time.Second, Interval: time.Second, Count: 3}}
		v := newVNet(t, testLink, testLink, cfg, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		time.Sleep(100 * time.Millisecond) // the last ACKs arrive
		t0 := v.elapsed() - 70*time.Millisecond
		v.sv.Close()
		<-c.Done()
		if got := v.elapsed() - t0; got < 4900*time.Millisecond || got > 5100*time.Millisecond {
			t.Errorf("connection ended %v after the peer was last heard, want 5 s", got)
		}
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, ErrConnTimeout) || !strings.Contains(err.Error(), "3 keep-alive probes unanswered") {
			t.Errorf("Read: %v, want a timeout after 3 keep-alive probes", err)
		}
	})
}

// Both peers alive and idle for ten minutes: the probes are answered, the
// connection lasts, and still carries data both ways afterwards.
func TestKeepAliveAnsweredKeepsIdleConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		time.Sleep(10 * time.Minute)
		if cs, ss := stateOf(c), stateOf(s); cs != StateEstablished || ss != StateEstablished {
			t.Fatalf("after 10 idle minutes: %v, %v; want ESTABLISHED", cs, ss)
		}
		if n := len(v.cl.sent(recProbe)); n < 10 {
			t.Errorf("client sent %d pure ACKs in 10 idle minutes, want a probe every 15 s", n)
		}
		exchange(t, c, s)
	})
}

// Keep-alives off (KeepAlive < 0) and no user timeout: an idle connection
// to a vanished peer stays open, as before; nothing is sent.
func TestKeepAliveDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := &Config{KeepAlive: -1, UserTimeout: -1}
		v := newVNet(t, testLink, testLink, cfg, cfg)
		defer v.close()
		c, s := v.pair(v.listen())
		exchange(t, c, s)
		n := len(v.cl.sent(nil))
		time.Sleep(10 * time.Minute)
		if got := len(v.cl.sent(nil)); got != n {
			t.Errorf("%d segments sent by an idle connection without keep-alives", got-n)
		}
		if st := stateOf(c); st != StateEstablished {
			t.Errorf("state %v, want ESTABLISHED", st)
		}
	})
}

// A Lab endpoint sends no keep-alive unless asked: a lab host never does.
func TestKeepAliveOffInLabMode(t *testing.T) {
	if got := (&Config{Lab: true}).keepAlive(); got.Enable {
		t.Errorf("Lab config keep-alive %+v, want off", got)
	}
	if got := (&Config{Lab: true, KeepAlive: time.Second}).keepAlive(); !got.Enable || got.Idle != time.Second {
		t.Errorf("Lab config with KeepAlive 1 s: %+v", got)
	}
	if got := (&Config{}).keepAlive(); !got.Enable || got.Idle != 15*time.Second || got.Interval != 15*time.Second || got.Count != 9 {
		t.Errorf("default keep-alive %+v, want 15 s, 15 s, 9", got)
	}
}
