// Package wire encodes and decodes TJU TCP segments.
//
// A segment is one UDP datagram: the TJU lab's 20-byte header, big-endian,
//
//	offset size field
//	0      2    source port
//	2      2    destination port
//	4      4    sequence number
//	8      4    acknowledgement number
//	12     2    hlen: header length in bytes (20 in the lab)
//	14     2    plen: datagram length in bytes, header included
//	16     1    flags: SYN 0x08, ACK 0x04, FIN 0x02 (tjunet adds RST 0x10)
//	17     2    advertised window
//	19     1    ext (0 in the lab; ignored on receipt)
//
// followed by options when hlen > 20 (a tjunet extension, negotiated in the
// SYN the way TCP negotiates its options) and then the payload. See
// docs/protocol.md for the options and the rules for using them.
//
// Decoding never allocates and never panics: every malformed datagram yields
// one of the errors below, which the endpoint counts.
package wire

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Sizes fixed by the lab.
const (
	HeaderLen     = 20   // bytes in the lab header
	MaxDatagram   = 1400 // the lab's MAX_LEN: largest datagram, header included
	LabMaxPayload = 1375 // the lab's MAX_DLEN: largest payload a lab host sends
	MaxOptionsLen = 40   // largest options area tjunet accepts
)

// Header flags. SYN, ACK and FIN are the lab's; RST is a tjunet extension
// that is only sent to peers that offered OptRSTPermitted.
const (
	FlagFIN uint8 = 0x02
	FlagACK uint8 = 0x04
	FlagSYN uint8 = 0x08
	FlagRST uint8 = 0x10
)

// Option kinds (tjunet extensions, TLV: kind, length including kind and
// length bytes, value).
const (
	OptEnd          = 0 // end of options
	OptNOP          = 1 // padding
	OptWindowScale  = 2 // len 3: shift count for the sender's advertised window (SYN only)
	OptSACKPermit   = 3 // len 2: the sender understands SACK blocks (SYN only)
	OptSACK         = 4 // len 2+8n: up to MaxSACKBlocks received blocks [left, right)
	OptCRC32C       = 5 // len 6: CRC-32C of the whole datagram with this value zeroed
	OptRSTPermitted = 6 // len 2: the sender understands the RST flag (SYN only)
	OptAuth         = 7 // len 19: flags byte, then the sender's 16-byte secret (SYN and SYN-ACK)
	OptMAC          = 8 // len 14: 4-byte packet counter, 8-byte tag of a keyed MAC (see MAC)
	OptResetToken   = 9 // len 10: proves a RST comes from the peer that forgot the connection (see ResetToken)
)

// MaxSACKBlocks is the largest number of SACK blocks in one segment.
const MaxSACKBlocks = 4

// crcOffset is where the CRC value sits when the encoder writes the CRC
// option: always first, at offset 20 (kind), 21 (length), 22..25 (value).
// The MAC option takes the same place when it replaces the CRC: counter at
// 22..25, tag at 26..33.
const crcOffset = HeaderLen + 2

// SecretLen is the size of the secret each side sends in OptAuth.
const SecretLen = 16

// AuthStateless in OptAuth's flags byte (SYN-ACK only) says the server
// answered from a SYN cookie, kept no state, and derived the keys without
// the client's secret.
const AuthStateless uint8 = 0x01

// Errors returned by Decode. Each names one reason a datagram is dropped.
var (
	ErrShort       = errors.New("wire: datagram shorter than the 20-byte header")
	ErrHeaderLen   = errors.New("wire: bad header length")
	ErrPacketLen   = errors.New("wire: packet length field does not match the datagram")
	ErrTooLong     = errors.New("wire: datagram longer than 1400 bytes")
	ErrBadOption   = errors.New("wire: malformed option")
	ErrBadChecksum = errors.New("wire: checksum mismatch")
)

// Secret is a connection secret sent in OptAuth.
type Secret [SecretLen]byte

// Token is a reset token (OptResetToken).
type Token [8]byte

// Block is a SACK block: the bytes [Left, Right) were received.
type Block struct{ Left, Right uint32 }

// Options holds the decoded header options of a segment.
type Options struct {
	WindowScale    uint8 // valid when HasWindowScale
	HasWindowScale bool
	SACKPermitted  bool
	RSTPermitted   bool
	HasCRC         bool // the datagram carried a CRC-32C option (and it matched)
	NumSACK        int  // number of valid entries in SACK
	SACK           [MaxSACKBlocks]Block

	HasAuth   bool // OptAuth: AuthFlags and Secret are valid
	AuthFlags uint8
	Secret    Secret

	// HasMAC: the datagram carries OptMAC, not yet verified (MAC.Verify
	// does that with the connection's key).
	HasMAC bool
	macAt  int // offset of the MAC option's value in Raw

	HasResetToken bool // OptResetToken: ResetToken is valid
	ResetToken    Token
}

