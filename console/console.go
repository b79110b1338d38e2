// Package console is a command's standard error shared by a progress bar
// (github.com/schollz/progressbar), log lines and periodic status lines:
// every write goes through one Console, a whole line at a time, and the
// bar is erased before a line is written and drawn again at its next
// refresh, so the output stays readable. Mode is the value of a
// --progress flag. Byte counts on the bar are SI (1 MB = 10^6 bytes), as
// package units prints them.
package console

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Console is a command's standard error, shared by the progress bar, log
// lines and --stats lines. Every write goes through it, one whole line at a
// time: the bar is erased before a line is written and drawn again at its
// next refresh, so the output stays readable.
type Console struct {
	mu  sync.Mutex
	w   io.Writer
	bar *progressbar.ProgressBar // the bar on screen, if any; guarded by mu
}

// New returns the Console of w (a command's standard error).
func New(w io.Writer) *Console { return &Console{w: w} }

// Write writes p, which should be whole lines, above the progress bar.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar != nil {
		c.bar.Clear()
	}
	return c.w.Write(p)
}

// Printf formats a line (a newline is added if missing) and writes it.
func (c *Console) Printf(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if len(s) == 0 || s[len(s)-1] != '\n' {
		s += "\n"
	}
	io.WriteString(c, s)
}

// Mode is the value of --progress: unset (draw a bar if stderr is a
// terminal), --progress (always) or --progress=false (never). It is a
// boolean flag.
type Mode struct{ set, on bool }

// IsBoolFlag lets the flag be given without a value (--progress).
func (m *Mode) IsBoolFlag() bool { return true }

// Type names the value in help.
func (m *Mode) Type() string { return "bool" }

// String returns "auto", "true" or "false".
func (m *Mode) String() string {
	if m == nil || !m.set {
		return "auto"
	}
	return strconv.FormatBool(m.on)
}

// Set reads true or false.
func (m *Mode) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*m = Mode{set: true, on: v}
	return nil
}

// Enabled reports whether to draw a bar on w.
func (m Mode) Enabled(w io.Writer) bool {
	if m.set {
		return m.on
	}
	return IsTerminal(w)
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Progress draws a bar for a transfer of total bytes (-1: unknown),
// refreshed ten times a second from count, until Stop. A nil *Progress
// does nothing, so callers need not check whether a bar is wanted.
type Progress struct {
	c     *Console
	bar   *progressbar.ProgressBar
	count func() int64
	total int64 // -1: unknown; guarded by c.mu
	// totalFn, if set, gives the total at each refresh; guarded by c.mu.
	totalFn func() int64
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// StartProgress starts a bar on c if on, or returns nil. desc names the
// bar ("sending"); count says how many bytes are done.
func (c *Console) StartProgress(on bool, total int64, desc string, count func() int64) *Progress {
	if !on {
		return nil
	}
	if total == 0 {
		total = -1
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(false), // SI, as every number tju prints: MB = 10^6 bytes
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetSpinnerChangeInterval(0), // no goroutine of its own: we refresh it
		progressbar.OptionThrottle(0),
	)
	p := &Progress{c: c, bar: bar, count: count, total: total, stop: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	c.bar = bar
	bar.RenderBlank()
	c.mu.Unlock()
	go p.loop()
	return p
}

func (p *Progress) loop() {
	defer close(p.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.c.mu.Lock()
			f := p.totalFn
			p.c.mu.Unlock()
			if f != nil {
				p.SetTotal(f())
			}
			p.c.mu.Lock()
			p.bar.Set64(p.count())
			p.c.mu.Unlock()
		}
	}
}

// FollowTotal makes the bar take its total from f, polled at each
// refresh, while f returns a negative number (unknown) the bar spins.
func (p *Progress) FollowTotal(f func() int64) {
	if p == nil {
		return
	}
	p.c.mu.Lock()
	p.totalFn = f
	p.c.mu.Unlock()
}

// SetTotal sets the size of the transfer once it is known (a receiver
// learns it from the sender); n < 0 leaves it unknown.
func (p *Progress) SetTotal(n int64) {
	if p == nil || n < 0 || n == p.loadTotal() {
		return
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.total = n
	if n == 0 {
		n = -1
	}
	p.bar.ChangeMax64(n)
}

func (p *Progress) loadTotal() int64 {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.total
}

// Stop draws the bar a last time and leaves it on its own line (complete
// if ok), so that what follows is printed below it.
func (p *Progress) Stop(ok bool) {
	if p == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		p.c.mu.Lock()
		defer p.c.mu.Unlock()
		n := p.count()
		if ok && p.total > 0 && n >= p.total {
			p.bar.Finish()
		} else {
			p.bar.Set64(n)
			p.bar.Exit() // also ends a spinner
		}
		io.WriteString(p.c.w, "\n")
		p.c.bar = nil
	})
}
