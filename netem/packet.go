package netem

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxDatagram is the largest datagram accepted by WriteTo: the largest UDP
// payload over IPv6 jumbograms aside.
const maxDatagram = 65535

// pooledCap is the capacity of pooled packet buffers; larger datagrams get
// a buffer of their own that is not returned to the pool.
const pooledCap = 2048

// packet is one copy of a datagram on its way through a direction.
type packet struct {
	buf []byte    // the payload is buf[:n]
	n   int       // payload length
	due time.Time // delivery time
	seq uint64    // admission order, breaks ties between equal due times

	// Where it goes and where it came from; which fields are used depends
	// on the owner of the direction (link, wrapper or relay).
	src   *net.UDPAddr
	srcAP netip.AddrPort
	dst   *PacketConn
	to    net.Addr
	sess  *session
}

var packetPool = sync.Pool{New: func() any { return &packet{buf: make([]byte, pooledCap)} }}

// getPacket returns a packet whose buffer holds a copy of b.
func getPacket(b []byte) *packet {
	p := packetPool.Get().(*packet)
	if cap(p.buf) < len(b) {
		p.buf = make([]byte, len(b))
	}
	p.buf = p.buf[:cap(p.buf)]
	p.n = copy(p.buf, b)
	return p
}

// clone returns a copy of p, payload included.
func (p *packet) clone() *packet {
	q := getPacket(p.data())
	q.src, q.srcAP, q.dst, q.to, q.sess = p.src, p.srcAP, p.dst, p.to, p.sess
	return q
}

func (p *packet) data() []byte { return p.buf[:p.n] }

// free returns p to the pool; p must not be used afterwards.
func (p *packet) free() {
	*p = packet{buf: p.buf}
	if cap(p.buf) > pooledCap {
		p.buf = make([]byte, pooledCap) // do not pin large buffers
	}
	packetPool.Put(p)
}

// before orders packets by due time, then admission order.
func (p *packet) before(q *packet) bool {
	if p.due.Equal(q.due) {
		return p.seq < q.seq
	}
	return p.due.Before(q.due)
}

// packetHeap is a min-heap of packets by (due, seq).
type packetHeap []*packet

func (h *packetHeap) push(p *packet) {
	*h = append(*h, p)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !s[i].before(s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *packetHeap) pop() *packet {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].before(s[l]) {
			m = r
		}
		if !s[m].before(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// ring is a growable FIFO of T.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

func (r *ring[T]) len() int { return r.n }

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		nb := make([]T, max(16, 2*len(r.buf)))
		for i := 0; i < r.n; i++ {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

func (r *ring[T]) front() T { return r.buf[r.head] }

func (r *ring[T]) pop() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v
}
