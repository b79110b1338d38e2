package tcb

// RFC 5961 and RFC 9293 acceptability, driven segment by segment on a pair
// of plain (lab) TCBs, whose segments an off-path attacker can forge with
// the right addresses and a lucky sequence number; a tjunet pair's
// segments carry a MAC, tested in package tju.

import (
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// plainPair is an established plain connection: a (ISN 1000) to b (ISN
// 7000). b's RCV.NXT is 1001, a's is 7001.
func plainPair(t *testing.T) *pair {
	ca, cb := testConfig(5678, 1234, 1000), testConfig(1234, 5678, 7000)
	ca.Extensions, cb.Extensions = false, false
	return newPair(t, ca, cb)
}

// forgeTo hands b a segment claiming to come from a.
func (p *pair) forgeTo(h wire.Header, payload []byte) {
	h.SrcPort, h.DstPort = 5678, 1234
	b := make([]byte, wire.MaxDatagram)
	n := wire.Put(b, &h, len(payload))
	copy(b[n:], payload)
	var s wire.Segment
	if err := wire.Decode(b[:n+len(payload)], &s); err != nil {
		p.t.Fatal(err)
	}
	p.b.Handle(&s, p.now)
	p.poll()
}

// acksFromB counts and forgets the pure ACKs b sent.
func (p *pair) acksFromB() int {
	n := 0
	for _, d := range p.out[1] {
		var s wire.Segment
		if wire.Decode(d, &s) == nil && s.Flags == wire.FlagACK && len(s.Payload) == 0 {
			n++
		}
	}
	p.out[1] = nil
	return n
}

func TestChallengeACKForRSTInWindow(t *testing.T) {
	p := plainPair(t)
	p.forgeTo(wire.Header{Seq: 1002, Ack: 7001, Flags: wire.FlagRST | wire.FlagACK}, nil)
	if p.b.State() != Established {
		t.Fatalf("a RST at RCV.NXT+1 moved b to %v", p.b.State())
	}
	if n := p.acksFromB(); n != 1 {
		t.Fatalf("%d challenge ACKs for an in-window RST, want 1", n)
	}
	p.forgeTo(wire.Header{Seq: 1001 + 1<<31, Flags: wire.FlagRST}, nil)
	if p.b.State() != Established || p.acksFromB() != 0 {
		t.Fatalf("a RST outside the window: %v, or answered", p.b.State())
	}
	p.forgeTo(wire.Header{Seq: 1001, Flags: wire.FlagRST}, nil)
	if p.b.State() != Closed || p.b.Err() != ErrReset {
		t.Fatalf("a RST at exactly RCV.NXT left %v, %v", p.b.State(), p.b.Err())
	}
}

func TestSYNOnSynchronizedGetsRateLimitedChallengeACK(t *testing.T) {
	p := plainPair(t)
	for i := range 100 {
		p.forgeTo(wire.Header{Seq: uint32(i * 1000), Flags: wire.FlagSYN}, nil)
	}
	if p.b.State() != Established {
		t.Fatalf("SYNs moved b to %v", p.b.State())
	}
	if n := p.acksFromB(); n != challengeLimit {
		t.Fatalf("%d challenge ACKs for 100 SYNs in one instant, want the limit %d", n, challengeLimit)
	}
	p.now += 1100 * time.Millisecond // the limit is fresh a second later
	p.forgeTo(wire.Header{Seq: 5, Flags: wire.FlagSYN}, nil)
	if n := p.acksFromB(); n != 1 {
		t.Fatalf("%d challenge ACKs a second later, want 1", n)
	}
}

func TestUnacceptableACKDropsTheSegment(t *testing.T) {
	p := plainPair(t)
	// Data whose ACK acknowledges bytes b never sent: dropped, data and all.
	p.forgeTo(wire.Header{Seq: 1001, Ack: 7001 + 5000, Flags: wire.FlagACK, Window: 100}, []byte("evil"))
	if p.b.Readable() != 0 || p.b.Info().BadACKs != 1 {
		t.Fatalf("readable %d, bad ACKs %d after an ACK beyond SND.NXT", p.b.Readable(), p.b.Info().BadACKs)
	}
	if p.acksFromB() != 1 {
		t.Fatal("no challenge ACK for an ACK beyond SND.NXT")
	}
	// An ACK far older than SND.UNA - MAX.SND.WND: dropped.
	p.forgeTo(wire.Header{Seq: 1001, Ack: 7001 + 3<<30, Flags: wire.FlagACK, Window: 100}, []byte("evil"))
	if p.b.Readable() != 0 || p.b.Info().BadACKs != 2 {
		t.Fatalf("readable %d, bad ACKs %d after an ancient ACK", p.b.Readable(), p.b.Info().BadACKs)
	}
	// The real thing is taken.
	p.forgeTo(wire.Header{Seq: 1001, Ack: 7001, Flags: wire.FlagACK, Window: 100}, []byte("good"))
	if p.b.Readable() != 4 {
		t.Fatalf("readable %d after a valid segment", p.b.Readable())
	}
}

func TestOutOfWindowDataIsDroppedAndBeyondTheEdgeTrimmed(t *testing.T) {
	p := plainPair(t)
	wnd := int(p.b.advRight - p.b.rbuf.nxt)
	if wnd <= 0 {
		t.Fatalf("window %d", wnd)
	}
	p.forgeTo(wire.Header{Seq: 1001 + uint32(wnd) + 10, Ack: 7001, Flags: wire.FlagACK}, []byte("far away"))
	if p.b.rbuf.hi != 0 || len(p.b.rbuf.ranges) != 0 || p.b.Info().OutOfWindow != 1 {
		t.Fatalf("stored %d bytes beyond the window (%d ranges), out-of-window %d", p.b.rbuf.hi, len(p.b.rbuf.ranges), p.b.Info().OutOfWindow)
	}
	if p.acksFromB() != 1 {
		t.Fatal("an out-of-window segment was not answered with an ACK")
	}
	// A segment that starts 4 bytes before the right edge: 4 bytes kept,
	// the rest (and its FIN) trimmed.
	p.forgeTo(wire.Header{Seq: 1001 + uint32(wnd) - 4, Ack: 7001, Flags: wire.FlagACK | wire.FlagFIN}, []byte("12345678"))
	if p.b.rbuf.hi != wnd || p.b.finPending {
		t.Fatalf("stored up to offset %d (window %d), FIN pending %v", p.b.rbuf.hi, wnd, p.b.finPending)
	}
}

func TestDataWithoutACKOnlyFromPlainPeers(t *testing.T) {
	p := plainPair(t)
	p.forgeTo(wire.Header{Seq: 1001}, []byte("lab")) // the skeleton's shape: flags 0, ack 0
	if p.b.Readable() != 3 {
		t.Fatalf("a plain peer's data without ACK: readable %d", p.b.Readable())
	}
	q := newPair(t, testConfig(5678, 1234, 1000), testConfig(1234, 5678, 7000))
	if !q.b.ext {
		t.Fatal("the tjunet pair did not negotiate options")
	}
	q.a.Write([]byte("tjunet"))
	q.poll()
	// Strip the ACK bit from a's data segment and re-sign it: it is
	// authentic but shaped as no tjunet sender sends, and is dropped.
	d := q.out[0][0]
	d[16] &^= wire.FlagACK
	var s wire.Segment
	if err := wire.Decode(d, &s); err != nil {
		t.Fatal(err)
	}
	q.a.mac.Sign(d)
	if err := wire.Decode(d, &s); err != nil {
		t.Fatal(err)
	}
	q.b.Handle(&s, q.now)
	if q.b.Readable() != 0 || q.b.Info().OutOfWindow != 1 {
		t.Fatalf("data without ACK on a tjunet connection: readable %d", q.b.Readable())
	}
}
