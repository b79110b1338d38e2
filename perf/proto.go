// Package perf measures a transport the way iperf3 and netperf do: a
// server that answers tests, a client that runs one (throughput, either
// direction, over one or several parallel connections, with an optional
// rate limit; or request/response latency, like netperf's TCP_RR), and
// results that encode as iperf3's JSON ("-J"), so that the parsers and
// dashboards made for iperf3 read them.
//
// It runs over any net.Conn; over a *tju.Conn (or anything with an
// Info() tju.Info method) the intervals carry the sender's
// retransmissions, congestion window and RTT, as iperf3 reads them from
// TCP_INFO.
//
// # The protocol
//
// Each connection carries one stream of one test. The client opens it
// with a 32-byte header:
//
//	"TJUB" | version 2 | mode 'T' or 'L' | flags | 0 | message size (uint32)
//	| limit (uint64) | rate in bit/s (uint64) | 4 zero bytes
//
// flags: bit 0 reverse (the server sends), bit 1 the limit is a byte
// count (else a duration in nanoseconds; 0 means no limit).
//
// Throughput, client sending: the client sends data and half-closes; the
// server reads to the end and answers with the byte count (uint64) and
// the time from the first byte to the end in nanoseconds (uint64), then
// closes.
//
// Throughput, reverse: the client half-closes after the header; the
// server sends frames, each a uint32 length and that many bytes, until
// the limit, then a frame of length 0 and its sender's totals (the
// trailer, 7 uint64: bytes, nanoseconds, retransmissions, segments sent,
// smoothed RTT ns, minimum RTT ns, congestion window), then closes.
//
// Latency: the client sends requests of the message size and the server
// echoes each, until the client half-closes.
//
// Integers are big-endian.
package perf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

const (
	magic     = "TJUB"
	version   = 2
	headerLen = 32

	// MaxMessage is the largest latency request.
	MaxMessage = 1 << 20

	flagReverse   = 1 << 0
	flagByteLimit = 1 << 1

	trailerLen = 7 * 8
	frameMax   = 256 << 10

	// MaxDuration bounds a test a client may ask of a server, as iperf3
	// bounds -t: a day.
	MaxDuration = 24 * time.Hour
)

// Mode says what a test measures.
type Mode byte

const (
	Throughput Mode = 'T' // bytes a second, like iperf3
	Latency    Mode = 'L' // request/response round trips, like netperf TCP_RR
)

func (m Mode) String() string {
	switch m {
	case Throughput:
		return "throughput"
	case Latency:
		return "latency"
	}
	return fmt.Sprintf("Mode(%d)", byte(m))
}

// header is a test's opening.
type header struct {
	mode    Mode
	reverse bool
	msgSize int
	bytes   int64         // limit in bytes (throughput), 0: none
	dur     time.Duration // limit in time, 0: none
	rate    int64         // bits per second, 0: unlimited
}

func (h header) marshal() []byte {
	b := make([]byte, headerLen)
	copy(b, magic)
	b[4] = version
	b[5] = byte(h.mode)
	if h.reverse {
		b[6] |= flagReverse
	}
	limit := uint64(h.dur)
	if h.bytes > 0 {
		b[6] |= flagByteLimit
		limit = uint64(h.bytes)
	}
	binary.BigEndian.PutUint32(b[8:12], uint32(h.msgSize))
	binary.BigEndian.PutUint64(b[12:20], limit)
	binary.BigEndian.PutUint64(b[20:28], uint64(h.rate))
	return b
}

// errNotPerf says the peer does not speak this protocol.
var errNotPerf = errors.New("not a tju bench client (bad header)")

func readHeader(r io.Reader) (header, error) {
	var b [headerLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return header{}, fmt.Errorf("no test header: %w", err)
	}
	if string(b[:4]) != magic {
		return header{}, errNotPerf
	}
	if b[4] != version {
		return header{}, fmt.Errorf("a tju bench client of protocol version %d; this server speaks %d", b[4], version)
	}
	h := header{mode: Mode(b[5]), reverse: b[6]&flagReverse != 0, msgSize: int(binary.BigEndian.Uint32(b[8:12]))}
	limit := binary.BigEndian.Uint64(b[12:20])
	if b[6]&flagByteLimit != 0 {
		h.bytes = int64(min(limit, 1<<62))
	} else {
		h.dur = time.Duration(min(limit, 1<<62))
	}
	h.rate = int64(min(binary.BigEndian.Uint64(b[20:28]), 1<<62))
	if h.dur > MaxDuration {
		return h, fmt.Errorf("a test of %v: longer than %v", h.dur, MaxDuration)
	}
	switch h.mode {
	case Throughput:
	case Latency:
		if h.msgSize < 1 || h.msgSize > MaxMessage {
			return h, fmt.Errorf("bad message size %d", h.msgSize)
		}
	default:
		return h, fmt.Errorf("unknown test mode %q", b[5])
	}
	return h, nil
}

// senderTotals is what the sending end reports at the end of a reverse
// test (the trailer).
type senderTotals struct {
	bytes       uint64
	elapsed     time.Duration
	retransmits uint64
	segments    uint64
	srtt        time.Duration
	minRTT      time.Duration
	cwnd        uint64
}

func (t senderTotals) marshal() []byte {
	b := make([]byte, trailerLen)
	for i, v := range []uint64{t.bytes, uint64(t.elapsed), t.retransmits, t.segments, uint64(t.srtt), uint64(t.minRTT), t.cwnd} {
		binary.BigEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func unmarshalTotals(b []byte) senderTotals {
	v := func(i int) uint64 { return binary.BigEndian.Uint64(b[8*i:]) }
	return senderTotals{bytes: v(0), elapsed: time.Duration(v(1)), retransmits: v(2), segments: v(3),
		srtt: time.Duration(v(4)), minRTT: time.Duration(v(5)), cwnd: v(6)}
}
