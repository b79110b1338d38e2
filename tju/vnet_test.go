package tju

// The harness shared by the behaviour tests: two endpoints on an in-memory
// netem network inside a testing/synctest bubble (virtual time, so RTOs,
// TIME_WAIT and deadlines cost no wall time), a tap on each socket that logs
// the segments it sends and drops the ones a test chooses, and a
// deterministic data pattern.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
	"github.com/tjunet/tjunet/netem"
)

// Addresses of the two hosts of a virtual network, as in the lab: one
// "kernel" per host on UDP port 20218.
var (
	vClientAddr = netip.MustParseAddrPort("172.17.0.2:20218")
	vServerAddr = netip.MustParseAddrPort("172.17.0.3:20218")
)

// tap wraps a netem socket: it records every segment written through it
// and drops those that match a rule. It keeps the *netem.PacketConn fast
// path (ReadFromUDPAddrPort and WriteToUDPAddrPort) that the endpoint uses.
type tap struct {
	*netem.PacketConn
	start time.Time

	mu    sync.Mutex
	log   []tapRec
	rules []*dropRule
	quiet bool // log nothing (memory measurements)
}

// tapRec is one segment written through a tap.
type tapRec struct {
	at       time.Duration // virtual time since the tap was made
	flags    uint8
	seq, ack uint32
	win      uint16
	n        int // payload bytes
	dropped  bool
}

func (r tapRec) String() string {
	d := ""
	if r.dropped {
		d = " (dropped)"
	}
	return fmt.Sprintf("%v %s seq=%d ack=%d win=%d len=%d%s", r.at, flagNames(r.flags), r.seq, r.ack, r.win, r.n, d)
}

