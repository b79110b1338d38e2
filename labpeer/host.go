package labpeer

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Host is the scripted peer's end of the network: one socket, read by one
// goroutine, on which checks run one after another. It plays a lab host
// (the lab's "kernel" on UDP port 20218) when the socket is bound there.
type Host struct {
	pc     net.PacketConn
	in     chan datagram
	closed chan struct{}
	done   chan struct{}
	once   sync.Once

	mu  sync.Mutex
	err error // why the reader stopped
}

type datagram struct {
	b    []byte
	from netip.AddrPort
	at   time.Time
}

// NewHost returns a host that reads pc until Close, which closes pc.
// pc may be a real UDP socket or an in-memory netem endpoint (then the
// checks run in the virtual time of a testing/synctest bubble).
func NewHost(pc net.PacketConn) *Host {
	h := &Host{
		pc:     pc,
		in:     make(chan datagram, 4096),
		closed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	go h.read()
	return h
}

// Addr returns the host's socket address.
func (h *Host) Addr() net.Addr { return h.pc.LocalAddr() }

// Close stops the host and closes its socket.
func (h *Host) Close() error {
	var err error
	h.once.Do(func() {
		close(h.closed)
		err = h.pc.Close()
		<-h.done
	})
	return err
}

func (h *Host) read() {
	defer close(h.done)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := h.pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-h.closed:
			default:
				if !errors.Is(err, net.ErrClosed) {
					// A transient error (an ICMP report of an earlier
					// datagram, for one): keep reading.
					time.Sleep(time.Millisecond)
					continue
				}
			}
			h.mu.Lock()
			h.err = err
			h.mu.Unlock()
			return
		}
		ap, _ := addrPort(from)
		d := datagram{b: append([]byte(nil), buf[:n]...), from: ap, at: time.Now()}
		select {
		case h.in <- d:
		case <-h.closed:
			return
		}
	}
}

// send writes b to addr.
func (h *Host) send(b []byte, to netip.AddrPort) error {
	_, err := h.pc.WriteTo(b, net.UDPAddrFromAddrPort(to))
	return err
}

// addrPort converts a PacketConn's address into an AddrPort.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
