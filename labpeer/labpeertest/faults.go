package labpeertest

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// Faults makes a misbehaving implementation out of tjunet's: the
// misbehaviours are applied by a net.PacketConn wrapper that rewrites or
// drops what the endpoint sends, the way broken lab implementations
// behave. The zero value changes nothing.
type Faults struct {
	// NoSYNRetransmit: the SYN is sent once and never retransmitted.
	NoSYNRetransmit bool
	// WrongAck: the handshake acknowledges the peer's ISN instead of
	// ISN+1, in the SYN-ACK and in the third ACK.
	WrongAck bool
	// PiggybackFIN: the ACK of the peer's FIN carries the FIN bit: the
	// implementation closes on the same segment instead of acknowledging
	// the FIN on its own first, and sends nothing after it (it is done).
	PiggybackFIN bool
	// DataAtISN: data is numbered from the ISN instead of ISN+1.
	DataAtISN bool
	// EarlyFINRetransmit: every FIN goes out again 200 ms later, as a FIN
	// retransmitted on a 200 ms RTO does.
	EarlyFINRetransmit bool
}

// Wrap returns pc with the faults applied to the datagrams written
// through it. It owns pc: closing it closes pc.
func (f Faults) Wrap(pc net.PacketConn) net.PacketConn {
	return &conn{PacketConn: pc, f: f, syns: map[uint32]bool{}}
}

type conn struct {
	net.PacketConn // the interface only: every write goes through WriteTo
	f              Faults

	mu         sync.Mutex
	syns       map[uint32]bool // SYNs already sent, by seq
	thirdACK   bool            // a SYN-ACK arrived: the next pure ACK is the third ACK
	peerFin    bool            // the peer's FIN arrived and is not acknowledged yet
	peerFinEnd uint32          // its seq + len + 1
	silent     bool            // PiggybackFIN: the FIN went out, nothing more does
}

func (c *conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	var s wire.Segment
	if err == nil && wire.Decode(b[:n], &s) == nil {
		c.mu.Lock()
		if s.Has(wire.FlagSYN | wire.FlagACK) {
			c.thirdACK = true
		}
		if s.Flags&wire.FlagFIN != 0 {
			c.peerFin, c.peerFinEnd = true, s.Seq+uint32(len(s.Payload))+1
		}
		c.mu.Unlock()
	}
	return n, addr, err
}

func (c *conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	var s wire.Segment
	if wire.Decode(b, &s) != nil {
		return c.PacketConn.WriteTo(b, addr)
	}
	out := append([]byte(nil), b...)
	c.mu.Lock()
	drop := c.silent
	switch {
	case s.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN:
		drop = c.f.NoSYNRetransmit && c.syns[s.Seq]
		c.syns[s.Seq] = true
	case c.f.WrongAck && s.Has(wire.FlagSYN|wire.FlagACK):
		binary.BigEndian.PutUint32(out[8:], s.Ack-1)
	case c.f.WrongAck && c.thirdACK && s.Flags == wire.FlagACK && len(s.Payload) == 0:
		binary.BigEndian.PutUint32(out[8:], s.Ack-1)
	}
	if s.Flags == wire.FlagACK && len(s.Payload) == 0 {
		c.thirdACK = false
		if c.peerFin && s.Ack == c.peerFinEnd {
			c.peerFin = false
			if c.f.PiggybackFIN && !c.silent {
				out[16] |= wire.FlagFIN
				c.silent = true
			}
		}
	}
	if c.f.DataAtISN && len(s.Payload) > 0 {
		binary.BigEndian.PutUint32(out[4:], s.Seq-1)
	}
	c.mu.Unlock()
	if drop {
		return len(b), nil
	}
	if c.f.EarlyFINRetransmit && s.Flags&wire.FlagFIN != 0 {
		again := append([]byte(nil), out...)
		time.AfterFunc(200*time.Millisecond, func() { c.PacketConn.WriteTo(again, addr) })
	}
	return c.PacketConn.WriteTo(out, addr)
}