func flagNames(f uint8) string {
	var b bytes.Buffer
	for _, x := range []struct {
		f uint8
		n string
	}{{wire.FlagSYN, "SYN"}, {wire.FlagACK, "ACK"}, {wire.FlagFIN, "FIN"}, {wire.FlagRST, "RST"}} {
		if f&x.f != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(x.n)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// dropRule drops the next left segments that match (left < 0: all).
type dropRule struct {
	match func(*wire.Segment) bool
	left  int
}

func newTap(pc *netem.PacketConn) *tap { return &tap{PacketConn: pc, start: time.Now()} }

// drop drops the next n segments written through p that match.
func (p *tap) drop(n int, match func(*wire.Segment) bool) {
	p.mu.Lock()
	p.rules = append(p.rules, &dropRule{match: match, left: n})
	p.mu.Unlock()
}

// filter logs b and reports whether to drop it.
func (p *tap) filter(b []byte) bool {
	var s wire.Segment
	if wire.Decode(b, &s) != nil {
		return false // not ours to judge: a test injecting garbage
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quiet && len(p.rules) == 0 {
		return false
	}
	drop := false
	for _, r := range p.rules {
		if r.left != 0 && r.match(&s) {
			if r.left > 0 {
				r.left--
			}
			drop = true
			break
		}
	}
	p.log = append(p.log, tapRec{at: time.Since(p.start), flags: s.Flags, seq: s.Seq, ack: s.Ack,
		win: s.Window, n: len(s.Payload), dropped: drop})
	return drop
}

func (p *tap) WriteTo(b []byte, addr net.Addr) (int, error) {
	if p.filter(b) {
		return len(b), nil
	}
	return p.PacketConn.WriteTo(b, addr)
}

func (p *tap) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if p.filter(b) {
		return len(b), nil
	}
	return p.PacketConn.WriteToUDPAddrPort(b, addr)
}

// sent returns the logged segments that match (all when match is nil).
func (p *tap) sent(match func(tapRec) bool) []tapRec {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []tapRec
	for _, r := range p.log {
		if match == nil || match(r) {
			out = append(out, r)
		}
	}
	return out
}

// dump formats the log, for failure messages.
func (p *tap) dump() string {
	var b bytes.Buffer
	for _, r := range p.sent(nil) {
		fmt.Fprintf(&b, "\n  %v", r)
	}
	return b.String()
}

// Segment predicates, for drop rules and log queries.
func segSYN(s *wire.Segment) bool    { return s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN }
func segSYNACK(s *wire.Segment) bool { return s.Has(wire.FlagSYN | wire.FlagACK) }
func segFIN(s *wire.Segment) bool    { return s.Flags&wire.FlagFIN != 0 }
func segPureACK(s *wire.Segment) bool {
	return s.Flags == wire.FlagACK && len(s.Payload) == 0
}

func recSYN(r tapRec) bool { return r.flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN }
func recSYNACK(r tapRec) bool {
	return r.flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN|wire.FlagACK
}
func recFIN(r tapRec) bool     { return r.flags&wire.FlagFIN != 0 }
func recRST(r tapRec) bool     { return r.flags&wire.FlagRST != 0 }
func recData(r tapRec) bool    { return r.n > 0 }
func recPureACK(r tapRec) bool { return r.flags == wire.FlagACK && r.n == 0 }

// vnet is a client endpoint and a server endpoint joined by an in-memory
// network. Make it inside a synctest bubble and close it before the bubble
// function returns.
type vnet struct {
	t      *testing.T
	start  time.Time
	net    *netem.Network
	cl, sv *tap      // the client's and the server's sockets
	ce, se *Endpoint // the client's and the server's endpoints
}

// testLink is the default link of the behaviour tests: 10 ms each way.
var testLink = netem.Config{Delay: 10 * time.Millisecond}

// newVNet makes the network and both endpoints; the client's datagrams go
// through c2s and the server's through s2c. ccfg and scfg may be nil; a
// zero MSL becomes 100 ms so that TIME_WAIT ends quickly.
func newVNet(t *testing.T, c2s, s2c netem.Config, ccfg, scfg *Config) *vnet {
	t.Helper()
	v := &vnet{t: t, start: time.Now(), net: netem.NewNetwork()}
	a, err := v.net.Attach(vClientAddr, c2s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.net.Attach(vServerAddr, s2c)
	if err != nil {
		t.Fatal(err)
	}
	v.cl, v.sv = newTap(a), newTap(b)
	v.ce = NewEndpoint(v.cl, shortMSL(ccfg))
	v.se = NewEndpoint(v.sv, shortMSL(scfg))
	return v
}

func shortMSL(c *Config) *Config {
	var d Config
	if c != nil {
		d = *c
	}
	if d.MSL == 0 {
		d.MSL = 100 * time.Millisecond
	}
	return &d
}

// close closes both endpoints (which aborts whatever is still open).
func (v *vnet) close() {
	v.ce.Close()
	v.se.Close()
}

// elapsed is the virtual time since the network was made.
func (v *vnet) elapsed() time.Duration { return time.Since(v.start) }

// listen listens on TJU port 1234 of the server.
func (v *vnet) listen() *Listener {
	v.t.Helper()
	l, err := v.se.Listen(1234)
	if err != nil {
		v.t.Fatal(err)
	}
	return l
}

// dial connects the client to TJU port 1234 of the server.
func (v *vnet) dial(ctx context.Context) (*Conn, error) {
	return v.ce.Dial(ctx, vServerAddr.String(), 1234)
}

// pair opens a connection and returns its client and server ends.
func (v *vnet) pair(l *Listener) (client, server *Conn) {
	v.t.Helper()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.AcceptTJU(context.Background())
		ch <- res{c, err}
	}()
	c, err := v.dial(context.Background())
	if err != nil {
		v.t.Fatalf("dial: %v", err)
	}
	r := <-ch
	if r.err != nil {
		v.t.Fatalf("accept: %v", r.err)
	}
	return c, r.c
}

// patternBytes returns n bytes of the deterministic stream seed, starting
// at offset off: every test checks what arrives byte for byte.
func patternBytes(seed uint64, off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		x := uint64(off+i) + seed*0x9e3779b97f4a7c15
		x ^= x >> 29
		x *= 0xbf58476d1ce4e5b9
		b[i] = byte(x >> 32)
	}
	return b
}

// readAllAsync reads c to EOF in a goroutine; the channel yields the bytes
// and the error that ended the reading (nil for io.EOF).
func readAllAsync(c *Conn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		b, err := io.ReadAll(c)
		ch <- readResult{b, err}
	}()
	return ch
}

type readResult struct {
	b   []byte
	err error
}

// stateOf is the connection's state now.
func stateOf(c *Conn) State { return c.Info().State }

// randomBytes returns n bytes from r.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// closedWithin reports whether ch is closed within d of virtual time.
func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
