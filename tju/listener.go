package tju

import (
	"context"
	"net"
	"sync"

	"github.com/tjunet/tjunet/internal/tcb"
	"github.com/tjunet/tjunet/internal/wire"
)

// Listener accepts TJU connections on one TJU port of an endpoint. It keeps
// the lab's two queues: half-open connections (SYN received, SYN-ACK sent)
// and established connections waiting for Accept, each bounded by
// Config.Backlog. When the half-open queue is full, SYNs are answered with
// SYN cookies and cost no memory. It implements net.Listener.
type Listener struct {
	e       *Endpoint
	port    uint16
	accept  chan *Conn // the full-connection (accept) queue
	backlog int

	mu       sync.Mutex
	halfOpen int // the half-connection (SYN) queue's length
	closed   bool
	done     chan struct{}
	once     sync.Once
}

// onSYN handles a SYN for this listener (called by the endpoint's reader).
func (l *Listener) onSYN(s *wire.Segment, key connKey, b *segRun) {
	e := l.e
	// Room: at most backlog half-open entries, and none while the accept
	// queue holds backlog connections (the application is not keeping up).
	// Both bounds together keep halfOpen + len(accept) within the accept
	// channel's capacity, 2*backlog, so enqueue never blocks.
	l.mu.Lock()
	if l.closed || len(l.accept) >= l.backlog {
		l.mu.Unlock()
		e.stats.acceptOverflows.Add(1)
		return // dropped: the client's retransmitted SYN gets in later
	}
	if l.halfOpen >= l.backlog {
		l.mu.Unlock()
		l.sendCookie(s, key, b) // a flood, or a burst of clients: keep no state
		return
	}
	l.halfOpen++
	l.mu.Unlock()

	c := e.newConn(key, l)
	now := e.now()
	cfg := e.connConfig(key, e.cfg.isn())
	// A half-open entry holds its place for at most 1+2+4+8 s (with the
	// default initial RTO), not the minute a client's SYN retries take.
	cfg.SynRetries = min(cfg.SynRetries, maxSynAckRetries)
	c.tcb = tcb.NewPassive(cfg, s, now)
	// Register the child before its SYN-ACK goes out (lab rule).
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		l.halfOpenDone()
		return
	}
	e.conns[key] = c
	e.mu.Unlock()
	c.mu.Lock()
	c.state = StateSynRecv
	c.afterLocked(now)
	c.mu.Unlock()
}

// maxSynAckRetries bounds the SYN-ACK retransmissions of a half-open
// connection.
const maxSynAckRetries = 3

// enqueue moves an established child from the SYN queue to the accept
// queue; there is always room, because the SYN reserved it.
func (l *Listener) enqueue(c *Conn) {
	l.mu.Lock()
	l.halfOpen--
	closed := l.closed
	if !closed {
		l.accept <- c
	}
	l.mu.Unlock()
	if closed {
		go c.abort()
	}
}

func (l *Listener) halfOpenDone() {
	l.mu.Lock()
	l.halfOpen--
	l.mu.Unlock()
}

// Accept waits for and returns the next connection.
func (l *Listener) Accept() (net.Conn, error) { return l.AcceptTJU(context.Background()) }

// AcceptTJU waits for the next connection until ctx ends.
func (l *Listener) AcceptTJU(ctx context.Context) (*Conn, error) {
	select {
	case c := <-l.accept:
		c.mu.Lock()
		c.l = nil
		c.mu.Unlock()
		return c, nil
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: "tju", Addr: l.Addr(), Err: net.ErrClosed}
	case <-ctx.Done():
		return nil, &net.OpError{Op: "accept", Net: "tju", Addr: l.Addr(), Err: ctx.Err()}
	}
}

// Close stops listening. Connections already accepted are not affected;
// those still queued are reset.
func (l *Listener) Close() error {
	if !l.close() {
		return &net.OpError{Op: "close", Net: "tju", Addr: l.Addr(), Err: net.ErrClosed}
	}
	go l.e.releaseIfUnused()
	return nil
}

func (l *Listener) close() bool {
	first := false
	l.once.Do(func() {
		first = true
		l.mu.Lock()
		l.closed = true
		close(l.done)
		l.mu.Unlock()
		e := l.e
		e.mu.Lock()
		if e.listeners[l.port] == l {
			delete(e.listeners, l.port)
		}
		all := make([]*Conn, 0, len(e.conns))
		for _, c := range e.conns {
			all = append(all, c)
		}
		e.mu.Unlock()
		for {
			select {
			case c := <-l.accept:
				c.abort()
				continue
			default:
			}
			break
		}
		for _, c := range all {
			c.mu.Lock()
			pending := c.l == l && !c.wasEstab // still in the SYN queue
			c.mu.Unlock()
			if pending {
				c.abort()
			}
		}
	})
	return first
}

// Addr returns the endpoint's UDP address and the listening TJU port.
func (l *Listener) Addr() net.Addr { return &Addr{UDP: l.e.udpAddr(), Port: l.port} }

// Endpoint returns the endpoint the listener belongs to.
func (l *Listener) Endpoint() *Endpoint { return l.e }

var _ net.Listener = (*Listener)(nil)
