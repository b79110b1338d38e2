package tju

// Deadlines: Read and Write fail with os.ErrDeadlineExceeded (a net.Error
// whose Timeout() is true) when their deadline passes, a pending call sees
// a deadline moved while it waits, and clearing the deadline lets I/O go
// on. Virtual time, 10 ms each way. TestConnNettest runs the standard
// net.Conn conformance suite (golang.org/x/net/nettest) over real UDP.

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/nettest"
)

func checkTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%s: %v, want os.ErrDeadlineExceeded with Timeout() true", what, err)
	}
}

func TestDeadlineRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		buf := make([]byte, 100)

		t0 := v.elapsed()
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		checkTimeout(t, "Read past its deadline", err)
		if n != 0 || v.elapsed()-t0 != time.Second {
			t.Errorf("Read returned %d bytes after %v, want 0 after 1 s", n, v.elapsed()-t0)
		}
		// A deadline in the past fails at once.
		t0 = v.elapsed()
		if _, err := c.Read(buf); v.elapsed() != t0 {
			t.Errorf("Read with an expired deadline blocked for %v", v.elapsed()-t0)
		} else {
			checkTimeout(t, "Read with an expired deadline", err)
		}

		// Extending the deadline while Read waits: it returns at the new one.
		c.SetReadDeadline(time.Now().Add(time.Second))
		t0 = v.elapsed()
		time.AfterFunc(500*time.Millisecond, func() { c.SetReadDeadline(time.Now().Add(2 * time.Second)) })
		_, err = c.Read(buf)
		checkTimeout(t, "Read past its extended deadline", err)
		if got := v.elapsed() - t0; got != 2500*time.Millisecond {
			t.Errorf("Read with an extended deadline returned after %v, want 2.5 s", got)
		}

		// Cleared, Read waits for data however long it takes.
		c.SetReadDeadline(time.Time{})
		time.AfterFunc(time.Minute, func() { s.Write([]byte("late data")) })
		n, err = c.Read(buf)
		if err != nil || string(buf[:n]) != "late data" {
			t.Fatalf("Read after clearing the deadline: %q, %v", buf[:n], err)
		}
		// The connection is intact both ways.
		exchange(t, c, s)
	})
}

func TestDeadlineWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const buf = 16 << 10
		v := newVNet(t, testLink, testLink, &Config{SendBuffer: buf}, &Config{ReceiveBuffer: buf})
		defer v.close()
		c, s := v.pair(v.listen())
		data := patternBytes(8, 0, 256<<10)

		// Nobody reads: the write fills the peer's window and the send
		// buffer, then waits until the deadline.
		t0 := v.elapsed()
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Write(data)
		checkTimeout(t, "Write past its deadline", err)
		if got := v.elapsed() - t0; got != 2*time.Second {
			t.Errorf("Write returned after %v, want 2 s", got)
		}
		if n < buf || n > 3*buf {
			t.Errorf("Write took %d bytes before the deadline, want the send buffer plus the peer's window (%d..%d)", n, buf, 3*buf)
		}

		// Cleared, the rest goes through once the reader reads.
		c.SetWriteDeadline(time.Time{})
		rd := make(chan readResult, 1)
		go func() {
			got := make([]byte, len(data))
			_, err := readFull(s, got)
			rd <- readResult{got, err}
		}()
		m, err := c.Write(data[n:])
		if err != nil || n+m != len(data) {
			t.Fatalf("Write after clearing the deadline: %d more bytes, %v", m, err)
		}
		r := <-rd
		if r.err != nil || string(r.b) != string(data) {
			t.Fatalf("reader got %v, equal %v", r.err, string(r.b) == string(data))
		}
	})
}

// A deadline already in the past makes Read and Write fail at once, even
// when Read has data waiting or Write has room in the send buffer: that is
// net.Conn's contract ("If the deadline is exceeded a call to Read or Write
// ... will return an error"), as *net.TCPConn and nettest's PastTimeout
// test hold it.
func TestDeadlinePastFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newVNet(t, testLink, testLink, nil, nil)
		defer v.close()
		c, s := v.pair(v.listen())
		s.Write([]byte("waiting"))
		time.Sleep(100 * time.Millisecond)
		c.SetDeadline(time.Now().Add(-time.Second))
		if n, err := c.Write([]byte("x")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Write with a past deadline: %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		if n, err := c.Read(make([]byte, 10)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read with a past deadline: %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
	})
}

// TestConnNettest runs golang.org/x/net/nettest's net.Conn conformance
// tests (basic I/O, ping-pong, racy reads and writes, the four deadline
// cases, Close unblocking I/O, concurrent methods) on a TJU connection over
// real UDP sockets on the loopback interface.
func TestConnNettest(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		l, err := Listen("127.0.0.1:0", shortTimeWait())
		if err != nil {
			return nil, nil, nil, err
		}
		type res struct {
			c   net.Conn
			err error
		}
		ch := make(chan res, 1)
		go func() {
			c, err := l.Accept()
			ch <- res{c, err}
		}()
		cc, err := Dial(l.Addr().String(), shortTimeWait())
		if err != nil {
			l.Close()
			return nil, nil, nil, err
		}
		r := <-ch
		if r.err != nil {
			cc.Close()
			l.Close()
			return nil, nil, nil, r.err
		}
		stop = func() {
			cc.Abort()
			r.c.(*Conn).Abort()
			l.Close()
		}
		return cc, r.c, stop, nil
	})
}
