package tju

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// packetIO is what an endpoint needs of its socket. *net.UDPConn and
// *netem.PacketConn have these methods; other PacketConns are adapted.
type packetIO interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

type packetConnAdapter struct{ net.PacketConn }

func (a packetConnAdapter) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, from, err := a.ReadFrom(b)
	ap, _ := addrPortOf(from)
	return n, ap, err
}

func (a packetConnAdapter) WriteToUDPAddrPort(b []byte, ap netip.AddrPort) (int, error) {
	return a.WriteTo(b, net.UDPAddrFromAddrPort(ap))
}

// connKey identifies a connection on an endpoint: the peer's UDP address
// and the two TJU ports.
type connKey struct {
	peer          netip.AddrPort
	local, remote uint16
}

// Endpoint is one UDP socket carrying any number of TJU connections, the
// lab's "kernel": it demultiplexes arriving segments by peer address and
// TJU ports, runs the listeners' SYN and accept queues, keeps one timer
// structure for all connections, and handles TIME_WAIT so that Close never
// blocks. It is safe for concurrent use.
type Endpoint struct {
	cfg         Config
	pc          net.PacketConn
	io          packetIO
	epoch       time.Time
	epochMicros int64

	mu        sync.RWMutex
	conns     map[connKey]*Conn
	listeners map[uint16]*Listener
	closed    bool
	private   bool // created by the package-level Listen or Dial: closes itself when unused

	keys endpointKeys // for connection secrets and SYN cookies

	timers timerQueue
	done   chan struct{}
	wg     sync.WaitGroup
	stats  endpointCounters

	udp *net.UDPConn // set when pc is a real UDP socket
	gso atomic.Bool  // send runs of segments with UDP_SEGMENT
	gro bool         // receive runs of segments with UDP_GRO
	// recvErr: the kernel queues ICMP errors on the socket (icmp.go);
	// errWake asks errQueueLoop to read them.
	recvErr bool
	errWake chan struct{}
	txPool  sync.Pool // *txBatch
}

// EndpointStats are an endpoint's counters since it was created.
type EndpointStats struct {
	DatagramsIn, DatagramsOut uint64
	BytesIn, BytesOut         uint64
	Malformed                 uint64 // dropped: too short, bad lengths or options
	BadChecksum               uint64 // dropped: CRC-32C mismatch
	BadMAC                    uint64 // dropped: failed or lacked a connection's negotiated MAC
	NoConnection              uint64 // valid segments for no connection or listener
	ConnsOpened               uint64 // connections that reached ESTABLISHED
	ConnsRefused              uint64 // SYNs answered with a reset (no listener)
	ResetsSent                uint64
	AcceptOverflows           uint64 // SYNs (or cookie ACKs) dropped because the accept queue was full
	SynCookiesSent            uint64 // SYN-ACKs sent from a cookie because the half-open queue was full
	SynCookiesAccepted        uint64 // connections opened by an ACK that returned a valid cookie
	SendErrors                uint64
	ICMPIn                    uint64 // ICMP errors the kernel reported about our datagrams
	ICMPUnreachable           uint64 // ports unreachable that ended a connection or a Dial
	ICMPIgnored               uint64 // ICMP errors that quoted no segment in flight, or were soft
}

type endpointCounters struct {
	datagramsIn, datagramsOut, bytesIn, bytesOut atomic.Uint64
	malformed, badChecksum, badMAC, noConnection atomic.Uint64
	connsOpened, connsRefused, resetsSent        atomic.Uint64
	acceptOverflows, sendErrors                  atomic.Uint64
	icmpIn, icmpUnreachable, icmpIgnored         atomic.Uint64
	synCookies, synCookiesAccepted               atomic.Uint64
}

