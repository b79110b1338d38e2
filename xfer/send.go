package xfer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// SendOptions configure a Sender.
type SendOptions struct {
	// Framed says the peer is a tjunet receiver (tju send and tju recv
	// take it from the negotiated header extensions): the transfer is
	// framed, checked with SHA-256 and resumable. Without it, and without
	// Code, the data is sent as raw bytes, as to a TJU lab peer.
	Framed bool

	// Code is a code phrase the receiver must know too (--code). The
	// transfer then runs in TLS 1.3, authenticated by a PAKE on the
	// phrase. It implies Framed.
	Code string

	// Size is the number of bytes the source holds, -1 if unknown. It is
	// only announced to the receiver, for its progress bar.
	Size int64

	// HandshakeTimeout bounds the wait for each answer of the receiver
	// before the data flows (default 30s).
	HandshakeTimeout time.Duration
}

// A Sender sends one transfer over a connection.
type Sender struct {
	conn *countingConn
	opt  SendOptions
	acks ackMap
}

// NewSender returns a sender over conn, usually a *tju.Conn.
func NewSender(conn net.Conn, opt SendOptions) *Sender {
	if opt.HandshakeTimeout <= 0 {
		opt.HandshakeTimeout = 30 * time.Second
	}
	if opt.Code != "" {
		opt.Framed = true
	}
	s := &Sender{conn: &countingConn{Conn: conn}, opt: opt}
	s.acks.raw = !opt.Framed
	return s
}

// Acked converts acked, the bytes of the connection's stream that the
// peer acknowledged (tju.Info's BytesAcked), to bytes of data, counting
// those the receiver already had when it resumed. Framing and TLS bytes
// are not counted. It is safe to call while Run runs.
func (s *Sender) Acked(acked uint64) int64 { return s.acks.data(int64(acked)) }

