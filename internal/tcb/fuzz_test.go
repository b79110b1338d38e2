package tcb

// FuzzTCB runs the state machine on programs decoded from the fuzzer's
// bytes. A program drives two TCBs, an active one and the passive one its
// SYN creates (or, when the fuzzer crafts the SYN, a passive one alone),
// through application calls (Write, Read, CloseWrite, Close, Abort), time
// (OnTimer), the network between them (deliver, reorder, drop, duplicate,
// mangle a header field) and segments it crafts itself around the
// connection's current sequence numbers. After every step it checks:
//
//   - no panic, and Poll returns 0 within a bounded number of calls;
//   - every datagram Poll writes is at most 1400 bytes, decodes with
//     wire.Decode, carries the TCB's ports, and its payload holds exactly
//     the bytes the application wrote at those sequence numbers;
//   - pipe, lost and SACKed byte counters are never negative and add up to
//     the bytes of the retransmission queue;
//   - SND.UNA <= SND.NXT, the queue lies in [SND.UNA, SND.NXT), in order;
//   - buffers stay within their limits, and every byte Read returns is the
//     byte the peer wrote at that sequence number;
//   - liveness: segments in flight always have a retransmission timer, and
//     unsent data with nothing in flight always has a timer (persist or
//     silly-window override): a lost window update cannot stall a sender;
//     after OnTimer(now) the next deadline is later than now.
//
// Every byte of every stream is a function of its sequence number alone
// (streamByte), so the last check needs no bookkeeping of who sent what,
// and crafted segments carry the same bytes as real ones.
//
// CI runs it for a short time:
//
//	go test -run '^$' -fuzz '^FuzzTCB$' -fuzztime 15s ./internal/tcb

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// streamByte is the byte every stream carries at sequence number seq.
func streamByte(seq uint32) byte {
	x := seq * 0x9e3779b1
	return byte(x>>24) ^ byte(x>>11)
}

// fuzzProgram reads the fuzzer's bytes; past the end it yields zeros.
type fuzzProgram struct {
	b []byte
	i int
}

func (p *fuzzProgram) more() bool { return p.i < len(p.b) }

func (p *fuzzProgram) u8() uint8 {
	if p.i >= len(p.b) {
		return 0
	}
	p.i++
	return p.b[p.i-1]
}

func (p *fuzzProgram) u16() uint16 { return uint16(p.u8())<<8 | uint16(p.u8()) }
func (p *fuzzProgram) u32() uint32 { return uint32(p.u16())<<16 | uint32(p.u16()) }

type fuzzSide struct {
	t       *TCB
	written int // bytes the application wrote
}

type fuzzNet struct {
	tb   testing.TB
	p    *fuzzProgram
	now  time.Duration
	cfg  [2]Config
	side [2]*fuzzSide
	q    [2][][]byte // datagrams in flight to side i
	buf  []byte
	step int
	sent int // datagrams polled so far, against fuzzBudget
}

// fuzzBudget bounds the datagrams one program may produce: a 1-byte
// MaxPayload with megabyte windows would otherwise make single inputs
// take seconds.
const fuzzBudget = 20000

const fuzzMaxQueue = 64

var fuzzBufSizes = [...]int{1, 700, 1400, 3000, 16 << 10, 64 << 10, 1 << 20, 8 << 20}

func fuzzConfig(p *fuzzProgram, local, remote uint16) Config {
	b := p.u8()
	cfg := Config{
		LocalPort: local, RemotePort: remote, ISN: p.u32(),
		SendBufSize: fuzzBufSizes[b&7], RecvBufSize: fuzzBufSizes[b>>3&7],
		InitialRTO: time.Second, MinRTO: 200 * time.Millisecond, MaxRTO: 60 * time.Second,
		TimeWait: time.Second, FinWait2Timeout: 3 * time.Second,
		SynRetries: 3, Retries: 6, Extensions: b&0x40 == 0, NoDelay: b&0x80 == 0,
	}
	c := p.u8()
	if c&1 != 0 {
		cfg.DelayedACK = 40 * time.Millisecond
	}
	cfg.SkeletonShape = c&2 != 0
	cfg.MaxPayload = [...]int{0, 0, 1, 100, 536, 1000, 1372, 1375}[c>>2&7]
	cfg.CongestionControl = [...]string{"reno", "cubic", "bbr", ""}[c>>5&3]
	if NewController(cfg.CongestionControl, 1000, 10000, 0) == nil {
		cfg.CongestionControl = "reno"
	}
	cfg.InitialCwnd = int(c >> 7 * 2)
	return cfg
}