// NewEndpoint returns an endpoint that carries TJU connections over pc,
// which it owns from now on: Close closes it. pc is usually a *net.UDPConn;
// a *netem.PacketConn gives an emulated network. cfg may be nil.
func NewEndpoint(pc net.PacketConn, cfg *Config) *Endpoint {
	e := &Endpoint{
		cfg:       cfg.withDefaults(),
		pc:        pc,
		epoch:     time.Now(),
		conns:     make(map[connKey]*Conn),
		listeners: make(map[uint16]*Listener),
		done:      make(chan struct{}),
	}
	e.epochMicros = e.epoch.UnixMicro()
	e.keys.init()
	e.timers.wake = make(chan struct{}, 1)
	if p, ok := pc.(packetIO); ok {
		e.io = p
	} else {
		e.io = packetConnAdapter{pc}
	}
	if u, ok := pc.(*net.UDPConn); ok {
		// Large socket buffers absorb bursts; the kernel may cap them.
		_ = u.SetReadBuffer(8 << 20)
		_ = u.SetWriteBuffer(8 << 20)
		e.udp = u
		gso, gro := enableOffload(u)
		e.gso.Store(gso)
		e.gro = gro
		e.recvErr = enableRecvErr(u)
	}
	e.txPool.New = func() any { return &txBatch{buf: make([]byte, maxBatchBytes)} }
	e.wg.Add(2)
	go func() { defer e.wg.Done(); e.readLoop() }()
	go func() { defer e.wg.Done(); e.timers.run(e.now, e.done) }()
	if e.recvErr {
		e.errWake = make(chan struct{}, 1)
		e.wg.Add(1)
		go func() { defer e.wg.Done(); e.errQueueLoop() }()
	}
	return e
}

// OpenEndpoint opens a UDP socket on address ("host:port"; ":0" picks a
// free port) and returns an endpoint on it.
func OpenEndpoint(address string, cfg *Config) (*Endpoint, error) {
	pc, err := net.ListenPacket("udp", address)
	if err != nil {
		return nil, fmt.Errorf("tju: open endpoint: %w", err)
	}
	return NewEndpoint(pc, cfg), nil
}

// Addr returns the endpoint's UDP address.
func (e *Endpoint) Addr() net.Addr { return e.pc.LocalAddr() }

func (e *Endpoint) udpAddr() netip.AddrPort {
	ap, _ := addrPortOf(e.pc.LocalAddr())
	return ap
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() EndpointStats {
	s := &e.stats
	return EndpointStats{
		DatagramsIn: s.datagramsIn.Load(), DatagramsOut: s.datagramsOut.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load(),
		Malformed: s.malformed.Load(), BadChecksum: s.badChecksum.Load(), BadMAC: s.badMAC.Load(),
		NoConnection: s.noConnection.Load(), ConnsOpened: s.connsOpened.Load(),
		ConnsRefused: s.connsRefused.Load(), ResetsSent: s.resetsSent.Load(),
		AcceptOverflows: s.acceptOverflows.Load(), SendErrors: s.sendErrors.Load(),
		ICMPIn: s.icmpIn.Load(), ICMPUnreachable: s.icmpUnreachable.Load(), ICMPIgnored: s.icmpIgnored.Load(),
		SynCookiesSent: s.synCookies.Load(), SynCookiesAccepted: s.synCookiesAccepted.Load(),
	}
}

func (e *Endpoint) now() time.Duration { return time.Since(e.epoch) }

// Close closes the socket and aborts every connection on the endpoint.
func (e *Endpoint) Close() error {
	err := e.shutdown()
	e.wg.Wait()
	return err
}

func (e *Endpoint) shutdown() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return net.ErrClosed
	}
	e.closed = true
	conns := make([]*Conn, 0, len(e.conns))
	for _, c := range e.conns {
		conns = append(conns, c)
	}
	ls := make([]*Listener, 0, len(e.listeners))
	for _, l := range e.listeners {
		ls = append(ls, l)
	}
	e.mu.Unlock()
	for _, l := range ls {
		l.close()
	}
	for _, c := range conns {
		c.abort()
	}
	close(e.done)
	return e.pc.Close()
}

// releaseIfUnused closes a private endpoint once nothing uses it.
func (e *Endpoint) releaseIfUnused() {
	e.mu.RLock()
	unused := e.private && !e.closed && len(e.conns) == 0 && len(e.listeners) == 0
	e.mu.RUnlock()
	if unused {
		go e.shutdown()
	}
}

