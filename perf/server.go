package perf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/tjunet/tjunet/tju"
)

// infoer is a connection that reports its transport's state, as *tju.Conn
// does.
type infoer interface{ Info() tju.Info }

func infoOf(c net.Conn) (tju.Info, bool) {
	if ic, ok := c.(infoer); ok {
		return ic.Info(), true
	}
	return tju.Info{}, false
}

// halfCloser is a connection whose write side closes alone, as *tju.Conn
// and *net.TCPConn do.
type halfCloser interface{ CloseWrite() error }

func closeWrite(c net.Conn) error {
	if hc, ok := c.(halfCloser); ok {
		return hc.CloseWrite()
	}
	return errors.New("the connection cannot half-close")
}

// ServerReport says what the server's side of one test did.
type ServerReport struct {
	Peer     string
	Mode     Mode
	Reverse  bool          // the server sent
	Bytes    int64         // throughput: bytes received, or sent when Reverse
	Elapsed  time.Duration // from the first byte to the last
	Requests int           // latency: requests echoed
	MsgSize  int           // latency: bytes a request
}

// HeaderTimeout bounds the wait for a test's header.
const HeaderTimeout = 10 * time.Second

// ServeConn runs the server's side of one test on c, then closes c. An
// error aborts c when it can (tju.Conn.Abort) so that the client learns of
// it at once.
func ServeConn(ctx context.Context, c net.Conn) (ServerReport, error) {
	stop := context.AfterFunc(ctx, func() { abort(c) })
	defer stop()
	defer c.Close()
	rep := ServerReport{Peer: c.RemoteAddr().String()}
	c.SetReadDeadline(time.Now().Add(HeaderTimeout))
	h, err := readHeader(c)
	if err != nil {
		abort(c)
		return rep, err
	}
	c.SetReadDeadline(time.Time{})
	rep.Mode, rep.Reverse, rep.MsgSize = h.mode, h.reverse, h.msgSize
	switch {
	case h.mode == Latency:
		rep.Requests, rep.Elapsed, err = echo(c, h.msgSize)
	case h.reverse:
		var t senderTotals
		t, err = sendFrames(ctx, c, h)
		rep.Bytes, rep.Elapsed = int64(t.bytes), t.elapsed
	default:
		rep.Bytes, rep.Elapsed, err = count(c)
	}
	if err != nil {
		abort(c)
	}
	return rep, err
}

func abort(c net.Conn) {
	if a, ok := c.(interface{ Abort() }); ok {
		a.Abort()
		return
	}
	c.Close()
}

// count reads c to the end and answers with what arrived.
func count(c net.Conn) (int64, time.Duration, error) {
	buf := make([]byte, frameMax)
	var n int64
	var first time.Time
	for {
		k, err := c.Read(buf)
		if k > 0 && n == 0 {
			first = time.Now()
		}
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, 0, fmt.Errorf("receiving: %w", err)
		}
	}
	var el time.Duration
	if n > 0 {
		el = time.Since(first)
	}
	var reply [16]byte
	binary.BigEndian.PutUint64(reply[:8], uint64(n))
	binary.BigEndian.PutUint64(reply[8:], uint64(el))
	if _, err := c.Write(reply[:]); err != nil {
		return n, el, fmt.Errorf("replying: %w", err)
	}
	return n, el, nil
}

// echo answers requests of size bytes until the client half-closes.
func echo(c net.Conn, size int) (int, time.Duration, error) {
	buf := make([]byte, size)
	n := 0
	start := time.Now()
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			if err == io.EOF {
				return n, time.Since(start), nil
			}
			return n, time.Since(start), fmt.Errorf("reading a request: %w", err)
		}
		if _, err := c.Write(buf); err != nil {
			return n, time.Since(start), fmt.Errorf("answering: %w", err)
		}
		n++
	}
}

// sendFrames is the sending side of a reverse test.
func sendFrames(ctx context.Context, c net.Conn, h header) (senderTotals, error) {
	var t senderTotals
	p := newPacer(h.rate)
	buf := make([]byte, 4+p.chunk(frameMax))
	start := time.Now()
	deadline := start.Add(MaxDuration) // a byte count ends sooner, or this does
	if h.dur > 0 {
		deadline = start.Add(h.dur)
	}
	for {
		if ctx.Err() != nil {
			return t, ctx.Err()
		}
		now := time.Now()
		if !now.Before(deadline) || h.bytes > 0 && int64(t.bytes) >= h.bytes || h.dur == 0 && h.bytes == 0 {
			break
		}
		k := len(buf) - 4
		if h.bytes > 0 {
			k = int(min(int64(k), h.bytes-int64(t.bytes)))
		}
		binary.BigEndian.PutUint32(buf[:4], uint32(k))
		if _, err := c.Write(buf[:4+k]); err != nil {
			return t, fmt.Errorf("sending: %w", err)
		}
		t.bytes += uint64(k)
		p.wait(ctx, int64(t.bytes), start)
	}
	t.elapsed = time.Since(start)
	var end [4]byte
	if _, err := c.Write(end[:]); err != nil {
		return t, fmt.Errorf("sending: %w", err)
	}
	if i, ok := infoOf(c); ok {
		t.retransmits, t.segments, t.srtt, t.minRTT, t.cwnd = i.Retransmits, i.SegmentsSent, i.SRTT, i.MinRTT, uint64(i.Cwnd)
	}
	if _, err := c.Write(t.marshal()); err != nil {
		return t, fmt.Errorf("sending the totals: %w", err)
	}
	if err := closeWrite(c); err != nil {
		return t, err
	}
	// The client closes once it has read everything: wait for it, so that
	// the totals are acknowledged before the connection goes.
	io.Copy(io.Discard, c)
	return t, nil
}

// pacer holds a sender to a rate in bits per second (0: unlimited), as
// iperf3's -b does: after each write it sleeps until the bytes sent so far
// are due.
type pacer struct{ rate int64 }

func newPacer(rate int64) pacer { return pacer{rate: rate} }

// chunk is the size of each write: at most max, and under a rate limit
// about 10 ms of data, so that the rate holds over short intervals too.
func (p pacer) chunk(limit int) int {
	if p.rate <= 0 {
		return limit
	}
	return int(min(int64(limit), max(p.rate/8/100, 1<<10)))
}

func (p pacer) wait(ctx context.Context, sent int64, start time.Time) {
	if p.rate <= 0 {
		return
	}
	due := start.Add(time.Duration(float64(sent*8) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// Serve serves a test on each connection accept returns, each in a
// goroutine of its own, until accept fails (as it does once ctx ends);
// then it waits for the tests under way and returns accept's error. done,
// if set, is called after each test, one call at a time, with the
// connection (closed by then), what the test did and its error.
func Serve(ctx context.Context, accept func(context.Context) (net.Conn, error), done func(net.Conn, ServerReport, error)) error {
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	defer wg.Wait()
	for {
		c, err := accept(ctx)
		if err != nil {
			return err
		}
		wg.Go(func() {
			rep, err := ServeConn(ctx, c)
			if done != nil {
				mu.Lock()
				defer mu.Unlock()
				done(c, rep, err)
			}
		})
	}
}