func FuzzTCB(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		runFuzzProgram(t, prog)
	})
}

func runFuzzProgram(tb testing.TB, prog []byte) {
	p := &fuzzProgram{b: prog}
	n := &fuzzNet{tb: tb, p: p, buf: make([]byte, 2*wire.MaxDatagram)}
	mode := p.u8()
	n.cfg[0] = fuzzConfig(p, 5678, 1234)
	n.cfg[1] = fuzzConfig(p, 1234, 5678)
	if mode&1 == 0 {
		n.side[0] = &fuzzSide{t: NewActive(n.cfg[0], 0)}
	} else {
		// A passive TCB alone, for a SYN the program crafts.
		syn := n.craft(1, wire.FlagSYN, p)
		n.side[1] = &fuzzSide{t: NewPassive(n.cfg[1], syn, 0)}
	}
	n.flushAll()
	for n.step = 0; p.more() && n.step < 2000 && n.sent < fuzzBudget; n.step++ {
		n.op()
		n.flushAll()
	}
	// Let the timers run out: every TCB must end up quiet, without
	// panicking or looping.
	for range 200 {
		next := time.Duration(0)
		for _, s := range n.side {
			if s != nil {
				if d := s.t.NextDeadline(); d != 0 && (next == 0 || d < next) {
					next = d
				}
			}
		}
		if next == 0 || n.sent >= fuzzBudget {
			break
		}
		n.now = max(n.now, next)
		for i, s := range n.side {
			if s != nil && s.t.NextDeadline() != 0 && s.t.NextDeadline() <= n.now {
				n.onTimer(i)
			}
		}
		n.deliverAll()
	}
}

// op runs one step of the program.
func (n *fuzzNet) op() {
	p := n.p
	b := p.u8()
	x := int(b>>7) & 1 // the side it concerns
	switch b & 0x0f {
	case 0, 1, 2: // deliver the oldest datagram
		n.deliver(x, 0)
	case 3: // deliver another one (reordering)
		n.deliver(x, int(p.u8()))
	case 4: // lose one
		if q := n.q[x]; len(q) > 0 {
			i := int(p.u8()) % len(q)
			n.q[x] = append(q[:i], q[i+1:]...)
		}
	case 5: // duplicate one
		if q := n.q[x]; len(q) > 0 && len(q) < fuzzMaxQueue {
			i := int(p.u8()) % len(q)
			n.q[x] = append(q, append([]byte(nil), q[i]...))
		}
	case 6: // mangle a header field of one, re-sealing its checksum
		n.mangle(x)
	case 7: // a crafted segment
		if s := n.side[x]; s != nil {
			flags := p.u8() & (wire.FlagSYN | wire.FlagACK | wire.FlagFIN | wire.FlagRST)
			seg := n.craft(x, flags, p)
			n.checkSegmentOK(seg)
			s.t.Handle(seg, n.now)
		}
	case 8: // the application writes
		if s := n.side[x]; s != nil {
			m := int(p.u16()) % (96 << 10)
			w := make([]byte, m)
			base := uint32(s.t.iss.add(1 + s.written))
			for i := range w {
				w[i] = streamByte(base + uint32(i))
			}
			room := s.t.Writable()
			k := s.t.Write(w)
			if k != min(m, max(room, 0)) {
				n.fail("Write(%d) = %d with %d writable", m, k, room)
			}
			s.written += k
		}
	case 9: // the application reads
		if s := n.side[x]; s != nil {
			n.read(x, int(p.u16()))
		}
	case 10: // time passes, timers run
		d := time.Duration(p.u8()) * time.Duration(p.u8()+1) * 100 * time.Microsecond
		n.now += d
		for i, s := range n.side {
			if s != nil && s.t.NextDeadline() != 0 && s.t.NextDeadline() <= n.now {
				n.onTimer(i)
			}
		}
	case 11: // everything in flight arrives
		n.deliverAll()
	case 12: // the next timer fires
		if s := n.side[x]; s != nil {
			if d := s.t.NextDeadline(); d != 0 {
				n.now = max(n.now, d)
				n.onTimer(x)
			}
		}
	case 13:
		if s := n.side[x]; s != nil {
			switch p.u8() % 8 {
			case 0:
				s.t.Abort()
			case 1, 2:
				s.t.CloseWrite()
			default:
				s.t.Close(n.now)
			}
		}
	case 14: // read everything and answer EOF with Close, like an application
		if s := n.side[x]; s != nil {
			n.read(x, 1<<30)
			if s.t.EOF() {
				s.t.Close(n.now)
			}
		}
	case 15: // nothing
	}
}

