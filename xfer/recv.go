package xfer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// ReceiveOptions configure a Receiver.
type ReceiveOptions struct {
	// Framed says the peer may be a tjunet sender (the connection
	// negotiated tjunet's header extensions): the receiver looks for the
	// framing preamble and, if the stream does not start with it, takes
	// the stream as raw data.
	Framed bool

	// Code is the code phrase the sender must know (--code). A sender
	// without it is refused.
	Code string

	// Accept, if set, is called once the data is complete (framed: its
	// SHA-256 matched), before the sender is told. An error from it, such
	// as a failed rename, fails the transfer with an *OutputError and the
	// sender hears that the receiver could not store the data.
	Accept func() error

	// HandshakeTimeout bounds each wait for the sender before the data
	// flows (default 30s).
	HandshakeTimeout time.Duration
}

// A Receiver receives one transfer from a connection into an Output.
type Receiver struct {
	conn net.Conn
	out  *Output
	opt  ReceiveOptions
	n    atomic.Int64 // data bytes received over the connection
	size atomic.Int64 // announced size, -1 if unknown
	tc   *tls.Conn
}

// NewReceiver returns a receiver from conn, usually a *tju.Conn, into out.
func NewReceiver(conn net.Conn, out *Output, opt ReceiveOptions) *Receiver {
	if opt.HandshakeTimeout <= 0 {
		opt.HandshakeTimeout = 30 * time.Second
	}
	r := &Receiver{conn: conn, out: out, opt: opt}
	r.size.Store(-1)
	return r
}

// Received returns the data bytes received so far over the connection
// (not counting those resumed). It is safe to call while Run runs.
func (r *Receiver) Received() int64 { return r.n.Load() }

// Size returns the size the sender announced, the resumed bytes
// included, or -1 if it did not.
func (r *Receiver) Size() int64 { return r.size.Load() }

