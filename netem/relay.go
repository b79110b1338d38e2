package netem

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxSessions is the session limit of a Relay whose
// RelayConfig.MaxSessions is 0.
const DefaultMaxSessions = 1024

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Listen is the UDP address the relay receives clients' datagrams on,
	// "host:port"; port 0 picks a free port (see Relay.Addr). Default
	// "127.0.0.1:0".
	Listen string

	// Upstream is the UDP address, "host:port", the clients' datagrams are
	// forwarded to. Required.
	Upstream string

	// Up impairs the datagrams from the clients to Upstream; Down those
	// from Upstream back to the clients. All sessions share each
	// direction: one bottleneck, one random generator and one Stats.
	Up, Down Config

	// IdleTimeout closes a session after this long without a datagram in
	// either direction. Default 0: sessions last until Close.
	IdleTimeout time.Duration

	// Report, if not nil, receives the counters of both directions when
	// the relay is closed, two lines starting with "up:" and "down:".
	Report io.Writer

	// MaxSessions bounds the number of concurrent sessions; datagrams from
	// further clients are dropped and counted by Relay.Rejected. Default
	// 0 means DefaultMaxSessions.
	MaxSessions int
}

// Relay forwards UDP datagrams between clients and one upstream address
// through impaired directions, so that two ordinary programs talk over a
// bad link on one machine. It works like a NAT: each client address gets a
// session with its own socket towards Upstream, so the upstream program
// sees one distinct peer per client and its replies go back to the right
// client.
//
// A Relay runs from NewRelay until Close. It is safe for concurrent use.
type Relay struct {
	ln          *net.UDPConn
	upstream    *net.UDPAddr
	up, down    *direction
	idleTimeout time.Duration
	maxSessions int
	report      io.Writer

	mu       sync.Mutex
	sessions map[netip.AddrPort]*session
	closed   bool

	rejected atomic.Uint64
	total    atomic.Uint64
	done     chan struct{}
	wg       sync.WaitGroup
}

// session is one client's association with its upstream socket.
type session struct {
	client netip.AddrPort
	conn   *net.UDPConn // connected to the upstream address
	last   atomic.Int64 // time of the last datagram, UnixNano
}

// NewRelay starts a relay: it listens on cfg.Listen and forwards to
// cfg.Upstream. It returns an error if a Config is invalid (wrapping
// ErrInvalidConfig), an address does not resolve, or the listening socket
// cannot be opened.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if err := cfg.Up.Validate(); err != nil {
		return nil, fmt.Errorf("netem: relay: up: %w", err)
	}
	if err := cfg.Down.Validate(); err != nil {
		return nil, fmt.Errorf("netem: relay: down: %w", err)
	}
	if cfg.IdleTimeout < 0 || cfg.MaxSessions < 0 {
		return nil, fmt.Errorf("netem: relay: negative IdleTimeout or MaxSessions: %w", ErrInvalidConfig)
	}
	if cfg.Upstream == "" {
		return nil, fmt.Errorf("netem: relay: no upstream address: %w", ErrInvalidConfig)
	}
	upstream, err := net.ResolveUDPAddr("udp", cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("netem: relay: upstream: %w", err)
	}
	if upstream.Port == 0 {
		return nil, fmt.Errorf("netem: relay: upstream %q has no port: %w", cfg.Upstream, ErrInvalidConfig)
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	laddr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("netem: relay: listen address: %w", err)
	}
	ln, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("netem: relay: %w", err)
	}
	r := &Relay{
		ln:          ln,
		upstream:    upstream,
		idleTimeout: cfg.IdleTimeout,
		maxSessions: cfg.MaxSessions,
		report:      cfg.Report,
		sessions:    make(map[netip.AddrPort]*session),
		done:        make(chan struct{}),
	}
	if r.maxSessions == 0 {
		r.maxSessions = DefaultMaxSessions
	}
	r.up = newDirection(cfg.Up, 1, func(p *packet) bool {
		_, err := p.sess.conn.Write(p.data())
		p.free()
		return err == nil
	})
	r.down = newDirection(cfg.Down, 2, func(p *packet) bool {
		_, err := r.ln.WriteToUDPAddrPort(p.data(), p.sess.client)
		p.free()
		return err == nil
	})
	r.wg.Add(1)
	go r.listenLoop()
	if r.idleTimeout > 0 {
		r.wg.Add(1)
		go r.expireLoop()
	}
	return r, nil
}

