package tju

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/tjunet/tjunet/internal/tcb"
)

// Errors that end a connection. Each matches the corresponding errno with
// errors.Is (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ECONNABORTED), and
// ErrConnTimeout is a net.Error whose Timeout method reports true.
var (
	// ErrConnRefused: the peer answered the SYN with a reset: nobody
	// listens on that TJU port.
	ErrConnRefused error = &connError{"connection refused", syscall.ECONNREFUSED}
	// ErrConnReset: the peer reset the connection.
	ErrConnReset error = &connError{"connection reset by peer", syscall.ECONNRESET}
	// ErrConnTimeout: the peer stopped answering (SYN or data
	// retransmissions ran out).
	ErrConnTimeout error = &connError{"connection timed out", syscall.ETIMEDOUT}
	// ErrConnAborted: the connection was aborted locally (Abort, or its
	// endpoint closed).
	ErrConnAborted error = &connError{"connection aborted", syscall.ECONNABORTED}
)

type connError struct {
	msg   string
	errno syscall.Errno
}

func (e *connError) Error() string        { return "tju: " + e.msg }
func (e *connError) Is(target error) bool { return target == e.errno }
func (e *connError) Timeout() bool        { return e.errno == syscall.ETIMEDOUT }
func (e *connError) Temporary() bool      { return false }

var _ net.Error = (*connError)(nil)

// fromEngine maps an engine error to the public one.
func fromEngine(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tcb.ErrRefused):
		return ErrConnRefused
	case errors.Is(err, tcb.ErrReset):
		return ErrConnReset
	case errors.Is(err, tcb.ErrTimeout):
		return ErrConnTimeout
	case errors.Is(err, tcb.ErrAborted):
		return ErrConnAborted
	}
	return err
}

// errDeadline is returned when a deadline passes: os.ErrDeadlineExceeded,
// a net.Error whose Timeout method reports true.
var errDeadline = os.ErrDeadlineExceeded