// onTimer runs side x's timers and sends what they produce. A deadline
// that is still due afterwards would make a shell's timer spin.
func (n *fuzzNet) onTimer(x int) {
	t := n.side[x].t
	t.OnTimer(n.now)
	n.flush(x)
	if d := t.NextDeadline(); d != 0 && d <= n.now {
		n.fail("side %d: after OnTimer(%v) the next deadline is %v", x, n.now, d)
	}
}

// read reads up to m bytes from side x and checks them.
func (n *fuzzNet) read(x, m int) {
	s := n.side[x]
	for m > 0 {
		buf := make([]byte, min(m, 64<<10))
		ready := s.t.Readable()
		first := uint32(s.t.rbuf.nxt.add(-ready)) // sequence number of the next byte to read
		if s.t.finRcvd {
			first-- // the FIN took a sequence number after the data
		}
		k := s.t.Read(buf)
		if k != min(len(buf), ready) {
			n.fail("Read(%d) = %d with %d readable", len(buf), k, ready)
		}
		for i := range k {
			if buf[i] != streamByte(first+uint32(i)) {
				n.fail("side %d read byte %#x at seq %d, the peer wrote %#x", x, buf[i], first+uint32(i), streamByte(first+uint32(i)))
			}
		}
		if k == 0 {
			return
		}
		m -= k
	}
}

// craft builds a segment to side x from the program, with sequence and
// acknowledgement numbers near the side's own, and decodes it as the
// endpoint would.
func (n *fuzzNet) craft(x int, flags uint8, p *fuzzProgram) *wire.Segment {
	var rcvNxt, sndUna uint32
	if s := n.side[x]; s != nil {
		rcvNxt, sndUna = uint32(s.t.rbuf.nxt), uint32(s.t.sndUna)
	}
	h := wire.Header{SrcPort: n.cfg[x].RemotePort, DstPort: n.cfg[x].LocalPort, Flags: flags, Window: p.u16()}
	sel := p.u8()
	switch sel & 3 {
	case 0:
		h.Seq = rcvNxt + uint32(int32(int8(p.u8())))*int32Mul(sel)
	case 1:
		h.Seq = rcvNxt + uint32(p.u16())
	case 2:
		h.Seq = rcvNxt - uint32(p.u16())
	case 3:
		h.Seq = p.u32()
	}
	switch sel >> 2 & 3 {
	case 0:
		h.Ack = sndUna
	case 1:
		h.Ack = sndUna + uint32(p.u16())
	case 2:
		h.Ack = sndUna - uint32(p.u8())
	case 3:
		h.Ack = p.u32()
	}
	if sel&0x10 != 0 {
		h.CRC = true
	}
	if flags&wire.FlagSYN != 0 && sel&0x20 != 0 {
		h.HasWindowScale, h.WindowScale = true, p.u8()%16
		h.SACKPermitted, h.RSTPermitted = true, sel&0x40 != 0
		if h.WindowScale > 14 {
			h.WindowScale = 14
		}
	}
	if k := int(sel>>6) & 3; k > 0 && flags&wire.FlagSYN == 0 {
		for range k {
			l := sndUna + uint32(p.u16())
			h.SACK = append(h.SACK, wire.Block{Left: l, Right: l + uint32(p.u16()%8000)})
		}
	}
	plen := int(p.u16()) % (wire.MaxDatagram + 1)
	plen = min(plen, wire.MaxDatagram-h.Len())
	if flags&wire.FlagSYN != 0 {
		plen = 0
	}
	b := make([]byte, wire.MaxDatagram)
	hl := wire.Put(b, &h, plen)
	for i := range plen {
		b[hl+i] = streamByte(h.Seq + uint32(i))
	}
	b = b[:hl+plen]
	if h.CRC {
		wire.Seal(b)
	}
	var seg wire.Segment
	if err := wire.Decode(b, &seg); err != nil {
		n.fail("a crafted segment does not decode: %v (%+v)", err, h)
	}
	return &seg
}

