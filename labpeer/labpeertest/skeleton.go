package labpeertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
	"github.com/tjunet/tjunet/labpeer"
)

// Habits are what student implementations built on the lab's skeleton
// do (tju-lab.md, "How lab implementations behave on the wire").
type Habits struct {
	// FINSeq0: the FIN carries seq 0, and as ack the last ack sent for
	// data or a FIN (0 when there was none), not its next sequence number.
	FINSeq0 bool
	// PeerISN0: the receiver assumes the peer's ISN is 0: it expects the
	// first data byte at seq 1 and answers every other segment with ack 1.
	PeerISN0 bool
	// Window1: every segment, the SYN and SYN-ACK included, says window 1
	// (the field is never filled).
	Window1 bool
	// LateFinWait1: the state changes to FIN_WAIT_1 (or LAST_ACK) only
	// RaceWindow after the FIN went out; what arrives meanwhile is
	// dropped.
	LateFinWait1 bool
}

// Student is the skeleton-based implementation of tju-lab.md that passes
// all six official grader runs: every habit at once.
var Student = Habits{FINSeq0: true, PeerISN0: true, Window1: true, LateFinWait1: true}

// Skeleton timing: the SYN, SYN-ACK and data are retransmitted after 1 s
// (the lab's initial RTO), a FIN after 3 s (the student's FIN does not go
// out again within close_client_for_server's 2 s), TIME_WAIT lasts 2 s.
const (
	RaceWindow     = 100 * time.Microsecond
	skeletonRTO    = time.Second
	skeletonFinRTO = 3 * time.Second
	skeletonTW     = 2 * time.Second
	skeletonTries  = 6
)

// Skeleton is a scripted lab implementation in the skeleton's shape: data
// with flags 0 and ack 0, pure ACKs with the ACK bit alone, a FIN with the
// FIN bit alone, no options, one connection per Run, with the chosen
// habits. It is a lab host: replies go to the peer host's port 20218.
type Skeleton struct {
	Habits
	// Data is what a client whose application sends writes (default
	// 3000 bytes).
	Data []byte
	// Out receives what a server reads (default: discarded).
	Out io.Writer
	// ISN is the first ISN; each connection adds 7919 (0: 3000).
	ISN uint32
}

var skeletonConns atomic.Uint32

// states, as the lab numbers them.
const (
	skClosed = iota
	skListen
	skSynSent
	skSynRecv
	skEstablished
	skFinWait1
	skFinWait2
	skCloseWait
	skClosing
	skLastAck
	skTimeWait
)

type skConn struct {
	x      *Skeleton
	pc     net.PacketConn
	app    labpeer.App
	out    io.Writer
	peer   netip.AddrPort
	lport  uint16
	rport  uint16
	state  int
	window uint16

	iss, sndUna, sndNxt uint32
	rcvNxt, rcvStart    uint32
	rcvInit             uint32 // the first rcvNxt: where it expects the first byte
	lastAck             uint32 // the ack of the last data or FIN acknowledged
	ooo                 map[uint32][]byte
	data                []byte // unsent and unacknowledged data, from sndUna
	closing             bool   // the application closed
	finSeq, finAck      uint32
	finSent             bool
	stateAt             time.Time // LateFinWait1: when the state changes
	nextState           int
	rtoAt               time.Time
	tries               int
	twAt                time.Time
	done                bool
}