// Segment is a decoded segment. Payload aliases the decoded datagram.
type Segment struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	HeaderLen        uint16
	PacketLen        uint16
	Flags            uint8
	Window           uint16
	Ext              uint8
	Options
	Payload []byte
	Raw     []byte // the whole datagram (aliases the decoded buffer)
}

// Has reports whether all the given flags are set.
func (s *Segment) Has(flags uint8) bool { return s.Flags&flags == flags }

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	zero4      [4]byte
)

// Decode parses datagram b into s. On error s is partly filled and must not
// be used. s.Payload aliases b.
func Decode(b []byte, s *Segment) error {
	if len(b) < HeaderLen {
		return ErrShort
	}
	if len(b) > MaxDatagram {
		return ErrTooLong
	}
	s.SrcPort = binary.BigEndian.Uint16(b[0:])
	s.DstPort = binary.BigEndian.Uint16(b[2:])
	s.Seq = binary.BigEndian.Uint32(b[4:])
	s.Ack = binary.BigEndian.Uint32(b[8:])
	s.HeaderLen = binary.BigEndian.Uint16(b[12:])
	s.PacketLen = binary.BigEndian.Uint16(b[14:])
	s.Flags = b[16]
	s.Window = binary.BigEndian.Uint16(b[17:])
	s.Ext = b[19]
	hl := int(s.HeaderLen)
	if hl < HeaderLen || hl > HeaderLen+MaxOptionsLen {
		return ErrHeaderLen
	}
	if int(s.PacketLen) != len(b) || hl > len(b) {
		return ErrPacketLen
	}
	s.Options = Options{}
	crcAt := -1
	opts := b[HeaderLen:hl]
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == OptEnd {
			break
		}
		if kind == OptNOP {
			i++
			continue
		}
		if i+1 >= len(opts) {
			return ErrBadOption
		}
		l := int(opts[i+1])
		if l < 2 || i+l > len(opts) {
			return ErrBadOption
		}
		v := opts[i+2 : i+l]
		switch kind {
		case OptWindowScale:
			if len(v) != 1 || v[0] > 14 {
				return ErrBadOption
			}
			s.HasWindowScale, s.WindowScale = true, v[0]
		case OptSACKPermit:
			if len(v) != 0 {
				return ErrBadOption
			}
			s.SACKPermitted = true
		case OptRSTPermitted:
			if len(v) != 0 {
				return ErrBadOption
			}
			s.RSTPermitted = true
		case OptSACK:
			if len(v)%8 != 0 || len(v)/8 > MaxSACKBlocks {
				return ErrBadOption
			}
			n := len(v) / 8
			for j := range n {
				s.SACK[j] = Block{
					Left:  binary.BigEndian.Uint32(v[8*j:]),
					Right: binary.BigEndian.Uint32(v[8*j+4:]),
				}
			}
			s.NumSACK = n
		case OptCRC32C:
			if len(v) != 4 || crcAt >= 0 || s.HasMAC {
				return ErrBadOption
			}
			crcAt = HeaderLen + i + 2
		case OptAuth:
			if len(v) != 1+SecretLen || s.HasAuth {
				return ErrBadOption
			}
			s.HasAuth, s.AuthFlags = true, v[0]
			copy(s.Secret[:], v[1:])
		case OptResetToken:
			if len(v) != len(Token{}) || s.HasResetToken {
				return ErrBadOption
			}
			s.HasResetToken = true
			copy(s.ResetToken[:], v)
		case OptMAC:
			if len(v) != 4+MACLen || s.HasMAC || crcAt >= 0 {
				return ErrBadOption
			}
			s.HasMAC, s.macAt = true, HeaderLen+i+2
		default:
			// Unknown options are skipped, as TCP does.
		}
		i += l
	}
	if crcAt >= 0 {
		if binary.BigEndian.Uint32(b[crcAt:]) != checksum(b, crcAt) {
			return ErrBadChecksum
		}
		s.HasCRC = true
	}
	s.Payload = b[hl:]
	s.Raw = b
	return nil
}

// checksum computes the CRC-32C of b with the four bytes at off taken as zero.
func checksum(b []byte, off int) uint32 {
	c := crc32.Update(0, castagnoli, b[:off])
	c = crc32.Update(c, castagnoli, zero4[:])
	return crc32.Update(c, castagnoli, b[off+4:])
}