func int32Mul(sel uint8) uint32 {
	if sel&0x80 != 0 {
		return 1375
	}
	return 1
}

// mangle changes one header field of a datagram in flight to side x and
// re-seals it, so that it still decodes: a sequence or acknowledgement
// number nudged, flags flipped, the window changed.
func (n *fuzzNet) mangle(x int) {
	q := n.q[x]
	if len(q) == 0 {
		return
	}
	i := int(n.p.u8()) % len(q)
	b := append([]byte(nil), q[i]...)
	v := n.p.u16()
	switch v & 3 {
	case 0:
		binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(b[4:])+uint32(int32(int16(v))))
	case 1:
		binary.BigEndian.PutUint32(b[8:], binary.BigEndian.Uint32(b[8:])+uint32(int32(int16(v))))
	case 2:
		b[16] ^= byte(v>>8) & (wire.FlagSYN | wire.FlagACK | wire.FlagFIN | wire.FlagRST)
	case 3:
		binary.BigEndian.PutUint16(b[17:], v)
	}
	var s wire.Segment
	if wire.Decode(q[i], &s) == nil && s.HasCRC {
		wire.Seal(b)
	}
	// A mangled sequence number would put the payload at the wrong
	// place; rewrite it to the bytes of that place.
	if wire.Decode(b, &s) == nil && len(s.Payload) > 0 {
		hl := int(s.HeaderLen)
		for j := range s.Payload {
			b[hl+j] = streamByte(s.Seq + uint32(j))
		}
		if s.HasCRC {
			wire.Seal(b)
		}
	}
	n.q[x][i] = b
}

// deliver hands datagram i (modulo the queue) to side x.
func (n *fuzzNet) deliver(x, i int) {
	q := n.q[x]
	if len(q) == 0 {
		return
	}
	i %= len(q)
	b := q[i]
	n.q[x] = append(q[:i], q[i+1:]...)
	var seg wire.Segment
	if err := wire.Decode(b, &seg); err != nil {
		return // the endpoint drops it
	}
	if n.side[x] == nil {
		// The listener: a SYN makes the passive TCB.
		if seg.Flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) == wire.FlagSYN {
			n.side[x] = &fuzzSide{t: NewPassive(n.cfg[x], &seg, n.now)}
		}
		return
	}
	n.side[x].t.Handle(&seg, n.now)
}

func (n *fuzzNet) deliverAll() {
	for range 4 * fuzzMaxQueue {
		if len(n.q[0]) == 0 && len(n.q[1]) == 0 {
			return
		}
		for x := range 2 {
			n.deliver(x, 0)
		}
		n.flushAll()
	}
}

func (n *fuzzNet) flushAll() {
	for i := range n.side {
		n.flush(i)
	}
}