// Run receives until the transfer is complete. It does not close the
// connection nor commit the output: the caller does both (Accept may
// commit). The caller aborts the connection to stop Run early; ctx only
// bounds the TLS handshake.
func (r *Receiver) Run(ctx context.Context) (*Result, error) {
	if !r.opt.Framed && r.opt.Code == "" {
		if r.out.Offset() > 0 {
			return nil, ErrCannotResume
		}
		return r.runRaw(nil)
	}
	var hello [magicLen]byte
	n, err := io.ReadFull(r.conn, hello[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("reading the transfer preamble: %w", err)
	}
	var rw io.ReadWriter = r.conn
	res := &Result{}
	switch m := string(hello[:n]); {
	case m == magicCode:
		if r.opt.Code == "" {
			r.conn.Write([]byte{'N'})
			return nil, ErrPeerWantsCode
		}
		if _, err := r.conn.Write([]byte{'Y'}); err != nil {
			return nil, fmt.Errorf("answering the code preamble: %w", err)
		}
		tc, err := serverHandshake(ctx, r.conn, r.opt.Code, r.opt.HandshakeTimeout)
		if err != nil {
			return nil, err
		}
		r.tc, rw, res.Encrypted = tc, tc, true
		r.conn.SetReadDeadline(time.Now().Add(r.opt.HandshakeTimeout))
		err = readFull(tc, hello[:], "transfer preamble")
		r.conn.SetReadDeadline(time.Time{})
		if err != nil {
			return nil, err
		}
		if string(hello[:]) != magicPlain {
			return nil, fmt.Errorf("%w: no preamble inside TLS", ErrMalformed)
		}
	case m == magicPlain:
		if r.opt.Code != "" {
			r.refuseNoCode()
			return nil, ErrPeerHasNoCode
		}
	default:
		if r.opt.Code != "" {
			return nil, ErrPeerHasNoCode
		}
		if r.out.Offset() > 0 {
			return nil, ErrCannotResume
		}
		return r.runRaw(hello[:n]) // not a tjunet sender: raw data
	}
	return r.runFramed(rw, res)
}

// refuseNoCode answers a clear-text header with "a code is required".
func (r *Receiver) refuseNoCode() {
	var size [8]byte
	r.conn.SetReadDeadline(time.Now().Add(r.opt.HandshakeTimeout))
	io.ReadFull(r.conn, size[:])
	r.conn.SetReadDeadline(time.Time{})
	var reply [1 + 8 + sha256.Size]byte
	reply[0] = statusNeedCode
	r.conn.Write(reply[:])
}

// runFramed runs the framed protocol after the preamble.
func (r *Receiver) runFramed(rw io.ReadWriter, res *Result) (*Result, error) {
	res.Framed = true
	var size [8]byte
	if err := readFull(rw, size[:], "transfer header"); err != nil {
		return nil, err
	}
	if s := int64(binary.BigEndian.Uint64(size[:])); s >= 0 {
		r.size.Store(s)
	}
	offset := r.out.Offset()
	var reply [1 + 8 + sha256.Size]byte
	reply[0] = statusOK
	binary.BigEndian.PutUint64(reply[1:9], uint64(offset))
	sum := r.out.PrefixSum()
	if offset > 0 {
		copy(reply[9:], sum[:])
	}
	if _, err := rw.Write(reply[:]); err != nil {
		return nil, fmt.Errorf("replying to the sender: %w", err)
	}
	res.Offset = offset

	var status [1]byte
	if err := readFull(rw, status[:], "sender's status"); err != nil {
		return nil, err
	}
	switch status[0] {
	case statusOK:
	case statusMismatch:
		return nil, fmt.Errorf("%w (its first %d bytes differ)", ErrResumeMismatch, offset)
	case statusBeyond:
		return nil, fmt.Errorf("%w: %d bytes kept, more than the sender has", ErrResumeMismatch, offset)
	default:
		return nil, fmt.Errorf("%w: sender status %d", ErrMalformed, status[0])
	}

	h := r.out.PrefixHash()
	buf := make([]byte, 256<<10)
	var lenb [4]byte
	for {
		if err := readFull(rw, lenb[:], "chunk length"); err != nil {
			return nil, err
		}
		n := int64(binary.BigEndian.Uint32(lenb[:]))
		if n == 0 {
			break
		}
		if n > maxChunk {
			return nil, fmt.Errorf("%w: chunk of %d bytes", ErrMalformed, n)
		}
		if err := r.copyN(rw, h, n, buf); err != nil {
			return nil, err
		}
	}
	var theirs [sha256.Size]byte
	if err := readFull(rw, theirs[:], "SHA-256 trailer"); err != nil {
		return nil, err
	}
	res.Bytes = r.n.Load()
	res.Sum = h.Sum(nil)
	if subtle.ConstantTimeCompare(res.Sum, theirs[:]) != 1 {
		rw.Write([]byte{statusMismatch})
		// The sender checked the first offset bytes; what came after
		// them is wrong (or the sender's data changed under it): a kept
		// partial file keeps only the checked part, for the next resume.
		if err := r.out.dropAfter(offset); err != nil {
			return nil, fmt.Errorf("%w; %v", ErrChecksum, err)
		}
		return nil, ErrChecksum
	}
	if err := r.out.Flush(); err != nil {
		rw.Write([]byte{statusOutputError})
		return nil, err
	}
	if r.opt.Accept != nil {
		if err := r.opt.Accept(); err != nil {
			rw.Write([]byte{statusOutputError})
			return nil, &OutputError{err}
		}
	}
	res.Verified = true
	if _, err := rw.Write([]byte{statusOK}); err != nil {
		return nil, fmt.Errorf("telling the sender: %w", err)
	}
	if r.tc != nil {
		r.tc.CloseWrite() // close_notify: the sender's drain ends cleanly
	}
	// The sender closes first once it has the verdict; waiting for that
	// lets the caller's Close end the connection at once (LAST_ACK)
	// rather than wait out a TIME_WAIT.
	r.conn.SetReadDeadline(time.Now().Add(r.opt.HandshakeTimeout))
	io.Copy(io.Discard, r.conn)
	r.conn.SetReadDeadline(time.Time{})
	return res, nil
}

// copyN copies n bytes of data from rw to the output and h.
func (r *Receiver) copyN(rw io.Reader, h hash.Hash, n int64, buf []byte) error {
	for n > 0 {
		k, err := rw.Read(buf[:min(int64(len(buf)), n)])
		if k > 0 {
			h.Write(buf[:k])
			if _, werr := r.out.Write(buf[:k]); werr != nil {
				return &OutputError{werr}
			}
			r.n.Add(int64(k))
			n -= int64(k)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			if n > 0 {
				return fmt.Errorf("receiving: %w", err)
			}
		}
	}
	return nil
}

// runRaw copies the stream, starting with first, until its end.
func (r *Receiver) runRaw(first []byte) (*Result, error) {
	h := sha256.New()
	res := &Result{}
	if len(first) > 0 {
		h.Write(first)
		if _, err := r.out.Write(first); err != nil {
			return nil, &OutputError{err}
		}
		r.n.Add(int64(len(first)))
	}
	buf := make([]byte, 256<<10)
	for {
		k, err := r.conn.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			if _, werr := r.out.Write(buf[:k]); werr != nil {
				return nil, &OutputError{werr}
			}
			r.n.Add(int64(k))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("receiving: %w", err)
		}
	}
	res.Bytes = r.n.Load()
	res.Sum = h.Sum(nil)
	if err := r.out.Flush(); err != nil {
		return nil, &OutputError{err}
	}
	if r.opt.Accept != nil {
		if err := r.opt.Accept(); err != nil {
			return nil, &OutputError{err}
		}
	}
	return res, nil
}

// OutputError is a failure to write the receiver's output (rather than a
// failure of the connection).
type OutputError struct{ Err error }

func (e *OutputError) Error() string { return e.Err.Error() }
func (e *OutputError) Unwrap() error { return e.Err }
