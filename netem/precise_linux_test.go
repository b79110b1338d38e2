package netem

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestPreciseTimer checks the timer's contract (it fires once per Reset,
// not after Stop, and its goroutine ends with Stop; the package's leak
// check sees that) and that it fires after its time, never before. It
// runs in real time: the precise timer is for real time.
func TestPreciseTimer(t *testing.T) {
	fired := make(chan time.Time, 10)
	var n atomic.Int32
	start := time.Now()
	tm := PreciseAfterFunc(2*time.Millisecond, func() { n.Add(1); fired <- time.Now() })
	at := <-fired
	if at.Sub(start) < 2*time.Millisecond {
		t.Errorf("fired after %v, before its 2 ms", at.Sub(start))
	}
	if tm.Reset(time.Millisecond) {
		t.Error("Reset after firing says the timer was armed")
	}
	start = time.Now()
	if at := <-fired; at.Sub(start) < time.Millisecond {
		t.Errorf("fired %v after Reset(1ms)", at.Sub(start))
	}
	tm.Reset(time.Hour)
	if !tm.Stop() {
		t.Error("Stop of an armed timer says it was not")
	}
	time.Sleep(5 * time.Millisecond)
	if got := n.Load(); got != 2 {
		t.Errorf("fired %d times, want 2", got)
	}
}

// BenchmarkTimerLateness measures how late a timer armed for 200 µs
// fires, for PreciseAfterFunc and, as the baseline, time.AfterFunc; the
// figure is the mean lateness (late-µs/op).
func BenchmarkTimerLateness(b *testing.B) {
	for _, tc := range []struct {
		name string
		new  func(time.Duration, func()) Timer
	}{
		{"precise", PreciseAfterFunc},
		{"time.AfterFunc", func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const d = 200 * time.Microsecond
			fired := make(chan time.Time, 1)
			tm := tc.new(time.Hour, func() { fired <- time.Now() })
			defer tm.Stop()
			var late time.Duration
			for b.Loop() {
				start := time.Now()
				tm.Reset(d)
				late += (<-fired).Sub(start) - d
			}
			b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs/op")
		})
	}
}
