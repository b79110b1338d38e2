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
			if x := p.tcb(i).NextDeadline(); x != 0 && (next == 0 || x < next) {
				next = x
			}
		}
		if next == 0 || next > d {
			p.now = d
			return false
		}
		p.now = max(p.now, next)
		for i := range 2 {
			if x := p.tcb(i).NextDeadline(); x != 0 && x <= p.now {
				p.tcb(i).OnTimer(p.now)
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
		data[i] = streamByte(p.a.iss + 1 + uint32(i))
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