func (e *Endpoint) readLoop() {
	buf := make([]byte, 1<<16)
	oob := make([]byte, 128)
	b := segRun{e: e}
	for {
		var (
			n, seg int
			from   netip.AddrPort
			err    error
		)
		if e.gro {
			var oobn int
			n, oobn, _, from, err = e.udp.ReadMsgUDPAddrPort(buf, oob)
			if err == nil {
				seg = groSegmentSize(oob[:oobn])
			}
		} else {
			n, from, err = e.io.ReadFromUDPAddrPort(buf)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) || e.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if e.sawSocketError(err) {
				continue // an ICMP report: errQueueLoop reads it
			}
			// A transient error (for example an ICMP report): keep going.
			time.Sleep(time.Millisecond)
			continue
		}
		from = unmap(from)
		if e.cfg.Lab {
			// A lab host answers the other host's port 20218, whatever
			// port the datagram came from.
			from = netip.AddrPortFrom(from.Addr(), LabUDPPort)
		}
		if seg <= 0 || seg >= n {
			e.input(buf[:n], from, &b)
		} else {
			for off := 0; off < n; off += seg {
				e.input(buf[off:min(off+seg, n)], from, &b)
			}
		}
		b.flush()
		b.flushCookies()
	}
}

// segRun carries a run of segments for one connection through the engine
// under one lock acquisition, so that the connection answers the whole run
// at once (one ACK for a run of data segments).
type segRun struct {
	c   *Conn
	now time.Duration

	e       *Endpoint
	cookies *txBatch // SYN-ACKs from cookies, sent in one GSO run per peer
}

func (b *segRun) flush() {
	if b.c != nil {
		b.c.afterLocked(b.now)
		b.c.mu.Unlock()
		b.c = nil
	}
}

// flushCookies sends the queued cookie SYN-ACKs; the read loop calls it
// after each read.
func (b *segRun) flushCookies() {
	if x := b.cookies; x != nil {
		b.e.flushBatch(x)
		b.e.txPool.Put(x)
		b.cookies = nil
	}
}

// queue sends d to peer, or with GSO queues it to go out in one system
// call with the other datagrams of the same read (a run of SYNs that GRO
// coalesced gets its SYN-ACKs in one run).
func (b *segRun) queue(d []byte, peer netip.AddrPort) {
	e := b.e
	if !e.gso.Load() {
		e.send(d, peer)
		return
	}
	x := b.cookies
	if x == nil {
		x = e.txPool.Get().(*txBatch)
		x.used, x.count = 0, 0
		b.cookies = x
	}
	if x.count > 0 && (x.peer != peer || len(d) != x.seg || x.count == maxBatchSegs || x.used+len(d) > len(x.buf)) {
		e.flushBatch(x)
	}
	if x.count == 0 {
		x.peer, x.seg = peer, len(d)
	}
	copy(x.buf[x.used:], d)
	x.used += len(d)
	x.count++
}

func (e *Endpoint) isClosed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.closed
}

// input demultiplexes one datagram.
func (e *Endpoint) input(d []byte, from netip.AddrPort, b *segRun) {
	e.stats.datagramsIn.Add(1)
	e.stats.bytesIn.Add(uint64(len(d)))
	var seg wire.Segment
	if err := wire.Decode(d, &seg); err != nil {
		if errors.Is(err, wire.ErrBadChecksum) {
			e.stats.badChecksum.Add(1)
		} else {
			e.stats.malformed.Add(1)
		}
		return
	}
	key := connKey{peer: from, local: seg.DstPort, remote: seg.SrcPort}
	if b.c != nil && b.c.key == key {
		if !b.c.tcb.Handle(&seg, b.now) {
			e.stats.badMAC.Add(1)
		}
		return
	}
	b.flush()
	e.mu.RLock()
	c := e.conns[key]
	l := e.listeners[seg.DstPort]
	e.mu.RUnlock()
	if c != nil {
		c.mu.Lock()
		b.c, b.now = c, e.now()
		if !c.tcb.Handle(&seg, b.now) {
			e.stats.badMAC.Add(1)
		}
		return
	}
	if l != nil {
		switch seg.Flags & (wire.FlagSYN | wire.FlagACK | wire.FlagRST) {
		case wire.FlagSYN:
			l.onSYN(&seg, key, b)
			return
		case wire.FlagACK:
			if l.onCookieACK(&seg, key) {
				return
			}
		}
	}
	e.stats.noConnection.Add(1)
	e.refuse(&seg, from)
}

