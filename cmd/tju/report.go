package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tjunet/tjunet/console"
	"github.com/tjunet/tjunet/tju"
)

// connSet holds the connections a command is running, for --stats and
// --metrics. It is safe for concurrent use.
type connSet struct {
	mu    sync.Mutex
	conns map[*tju.Conn]struct{}
	order []*tju.Conn
	seen  atomic.Int64
}

func (s *connSet) add(c *tju.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		s.conns = make(map[*tju.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	s.order = append(s.order, c)
	s.seen.Add(1)
}

func (s *connSet) remove(c *tju.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	for i, x := range s.order {
		if x == c {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// list returns the connections in the order they were added.
func (s *connSet) list() []*tju.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*tju.Conn(nil), s.order...)
}

// startStats prints the Info of each connection in set on con every
// interval, until ctx ends or the returned stop function is called. It
// does nothing if interval is 0.
func startStats(ctx context.Context, con *console.Console, interval time.Duration, set *connSet) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	format := "[%6.1fs] %s %s"
	if interval < time.Second {
		format = "[%7.2fs] %s %s"
	}
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				el := time.Since(start).Seconds()
				for _, c := range set.list() {
					con.Printf(format, el, c, c.Info().Summary())
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
