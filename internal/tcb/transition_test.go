package tcb

// One test per state transition of RFC 793 section 3.9 (and the lab's
// rules), named after it as smoltcp names its socket tests: the state, the
// event, the state it leads to. Each drives TCBs by hand with the pair of
// state_test.go, so a failure points at the engine, not at the endpoint.

import (
	"errors"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// forged returns a segment from b's port to a's, as a peer would send it.
func forged(t *testing.T, flags uint8, seq, ack uint32) *wire.Segment {
	t.Helper()
	b := make([]byte, wire.MaxDatagram)
	h := wire.Header{SrcPort: 1234, DstPort: 5678, Seq: seq, Ack: ack, Flags: flags, Window: 0xffff}
	n := wire.Put(b, &h, 0)
	var s wire.Segment
	if err := wire.Decode(b[:n], &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func wantState(t *testing.T, who string, c *TCB, s State, err error) {
	t.Helper()
	if c.State() != s || !errors.Is(c.Err(), err) || (err == nil) != (c.Err() == nil) {
		t.Fatalf("%s: %v (err %v), want %v (err %v)", who, c.State(), c.Err(), s, err)
	}
}

// established returns a pair in ESTABLISHED on both sides.
func established(t *testing.T) *pair {
	return newPair(t, testConfig(5678, 1234, 1000), testConfig(1234, 5678, 7000))
}

// halfClosed returns a pair whose active side closed: a in FIN_WAIT_2, b in
// CLOSE_WAIT.
func halfClosed(t *testing.T) *pair {
	p := established(t)
	p.a.Close(p.now)
	p.poll()
	p.exchange()
	return p
}

func TestSynSentSynAckToEstablished(t *testing.T) {
	p := handshakeStart(t)
	wantState(t, "active", p.a, SynSent, nil)
	p.passiveFromQueuedSYN(testConfig(1234, 5678, 7000))
	wantState(t, "passive", p.b, SynRecv, nil)
	p.deliver(1) // SYN-ACK
	wantState(t, "active", p.a, Established, nil)
	if s := p.segs(0); len(s) != 1 || s[0].Flags != wire.FlagACK || s[0].Ack != 7001 {
		t.Fatalf("active side queued %+v, want the third ACK", s)
	}
}

func TestSynSentRstAckToClosedRefused(t *testing.T) {
	p := handshakeStart(t)
	p.a.Handle(forged(t, wire.FlagRST, 0, 0), p.now) // no ACK: not for our SYN (RFC 793 p. 66)
	wantState(t, "after a RST without ACK", p.a, SynSent, nil)
	p.a.Handle(forged(t, wire.FlagRST|wire.FlagACK, 0, 5), p.now) // acknowledges something else
	wantState(t, "after a RST with a wrong ACK", p.a, SynSent, nil)
	p.a.Handle(forged(t, wire.FlagRST|wire.FlagACK, 0, 1001), p.now)
	wantState(t, "after a RST acknowledging the SYN", p.a, Closed, ErrRefused)
}

func TestSynSentRetriesExhaustedToClosedTimeout(t *testing.T) {
	p := handshakeStart(t)
	syns := 1
	for p.a.State() == SynSent && p.now < 10*time.Minute {
		p.out[0] = nil // every SYN is lost
		if p.advance(p.now + 10*time.Minute) {
			syns++
		}
	}
	wantState(t, "active", p.a, Closed, ErrTimeout)
	if want := 1 + p.a.cfg.SynRetries; syns != want {
		t.Errorf("%d SYNs before giving up, want %d", syns, want)
	}
}

func TestSynSentCloseToClosedAborted(t *testing.T) {
	p := handshakeStart(t)
	p.out[0] = nil
	p.a.Close(p.now)
	wantState(t, "active", p.a, Closed, ErrAborted)
	p.poll()
	if len(p.out[0]) != 0 {
		t.Fatalf("closing in SYN_SENT sent %+v; RFC 793 sends nothing", p.segs(0))
	}
}

func TestSynRecvRstToClosedReset(t *testing.T) {
	ca, cb := testConfig(5678, 1234, 1000), testConfig(1234, 5678, 7000)
	ca.Extensions, cb.Extensions = false, false // with a MAC, the forged RST would be dropped
	p := &pair{t: t, a: NewActive(ca, 0)}
	p.poll()
	p.passiveFromQueuedSYN(cb)
	var rst wire.Segment
	b := make([]byte, wire.MaxDatagram)
	n := wire.Put(b, &wire.Header{SrcPort: 5678, DstPort: 1234, Seq: 1001, Flags: wire.FlagRST}, 0)
	if err := wire.Decode(b[:n], &rst); err != nil {
		t.Fatal(err)
	}
	p.b.Handle(&rst, p.now)
	wantState(t, "passive", p.b, Closed, ErrReset)
}

func TestSynRecvAckToEstablished(t *testing.T) {
	p := handshakeStart(t)
	p.passiveFromQueuedSYN(testConfig(1234, 5678, 7000))
	p.deliver(1) // SYN-ACK
	p.deliver(0) // ACK
	wantState(t, "passive", p.b, Established, nil)
}

func TestEstablishedCloseToFinWait1(t *testing.T) {
	p := established(t)
	p.a.Close(p.now)
	wantState(t, "closer", p.a, FinWait1, nil)
	p.poll()
	if s := p.segs(0); len(s) != 1 || !s[0].Has(wire.FlagFIN) {
		t.Fatalf("closer sent %+v, want its FIN", s)
	}
}

func TestEstablishedFinToCloseWait(t *testing.T) {
	p := established(t)
	p.a.CloseWrite()
	p.poll()
	p.deliver(0) // the FIN
	wantState(t, "peer", p.b, CloseWait, nil)
	if s := p.segs(1); len(s) != 1 || s[0].Flags != wire.FlagACK || s[0].Ack != 1002 {
		t.Fatalf("peer answered the FIN with %+v, want an ACK of it at once", s)
	}
	if !p.b.EOF() {
		t.Error("EOF not reported after the peer's FIN")
	}
}

func TestFinWait1AckToFinWait2(t *testing.T) {
	p := established(t)
	p.a.Close(p.now)
	p.poll()
	p.deliver(0) // FIN
	p.deliver(1) // its ACK
	wantState(t, "closer", p.a, FinWait2, nil)
}

func TestFinWait1FinToClosingThenAckToTimeWait(t *testing.T) {
	p := established(t)
	p.a.Close(p.now)
	p.b.Close(p.now)
	p.poll()
	p.cross() // the FINs cross: each sees the other's before the ACK of its own
	for i, c := range []*TCB{p.a, p.b} {
		if c.State() != Closing && c.State() != TimeWait {
			t.Fatalf("side %d after crossing FINs: %v, want CLOSING", i, c.State())
		}
	}
	p.exchange()
	wantState(t, "side 0", p.a, TimeWait, nil)
	wantState(t, "side 1", p.b, TimeWait, nil)
}

func TestFinWait1FinAckToTimeWait(t *testing.T) {
	p := established(t)
	p.a.Close(p.now)
	p.poll()
	p.deliver(0) // FIN reaches b, which queues its ACK
	p.b.Close(p.now)
	p.poll() // ... and its own FIN, acknowledging a's
	p.out[1] = p.out[1][len(p.out[1])-1:]
	if s := p.segs(1); len(s) != 1 || !s[0].Has(wire.FlagFIN|wire.FlagACK) || s[0].Ack != 1002 {
		t.Fatalf("peer's last segment %+v, want a FIN acknowledging ours", s)
	}
	p.deliver(1)
	wantState(t, "closer", p.a, TimeWait, nil)
}

func TestFinWait2FinToTimeWait(t *testing.T) {
	p := halfClosed(t)
	wantState(t, "closer", p.a, FinWait2, nil)
	p.b.Close(p.now)
	p.poll()
	p.deliver(1)
	wantState(t, "closer", p.a, TimeWait, nil)
}

func TestCloseWaitCloseToLastAckThenAckToClosed(t *testing.T) {
	p := halfClosed(t)
	wantState(t, "peer", p.b, CloseWait, nil)
	p.b.Close(p.now)
	wantState(t, "peer", p.b, LastAck, nil)
	p.poll()
	p.deliver(1) // FIN
	p.deliver(0) // its ACK
	wantState(t, "peer", p.b, Closed, nil)
	if p.b.NextDeadline() != 0 {
		t.Errorf("closed TCB still has a deadline %v", p.b.NextDeadline())
	}
}

func TestTimeWaitTimeoutToClosed(t *testing.T) {
	p := halfClosed(t)
	p.b.Close(p.now)
	p.poll()
	p.exchange()
	wantState(t, "closer", p.a, TimeWait, nil)
	entered := p.now
	p.advance(entered + p.a.cfg.TimeWait - time.Millisecond)
	wantState(t, "closer just before 2*MSL", p.a, TimeWait, nil)
	p.advance(entered + p.a.cfg.TimeWait)
	wantState(t, "closer after 2*MSL", p.a, Closed, nil)
}

func TestTimeWaitRetransmittedFinIsAckedAndRestartsTimer(t *testing.T) {
	p := halfClosed(t)
	p.b.Close(p.now)
	p.poll()
	fin := append([]byte(nil), p.out[1][0]...)
	p.exchange()
	wantState(t, "closer", p.a, TimeWait, nil)
	p.now += time.Second
	p.out[1] = [][]byte{fin} // the peer resends its FIN: our ACK was lost
	p.deliver(1)
	if s := p.segs(0); len(s) != 1 || s[0].Flags != wire.FlagACK || s[0].Ack != 7002 {
		t.Fatalf("closer answered the retransmitted FIN with %+v, want an ACK", s)
	}
	if got, want := p.a.NextDeadline(), p.now+p.a.cfg.TimeWait; got != want {
		t.Errorf("TIME_WAIT ends at %v, want %v (restarted by the FIN)", got, want)
	}
}

func TestEstablishedAbortToClosedSendsRst(t *testing.T) {
	p := established(t)
	p.a.Abort()
	wantState(t, "aborter", p.a, Closed, ErrAborted)
	p.poll()
	if s := p.segs(0); len(s) != 1 || !s[0].Has(wire.FlagRST) {
		t.Fatalf("aborter sent %+v, want a RST", s)
	}
	p.deliver(0)
	wantState(t, "peer", p.b, Closed, ErrReset)
}

func TestEstablishedRetriesExhaustedToClosedTimeout(t *testing.T) {
	p := established(t)
	p.a.Write([]byte("into the void"))
	p.poll()
	for p.a.State() == Established && p.now < time.Hour {
		p.out[0] = nil // the peer is gone
		p.advance(p.now + time.Hour)
	}
	wantState(t, "sender", p.a, Closed, ErrTimeout)
	if got := p.a.Info().Timeouts; got != uint64(p.a.cfg.Retries) {
		t.Errorf("%d timeouts before giving up, want Retries = %d", got, p.a.cfg.Retries)
	}
}

func TestClosedIgnoresSegments(t *testing.T) {
	p := established(t)
	p.a.Abort()
	p.poll()
	p.out[0] = nil
	p.a.Handle(forged(t, wire.FlagACK, 7001, 1001), p.now)
	p.poll()
	if len(p.out[0]) != 0 || p.a.State() != Closed {
		t.Fatalf("closed TCB answered a segment: %+v, state %v", p.segs(0), p.a.State())
	}
}
