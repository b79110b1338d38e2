//go:build !linux

package sigchan

import (
	"errors"
	"time"

	"github.com/tjunet/tjunet/minitalk"
	"github.com/tjunet/tjunet/minitalk/driver"
)

var errUnsupported = errors.New("sigchan: only Linux is supported")

// Port is a process's end of the signal channel (Linux only).
type Port struct{}

// Open fails: only Linux is supported.
func Open(opt Options) (*Port, error) { return nil, errUnsupported }

// Send fails: only Linux is supported.
func (p *Port) Send(pid int, s minitalk.Symbol) error { return errUnsupported }

// Receive fails: only Linux is supported.
func (p *Port) Receive(timeout time.Duration) (driver.Signal, bool, error) {
	return driver.Signal{}, false, errUnsupported
}

// Status reports StatusGone: only Linux is supported.
func (p *Port) Status(pid int) driver.Status { return driver.StatusGone }

// Handles does not know: only Linux is supported.
func Handles(pid int) (handles, known bool) { return false, false }
