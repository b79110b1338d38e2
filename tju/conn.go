package tju

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/tjunet/tjunet/internal/tcb"
)

// Conn is a TJU connection: a reliable, ordered byte stream. It implements
// net.Conn, with deadlines, plus CloseWrite (half-close) and Info.
//
// A Conn is safe for concurrent use by multiple goroutines, with the same
// rules as the standard library's connections:
//   - Write is atomic: the bytes of one call are sent contiguously, never
//     interleaved with those of another Write. Concurrent Writes are
//     served one at a time; a Write waiting its turn is bound by the same
//     write deadline as the one in progress, and by Close.
//   - Reads are served one at a time too; each returns the next bytes of
//     the stream, so two concurrent readers see disjoint parts of it.
//   - Close, Abort, CloseWrite, the Set*Deadline methods, Info and Done
//     may be called at any time, from any goroutine, and never wait for a
//     Read or Write in progress: Close and Abort make every blocked and
//     waiting Read and Write return net.ErrClosed (with the bytes a
//     Write had already queued counted in its result).
type Conn struct {
	e   *Endpoint
	key connKey
	l   *Listener // the listener of a passive open, until accepted

	// rlock and wlock serialize Read and Write calls: one-slot semaphores
	// taken before mu and held for a whole call, so that a Write's bytes
	// stay together. Channels rather than mutexes, so that a call waiting
	// its turn still honours its deadline and Close.
	rlock, wlock chan struct{}
	// shut is closed by Close and Abort, so that every waiting Read and
	// Write returns (a signal on readWake or writeWake wakes only one).
	shut chan struct{}

	mu          sync.Mutex
	tcb         *tcb.TCB
	userClosed  bool
	wasEstab    bool
	finished    bool
	state       State
	established chan struct{} // closed once ESTABLISHED or closed
	closed      chan struct{} // closed when the connection is gone
	readWake    chan struct{}
	writeWake   chan struct{}
	rdl, wdl    *deadline

	// Guarded by the endpoint's timer queue lock.
	tAt  time.Duration
	tIdx int
}

func (e *Endpoint) newConn(key connKey, l *Listener) *Conn {
	return &Conn{
		e: e, key: key, l: l, tIdx: -1,
		established: make(chan struct{}),
		closed:      make(chan struct{}),
		shut:        make(chan struct{}),
		rlock:       make(chan struct{}, 1),
		wlock:       make(chan struct{}, 1),
		readWake:    make(chan struct{}, 1),
		writeWake:   make(chan struct{}, 1),
		rdl:         newDeadline(),
		wdl:         newDeadline(),
	}
}

func newActive(cfg *Config, c *Conn, now time.Duration, epoch int64) *tcb.TCB {
	return tcb.NewActive(c.e.connConfig(c.key, cfg.isn()), now)
}

func (c *Conn) onTimer() {
	c.mu.Lock()
	now := c.e.now()
	c.tcb.OnTimer(now)
	c.afterLocked(now)
	c.mu.Unlock()
}

// afterLocked sends what the engine has to send, wakes waiters, follows
// state changes and reschedules the timer. c.mu must be held.
func (c *Conn) afterLocked(now time.Duration) {
	t := c.tcb
	c.e.transmit(c, now)
	if t.TakeStateChange() {
		c.stateChanged()
	}
	t.Trim() // a closed connection, or one in TIME_WAIT, keeps no buffers
	if t.Readable() > 0 || t.EOF() || c.finished {
		signal(c.readWake)
	}
	if t.Writable() > 0 || t.WriteClosed() || c.finished {
		signal(c.writeWake)
	}
	if !c.finished {
		c.e.timers.schedule(c, t.NextDeadline())
	}
}

func (c *Conn) stateChanged() {
	old, s := c.state, State(c.tcb.State())
	c.state = s
	if lg := c.e.cfg.Logger; lg != nil {
		lg.Debug("tju: state", slog.String("conn", c.String()), slog.String("from", old.String()),
			slog.String("to", s.String()), slog.Any("err", c.tcb.Err()))
	}
	if !c.wasEstab && s >= StateEstablished {
		c.wasEstab = true
		c.e.stats.connsOpened.Add(1)
		close(c.established)
		if c.l != nil {
			c.l.enqueue(c)
		}
	}
	if s == StateClosed && !c.finished {
		c.finished = true
		if !c.wasEstab {
			close(c.established)
			if c.l != nil {
				c.l.halfOpenDone()
			}
		}
		close(c.closed)
		c.e.remove(c)
		go c.e.releaseIfUnused()
	}
}

// String describes the connection for logs: "local -> remote".
func (c *Conn) String() string {
	return c.LocalAddr().String() + " -> " + c.RemoteAddr().String()
}

// abort resets the connection and forgets it.
func (c *Conn) abort() {
	c.mu.Lock()
	c.tcb.Abort()
	c.afterLocked(c.e.now())
	c.mu.Unlock()
}

