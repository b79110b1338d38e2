package tju

import (
	"container/heap"
	"sync"
	"time"
)

// timerQueue is the endpoint's one timer structure: a min-heap of
// connections by their next deadline, served by one goroutine and one
// time.Timer, whatever the number of connections. Deadlines are kept lazily:
// a later deadline does not move a connection down the heap; it is simply
// woken early, finds nothing due and is rescheduled.
type timerQueue struct {
	mu   sync.Mutex
	h    connHeap
	wake chan struct{}
}

type connHeap []*Conn

func (h connHeap) Len() int           { return len(h) }
func (h connHeap) Less(i, j int) bool { return h[i].tAt < h[j].tAt }
func (h connHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].tIdx, h[j].tIdx = i, j
}
func (h *connHeap) Push(x any) {
	c := x.(*Conn)
	c.tIdx = len(*h)
	*h = append(*h, c)
}
func (h *connHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.tIdx = -1
	return c
}

// schedule asks for c's timers to run at d (0: never).
func (q *timerQueue) schedule(c *Conn, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case d == 0:
		if c.tIdx >= 0 {
			heap.Remove(&q.h, c.tIdx)
		}
		return
	case c.tIdx < 0:
		c.tAt = d
		heap.Push(&q.h, c)
	case d < c.tAt:
		c.tAt = d
		heap.Fix(&q.h, c.tIdx)
	default:
		return
	}
	if c.tIdx == 0 {
		signal(q.wake)
	}
}

// run serves the queue until done is closed.
func (q *timerQueue) run(now func() time.Duration, done <-chan struct{}) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []*Conn
	for {
		q.mu.Lock()
		n := now()
		due = due[:0]
		for len(q.h) > 0 && q.h[0].tAt <= n {
			due = append(due, heap.Pop(&q.h).(*Conn))
		}
		wait := time.Duration(-1)
		if len(q.h) > 0 {
			wait = q.h[0].tAt - n
		}
		q.mu.Unlock()
		for i, c := range due {
			c.onTimer()
			due[i] = nil
		}
		if len(due) > 0 {
			continue
		}
		if wait < 0 {
			wait = time.Hour
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-q.wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-done:
			return
		}
	}
}