// refuse answers a segment for no connection with a reset, when the
// sender speaks tjunet's options (a plain lab peer never gets one).
func (e *Endpoint) refuse(s *wire.Segment, to netip.AddrPort) {
	if e.cfg.Plain || s.Flags&wire.FlagRST != 0 || !(s.HasCRC || s.HasMAC || s.RSTPermitted) {
		return
	}
	h := wire.Header{SrcPort: s.DstPort, DstPort: s.SrcPort, Flags: wire.FlagRST | wire.FlagACK, CRC: s.HasCRC || s.HasMAC}
	if s.Flags&wire.FlagACK != 0 {
		h.Seq = s.Ack
	}
	h.Ack = s.Seq + uint32(len(s.Payload))
	if s.Flags&(wire.FlagSYN|wire.FlagFIN) != 0 {
		h.Ack++
	}
	if s.Flags&wire.FlagSYN != 0 {
		e.stats.connsRefused.Add(1)
	}
	if s.HasMAC {
		// The peer authenticates its connection's segments and will take
		// this RST only with the reset token it learnt in the handshake.
		sec := e.secretFor(connKey{peer: to, local: s.DstPort, remote: s.SrcPort})
		h.HasResetToken, h.ResetToken = true, wire.ResetToken(&sec)
	}
	var buf [wire.HeaderLen + wire.MaxOptionsLen]byte
	n := wire.Put(buf[:], &h, 0)
	if h.CRC {
		wire.Seal(buf[:n])
	}
	e.stats.resetsSent.Add(1)
	e.send(buf[:n], to)
}

// maxBatchBytes bounds a GSO run: the largest UDP payload over IPv4.
const (
	maxBatchBytes = 65507
	maxBatchSegs  = 64
)

// txBatch collects a run of datagrams for one peer: equal sizes, the last
// possibly shorter, back to back, as UDP_SEGMENT wants them.
type txBatch struct {
	buf       []byte
	used, seg int
	count     int
	oob       [64]byte
	peer      netip.AddrPort
}

// transmit sends everything c's engine has to send, in GSO runs when the
// socket supports them. c.mu must be held.
func (e *Endpoint) transmit(c *Conn, now time.Duration) {
	t := c.tcb
	b := e.txPool.Get().(*txBatch)
	if !e.gso.Load() {
		tx := b.buf[:wire.MaxDatagram]
		for {
			n := t.Poll(now, tx)
			if n == 0 {
				break
			}
			e.send(tx[:n], c.key.peer)
		}
		e.txPool.Put(b)
		return
	}
	b.used, b.count, b.peer = 0, 0, c.key.peer
	for {
		if b.count == maxBatchSegs || b.used+wire.MaxDatagram > len(b.buf) {
			e.flushBatch(b)
		}
		off := b.used
		n := t.Poll(now, b.buf[off:off+wire.MaxDatagram])
		if n == 0 {
			break
		}
		switch {
		case b.count == 0:
			b.seg, b.used, b.count = n, n, 1
		case n == b.seg:
			b.used += n
			b.count++
		case n < b.seg: // a shorter datagram ends the run
			b.used += n
			b.count++
			e.flushBatch(b)
		default: // a longer one starts a new run
			b.used = off
			e.flushBatch(b)
			copy(b.buf, b.buf[off:off+n])
			b.seg, b.used, b.count = n, n, 1
		}
	}
	e.flushBatch(b)
	e.txPool.Put(b)
}

func (e *Endpoint) flushBatch(b *txBatch) {
	switch {
	case b.count == 0:
		return
	case b.count == 1:
		e.send(b.buf[:b.used], b.peer)
	default:
		_, _, err := e.udp.WriteMsgUDPAddrPort(b.buf[:b.used], gsoControl(b.oob[:], b.seg), b.peer)
		if err != nil && isGSOError(err) {
			// The path cannot segment: fall back for good.
			e.gso.Store(false)
			for off := 0; off < b.used; off += b.seg {
				e.send(b.buf[off:min(off+b.seg, b.used)], b.peer)
			}
		} else if err != nil {
			e.stats.sendErrors.Add(1)
			e.sawSocketError(err)
		} else {
			e.stats.datagramsOut.Add(uint64(b.count))
			e.stats.bytesOut.Add(uint64(b.used))
		}
	}
	b.used, b.count = 0, 0
}

