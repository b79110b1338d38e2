package netem

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// WrappedConn is a net.PacketConn that applies impairments to the
// datagrams written to and read from another net.PacketConn. Make one with
// Wrap. It is safe for concurrent use.
type WrappedConn struct {
	pc net.PacketConn

	out *direction // nil: writes go straight to pc
	wd  atomic.Int64

	in         *direction // nil: reads come straight from pc
	inbox      *inbox
	readerDone chan struct{}

	closeOnce sync.Once
	closed    atomic.Bool
}

var _ net.PacketConn = (*WrappedConn)(nil)

// impairs reports whether c changes anything (the seed alone does not).
func (c Config) impairs() bool {
	c.Seed = 0
	return c != Config{}
}

// Wrap returns a net.PacketConn that sends the datagrams written to it
// through out before writing them to pc at their delivery time, and sends
// the datagrams read from pc through in before returning them from
// ReadFrom. The wrapper owns pc: closing it closes pc.
//
// A zero (or seed-only) out or in is a pass-through: writes, respectively
// reads and the read deadline, go straight to pc, with no goroutine or
// copy. Otherwise delayed writes are made from the direction's timer, and
// a goroutine reads pc into a receive queue of DefaultReadBuffer bytes
// until Close. Write errors of delayed datagrams are counted in the out
// Stats' RecvDropped.
//
// It returns an error wrapping ErrInvalidConfig if a Config is invalid.
// pc may be a real socket or, under testing/synctest, a netem endpoint.
func Wrap(pc net.PacketConn, out, in Config) (*WrappedConn, error) {
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("netem: wrap: out: %w", err)
	}
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("netem: wrap: in: %w", err)
	}
	w := &WrappedConn{pc: pc}
	if out.impairs() {
		w.out = newDirection(out, 1, func(p *packet) bool {
			_, err := pc.WriteTo(p.data(), p.to)
			p.free()
			return err == nil
		})
	}
	if in.impairs() {
		w.inbox = newInbox()
		w.in = newDirection(in, 2, w.inbox.push)
		w.readerDone = make(chan struct{})
		go w.readLoop()
	}
	return w, nil
}

// readLoop moves datagrams from pc into the in direction until pc fails.
func (w *WrappedConn) readLoop() {
	defer close(w.readerDone)
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := w.pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !w.closed.Load() {
				continue // someone set a deadline on pc; ours is on the inbox
			}
			if w.closed.Load() {
				err = nil
			}
			w.in.close()
			w.inbox.close(err)
			return
		}
		p := getPacket(buf[:n])
		p.to = from
		if w.in.offer(p) != nil {
			return
		}
	}
}

// ReadFrom returns the next datagram read from the wrapped connection
// after the in impairments, with its sender. Errors are as for the
// wrapped connection, or, with in impairments, a *net.OpError wrapping
// os.ErrDeadlineExceeded after the read deadline, net.ErrClosed after
// Close, or the error that stopped reading from the wrapped connection.
func (w *WrappedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if w.in == nil {
		return w.pc.ReadFrom(b)
	}
	p, err := w.inbox.pop()
	if err != nil {
		return 0, nil, &net.OpError{Op: "read", Net: w.pc.LocalAddr().Network(), Source: w.pc.LocalAddr(), Err: err}
	}
	n, from := copy(b, p.data()), p.to
	p.free()
	return n, from, nil
}

// WriteTo sends a copy of b to addr through the out impairments; the
// surviving copies are written to the wrapped connection at their delivery
// time. With out impairments it returns len(b) without waiting, and fails
// only after Close (net.ErrClosed), after the write deadline
// (os.ErrDeadlineExceeded) or for a datagram over 65535 bytes.
func (w *WrappedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if w.out == nil {
		return w.pc.WriteTo(b, addr)
	}
	opErr := func(err error) error {
		return &net.OpError{Op: "write", Net: w.pc.LocalAddr().Network(), Source: w.pc.LocalAddr(), Addr: addr, Err: err}
	}
	if w.closed.Load() {
		return 0, opErr(net.ErrClosed)
	}
	if wd := w.wd.Load(); wd != 0 && time.Now().UnixNano() >= wd {
		return 0, opErr(os.ErrDeadlineExceeded)
	}
	if len(b) > maxDatagram {
		return 0, opErr(fmt.Errorf("netem: datagram of %d bytes exceeds %d", len(b), maxDatagram))
	}
	p := getPacket(b)
	p.to = addr
	if err := w.out.offer(p); err != nil {
		return 0, opErr(err)
	}
	return len(b), nil
}

// Close discards the datagrams in flight, closes the wrapped connection
// and waits for the reading goroutine to stop.
func (w *WrappedConn) Close() error {
	err := error(&net.OpError{Op: "close", Net: w.pc.LocalAddr().Network(), Source: w.pc.LocalAddr(), Err: net.ErrClosed})
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		if w.out != nil {
			w.out.close()
		}
		err = w.pc.Close()
		if w.in != nil {
			<-w.readerDone
		}
	})
	return err
}

// LocalAddr returns the wrapped connection's address.
func (w *WrappedConn) LocalAddr() net.Addr { return w.pc.LocalAddr() }

// SetDeadline sets the read and write deadlines.
func (w *WrappedConn) SetDeadline(t time.Time) error {
	if err := w.SetReadDeadline(t); err != nil {
		return err
	}
	return w.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline: of the wrapper's receive queue
// with in impairments, of the wrapped connection otherwise.
func (w *WrappedConn) SetReadDeadline(t time.Time) error {
	if w.in == nil {
		return w.pc.SetReadDeadline(t)
	}
	if w.closed.Load() {
		return net.ErrClosed
	}
	w.inbox.rd.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline: the wrapper's with out
// impairments (WriteTo never blocks, so only a passed deadline matters),
// the wrapped connection's otherwise.
func (w *WrappedConn) SetWriteDeadline(t time.Time) error {
	if w.out == nil {
		return w.pc.SetWriteDeadline(t)
	}
	if w.closed.Load() {
		return net.ErrClosed
	}
	var ns int64
	if !t.IsZero() {
		ns = max(t.UnixNano(), 1)
	}
	w.wd.Store(ns)
	return nil
}

// Stats returns the counters of the out (written) and in (read)
// directions; a pass-through direction counts nothing.
func (w *WrappedConn) Stats() (out, in Stats) {
	if w.out != nil {
		out = w.out.snapshot()
	}
	if w.in != nil {
		in = w.in.snapshot()
	}
	return out, in
}
