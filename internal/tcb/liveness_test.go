package tcb

import (
	"errors"
	"testing"
	"time"
)

// Which ICMP port unreachables end a connection: in SYN_SENT only one
// quoting our ISN; in ESTABLISHED only one quoting a segment in flight,
// and only once the peer is silent (a retransmission timeout expired).
func TestUnreachableNeedsQuotedSegmentInFlight(t *testing.T) {
	a := NewActive(testConfig(5678, 1234, 1000), 0)
	a.Poll(0, make([]byte, 1500))
	if a.Unreachable(1001, 0) || a.Unreachable(999, 0) || a.Unreachable(7, 0) {
		t.Fatal("SYN_SENT: a report not quoting our SYN (seq 1000) was believed")
	}
	if !a.Unreachable(1000, 0) || !errors.Is(a.Err(), ErrUnreachable) || a.State() != Closed {
		t.Fatalf("SYN_SENT: a report quoting our SYN left %v, %v", a.State(), a.Err())
	}

	p := newPair(t, testConfig(5678, 1234, 1000), testConfig(1234, 5678, 7000))
	p.a.Write(make([]byte, 3000)) // seq 1001..4000 goes out
	p.poll()
	p.out[0] = nil // lost, and the peer is gone
	for _, seq := range []uint32{1000, 4001, 1 << 31} {
		if p.a.Unreachable(seq, p.now) {
			t.Fatalf("ESTABLISHED: a report quoting seq %d, not in flight (1001-4000), was believed", seq)
		}
	}
	if p.a.Unreachable(1001, p.now) {
		t.Fatal("ESTABLISHED: a report was believed before any retransmission timeout")
	}
	for end := p.now + 10*time.Second; p.a.timeouts == 0 && p.now < end; {
		p.advance(end) // a tail loss probe, then the RTO: both lost
		p.out[0] = nil
	}
	if p.a.timeouts == 0 {
		t.Fatal("no retransmission timeout")
	}
	if !p.a.Unreachable(2365, p.now) || !errors.Is(p.a.Err(), ErrUnreachable) {
		t.Fatalf("ESTABLISHED after an RTO: a report quoting a segment in flight left %v, %v", p.a.State(), p.a.Err())
	}
}

// A keep-alive probe is answered with an ACK at once.
func TestKeepAliveProbeIsAnswered(t *testing.T) {
	ca := testConfig(5678, 1234, 1000)
	ca.KeepAliveIdle, ca.KeepAliveInterval, ca.KeepAliveCount = time.Second, time.Second, 3
	p := newPair(t, ca, testConfig(1234, 5678, 7000))
	if !p.advance(p.now + 2*time.Second) {
		t.Fatal("no keep-alive probe after the idle time")
	}
	probes := p.segs(0)
	if len(probes) != 1 || probes[0].Seq != 1000 || len(probes[0].Payload) != 0 {
		t.Fatalf("probe %+v; want one empty segment with seq SND.NXT-1 (1000)", probes)
	}
	p.deliver(0)
	if len(p.out[1]) != 1 {
		t.Fatalf("the peer answered the probe with %d segments, want one ACK", len(p.out[1]))
	}
	p.deliver(1)
	if p.a.kaProbes != 0 {
		t.Errorf("the answer did not reset the probe count (%d)", p.a.kaProbes)
	}
}
