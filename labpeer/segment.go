package labpeer

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// Segment is one datagram of a check's connection, as sent by the check or
// as received from the implementation, with every header field as it was on
// the wire.
type Segment struct {
	At               time.Duration // since the check began
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	HeaderLen        uint16
	PacketLen        uint16
	Flags            uint8
	Window           uint16
	Ext              uint8
	Payload          []byte
	Size             int // datagram length in bytes
}

// Has reports whether all of flags are set.
func (s *Segment) Has(flags uint8) bool { return s.Flags&flags == flags }

// End returns the sequence number after the segment: seq plus its payload,
// plus one for SYN and one for FIN, which consume a sequence number each.
func (s *Segment) End() uint32 {
	e := s.Seq + uint32(len(s.Payload))
	if s.Flags&wire.FlagSYN != 0 {
		e++
	}
	if s.Flags&wire.FlagFIN != 0 {
		e++
	}
	return e
}

// String describes the segment in one line: flags, ports, seq, ack, window
// and payload length, such as "SYN|ACK 1234>5678 seq=646 ack=101 win=32".
func (s *Segment) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d>%d seq=%d ack=%d win=%d", FlagString(s.Flags), s.SrcPort, s.DstPort, s.Seq, s.Ack, s.Window)
	if len(s.Payload) > 0 {
		fmt.Fprintf(&b, " len=%d", len(s.Payload))
	}
	if s.HeaderLen != wire.HeaderLen {
		fmt.Fprintf(&b, " hlen=%d", s.HeaderLen)
	}
	if s.Ext != 0 {
		fmt.Fprintf(&b, " ext=%d", s.Ext)
	}
	return b.String()
}

// FlagString names flag bits as "SYN|ACK"; no bits is "-" (the skeleton's
// data segments), unknown bits are shown in hex.
func FlagString(f uint8) string {
	var parts []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{wire.FlagSYN, "SYN"}, {wire.FlagFIN, "FIN"}, {wire.FlagACK, "ACK"}, {wire.FlagRST, "RST"}} {
		if f&x.bit != 0 {
			parts = append(parts, x.name)
			f &^= x.bit
		}
	}
	if f != 0 {
		parts = append(parts, fmt.Sprintf("0x%02x", f))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "|")
}

// labFlags are the only flag bits a lab host sends.
const labFlags = wire.FlagSYN | wire.FlagACK | wire.FlagFIN

// parse reads the header of datagram b without judging it. It fails only
// when b is too short to hold the ports.
func parse(b []byte, s *Segment) bool {
	*s = Segment{Size: len(b)}
	if len(b) < 4 {
		return false
	}
	s.SrcPort = binary.BigEndian.Uint16(b[0:])
	s.DstPort = binary.BigEndian.Uint16(b[2:])
	if len(b) < wire.HeaderLen {
		return true
	}
	s.Seq = binary.BigEndian.Uint32(b[4:])
	s.Ack = binary.BigEndian.Uint32(b[8:])
	s.HeaderLen = binary.BigEndian.Uint16(b[12:])
	s.PacketLen = binary.BigEndian.Uint16(b[14:])
	s.Flags = b[16]
	s.Window = binary.BigEndian.Uint16(b[17:])
	s.Ext = b[19]
	if hl := int(s.HeaderLen); hl >= wire.HeaderLen && hl <= len(b) {
		s.Payload = append([]byte(nil), b[hl:]...)
	}
	return true
}

// hygiene returns what is wrong with s by the lab's wire format, or "".
func hygiene(s *Segment) string {
	switch {
	case s.Size < wire.HeaderLen:
		return fmt.Sprintf("a datagram of %d bytes, shorter than the 20-byte header (a lab kernel never consumes it and spins)", s.Size)
	case s.Size > wire.MaxDatagram:
		return fmt.Sprintf("a datagram of %d bytes, longer than the lab's 1400", s.Size)
	case int(s.PacketLen) != s.Size:
		return fmt.Sprintf("plen=%d in a datagram of %d bytes (a lab kernel reads plen bytes)", s.PacketLen, s.Size)
	case s.HeaderLen != wire.HeaderLen:
		return fmt.Sprintf("hlen=%d: header options, which a lab host reads as payload", s.HeaderLen)
	case s.Ext != 0:
		return fmt.Sprintf("ext=%d (the lab sends 0)", s.Ext)
	case s.Flags&^labFlags != 0:
		return fmt.Sprintf("flags %s: bits a lab host does not know", FlagString(s.Flags))
	case len(s.Payload) > wire.LabMaxPayload:
		return fmt.Sprintf("a payload of %d bytes, more than the lab's 1375", len(s.Payload))
	}
	return ""
}

// encode writes a lab segment (20-byte header, no options) into a new slice.
func encode(s *Segment) []byte {
	b := make([]byte, wire.HeaderLen+len(s.Payload))
	h := wire.Header{SrcPort: s.SrcPort, DstPort: s.DstPort, Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Window: s.Window}
	hl := wire.Put(b, &h, len(s.Payload))
	copy(b[hl:], s.Payload)
	s.HeaderLen, s.PacketLen, s.Size = uint16(hl), uint16(len(b)), len(b)
	return b
}