// Run implements Impl.
func (x *Skeleton) Run(ctx context.Context, pc net.PacketConn, app labpeer.App) error {
	defer pc.Close()
	base := x.ISN
	if base == 0 {
		base = 3000
	}
	c := &skConn{x: x, pc: pc, app: app, out: x.Out, window: 44000, ooo: map[uint32][]byte{}}
	c.iss = base + 7919*skeletonConns.Add(1)
	if c.out == nil {
		c.out = io.Discard
	}
	if x.Window1 {
		c.window = 1
	}
	in := make(chan []byte, 1024)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(in)
				return
			}
			b := append([]byte(nil), buf[:n]...)
			select {
			case in <- b:
			case <-ctx.Done():
			}
		}
	}()
	switch app {
	case labpeer.AppConnectClose, labpeer.AppConnectSend:
		c.peer, c.lport, c.rport = labpeer.LabServerAddr, labpeer.LabClientPort, labpeer.LabServerPort
		c.state = skSynSent
		c.sendSYN()
		if app == labpeer.AppConnectSend {
			c.data = x.Data
			if c.data == nil {
				c.data = make([]byte, 3000)
				for i := range c.data {
					c.data[i] = '0' + byte(i%10)
				}
			}
		}
	default:
		c.state, c.lport = skListen, labpeer.LabServerPort
	}
	var closeAt time.Time
	for !c.done {
		now := time.Now()
		if c.state == skEstablished && closeAt.IsZero() && app != labpeer.AppAccept {
			switch app {
			case labpeer.AppConnectClose:
				closeAt = now.Add(time.Second) // the lab's close test client sleeps 1 s
			case labpeer.AppConnectSend, labpeer.AppAcceptClose:
				closeAt = now
			}
		}
		if !closeAt.IsZero() && !now.Before(closeAt) {
			c.closing = true
		}
		c.output(now)
		next := c.next(closeAt)
		var timer <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			timer = t.C
		}
		select {
		case b, ok := <-in:
			if !ok {
				return errors.New("skeleton: socket closed")
			}
			var s wire.Segment
			if wire.Decode(b, &s) == nil {
				c.input(&s, time.Now())
			}
		case <-timer:
			c.timers(time.Now())
		case <-ctx.Done():
			return ctx.Err()
		}
		if t != nil {
			t.Stop()
		}
	}
	return nil
}

func (c *skConn) next(closeAt time.Time) time.Time {
	var ts []time.Time
	for _, t := range []time.Time{c.rtoAt, c.twAt, c.stateAt} {
		if !t.IsZero() {
			ts = append(ts, t)
		}
	}
	if !closeAt.IsZero() && !c.closing {
		ts = append(ts, closeAt)
	}
	var min time.Time
	for _, t := range ts {
		if min.IsZero() || t.Before(min) {
			min = t
		}
	}
	return min
}

func (c *skConn) send(flags uint8, seq, ack uint32, payload []byte) {
	b := make([]byte, wire.HeaderLen+len(payload))
	h := wire.Header{SrcPort: c.lport, DstPort: c.rport, Seq: seq, Ack: ack, Flags: flags, Window: c.window}
	n := wire.Put(b, &h, len(payload))
	copy(b[n:], payload)
	c.pc.WriteTo(b, net.UDPAddrFromAddrPort(netip.AddrPortFrom(c.peer.Addr(), labpeer.LabUDPPort)))
}

func (c *skConn) arm(d time.Duration) { c.rtoAt, c.tries = time.Now().Add(d), 0 }

func (c *skConn) sendSYN() {
	c.send(wire.FlagSYN, c.iss, 0, nil)
	c.sndUna, c.sndNxt = c.iss, c.iss+1
	c.arm(skeletonRTO)
}

// setState changes the state, late after a FIN with LateFinWait1.
func (c *skConn) setState(s int, afterFIN bool) {
	if afterFIN && c.x.LateFinWait1 {
		c.stateAt, c.nextState = time.Now().Add(RaceWindow), s
		return
	}
	c.state = s
}

