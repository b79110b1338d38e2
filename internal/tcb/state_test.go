package tcb

// Transition tests of the engine driven by hand, segment by segment: two
// TCBs joined by explicit queues, so that a test decides which datagram is
// delivered, lost or held.

import (
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// pair is two TCBs and the datagrams each has sent and the other has not
// yet received.
type pair struct {
	t   *testing.T
	now time.Duration
	a   *TCB // active
	b   *TCB // passive
	out [2][][]byte
}

func newPair(t *testing.T, ca, cb Config) *pair {
	p := &pair{t: t, a: NewActive(ca, 0)}
	p.poll()
	var syn wire.Segment
	if err := wire.Decode(p.out[0][0], &syn); err != nil {
		t.Fatal(err)
	}
	p.out[0] = p.out[0][1:]
	p.b = NewPassive(cb, &syn, 0)
	p.poll()
	p.exchange()
	if !p.a.Synchronized() || !p.b.Synchronized() {
		t.Fatalf("handshake: %v, %v", p.a.State(), p.b.State())
	}
	return p
}

func (p *pair) tcb(i int) *TCB {
	if i == 0 {
		return p.a
	}
	return p.b
}

// poll collects what both TCBs have to send.
func (p *pair) poll() {
	buf := make([]byte, wire.MaxDatagram)
	for i := range 2 {
		c := p.tcb(i)
		if c == nil {
			continue
		}
		for {
			n := c.Poll(p.now, buf)
			if n == 0 {
				break
			}
			p.out[i] = append(p.out[i], append([]byte(nil), buf[:n]...))
		}
	}
}

// deliver hands every datagram side i sent to the other side, and polls.
func (p *pair) deliver(i int) int {
	q := p.out[i]
	p.out[i] = nil
	for _, d := range q {
		var s wire.Segment
		if err := wire.Decode(d, &s); err != nil {
			p.t.Fatal(err)
		}
		p.tcb(1-i).Handle(&s, p.now)
	}
	p.poll()
	return len(q)
}

// cross delivers what both sides have queued at the same instant: the
// datagrams cross on the wire.
func (p *pair) cross() {
	q := p.out
	p.out = [2][][]byte{}
	for i := range 2 {
		for _, d := range q[i] {
			var s wire.Segment
			if err := wire.Decode(d, &s); err != nil {
				p.t.Fatal(err)
			}
			p.tcb(1-i).Handle(&s, p.now)
		}
	}
	p.poll()
}

// exchange delivers in both directions until nothing is left.
func (p *pair) exchange() {
	for len(p.out[0])+len(p.out[1]) > 0 {
		p.deliver(0)
		p.deliver(1)
	}
}

// advance moves time to d, running the timers due on the way; it stops
// early, and reports true, as soon as a datagram is queued.
func (p *pair) advance(d time.Duration) bool {
	for {
		next := time.Duration(0)
		for i := range 2 {
			if c := p.tcb(i); c != nil {
				if x := c.NextDeadline(); x != 0 && (next == 0 || x < next) {
					next = x
				}
			}
		}
		if next == 0 || next > d {
			p.now = d
			return false
		}
		p.now = max(p.now, next)
		for i := range 2 {
			if c := p.tcb(i); c != nil && c.NextDeadline() != 0 && c.NextDeadline() <= p.now {
				c.OnTimer(p.now)
			}
		}
		p.poll()
		if len(p.out[0])+len(p.out[1]) > 0 {
			return true
		}
	}
}

func testConfig(port, peer uint16, isn uint32) Config {
	return Config{
		LocalPort: port, RemotePort: peer, ISN: isn,
		SendBufSize: 1 << 20, RecvBufSize: 1 << 20,
		InitialRTO: time.Second, MinRTO: 200 * time.Millisecond, MaxRTO: 60 * time.Second,
		TimeWait: 2 * time.Second, FinWait2Timeout: 60 * time.Second,
		SynRetries: 6, Retries: 15, Extensions: true, NoDelay: true,
	}
}

// A window smaller than the sender's silly-window threshold, nothing in
// flight, and the window update that would reopen it lost: the sender
// must not wait for ever. RFC 1122 4.2.3.4 gives the sender an override
// timeout for data held back by silly-window avoidance, and the persist
// timer (RFC 1122 4.2.2.17) must run whenever nothing in flight can bring
// an ACK, not only for a window of exactly zero.
func TestPersistTimerSmallWindowLostUpdate(t *testing.T) {
	cb := testConfig(1234, 5678, 7000)
	cb.RecvBufSize = 8192
	p := newPair(t, testConfig(5678, 1234, 1000), cb)
	data := make([]byte, 20000)
	for i := range data {
		data[i] = streamByte(uint32(p.a.iss.add(1 + i)))
	}
	if n := p.a.Write(data); n != len(data) {
		t.Fatalf("Write took %d", n)
	}
	p.poll()
	p.now += 10 * time.Millisecond
	p.deliver(0) // 6860 bytes: five full segments fit in 8192
	p.now += 10 * time.Millisecond
	p.deliver(1) // their ACK leaves a window of 1332, below one segment
	if p.a.recs.len() != 0 || p.a.sndWnd >= p.a.mss || p.a.sndWnd == 0 || len(p.out[0]) != 0 {
		t.Fatalf("setup: %d in flight, window %d, %d queued", p.a.recs.len(), p.a.sndWnd, len(p.out[0]))
	}
	// The application reads everything; the window update is lost.
	got := make([]byte, 8192)
	n := p.b.Read(got)
	p.poll()
	if len(p.out[1]) != 1 {
		t.Fatalf("receiver sent %d segments after reading, want one window update", len(p.out[1]))
	}
	p.out[1] = nil
	// The sender must send again within a few seconds, and the transfer
	// must then complete.
	if !p.advance(p.now + 10*time.Second) {
		t.Fatalf("sender silent for 10 s with %d bytes unsent, a window of %d and nothing in flight (next deadline %v)",
			p.a.unsentBytes(), p.a.sndWnd, p.a.NextDeadline())
	}
	for range 1000 {
		p.exchange()
		n += p.b.Read(got[:min(len(got), len(data)-n)])
		p.poll()
		if n == len(data) {
			return
		}
		p.advance(p.now + time.Second)
	}
	t.Fatalf("received %d of %d bytes", n, len(data))
}

// segs decodes the datagrams side i has queued.
func (p *pair) segs(i int) []wire.Segment {
	var out []wire.Segment
	for _, d := range p.out[i] {
		var s wire.Segment
		if err := wire.Decode(d, &s); err != nil {
			p.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// handshake starts a pair without completing it: a in SYN_SENT with its
// SYN queued.
func handshakeStart(t *testing.T) *pair {
	p := &pair{t: t, a: NewActive(testConfig(5678, 1234, 1000), 0)}
	p.poll()
	return p
}

// passiveFromQueuedSYN makes b from a's queued SYN.
func (p *pair) passiveFromQueuedSYN(cfg Config) {
	var syn wire.Segment
	if err := wire.Decode(p.out[0][0], &syn); err != nil {
		p.t.Fatal(err)
	}
	p.out[0] = p.out[0][1:]
	p.b = NewPassive(cfg, &syn, p.now)
	p.poll()
}

// The lab's rule for a lost third ACK: the passive side's SYN-ACK timer
// fires, it sends the SYN-ACK again, and the (established) active side
// answers that duplicate with a fresh ACK, which completes the open.
func TestDuplicateSynAckAnsweredWithFreshAck(t *testing.T) {
	p := handshakeStart(t)
	p.now = 10 * time.Millisecond
	p.passiveFromQueuedSYN(testConfig(1234, 5678, 7000))
	p.now = 20 * time.Millisecond
	p.deliver(1) // the SYN-ACK
	if p.a.State() != Established {
		t.Fatalf("active side %v after the SYN-ACK", p.a.State())
	}
	if s := p.segs(0); len(s) != 1 || s[0].Flags != wire.FlagACK || s[0].Ack != 7001 {
		t.Fatalf("active side queued %+v, want the third ACK", s)
	}
	p.out[0] = nil // lost
	if !p.advance(2 * time.Second) {
		t.Fatal("passive side never sent its SYN-ACK again")
	}
	if s := p.segs(1); len(s) != 1 || !s[0].Has(wire.FlagSYN|wire.FlagACK) || s[0].Seq != 7000 {
		t.Fatalf("passive side sent %+v, want the SYN-ACK again", p.segs(1))
	}
	if p.now != 10*time.Millisecond+time.Second {
		t.Errorf("SYN-ACK retransmitted at %v, want one initial RTO after the first", p.now)
	}
	p.deliver(1)
	if s := p.segs(0); len(s) != 1 || s[0].Flags != wire.FlagACK || s[0].Ack != 7001 || s[0].Seq != 1001 {
		t.Fatalf("active side answered the duplicate SYN-ACK with %+v, want a fresh ACK", s)
	}
	p.deliver(0)
	if p.b.State() != Established {
		t.Fatalf("passive side %v after the fresh ACK", p.b.State())
	}
	// The retransmitted handshake gave no RTT sample: the data phase
	// starts with an RTO of 3 s (RFC 6298 5.7, a lab rule).
	if got := p.b.Info().RTO; got != 3*time.Second {
		t.Errorf("passive side's RTO after a retransmitted SYN-ACK: %v, want 3 s", got)
	}
}

// A retransmitted SYN: the data-phase RTO restarts at 3 s; the handshake
// ACK does not grow the congestion window (lab rules).
func TestHandshakeRetransmittedRTORestartsAt3s(t *testing.T) {
	p := handshakeStart(t)
	p.out[0] = nil // the SYN is lost
	if !p.advance(5 * time.Second) {
		t.Fatal("no SYN retransmission")
	}
	if p.now != time.Second {
		t.Errorf("SYN retransmitted at %v, want 1 s", p.now)
	}
	p.passiveFromQueuedSYN(testConfig(1234, 5678, 7000))
	p.exchange()
	if p.a.State() != Established || p.b.State() != Established {
		t.Fatalf("states %v, %v", p.a.State(), p.b.State())
	}
	if got := p.a.Info().RTO; got != 3*time.Second {
		t.Errorf("active side's RTO after a retransmitted SYN: %v, want 3 s", got)
	}
	mss := p.a.Info().MSS
	for i, c := range []*TCB{p.a, p.b} {
		if got := c.Info().Cwnd; got != 10*mss {
			t.Errorf("side %d: cwnd %d after the handshake, want the initial window %d", i, got, 10*mss)
		}
	}
}

// Simultaneous open (RFC 793 figure 8): two active TCBs whose SYNs cross
// both reach ESTABLISHED.
func TestSimultaneousOpen(t *testing.T) {
	p := &pair{t: t, a: NewActive(testConfig(5678, 1234, 1000), 0), b: NewActive(testConfig(1234, 5678, 7000), 0)}
	p.poll()
	p.now = 10 * time.Millisecond
	p.cross()
	if p.a.State() != SynRecv || p.b.State() != SynRecv {
		t.Fatalf("after crossing SYNs: %v, %v; want SYN_RECV", p.a.State(), p.b.State())
	}
	for range 10 { // SYN-ACKs cross, then whatever follows
		p.now += 10 * time.Millisecond
		p.cross()
	}
	if p.a.State() != Established || p.b.State() != Established {
		t.Fatalf("simultaneous open ended in %v, %v; want ESTABLISHED", p.a.State(), p.b.State())
	}
	if n := p.a.Info().SegsSent + p.b.Info().SegsSent; n > 6 {
		t.Errorf("%d segments for a simultaneous open", n)
	}
}

// RFC 5961 section 3: a RST resets a synchronized connection only when
// its sequence number is in the window; one far outside is ignored.
func TestResetInWindowOnly(t *testing.T) {
	ca, cb := testConfig(5678, 1234, 1000), testConfig(1234, 5678, 7000)
	ca.Extensions, cb.Extensions = false, false // a MAC would stop every forged RST
	p := newPair(t, ca, cb)
	rst := func(seq uint32) *wire.Segment {
		b := make([]byte, wire.MaxDatagram)
		h := wire.Header{SrcPort: 1234, DstPort: 5678, Seq: seq, Ack: 1001, Flags: wire.FlagRST | wire.FlagACK}
		n := wire.Put(b, &h, 0)
		var s wire.Segment
		if err := wire.Decode(b[:n], &s); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	p.a.Handle(rst(7001+1<<30), p.now)
	if p.a.State() != Established {
		t.Fatalf("a RST outside the window moved the connection to %v", p.a.State())
	}
	p.a.Handle(rst(7001), p.now)
	if p.a.State() != Closed || p.a.Err() != ErrReset {
		t.Fatalf("a RST at RCV.NXT left %v, %v; want CLOSED, ErrReset", p.a.State(), p.a.Err())
	}
}

// A closed connection whose peer never sends its FIN leaves FIN_WAIT_2
// after FinWait2Timeout.
func TestFinWait2Timeout(t *testing.T) {
	ca := testConfig(5678, 1234, 1000)
	ca.FinWait2Timeout = 5 * time.Second
	p := newPair(t, ca, testConfig(1234, 5678, 7000))
	p.a.Close(p.now)
	p.poll()
	p.exchange() // FIN and its ACK
	if p.a.State() != FinWait2 || p.b.State() != CloseWait {
		t.Fatalf("states %v, %v; want FIN_WAIT_2, CLOSE_WAIT", p.a.State(), p.b.State())
	}
	start := p.now
	p.advance(start + time.Minute)
	if p.a.State() != Closed {
		t.Fatalf("FIN_WAIT_2 after a minute: %v", p.a.State())
	}
	if p.a.NextDeadline() != 0 {
		t.Errorf("closed TCB still has a deadline %v", p.a.NextDeadline())
	}
}