// Header describes a segment to encode.
type Header struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint8
	Window           uint16

	CRC bool // write a CRC-32C option; call Seal after the payload is in place
	MAC bool // write a MAC option instead; call MAC.Sign after the payload is in place

	// SYN options; written only when set.
	WindowScale    uint8
	HasWindowScale bool
	SACKPermitted  bool
	RSTPermitted   bool
	Auth           bool // write OptAuth with AuthFlags and Secret
	AuthFlags      uint8
	Secret         Secret
	HasResetToken  bool // write OptResetToken
	ResetToken     Token

	// SACK blocks to write: the first ones that fit in the 40-byte options
	// area, at most MaxSACKBlocks.
	SACK []Block
}

// Len returns the header length Put writes for h, options included.
func (h *Header) Len() int {
	n := h.fixedLen()
	if k := h.sackBlocks(); k > 0 {
		n += 2 + 8*k
	}
	return (n + 3) &^ 3 // pad to a multiple of 4 with NOPs
}

// sackBlocks returns how many of h.SACK fit in the options area.
func (h *Header) sackBlocks() int { return min(len(h.SACK), h.SACKRoom()) }

// SACKRoom returns how many SACK blocks fit in the options area beside
// the other options h carries (at most MaxSACKBlocks).
func (h *Header) SACKRoom() int {
	room := HeaderLen + MaxOptionsLen - h.fixedLen() - 2
	return max(0, min(MaxSACKBlocks, room/8))
}

// fixedLen is the header length without SACK blocks and padding.
func (h *Header) fixedLen() int {
	n := HeaderLen
	if h.MAC {
		n += 2 + 4 + MACLen
	} else if h.CRC {
		n += 6
	}
	if h.HasWindowScale {
		n += 3
	}
	if h.Auth {
		n += 3 + SecretLen
	}
	if h.HasResetToken {
		n += 2 + len(Token{})
	}
	if h.SACKPermitted {
		n += 2
	}
	if h.RSTPermitted {
		n += 2
	}
	return n
}

// Put writes the header for a segment carrying payloadLen bytes into b and
// returns the header length. b must hold at least h.Len() bytes. The payload
// goes at b[hlen:hlen+payloadLen]; when h.CRC is set, call Seal on the whole
// datagram once the payload is in place.
func Put(b []byte, h *Header, payloadLen int) int {
	hl := h.Len()
	_ = b[hl-1]
	binary.BigEndian.PutUint16(b[0:], h.SrcPort)
	binary.BigEndian.PutUint16(b[2:], h.DstPort)
	binary.BigEndian.PutUint32(b[4:], h.Seq)
	binary.BigEndian.PutUint32(b[8:], h.Ack)
	binary.BigEndian.PutUint16(b[12:], uint16(hl))
	binary.BigEndian.PutUint16(b[14:], uint16(hl+payloadLen))
	b[16] = h.Flags
	binary.BigEndian.PutUint16(b[17:], h.Window)
	b[19] = 0
	i := HeaderLen
	if h.MAC {
		b[i], b[i+1] = OptMAC, 2+4+MACLen
		clear(b[i+2 : i+2+4+MACLen])
		i += 2 + 4 + MACLen
	} else if h.CRC {
		b[i], b[i+1] = OptCRC32C, 6
		binary.BigEndian.PutUint32(b[i+2:], 0)
		i += 6
	}
	if h.HasWindowScale {
		b[i], b[i+1], b[i+2] = OptWindowScale, 3, h.WindowScale
		i += 3
	}
	if h.SACKPermitted {
		b[i], b[i+1] = OptSACKPermit, 2
		i += 2
	}
	if h.RSTPermitted {
		b[i], b[i+1] = OptRSTPermitted, 2
		i += 2
	}
	if h.Auth {
		b[i], b[i+1], b[i+2] = OptAuth, 3+SecretLen, h.AuthFlags
		copy(b[i+3:], h.Secret[:])
		i += 3 + SecretLen
	}
	if h.HasResetToken {
		b[i], b[i+1] = OptResetToken, byte(2+len(Token{}))
		copy(b[i+2:], h.ResetToken[:])
		i += 2 + len(Token{})
	}
	if k := h.sackBlocks(); k > 0 {
		b[i], b[i+1] = OptSACK, byte(2+8*k)
		i += 2
		for _, blk := range h.SACK[:k] {
			binary.BigEndian.PutUint32(b[i:], blk.Left)
			binary.BigEndian.PutUint32(b[i+4:], blk.Right)
			i += 8
		}
	}
	for ; i < hl; i++ {
		b[i] = OptNOP
	}
	return hl
}

// Seal stores the CRC-32C of datagram b in its CRC option. It must be called
// after the payload is in place, for headers written by Put with CRC set.
func Seal(b []byte) {
	binary.BigEndian.PutUint32(b[crcOffset:], checksum(b, crcOffset))
}