// Abort resets the connection at once: unsent data is discarded and the
// peer, if it understands resets, is told. Pending reads and writes fail.
func (c *Conn) Abort() error {
	c.mu.Lock()
	closed := c.userClosed
	c.userClosed = true
	c.mu.Unlock()
	if closed {
		return &net.OpError{Op: "abort", Net: "tju", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: net.ErrClosed}
	}
	close(c.shut)
	c.abort()
	return nil
}

// Read reads received bytes into p. It returns io.EOF after the peer
// closed its side and every byte was read.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.take(c.rlock, c.rdl); err != nil {
		return 0, c.opError("read", err)
	}
	defer func() { <-c.rlock }()
	for {
		c.mu.Lock()
		if c.userClosed {
			c.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		}
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		if isClosed(c.rdl.wait()) { // an expired deadline fails at once (net.Conn)
			c.mu.Unlock()
			return 0, c.opError("read", errDeadline)
		}
		if n := c.tcb.Read(p); n > 0 {
			c.afterLocked(c.e.now())
			c.mu.Unlock()
			return n, nil
		}
		if c.tcb.EOF() {
			c.mu.Unlock()
			return 0, io.EOF
		}
		if c.finished {
			err := fromEngine(c.tcb.Err())
			c.mu.Unlock()
			if err == nil {
				return 0, io.EOF
			}
			return 0, c.opError("read", err)
		}
		c.mu.Unlock()
		select {
		case <-c.readWake:
		case <-c.shut:
		case <-c.closed:
		case <-c.rdl.wait():
			return 0, c.opError("read", errDeadline)
		}
	}
}

// Write writes p to the connection, blocking until every byte is in the
// send buffer (or the write deadline passes, or the connection fails).
// The bytes of one Write are never interleaved with another's: concurrent
// calls take turns, each holding the connection's write side until it
// returns. On error, n counts the bytes already queued for the peer.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.take(c.wlock, c.wdl); err != nil {
		return 0, c.opError("write", err)
	}
	defer func() { <-c.wlock }()
	written := 0
	for {
		c.mu.Lock()
		if c.userClosed {
			c.mu.Unlock()
			return written, c.opError("write", net.ErrClosed)
		}
		if c.finished {
			err := fromEngine(c.tcb.Err())
			if err == nil {
				err = net.ErrClosed
			}
			c.mu.Unlock()
			return written, c.opError("write", err)
		}
		if c.tcb.WriteClosed() {
			c.mu.Unlock()
			return written, c.opError("write", errWriteClosed)
		}
		if isClosed(c.wdl.wait()) { // an expired deadline fails at once (net.Conn)
			c.mu.Unlock()
			return written, c.opError("write", errDeadline)
		}
		if n := c.tcb.Write(p[written:]); n > 0 {
			written += n
			c.afterLocked(c.e.now())
		}
		if written == len(p) {
			c.mu.Unlock()
			return written, nil
		}
		c.mu.Unlock()
		select {
		case <-c.writeWake:
		case <-c.shut:
		case <-c.closed:
		case <-c.wdl.wait():
			return written, c.opError("write", errDeadline)
		}
	}
}

var errWriteClosed = errors.New("write after CloseWrite")

// take waits for the one-slot semaphore sem (rlock or wlock) until the
// deadline d passes or the connection is closed by the application.
func (c *Conn) take(sem chan struct{}, d *deadline) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case sem <- struct{}{}:
		return nil
	case <-c.shut:
		return net.ErrClosed
	case <-d.wait():
		return errDeadline
	}
}

// Close closes the connection. Data already written is still delivered,
// followed by a FIN; Close does not wait for that: the endpoint finishes
// the teardown (and TIME_WAIT) in the background. Blocked Read and Write
// calls return net.ErrClosed.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.userClosed {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.userClosed = true
	close(c.shut)
	now := c.e.now()
	c.tcb.Close(now)
	c.afterLocked(now)
	c.mu.Unlock()
	return nil
}

// CloseWrite shuts down the sending side (half-close): written data is
// delivered, then a FIN; reading goes on until the peer closes.
func (c *Conn) CloseWrite() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.userClosed {
		return c.opError("close", net.ErrClosed)
	}
	now := c.e.now()
	c.tcb.CloseWrite()
	c.afterLocked(now)
	return nil
}

// Info returns a snapshot of the connection's state and counters.
func (c *Conn) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return infoFrom(c.tcb.Info())
}

// Done returns a channel that is closed when the connection is gone
// (teardown complete, reset, or timed out).
func (c *Conn) Done() <-chan struct{} { return c.closed }

// LocalAddr returns the local endpoint's UDP address and TJU port.
func (c *Conn) LocalAddr() net.Addr { return &Addr{UDP: c.e.udpAddr(), Port: c.key.local} }

// RemoteAddr returns the peer's UDP address and TJU port.
func (c *Conn) RemoteAddr() net.Addr { return &Addr{UDP: c.key.peer, Port: c.key.remote} }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the deadline for Read calls; zero means none.
func (c *Conn) SetReadDeadline(t time.Time) error { c.rdl.set(t); return nil }

// SetWriteDeadline sets the deadline for Write calls; zero means none.
func (c *Conn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tju", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

var _ net.Conn = (*Conn)(nil)