// flush polls side i until it has nothing to send, checks every datagram
// and the invariants, and queues the datagrams for the other side.
func (n *fuzzNet) flush(i int) {
	s := n.side[i]
	if s == nil {
		return
	}
	t := s.t
	var prev []byte
	repeats := 0
	for n.sent < 2*fuzzBudget {
		m := t.Poll(n.now, n.buf)
		if m == 0 {
			break
		}
		n.sent++
		if m > wire.MaxDatagram {
			n.fail("Poll returned %d bytes", m)
		}
		d := append([]byte(nil), n.buf[:m]...)
		if string(d) == string(prev) {
			// Nothing changes between two identical datagrams in a row
			// but the engine's state: it is stuck emitting.
			if repeats++; repeats == 3 {
				n.fail("side %d: Poll keeps returning the same datagram", i)
			}
		} else {
			repeats = 0
		}
		prev = d
		var seg wire.Segment
		if err := wire.Decode(d, &seg); err != nil {
			n.fail("side %d sent a datagram that does not decode: %v", i, err)
		}
		n.checkSegmentOK(&seg)
		if seg.SrcPort != n.cfg[i].LocalPort || seg.DstPort != n.cfg[i].RemotePort {
			n.fail("side %d sent from port %d to %d", i, seg.SrcPort, seg.DstPort)
		}
		for j, c := range seg.Payload {
			if c != streamByte(seg.Seq+uint32(j)) {
				n.fail("side %d sent byte %#x at seq %d, the application wrote %#x", i, c, seg.Seq+uint32(j), streamByte(seg.Seq+uint32(j)))
			}
		}
		if len(n.q[1-i]) < fuzzMaxQueue {
			n.q[1-i] = append(n.q[1-i], d)
		}
	}
	n.checkInvariants(i)
}

func (n *fuzzNet) checkSegmentOK(s *wire.Segment) {
	if len(s.Payload) > wire.MaxDatagram-wire.HeaderLen {
		n.fail("payload of %d bytes", len(s.Payload))
	}
}

// checkInvariants checks side i's counters and queues.
func (n *fuzzNet) checkInvariants(i int) {
	t := n.side[i].t
	if err := t.recs.check(); err != nil {
		n.fail("side %d: scoreboard: %v", i, err)
	}
	if !t.sndUna.leq(t.sndNxt) {
		n.fail("side %d: SND.UNA %d after SND.NXT %d", i, t.sndUna, t.sndNxt)
	}
	for k := range t.recs.len() {
		r := t.recs.at(k)
		if r.n == 0 || r.seq.lt(t.sndUna) || r.end().gt(t.sndNxt) {
			n.fail("side %d: record %d [%d, %d) outside [SND.UNA %d, SND.NXT %d)", i, k, r.seq, r.end(), t.sndUna, t.sndNxt)
		}
	}
	if t.sbufLen < 0 || t.sbufLen > t.cfg.SendBufSize {
		n.fail("side %d: %d bytes in a send buffer of %d", i, t.sbufLen, t.cfg.SendBufSize)
	}
	if t.rbuf.ready < 0 || t.rbuf.ready > t.rbuf.limit || t.rbuf.hi < 0 {
		n.fail("side %d: receive buffer ready %d, hi %d, limit %d", i, t.rbuf.ready, t.rbuf.hi, t.rbuf.limit)
	}
	if t.Writable() < 0 || t.Readable() < 0 {
		n.fail("side %d: writable %d, readable %d", i, t.Writable(), t.Readable())
	}
	if d := t.NextDeadline(); d < 0 {
		n.fail("side %d: deadline %v", i, d)
	}
	// Liveness: what waits to be sent or acknowledged has a timer behind
	// it, for the peer may never send another segment on its own.
	switch t.state {
	case Established, CloseWait, FinWait1, Closing, LastAck:
		if t.recs.len() > 0 && !t.running(timerRTO) {
			n.fail("side %d: %d segments in flight and no retransmission timer", i, t.recs.len())
		}
		if t.recs.len() == 0 && t.unsentBytes() > 0 && t.NextDeadline() == 0 {
			n.fail("side %d: %d bytes unsent, nothing in flight, window %d, and no timer: stalled", i, t.unsentBytes(), t.sndWnd)
		}
	}
}

