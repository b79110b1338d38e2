// Package xfer is the file-transfer protocol of tju send and tju recv,
// over any reliable byte stream (a tju.Conn in practice), and the safe
// output file that the receiving end writes.
//
// Between two tjunet programs a transfer is framed: the sender announces
// itself with a magic preamble, the receiver answers with how much of the
// data it already has (to resume), the data follows in length-prefixed
// chunks, and a SHA-256 trailer lets the receiver check it all before it
// puts the file in place and tells the sender. With a code phrase (see
// SendOptions.Code) all of it runs inside TLS 1.3, authenticated by a
// password-authenticated key exchange. With any other peer, such as the
// TJU lab's programs, the stream is the raw data and its end is the end
// of the data. docs/transfer.md describes the bytes on the wire.
//
// The caller decides whether to frame: tju send and tju recv frame when
// their connection negotiated tjunet's header extensions (tju.Info's
// Extensions), which a lab peer never offers, or when a code phrase is
// given. A receiver that expects framing but reads no magic preamble takes
// the stream as raw data.
package xfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// The preambles a framing sender starts with.
const (
	magicPlain = "TJUXFER1" // framed transfer, in the clear
	magicCode  = "TJUXTLS1" // TLS 1.3 with a code phrase, then a framed transfer inside
	magicLen   = 8
)

// Status bytes of the protocol.
const (
	statusOK          = 0
	statusNeedCode    = 1 // receiver → sender, in the reply: the receiver requires a code phrase
	statusMismatch    = 1 // sender → receiver: the receiver's prefix is not the start of the data; receiver → sender in the verdict: SHA-256 mismatch
	statusBeyond      = 2 // sender → receiver: the receiver has more bytes than the sender sends
	statusOutputError = 2 // receiver → sender, in the verdict: the receiver could not store the data
)

// ChunkSize is the most data bytes a framing sender puts in one chunk.
const ChunkSize = 64<<10 - 4

// maxChunk is the largest chunk a receiver accepts; a longer length field
// is malformed.
const maxChunk = 1 << 20

// Errors a transfer can end with; test them with errors.Is.
var (
	// ErrChecksum: the data the receiver got does not have the SHA-256
	// the sender computed.
	ErrChecksum = errors.New("the data received does not match the sender's SHA-256")
	// ErrWrongCode: the two ends were given different code phrases (or
	// the peer is not the one that knows the phrase).
	ErrWrongCode = errors.New("wrong code phrase: the other end was given a different --code")
	// ErrPeerWantsCode: the peer requires a code phrase and none was given.
	ErrPeerWantsCode = errors.New("the other end requires a code phrase: give both ends the same --code")
	// ErrPeerHasNoCode: a code phrase was given but the peer uses none.
	ErrPeerHasNoCode = errors.New("the other end uses no code phrase: give both ends the same --code")
	// ErrResumeMismatch: the receiver's partial data is not the start of
	// what the sender sends.
	ErrResumeMismatch = errors.New("the partial data kept by the receiver is not the start of what the sender sends")
	// ErrCannotResume: the peer does not speak the framed protocol (a
	// --plain or lab peer), so partial data cannot be continued.
	ErrCannotResume = errors.New("cannot resume: the sender does not speak tjunet's transfer protocol (is it tju send without --plain or --lab?)")
	// ErrReceiverOutput: the receiver got everything but could not store it.
	ErrReceiverOutput = errors.New("the receiver could not store the data")
	// ErrMalformed: the peer broke the protocol.
	ErrMalformed = errors.New("malformed transfer framing")
)

// Result describes a transfer that ended.
type Result struct {
	Framed    bool  // tjunet framing (SHA-256 checked end to end); false: raw bytes
	Encrypted bool  // TLS 1.3 authenticated by the code phrase
	Offset    int64 // bytes the receiver already had (resumed)
	Bytes     int64 // data bytes moved over this connection
	Sum       []byte
	// Sum is the SHA-256 of the whole data, the first Offset bytes
	// included.

	// Verified: the other end computed the same SHA-256 (framed only).
	Verified bool
}

// Total returns Offset + Bytes: the size of the data.
func (r *Result) Total() int64 { return r.Offset + r.Bytes }

// countingConn counts the bytes written to the connection beneath TLS, so
// that data bytes can be matched with the connection's acknowledged bytes.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// ackMap maps a count of stream bytes the peer acknowledged to the data
// bytes they carry, from marks taken as chunks are written: between two
// marks it interpolates.
type ackMap struct {
	mu    sync.Mutex
	last  mark   // the latest mark at or below what was acknowledged
	marks []mark // written, not yet known to be acknowledged
	raw   bool   // stream bytes are data bytes
	base  int64  // data offset for raw
}

type mark struct{ stream, data int64 }

// maxMarks bounds the marks kept between two calls of data: past it,
// every other one is dropped, which only coarsens the interpolation.
const maxMarks = 4096

func (m *ackMap) add(stream, data int64) {
	m.mu.Lock()
	if len(m.marks) >= maxMarks {
		kept := m.marks[:0]
		for i := 1; i < len(m.marks); i += 2 {
			kept = append(kept, m.marks[i])
		}
		m.marks = kept
	}
	m.marks = append(m.marks, mark{stream, data})
	m.mu.Unlock()
}

func (m *ackMap) start(stream, data int64) {
	m.mu.Lock()
	m.last = mark{stream, data}
	m.mu.Unlock()
}

func (m *ackMap) data(acked int64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.raw {
		return m.base + acked
	}
	i := 0
	for i < len(m.marks) && m.marks[i].stream <= acked {
		m.last = m.marks[i]
		i++
	}
	m.marks = m.marks[i:]
	if len(m.marks) == 0 || acked <= m.last.stream {
		return m.last.data
	}
	next := m.marks[0]
	frac := float64(acked-m.last.stream) / float64(next.stream-m.last.stream)
	return m.last.data + int64(frac*float64(next.data-m.last.data))
}

// readFull reads exactly len(p) bytes, calling a clean end of stream
// before them an unexpected one.
func readFull(r io.Reader, p []byte, what string) error {
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("reading the %s: %w", what, err)
	}
	return nil
}

func putU32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
