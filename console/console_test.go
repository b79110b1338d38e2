package console_test

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tjunet/tjunet/console"
	"github.com/tjunet/tjunet/internal/testio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) } // the bar's goroutine ends with Stop

// A line printed while the bar runs comes out whole, the bar counts in SI
// units, and Stop leaves the finished bar on its own line.
func TestProgressAndLines(t *testing.T) {
	var out testio.Buffer
	c := console.New(&out)
	var n atomic.Int64
	p := c.StartProgress(true, 2e6, "sending", n.Load)
	n.Store(1e6)
	c.Printf("a log line %d", 1)
	time.Sleep(250 * time.Millisecond) // a refresh or two
	n.Store(2e6)
	p.Stop(true)
	p.Stop(true) // a second Stop does nothing
	s := out.String()
	if !strings.Contains(s, "a log line 1\n") {
		t.Errorf("the line is not whole in %q", s)
	}
	if !strings.Contains(s, "sending") || !strings.Contains(s, "2.0 MB") {
		t.Errorf("the bar lacks its description or its SI total: %q", s)
	}
	if !strings.HasSuffix(s, "\n") {
		t.Errorf("Stop left the cursor on the bar's line: %q", s)
	}
	after := len(s)
	c.Printf("after")
	if got := out.String()[after:]; got != "after\n" {
		t.Errorf("a line after Stop is %q, want only the line", got)
	}
}

// With the bar off, StartProgress returns nil and every method of a nil
// *Progress does nothing.
func TestProgressOff(t *testing.T) {
	var out testio.Buffer
	p := console.New(&out).StartProgress(false, 10, "x", func() int64 { return 0 })
	if p != nil {
		t.Fatalf("StartProgress(false) = %v, want nil", p)
	}
	p.FollowTotal(func() int64 { return 1 })
	p.SetTotal(5)
	p.Stop(true)
	if out.String() != "" {
		t.Errorf("a nil bar wrote %q", out.String())
	}
}

func TestMode(t *testing.T) {
	var m console.Mode
	if m.String() != "auto" || m.Enabled(&bytes.Buffer{}) {
		t.Errorf("unset: %s, enabled %v on a buffer; want auto, off (not a terminal)", m.String(), m.Enabled(&bytes.Buffer{}))
	}
	if err := m.Set("true"); err != nil || !m.Enabled(&bytes.Buffer{}) || m.String() != "true" {
		t.Errorf("--progress=true: %v, %s", err, m.String())
	}
	if err := m.Set("maybe"); err == nil || !strings.HasPrefix(err.Error(), "want ") {
		t.Errorf("Set(maybe) = %v, want a \"want ...\" error", err)
	}
}
