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
// and established connections waiting for Accept, bounded together by
// Config.Backlog. It implements net.Listener.
type Listener struct {
	e      *Endpoint
	port   uint16
	accept chan *Conn // the full-connection (accept) queue

	mu       sync.Mutex
	halfOpen int // the half-connection (SYN) queue's length
	closed   bool
	done     chan struct{}
	once     sync.Once
}

// onSYN handles a SYN for this listener (called by the endpoint's reader).
func (l *Listener) onSYN(s *wire.Segment, key connKey) {
	e := l.e
	l.mu.Lock()
	if l.closed || l.halfOpen+len(l.accept) >= cap(l.accept) {
		l.mu.Unlock()
		e.stats.acceptOverflows.Add(1)
		return // dropped: the client's retransmitted SYN gets in later
	}
	l.halfOpen++
	l.mu.Unlock()

	c := e.newConn(key, l)
	now := e.now()
	c.tcb = tcb.NewPassive(e.connConfig(key, e.cfg.isn()), s, now)
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
