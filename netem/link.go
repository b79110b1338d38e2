package netem

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Default addresses of the two ends made by NewLink: distinct loopback
// addresses on the lab's port 20218.
var (
	DefaultAddrA = netip.MustParseAddrPort("127.0.0.2:20218")
	DefaultAddrB = netip.MustParseAddrPort("127.0.0.3:20218")
)

// ErrAddrInUse is wrapped by Network.Attach when the address is taken.
var ErrAddrInUse = errors.New("netem: address already in use")

// Network is an in-memory switch joining any number of endpoints, each a
// *PacketConn with its own address and its own egress impairments. A
// datagram from X to Y goes through X's egress Config, then into Y's
// receive queue. All the datagrams an endpoint sends share its egress
// direction, so a server's egress Rate is one bottleneck shared by all
// its clients.
//
// Create a Network inside the testing/synctest bubble that uses it.
// A Network is safe for concurrent use.
type Network struct {
	mu        sync.RWMutex
	hosts     map[netip.AddrPort]*PacketConn
	nextPort  uint16
	afterFunc func(time.Duration, func()) Timer
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{hosts: make(map[netip.AddrPort]*PacketConn), nextPort: 49152}
}

// SetTimers makes the endpoints attached from now on wake for their
// deliveries with timers from afterFunc (called as time.AfterFunc is)
// instead of the time package's. The time package's timers are the ones
// testing/synctest fakes; on Linux, while the process idles, they fire up
// to a millisecond late, which at 100 Mbit/s delivers in bunches of nine
// packets. A real-time emulator sets PreciseAfterFunc (package labnet's
// does).
func (n *Network) SetTimers(afterFunc func(d time.Duration, f func()) Timer) {
	n.mu.Lock()
	n.afterFunc = afterFunc
	n.mu.Unlock()
}