// Addr returns the address the relay listens on, a *net.UDPAddr.
func (r *Relay) Addr() net.Addr { return r.ln.LocalAddr() }

// Upstream returns the address datagrams are forwarded to.
func (r *Relay) Upstream() net.Addr { return r.upstream }

// Stats returns the counters of the up (clients to upstream) and down
// (upstream to clients) directions. A datagram that could not be written
// (for example refused because nothing listens upstream) counts in
// RecvDropped.
func (r *Relay) Stats() (up, down Stats) { return r.up.snapshot(), r.down.snapshot() }

// Sessions returns the number of current sessions.
func (r *Relay) Sessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// TotalSessions returns the number of sessions opened since the start.
func (r *Relay) TotalSessions() uint64 { return r.total.Load() }

// Rejected returns the number of datagrams dropped because no session
// could be opened for their client (MaxSessions reached or no upstream
// socket).
func (r *Relay) Rejected() uint64 { return r.rejected.Load() }

// Close stops the relay: it closes the listening socket and the sessions,
// discards the datagrams in flight, waits for its goroutines to end and
// writes the counters to RelayConfig.Report.
// Closing twice returns an error wrapping net.ErrClosed.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("netem: relay: %w", net.ErrClosed)
	}
	r.closed = true
	close(r.done)
	err := r.ln.Close()
	r.up.close()
	r.down.close()
	for _, s := range r.sessions {
		s.conn.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	if r.report != nil {
		up, down := r.Stats()
		fmt.Fprintf(r.report, "up:   %v\ndown: %v\n", up, down)
	}
	return err
}

// listenLoop forwards the clients' datagrams to their sessions.
func (r *Relay) listenLoop() {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.ln.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s := r.session(from)
		if s == nil {
			r.rejected.Add(1)
			continue
		}
		s.last.Store(time.Now().UnixNano())
		p := getPacket(buf[:n])
		p.sess = s
		if r.up.offer(p) != nil {
			return
		}
	}
}

// session returns the client's session, opening it if needed; nil if it
// cannot.
func (r *Relay) session(client netip.AddrPort) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.sessions[client]; s != nil {
		return s
	}
	if r.closed || len(r.sessions) >= r.maxSessions {
		return nil
	}
	conn, err := net.DialUDP("udp", nil, r.upstream)
	if err != nil {
		return nil
	}
	s := &session{client: client, conn: conn}
	s.last.Store(time.Now().UnixNano())
	r.sessions[client] = s
	r.total.Add(1)
	r.wg.Add(1)
	go r.sessionLoop(s)
	return s
}

// sessionLoop forwards the upstream's replies for one session.
func (r *Relay) sessionLoop(s *session) {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ECONNREFUSED: nothing listened upstream, yet
		}
		s.last.Store(time.Now().UnixNano())
		p := getPacket(buf[:n])
		p.sess = s
		if r.down.offer(p) != nil {
			return
		}
	}
}

// expireLoop closes the sessions idle for longer than idleTimeout.
func (r *Relay) expireLoop() {
	defer r.wg.Done()
	tick := time.NewTicker(max(r.idleTimeout/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-tick.C:
			r.mu.Lock()
			for client, s := range r.sessions {
				if now.Sub(time.Unix(0, s.last.Load())) >= r.idleTimeout {
					s.conn.Close()
					delete(r.sessions, client)
				}
			}
			r.mu.Unlock()
		}
	}
}