func (n *fuzzNet) fail(format string, args ...any) {
	n.tb.Helper()
	msg := fmt.Sprintf(format, args...)
	for i, s := range n.side {
		if s != nil {
			t := s.t
			msg += fmt.Sprintf("\n side %d: %v err=%v una=%d nxt=%d wnd=%d pipe=%d lost=%d sacked=%d recs=%d rcv.nxt=%d ready=%d",
				i, t.state, t.err, t.sndUna, t.sndNxt, t.sndWnd, t.recs.pipe, t.recs.lost, t.recs.sacked, t.recs.len(), t.rbuf.nxt, t.rbuf.ready)
		}
	}
	n.tb.Fatalf("step %d at %v: %s", n.step, n.now, msg)
}

// fuzzSeeds are starting programs: a clean transfer and close, a lossy
// one, a passive TCB fed crafted segments, and a zero window.
func fuzzSeeds() [][]byte {
	cfg := func(bufs, opts byte) []byte { return []byte{bufs, 0x10, 0x20, 0x30, 0x40, opts} }
	prog := func(mode byte, a, b []byte, ops ...byte) []byte {
		out := append([]byte{mode}, a...)
		out = append(out, b...)
		return append(out, ops...)
	}
	const (
		onB       = 0x80 // the operation concerns side 1, the passive TCB
		deliver   = 0
		reorder   = 3
		lose      = 4
		dup       = 5
		mangle    = 6
		craft     = 7
		write     = 8
		read      = 9
		wait      = 10
		all       = 11
		timer     = 12
		closeOp   = 13
		readClose = 14
	)
	big := byte(6<<3 | 6) // 1 MiB buffers
	return [][]byte{
		// Handshake, 40 KB each way, both close.
		prog(0, cfg(big, 0), cfg(big, 1),
			all, write, 0x9c, 0x40, write|onB, 0x9c, 0x40, all, all, all, read, 0xff, 0xff, read|onB, 0xff, 0xff,
			closeOp, 5, all, readClose|onB, all, all, readClose, wait, 200, 200, all, wait, 200, 200, all),
		// The same with losses, reordering, duplicates and timers.
		prog(0, cfg(big, 0), cfg(big, 1),
			all, write, 0xff, 0xff, deliver|onB, lose|onB, 1, deliver|onB, reorder|onB, 3, dup|onB, 0, all,
			wait, 100, 20, timer, all, lose, 0, all, mangle, 1, 5, all, timer, all, read|onB, 0xff, 0xff,
			closeOp, 3, all, readClose|onB, all, wait, 250, 250, all, timer|onB, all, readClose, all),
		// A passive TCB alone: a crafted SYN with the checksum and window
		// scale options, then crafted segments acknowledging its SYN-ACK:
		// an ACK, 1280 bytes of data, 256 bytes with the FIN.
		prog(1, cfg(big, 0), cfg(big, 0),
			0x10, 0x00, 0x33, 0x00, 0x00, 0x10, 0x00, 0x07, 0x00, 0x00,
			craft|onB, 0x04, 0xff, 0xff, 0x14, 0x00, 0x00, 0x01, 0x00, 0x00,
			craft|onB, 0x04, 0xff, 0xff, 0x14, 0x00, 0x00, 0x01, 0x05, 0x00,
			craft|onB, 0x06, 0xff, 0xff, 0x14, 0x00, 0x00, 0x01, 0x01, 0x00,
			readClose|onB, wait|onB, 250, 250, timer|onB),
		// A receiver with a 1400-byte buffer that reads late: zero window.
		prog(0, cfg(big, 0), cfg(2<<3|6, 0),
			all, write, 0x40, 0x00, all, all, wait, 200, 50, timer, all, wait, 200, 100, timer, all,
			read|onB, 0x10, 0x00, all, all, read|onB, 0xff, 0xff, all, closeOp, 4, all, readClose|onB, all),
	}
}