// Attach creates an endpoint at addr whose outgoing datagrams go through
// egress. A zero port picks a free port from 49152 up. It returns an
// error wrapping ErrAddrInUse if addr is taken, or ErrInvalidConfig if
// egress is invalid. Closing the endpoint frees the address.
func (n *Network) Attach(addr netip.AddrPort, egress Config) (*PacketConn, error) {
	if err := egress.Validate(); err != nil {
		return nil, err
	}
	if !addr.Addr().IsValid() {
		return nil, fmt.Errorf("netem: attach: invalid address %v", addr)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr.Port() == 0 {
		for i := 0; ; i++ {
			if i == 1<<14 {
				return nil, fmt.Errorf("netem: attach %v: no free port: %w", addr.Addr(), ErrAddrInUse)
			}
			try := netip.AddrPortFrom(addr.Addr(), n.nextPort)
			n.nextPort++
			if n.nextPort == 0 {
				n.nextPort = 49152
			}
			if _, taken := n.hosts[try]; !taken {
				addr = try
				break
			}
		}
	} else if _, taken := n.hosts[addr]; taken {
		return nil, fmt.Errorf("netem: attach %v: %w", addr, ErrAddrInUse)
	}
	c := &PacketConn{
		network: n,
		ap:      addr,
		addr:    net.UDPAddrFromAddrPort(addr),
		in:      newInbox(),
	}
	c.egress = newDirection(egress, streamOf(addr), deliverToConn)
	c.egress.afterFunc = n.afterFunc
	n.hosts[addr] = c
	return c, nil
}

// streamOf derives a generator stream from an address (FNV-1a), so that
// endpoints sharing a seed still make different choices.
func streamOf(ap netip.AddrPort) uint64 {
	h := uint64(14695981039346656037)
	b, _ := ap.MarshalBinary()
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func deliverToConn(p *packet) bool {
	if p.dst == nil {
		p.free()
		return false
	}
	return p.dst.in.push(p)
}

func (n *Network) lookup(ap netip.AddrPort) *PacketConn {
	n.mu.RLock()
	c := n.hosts[ap]
	n.mu.RUnlock()
	return c
}

func (n *Network) detach(c *PacketConn) {
	n.mu.Lock()
	if n.hosts[c.ap] == c {
		delete(n.hosts, c.ap)
	}
	n.mu.Unlock()
}

// NewLink returns the two ends of an in-memory link, a at DefaultAddrA and
// b at DefaultAddrB: datagrams from a to b go through aToB, those from b to
// a through bToA. It fails only if a Config is invalid. To choose the
// addresses, or to join more than two endpoints, use a Network.
//
// Under testing/synctest, call NewLink inside the bubble.
func NewLink(aToB, bToA Config) (a, b *PacketConn, err error) {
	n := NewNetwork()
	if a, err = n.Attach(DefaultAddrA, aToB); err != nil {
		return nil, nil, fmt.Errorf("netem: a to b: %w", err)
	}
	if b, err = n.Attach(DefaultAddrB, bToA); err != nil {
		a.Close()
		return nil, nil, fmt.Errorf("netem: b to a: %w", err)
	}
	return a, b, nil
}

// PacketConn is one endpoint of a Network: a net.PacketConn whose
// datagrams travel through the sender's impairments. Besides the
// net.PacketConn methods it has the *net.UDPConn methods
// ReadFromUDPAddrPort, WriteToUDPAddrPort and SetReadBuffer.
//
// ReadFrom blocks until a datagram arrives, the read deadline passes or
// the endpoint is closed; WriteTo never blocks. A PacketConn is safe for
// concurrent use.
type PacketConn struct {
	network *Network
	ap      netip.AddrPort
	addr    *net.UDPAddr
	egress  *direction
	in      *inbox
	wd      atomic.Int64 // write deadline, UnixNano; 0 means none
	closed  atomic.Bool
}

var _ net.PacketConn = (*PacketConn)(nil)

// ReadFrom copies the next datagram into b and returns its length and
// sender. A datagram longer than b is truncated to len(b), the rest
// discarded, as with UDP. The returned address is shared by all datagrams
// from that sender and must not be modified.
//
// Errors are *net.OpError wrapping os.ErrDeadlineExceeded (a net.Error
// whose Timeout() is true) after the read deadline, or net.ErrClosed
// after Close.
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	p, err := c.in.pop()
	if err != nil {
		return 0, nil, c.opErr("read", nil, err)
	}
	n, src := copy(b, p.data()), p.src
	p.free()
	return n, src, nil
}

// ReadFromUDPAddrPort is ReadFrom returning the sender as a
// netip.AddrPort, like (*net.UDPConn).ReadFromUDPAddrPort.
func (c *PacketConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	p, err := c.in.pop()
	if err != nil {
		return 0, netip.AddrPort{}, c.opErr("read", nil, err)
	}
	n, src := copy(b, p.data()), p.srcAP
	p.free()
	return n, src, nil
}

// WriteTo sends a copy of b to addr through the egress impairments and
// returns len(b) even if the datagram is then lost or finds no endpoint
// at addr: like UDP, delivery is not reported. addr is a *net.UDPAddr or
// any net.Addr whose String is "ip:port". b may be reused at once.
//
// Errors: net.ErrClosed after Close, os.ErrDeadlineExceeded after the
// write deadline, and an error for an unusable address or a datagram
// longer than 65535 bytes; all wrapped in *net.OpError.
func (c *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.UDPAddr:
		if a != nil {
			ap = a.AddrPort()
		}
	case nil:
	default:
		ap, _ = netip.ParseAddrPort(a.String())
	}
	if !ap.IsValid() {
		return 0, c.opErr("write", addr, fmt.Errorf("netem: invalid destination address %v", addr))
	}
	return c.write(b, ap, addr)
}

// WriteToUDPAddrPort is WriteTo with a netip.AddrPort destination, like
// (*net.UDPConn).WriteToUDPAddrPort.
func (c *PacketConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if !addr.IsValid() {
		return 0, c.opErr("write", nil, fmt.Errorf("netem: invalid destination address %v", addr))
	}
	return c.write(b, addr, nil)
}