func (e *Endpoint) send(b []byte, to netip.AddrPort) {
	if _, err := e.io.WriteToUDPAddrPort(b, to); err != nil {
		e.stats.sendErrors.Add(1)
		e.sawSocketError(err)
		return
	}
	e.stats.datagramsOut.Add(1)
	e.stats.bytesOut.Add(uint64(len(b)))
}

// Listen starts accepting connections on TJU port port.
func (e *Endpoint) Listen(port uint16) (*Listener, error) {
	if port == 0 {
		return nil, errors.New("tju: listen: port 0 is not a valid TJU port")
	}
	if err := e.cfg.validate(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("tju: listen: %w", net.ErrClosed)
	}
	if _, ok := e.listeners[port]; ok {
		return nil, fmt.Errorf("tju: listen on port %d: address already in use", port)
	}
	l := &Listener{
		e: e, port: port,
		accept:  make(chan *Conn, 2*e.cfg.Backlog), // see onSYN
		backlog: e.cfg.Backlog,
		done:    make(chan struct{}),
	}
	e.listeners[port] = l
	return l, nil
}

// Dial connects to TJU port port at the endpoint at address ("host:port",
// the peer's UDP address). It returns when the handshake completes, the
// peer refuses, the SYN retransmissions run out, or ctx ends.
func (e *Endpoint) Dial(ctx context.Context, address string, port uint16) (*Conn, error) {
	peer, err := resolveUDP(ctx, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tju", Err: err}
	}
	return e.dial(ctx, peer, port)
}

func (e *Endpoint) dial(ctx context.Context, peer netip.AddrPort, port uint16) (*Conn, error) {
	raddr := &Addr{UDP: peer, Port: port}
	if err := e.cfg.validate(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tju", Addr: raddr, Err: err}
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: "tju", Addr: raddr, Err: net.ErrClosed}
	}
	local, ok := e.freePortLocked(peer, port)
	if !ok {
		e.mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: "tju", Addr: raddr, Err: errors.New("no free TJU port")}
	}
	c := e.newConn(connKey{peer: peer, local: local, remote: port}, nil)
	c.tcb = newActive(&e.cfg, c, e.now(), e.epochMicros)
	c.state = StateSynSent
	e.conns[c.key] = c
	e.mu.Unlock()

	c.mu.Lock()
	c.afterLocked(e.now())
	c.mu.Unlock()

	select {
	case <-c.established:
	case <-ctx.Done():
		c.abort()
		return nil, &net.OpError{Op: "dial", Net: "tju", Addr: raddr, Err: ctx.Err()}
	}
	c.mu.Lock()
	err := c.tcb.Err()
	c.mu.Unlock()
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tju", Source: c.LocalAddr(), Addr: raddr, Err: fromEngine(err)}
	}
	return c, nil
}

// freePortLocked picks an unused local TJU port for a connection to
// (peer, remote), from the dynamic range 49152-65535.
func (e *Endpoint) freePortLocked(peer netip.AddrPort, remote uint16) (uint16, bool) {
	if e.cfg.Lab {
		if _, used := e.conns[connKey{peer, LabClientPort, remote}]; !used {
			return LabClientPort, true
		}
	}
	const lo, span = 49152, 65536 - 49152
	start := rand.IntN(span)
	for i := range span {
		p := uint16(lo + (start+i)%span)
		if _, used := e.conns[connKey{peer, p, remote}]; !used {
			if _, l := e.listeners[p]; !l {
				return p, true
			}
		}
	}
	return 0, false
}

// remove forgets a closed connection.
func (e *Endpoint) remove(c *Conn) {
	e.mu.Lock()
	if e.conns[c.key] == c {
		delete(e.conns, c.key)
	}
	e.mu.Unlock()
	e.timers.schedule(c, 0)
}
