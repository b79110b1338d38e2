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
	// ErrConnRefused: the peer answered the SYN with a reset (nobody
	// listens on that TJU port), or the kernel reported an ICMP port
	// unreachable for its UDP port (nothing listens there: see
	// Endpoint for when such reports are believed).
	ErrConnRefused error = &connError{msg: "connection refused", errno: syscall.ECONNREFUSED}
	// ErrConnReset: the peer reset the connection.
	ErrConnReset error = &connError{msg: "connection reset by peer", errno: syscall.ECONNRESET}
	// ErrConnTimeout: the peer stopped answering: SYN or data
	// retransmissions, keep-alive probes or Config.UserTimeout ran out.
	// The error a connection returns says which and for how long, and
	// matches ErrConnTimeout with errors.Is.
	ErrConnTimeout error = &connError{msg: "connection timed out", errno: syscall.ETIMEDOUT}
	// ErrConnAborted: the connection was aborted locally (Abort, or its
	// endpoint closed).
	ErrConnAborted error = &connError{msg: "connection aborted", errno: syscall.ECONNABORTED}
)

// ErrPortUnreachable ends a connection, or fails a Dial, when the kernel
// reports an ICMP port unreachable that quotes one of its segments:
// nothing listens on the peer's UDP port (Linux only; see Endpoint). It
// matches ErrConnRefused and ECONNREFUSED with errors.Is.
var ErrPortUnreachable error = &connError{
	msg: tcb.ErrUnreachable.Error(), errno: syscall.ECONNREFUSED, kind: ErrConnRefused,
}

type connError struct {
	msg   string
	errno syscall.Errno
	kind  error // the exported error this one is a case of, or nil
}

func (e *connError) Error() string { return "tju: " + e.msg }
func (e *connError) Is(target error) bool {
	return target == e.errno || (e.kind != nil && target == e.kind)
}
func (e *connError) Timeout() bool   { return e.errno == syscall.ETIMEDOUT }
func (e *connError) Temporary() bool { return false }

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
	case errors.Is(err, tcb.ErrUnreachable):
		return ErrPortUnreachable
	case errors.Is(err, tcb.ErrTimeout):
		var te *tcb.TimeoutError
		if errors.As(err, &te) {
			return &connError{msg: te.Error(), errno: syscall.ETIMEDOUT, kind: ErrConnTimeout}
		}
		return ErrConnTimeout
	case errors.Is(err, tcb.ErrAborted):
		return ErrConnAborted
	}
	return err
}

// errDeadline is returned when a deadline passes: os.ErrDeadlineExceeded,
// a net.Error whose Timeout method reports true.
var errDeadline = os.ErrDeadlineExceeded