func (c *PacketConn) write(b []byte, ap netip.AddrPort, addr net.Addr) (int, error) {
	if c.closed.Load() {
		return 0, c.opErrAP("write", addr, ap, net.ErrClosed)
	}
	if wd := c.wd.Load(); wd != 0 && time.Now().UnixNano() >= wd {
		return 0, c.opErrAP("write", addr, ap, os.ErrDeadlineExceeded)
	}
	if len(b) > maxDatagram {
		return 0, c.opErrAP("write", addr, ap, fmt.Errorf("netem: datagram of %d bytes exceeds %d", len(b), maxDatagram))
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	p := getPacket(b)
	p.src, p.srcAP = c.addr, c.ap
	p.dst = c.network.lookup(ap)
	if err := c.egress.offer(p); err != nil {
		return 0, c.opErrAP("write", addr, ap, err)
	}
	return len(b), nil
}

func (c *PacketConn) opErr(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: "udp", Source: c.addr, Addr: addr, Err: err}
}

func (c *PacketConn) opErrAP(op string, addr net.Addr, ap netip.AddrPort, err error) error {
	if addr == nil {
		addr = net.UDPAddrFromAddrPort(ap)
	}
	return c.opErr(op, addr, err)
}

// Close detaches the endpoint from its network, discards its queued and
// in-flight datagrams, and unblocks its readers with net.ErrClosed.
// Closing twice returns an error wrapping net.ErrClosed.
func (c *PacketConn) Close() error {
	if c.closed.Swap(true) {
		return c.opErr("close", nil, net.ErrClosed)
	}
	c.network.detach(c)
	c.egress.close()
	c.in.close(nil)
	return nil
}

// LocalAddr returns the endpoint's address, a *net.UDPAddr.
func (c *PacketConn) LocalAddr() net.Addr { return c.addr }

// AddrPort returns the endpoint's address.
func (c *PacketConn) AddrPort() netip.AddrPort { return c.ap }

// SetDeadline sets both the read and the write deadline.
func (c *PacketConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the time after which ReadFrom fails with a timeout,
// including calls already blocked; the zero time means no deadline.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opErr("set", nil, net.ErrClosed)
	}
	c.in.rd.set(t)
	return nil
}

// SetWriteDeadline sets the time after which WriteTo fails with a timeout;
// the zero time means no deadline. WriteTo never blocks, so this only
// matters for a deadline already passed.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return c.opErr("set", nil, net.ErrClosed)
	}
	var ns int64
	if !t.IsZero() {
		ns = max(t.UnixNano(), 1)
	}
	c.wd.Store(ns)
	return nil
}

// SetReadBuffer sets the bound, in payload bytes, of the receive queue
// (default DefaultReadBuffer). Datagrams arriving when it is full are
// dropped and counted in the sender's Stats.RecvDropped.
func (c *PacketConn) SetReadBuffer(bytes int) error {
	if bytes < 0 {
		return fmt.Errorf("netem: negative read buffer %d", bytes)
	}
	c.in.setLimit(bytes)
	return nil
}

// Stats returns the counters of the endpoint's egress direction: what
// happened to the datagrams it sent.
func (c *PacketConn) Stats() Stats { return c.egress.snapshot() }

// InFlight returns the number of datagram copies sent by this endpoint
// that are still waiting for their delivery time.
func (c *PacketConn) InFlight() int { return c.egress.inFlight() }

// SetWriteBuffer exists for compatibility with *net.UDPConn: WriteTo never
// blocks and has no send buffer, so it only checks that bytes is not
// negative.
func (c *PacketConn) SetWriteBuffer(bytes int) error {
	if bytes < 0 {
		return fmt.Errorf("netem: negative write buffer %d", bytes)
	}
	return nil
}