// output sends new data (a window of 44,000 bytes, whatever the peer
// says) and the FIN once the data is acknowledged.
func (c *skConn) output(now time.Time) {
	if c.state != skEstablished && c.state != skCloseWait {
		return
	}
	for off := int(c.sndNxt - c.sndUna); off < len(c.data) && off < 44000; {
		n := min(len(c.data)-off, wire.LabMaxPayload)
		c.send(0, c.sndUna+uint32(off), 0, c.data[off:off+n])
		if c.rtoAt.IsZero() {
			c.arm(skeletonRTO)
		}
		off += n
		c.sndNxt = c.sndUna + uint32(off)
	}
	if c.closing && !c.finSent && len(c.data) == 0 && c.stateAt.IsZero() {
		c.finSeq = c.sndNxt
		ackf := c.rcvNxt
		if c.x.FINSeq0 {
			c.finSeq, ackf = 0, c.lastAck
		}
		c.finSent, c.finAck = true, ackf
		c.send(wire.FlagFIN, c.finSeq, ackf, nil)
		c.rtoAt, c.tries = now.Add(skeletonFinRTO), 0
		if c.state == skEstablished {
			c.setState(skFinWait1, true)
		} else {
			c.setState(skLastAck, true)
		}
	}
}

func (c *skConn) timers(now time.Time) {
	if !c.stateAt.IsZero() && !now.Before(c.stateAt) {
		c.state, c.stateAt = c.nextState, time.Time{}
	}
	if !c.twAt.IsZero() && !now.Before(c.twAt) {
		c.done = true
	}
	if c.rtoAt.IsZero() || now.Before(c.rtoAt) {
		return
	}
	c.tries++
	if c.tries > skeletonTries {
		c.done = true
		return
	}
	backoff := time.Duration(1) << c.tries // doubling gaps
	switch {
	case c.state == skSynSent:
		c.send(wire.FlagSYN, c.iss, 0, nil)
		c.rtoAt = now.Add(skeletonRTO * backoff)
	case c.state == skSynRecv:
		c.send(wire.FlagSYN|wire.FlagACK, c.iss, c.rcvStart, nil)
		c.rtoAt = now.Add(skeletonRTO * backoff)
	case c.finSent:
		c.send(wire.FlagFIN, c.finSeq, c.finAck, nil)
		c.rtoAt = now.Add(skeletonFinRTO * backoff)
	case len(c.data) > 0:
		n := min(len(c.data), wire.LabMaxPayload)
		c.send(0, c.sndUna, 0, c.data[:n])
		c.rtoAt = now.Add(skeletonRTO * backoff)
	default:
		c.rtoAt = time.Time{}
	}
}

func (c *skConn) ack(a uint32) {
	c.send(wire.FlagACK, c.sndNxt, a, nil)
}

