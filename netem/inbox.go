package netem

import (
	"net"
	"os"
	"sync"
	"time"
)

// DefaultReadBuffer is the default bound, in bytes of payload, of an
// endpoint's receive queue, like a socket's receive buffer: datagrams
// arriving when it is full are dropped and counted in Stats.RecvDropped.
const DefaultReadBuffer = 4 << 20

// inbox is an endpoint's receive queue. Readers block on channels only, so
// a goroutine waiting in ReadFrom is durably blocked under testing/synctest.
type inbox struct {
	mu     sync.Mutex
	q      ring[*packet]
	bytes  int
	limit  int
	closed bool
	err    error         // returned by pop once closed; nil means net.ErrClosed
	notify chan struct{} // capacity 1: "the queue may be non-empty"
	done   chan struct{} // closed by close
	rd     deadline
}

func newInbox() *inbox {
	return &inbox{
		limit:  DefaultReadBuffer,
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
		rd:     makeDeadline(),
	}
}

// push queues p and reports whether it was accepted; if not, p is freed.
func (ib *inbox) push(p *packet) bool {
	ib.mu.Lock()
	if ib.closed || ib.bytes+p.n > ib.limit {
		ib.mu.Unlock()
		p.free()
		return false
	}
	ib.q.push(p)
	ib.bytes += p.n
	ib.mu.Unlock()
	select {
	case ib.notify <- struct{}{}:
	default:
	}
	return true
}

// setLimit changes the receive buffer bound.
func (ib *inbox) setLimit(bytes int) {
	ib.mu.Lock()
	ib.limit = bytes
	ib.mu.Unlock()
}

// pop blocks until a packet is queued, the read deadline passes
// (os.ErrDeadlineExceeded) or the inbox is closed (net.ErrClosed). The
// caller owns the returned packet.
func (ib *inbox) pop() (*packet, error) {
	for {
		select {
		case <-ib.rd.wait():
			return nil, os.ErrDeadlineExceeded
		default:
		}
		ib.mu.Lock()
		if ib.closed {
			err := ib.err
			ib.mu.Unlock()
			if err == nil {
				err = net.ErrClosed
			}
			return nil, err
		}
		if ib.q.len() > 0 {
			p := ib.q.pop()
			ib.bytes -= p.n
			more := ib.q.len() > 0
			ib.mu.Unlock()
			if more { // wake the next reader, if any
				select {
				case ib.notify <- struct{}{}:
				default:
				}
			}
			return p, nil
		}
		ib.mu.Unlock()
		select {
		case <-ib.notify:
		case <-ib.done:
		case <-ib.rd.wait():
		}
	}
}

// close wakes the readers and discards the queue. Readers then get err,
// or net.ErrClosed if err is nil.
func (ib *inbox) close(err error) {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if ib.closed {
		return
	}
	ib.closed, ib.err = true, err
	close(ib.done)
	for ib.q.len() > 0 {
		ib.q.pop().free()
	}
	ib.bytes = 0
	ib.rd.set(time.Time{})
}

// deadline is a settable deadline whose wait channel is closed when it
// passes. It uses a time.AfterFunc timer, so it follows the fake clock
// under testing/synctest.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline has passed
}

func makeDeadline() deadline { return deadline{cancel: make(chan struct{})} }

// set arms the deadline for t; the zero t means none. A t in the past
// expires it at once.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the callback has run or is closing cancel
	}
	d.timer = nil
	expired := isClosed(d.cancel)
	if t.IsZero() {
		if expired {
			d.cancel = make(chan struct{})
		}
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		if !expired {
			close(d.cancel)
		}
		return
	}
	if expired {
		d.cancel = make(chan struct{})
	}
	cancel := d.cancel
	d.timer = time.AfterFunc(dur, func() { close(cancel) })
}

// wait returns a channel closed once the deadline has passed.
func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// queued returns the number of datagrams waiting to be read.
func (ib *inbox) queued() int {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return ib.q.len()
}
