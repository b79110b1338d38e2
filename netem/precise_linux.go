package netem

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// preciseTimer is a Timer that fires within tens of microseconds of
// its time: its goroutine sleeps on a thread of its own with
// clock_nanosleep, instead of in Go's poller, which while the process
// idles rounds a sleep up to the next millisecond (a packet due in 100 µs
// would leave after 1 ms, with the eight after it). It sleeps at most
// maxNap at a time, so an earlier Reset is seen that soon.
type preciseTimer struct {
	mu      sync.Mutex
	due     time.Time // zero: not armed
	stopped bool
	f       func()
	wake    chan struct{}
}

const maxNap = time.Millisecond

// PreciseAfterFunc is time.AfterFunc with a timer that fires within tens
// of microseconds of its time, for Network.SetTimers in real time: on
// Linux its goroutine sleeps with clock_nanosleep on a thread of its own
// (Go's own timers fire up to 1 ms late while the process idles). Its
// Stop ends it for good. It must not be used under testing/synctest,
// whose fake clock it does not follow.
func PreciseAfterFunc(d time.Duration, f func()) Timer {
	t := &preciseTimer{f: f, wake: make(chan struct{}, 1)}
	t.Reset(d)
	go t.run()
	return t
}

// Reset arms the timer to fire d from now; it reports whether it was
// armed.
func (t *preciseTimer) Reset(d time.Duration) bool {
	t.mu.Lock()
	armed := !t.due.IsZero()
	t.due = time.Now().Add(d)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return armed
}

// Stop ends the timer for good; it reports whether it was armed.
func (t *preciseTimer) Stop() bool {
	t.mu.Lock()
	armed := !t.due.IsZero()
	t.due, t.stopped = time.Time{}, true
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return armed
}

func (t *preciseTimer) run() {
	// Its sleeps block this thread, not a P. The thread's timer slack
	// goes from Linux's default 50 µs to 1 ns, so a sleep ends sooner
	// after its time (BenchmarkTimerLateness measures it). The thread
	// stays locked: it ends with the goroutine and never serves another
	// with the changed slack.
	runtime.LockOSThread()
	unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	for {
		t.mu.Lock()
		due, stopped := t.due, t.stopped
		t.mu.Unlock()
		switch {
		case stopped:
			return
		case due.IsZero():
			<-t.wake
			continue
		}
		if wait := time.Until(due); wait > 0 {
			ts := unix.NsecToTimespec(int64(min(wait, maxNap)))
			unix.Nanosleep(&ts, nil)
			continue
		}
		t.mu.Lock()
		fire := t.due.Equal(due) && !t.stopped
		if fire {
			t.due = time.Time{}
		}
		t.mu.Unlock()
		if fire {
			t.f()
		}
	}
}