func (c *skConn) input(s *wire.Segment, now time.Time) {
	if c.state == skListen {
		if s.Flags == wire.FlagSYN && s.DstPort == c.lport {
			c.rport = s.SrcPort
			c.peer = labpeer.LabClientAddr
			c.rcvStart = s.Seq + 1
			c.rcvNxt = s.Seq + 1
			if c.x.PeerISN0 {
				c.rcvNxt = 1
			}
			c.rcvInit = c.rcvNxt
			c.state = skSynRecv
			c.send(wire.FlagSYN|wire.FlagACK, c.iss, c.rcvStart, nil)
			c.sndUna, c.sndNxt = c.iss, c.iss+1
			c.arm(skeletonRTO)
		}
		return
	}
	if s.SrcPort != c.rport || s.DstPort != c.lport {
		return
	}
	fin := s.Flags&wire.FlagFIN != 0
	acks := s.Flags&wire.FlagACK != 0
	switch c.state {
	case skSynSent:
		if s.Has(wire.FlagSYN|wire.FlagACK) && s.Ack == c.iss+1 {
			c.rcvStart, c.rcvNxt, c.rcvInit = s.Seq+1, s.Seq+1, s.Seq+1
			c.sndUna = c.iss + 1
			c.send(wire.FlagACK, c.iss+1, c.rcvNxt, nil)
			c.state, c.rtoAt = skEstablished, time.Time{}
		}
		return
	case skSynRecv:
		if s.Flags == wire.FlagACK && s.Ack == c.iss+1 {
			c.sndUna = c.iss + 1
			c.state, c.rtoAt = skEstablished, time.Time{}
		}
		return
	}
	if s.Has(wire.FlagSYN | wire.FlagACK) {
		c.send(wire.FlagACK, c.iss+1, c.rcvStart, nil) // the third ACK was lost
		return
	}
	if !c.stateAt.IsZero() {
		return // the FIN went out, the state has not changed yet: dropped
	}
	// Acknowledgements of data and of the FIN.
	if acks && len(c.data) > 0 && int32(s.Ack-c.sndUna) > 0 && int32(s.Ack-c.sndNxt) <= 0 {
		n := int(s.Ack - c.sndUna)
		c.data, c.sndUna = c.data[n:], s.Ack
		c.rtoAt = time.Time{}
		if int32(c.sndNxt-c.sndUna) > 0 {
			c.arm(skeletonRTO)
		}
	}
	finAcked := acks && c.finSent && s.Ack == c.finSeq+1
	if finAcked {
		c.rtoAt = time.Time{}
		switch c.state {
		case skFinWait1:
			c.state = skFinWait2
		case skClosing:
			c.enterTimeWait(now)
		case skLastAck:
			c.done = true
			return
		}
	}
	if len(s.Payload) > 0 && (c.state == skEstablished || c.state == skFinWait1 || c.state == skFinWait2) {
		c.receive(s)
	}
	if !fin {
		return
	}
	// The peer's FIN: taken in order, or whatever its seq before any data
	// arrived (the grader's FIN, whatever ISN was assumed).
	inOrder := s.Seq+uint32(len(s.Payload)) == c.rcvNxt
	if !inOrder && (c.rcvNxt != c.rcvInit || len(c.ooo) > 0) {
		c.ack(c.rcvNxt)
		return
	}
	a := s.Seq + uint32(len(s.Payload)) + 1
	c.lastAck, c.rcvNxt = a, a
	finSeq := c.finSeq + 1
	switch c.state {
	case skEstablished:
		c.ack(a)
		c.state = skCloseWait
		if c.app == labpeer.AppAcceptReadClose {
			c.closing = true
		}
	case skCloseWait, skLastAck:
		c.ack(a)
	case skFinWait1:
		c.send(wire.FlagACK, finSeq, a, nil)
		if finAcked {
			c.enterTimeWait(now)
		} else {
			c.state = skClosing
		}
	case skFinWait2, skTimeWait:
		c.send(wire.FlagACK, finSeq, a, nil)
		c.enterTimeWait(now)
	case skClosing:
		c.send(wire.FlagACK, finSeq, a, nil)
	}
}

func (c *skConn) enterTimeWait(now time.Time) {
	c.state, c.twAt, c.rtoAt = skTimeWait, now.Add(skeletonTW), time.Time{}
}

// receive takes data in order, keeps what arrives ahead of a hole, and
// acknowledges every segment.
func (c *skConn) receive(s *wire.Segment) {
	if s.Seq == c.rcvNxt {
		c.deliver(s.Payload)
		for b, ok := c.ooo[c.rcvNxt]; ok; b, ok = c.ooo[c.rcvNxt] {
			c.deliver(b)
		}
	} else if d := int32(s.Seq - c.rcvNxt); d > 0 && d < 1<<22 {
		if _, ok := c.ooo[s.Seq]; !ok {
			c.ooo[s.Seq] = append([]byte(nil), s.Payload...)
		}
	}
	c.lastAck = c.rcvNxt
	c.ack(c.rcvNxt)
}

func (c *skConn) deliver(b []byte) {
	seq := c.rcvNxt
	c.out.Write(b)
	c.rcvNxt = seq + uint32(len(b))
	delete(c.ooo, seq)
}

func (c *skConn) String() string { return fmt.Sprintf("skeleton state %d", c.state) }