// Run sends everything src holds and returns once the receiver has it:
// framed, once the receiver has checked its SHA-256 and stored it; raw,
// once the receiver has closed its side after reading the end of the
// stream. With a receiver that resumes, the first bytes of src are read
// and hashed but not sent.
//
// The caller aborts the connection to stop Run early (a context's end):
// ctx only bounds the TLS handshake.
func (s *Sender) Run(ctx context.Context, src io.Reader) (*Result, error) {
	if !s.opt.Framed {
		return s.runRaw(src)
	}
	var w io.ReadWriter = s.conn
	res := &Result{Framed: true}
	if s.opt.Code != "" {
		if err := s.hello(magicCode); err != nil {
			return nil, err
		}
		var reply [1]byte
		if err := s.handshakeRead(reply[:], "receiver's answer to the code preamble"); err != nil {
			return nil, err
		}
		if reply[0] != 'Y' {
			return nil, ErrPeerHasNoCode
		}
		tc, err := clientHandshake(ctx, s.conn, s.opt.Code, s.opt.HandshakeTimeout)
		if err != nil {
			return nil, err
		}
		w, res.Encrypted = tc, true
	}

	// Preamble and size, then the receiver's reply.
	var hdr [magicLen + 8]byte
	copy(hdr[:], magicPlain)
	binary.BigEndian.PutUint64(hdr[magicLen:], uint64(s.opt.Size))
	if _, err := w.Write(hdr[:]); err != nil {
		return nil, fmt.Errorf("sending the transfer header: %w", err)
	}
	var reply [1 + 8 + sha256.Size]byte
	s.conn.SetReadDeadline(time.Now().Add(s.opt.HandshakeTimeout))
	if err := readFull(w, reply[:], "receiver's reply"); err != nil {
		return nil, err
	}
	s.conn.SetReadDeadline(time.Time{})
	if reply[0] == statusNeedCode {
		return nil, ErrPeerWantsCode
	} else if reply[0] != statusOK {
		return nil, fmt.Errorf("%w: reply status %d", ErrMalformed, reply[0])
	}
	offset := int64(binary.BigEndian.Uint64(reply[1:9]))
	if offset < 0 {
		return nil, fmt.Errorf("%w: resume offset %d", ErrMalformed, offset)
	}

	// A resuming receiver: check that its bytes are the start of ours.
	h := sha256.New()
	status := byte(statusOK)
	if offset > 0 {
		n, err := io.CopyN(h, src, offset)
		switch {
		case errors.Is(err, io.EOF):
			status = statusBeyond
		case err != nil:
			return nil, fmt.Errorf("reading the data to send: %w", err)
		case subtle.ConstantTimeCompare(h.Sum(nil), reply[9:]) != 1:
			status = statusMismatch
		}
		if status != statusOK {
			w.Write([]byte{status})
			if status == statusBeyond {
				return nil, fmt.Errorf("%w: the receiver has %d bytes, more than the %d there are", ErrResumeMismatch, offset, n)
			}
			return nil, fmt.Errorf("%w (its first %d bytes differ)", ErrResumeMismatch, offset)
		}
	}
	res.Offset = offset

	// The data in chunks: status byte first, then length-prefixed chunks,
	// an empty chunk, and the SHA-256 of everything.
	buf := make([]byte, 1+4+ChunkSize)
	buf[0] = status
	start := 0 // where the next write starts in buf: 0 while the status byte is unsent
	s.acks.start(s.conn.n.Load()+1, offset)
	for {
		n, rerr := src.Read(buf[5:]) // what is there: a pipe's data goes at once
		if n > 0 {
			h.Write(buf[5 : 5+n])
			putU32(buf[1:5], uint32(n))
			if _, err := w.Write(buf[start : 5+n]); err != nil {
				return nil, sendError(err)
			}
			start = 1
			res.Bytes += int64(n)
			s.acks.add(s.conn.n.Load(), offset+res.Bytes)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("reading the data to send: %w", rerr)
		}
	}
	res.Sum = h.Sum(nil)
	trailer := make([]byte, 0, 1+4+sha256.Size)
	if start == 0 {
		trailer = append(trailer, status) // no chunk carried it: empty data
	}
	trailer = append(trailer, 0, 0, 0, 0)
	trailer = append(trailer, res.Sum...)
	if _, err := w.Write(trailer); err != nil {
		return nil, sendError(err)
	}

	// The verdict.
	var verdict [1]byte
	if err := readFull(w, verdict[:], "receiver's verdict"); err != nil {
		return nil, err
	}
	switch verdict[0] {
	case statusOK:
		res.Verified = true
	case statusMismatch:
		return nil, ErrChecksum
	case statusOutputError:
		return nil, ErrReceiverOutput
	default:
		return nil, fmt.Errorf("%w: verdict %d", ErrMalformed, verdict[0])
	}
	// The receiver closes after its verdict; wait for that, so that the
	// caller's Close finds the connection done. Everything arrived
	// already, so a failure here changes nothing.
	if tc, ok := w.(interface{ CloseWrite() error }); ok && res.Encrypted {
		tc.CloseWrite()
	}
	if cw, ok := s.conn.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, s.conn)
	return res, nil
}

// sendError wraps a failure to write data.
func sendError(err error) error {
	return fmt.Errorf("sending: %w", err)
}

func (s *Sender) hello(magic string) error {
	if _, err := s.conn.Write([]byte(magic)); err != nil {
		return fmt.Errorf("sending the transfer preamble: %w", err)
	}
	return nil
}

// handshakeRead reads len(p) bytes within the handshake timeout.
func (s *Sender) handshakeRead(p []byte, what string) error {
	s.conn.SetReadDeadline(time.Now().Add(s.opt.HandshakeTimeout))
	defer s.conn.SetReadDeadline(time.Time{})
	return readFull(s.conn, p, what)
}

// runRaw sends src as it is, half-closes the connection and waits for the
// receiver to close in turn: its end of stream says it has read it all.
func (s *Sender) runRaw(src io.Reader) (*Result, error) {
	h := sha256.New()
	res := &Result{}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, err := s.conn.Write(buf[:n]); err != nil {
				return nil, sendError(err)
			}
			res.Bytes += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("reading the data to send: %w", rerr)
		}
	}
	res.Sum = h.Sum(nil)
	if cw, ok := s.conn.Conn.(interface{ CloseWrite() error }); ok {
		if err := cw.CloseWrite(); err != nil {
			return nil, fmt.Errorf("closing: %w", err)
		}
	}
	if _, err := io.Copy(io.Discard, s.conn); err != nil {
		return nil, fmt.Errorf("waiting for the receiver to confirm: %w", err)
	}
	return res, nil
}
