package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash/crc32"
)

// MACLen is the size of the tag in OptMAC: 64 bits.
const MACLen = 8

// macOffset is where the MAC option's value (counter, then tag) sits: the
// encoder always writes the option first, in the CRC's place.
const macOffset = HeaderLen + 2

// KeyInput names what a connection's MAC keys are derived from: both
// sides' secrets (the client's left zero when the server answered
// statelessly), both initial sequence numbers and both TJU ports. The UDP
// addresses are left out so that a connection through a NAT still works.
type KeyInput struct {
	ClientSecret, ServerSecret Secret
	ClientISN, ServerISN       uint32
	ClientPort, ServerPort     uint16
}

// MAC authenticates the segments of one connection with AES-128-GMAC
// (AES-GCM with no plaintext) over the header and the CRC-32C of the
// payload, one key per direction. Each segment carries a 32-bit packet counter
// (the low bits of a 64-bit per-direction counter, which with the
// direction's key forms the GCM nonce, so no nonce repeats) and the first
// 64 bits of the tag. An attacker who did not see the handshake knows
// neither key: each forged segment passes with probability 2^-64.
//
// MAC detects corruption too: it replaces the CRC-32C option.
// It is not safe for concurrent use.
type MAC struct {
	send, recv       cipher.AEAD
	sendCtr, recvMax uint64
	recvAny          bool
	nonce            [12]byte
	tag              [16]byte
	ad               [HeaderLen + MaxOptionsLen + 4]byte
	keys             [sha256.Size]byte
	sendKey, recvKey []byte // halves of keys
}

// NewMAC derives the keys for one side of a connection (client is true on
// the active opener): HMAC-SHA256 keyed with both secrets (256 random bits)
// over a label, the ISNs and the ports gives the two AES-128 keys. The
// receiving key is expanded when the first segment is verified, so a
// listener that only signs a cookie's SYN-ACK pays for one.
func NewMAC(in *KeyInput, client bool) *MAC {
	var secret [2 * SecretLen]byte
	copy(secret[:], in.ClientSecret[:])
	copy(secret[SecretLen:], in.ServerSecret[:])
	var buf [32]byte
	info := append(buf[:0], "tjunet MAC v1 "...)
	info = binary.BigEndian.AppendUint32(info, in.ClientISN)
	info = binary.BigEndian.AppendUint32(info, in.ServerISN)
	info = binary.BigEndian.AppendUint16(info, in.ClientPort)
	info = binary.BigEndian.AppendUint16(info, in.ServerPort)
	h := hmac.New(sha256.New, secret[:])
	h.Write(info)
	m := &MAC{}
	h.Sum(m.keys[:0])
	m.sendKey, m.recvKey = m.keys[:16], m.keys[16:] // client to server, server to client
	if !client {
		m.sendKey, m.recvKey = m.recvKey, m.sendKey
	}
	m.send = newGMAC(m.sendKey)
	return m
}

func newGMAC(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

// tagOf computes the full tag under aead for counter ctr of datagram b,
// whose header is hl bytes long and whose MAC option's value is at off:
// GMAC over the header (tag bytes taken as zero) followed by the CRC-32C
// of the payload. The payload enters through its CRC, which the hardware
// computes at several GB/s, so that the MAC costs little more than the
// checksum it replaces: a full GMAC over every payload byte made the
// loopback benchmark 30% slower. A blind attacker still faces the
// AES-masked tag (2^-64 per forgery, whatever the input); an on-path
// observer who did not see the handshake could alter payload bits without
// changing the CRC (see docs/protocol.md).
func (m *MAC) tagOf(aead cipher.AEAD, b []byte, hl, off int, ctr uint64) []byte {
	binary.BigEndian.PutUint64(m.nonce[4:], ctr)
	ad := append(m.ad[:0], b[:hl]...)
	clear(ad[off+4 : off+4+MACLen])
	ad = binary.BigEndian.AppendUint32(ad, crc32.Update(0, castagnoli, b[hl:]))
	return aead.Seal(m.tag[:0], m.nonce[:], nil, ad)
}

// Sign fills the MAC option of datagram b, written by Put with MAC set,
// once the payload is in place. Each call uses the next counter value.
func (m *MAC) Sign(b []byte) {
	ctr := m.sendCtr
	m.sendCtr++
	binary.BigEndian.PutUint32(b[macOffset:], uint32(ctr))
	hl := int(binary.BigEndian.Uint16(b[12:]))
	tag := m.tagOf(m.send, b, hl, macOffset, ctr)
	copy(b[macOffset+4:], tag[:MACLen])
}

// SkipSend makes the next Sign use the counter after the next: the
// listener signed the SYN-ACK with counter 0 for a connection it rebuilds
// from a SYN cookie.
func (m *MAC) SkipSend() { m.sendCtr++ }

// Verify reports whether s, decoded from a datagram that carries a MAC
// option, is authentic. It compares in constant time.
func (m *MAC) Verify(s *Segment) bool {
	if !s.HasMAC {
		return false
	}
	if m.recv == nil {
		m.recv = newGMAC(m.recvKey)
	}
	b, off := s.Raw, s.macAt
	ctr := m.expand(binary.BigEndian.Uint32(b[off:]))
	tag := m.tagOf(m.recv, b, int(s.HeaderLen), off, ctr)
	if subtle.ConstantTimeCompare(tag[:MACLen], b[off+4:off+4+MACLen]) != 1 {
		return false
	}
	if !m.recvAny || ctr > m.recvMax {
		m.recvMax, m.recvAny = ctr, true
	}
	return true
}

// expand recovers the 64-bit counter from its low 32 bits: the value
// closest to the one after the largest counter verified so far (as QUIC
// decodes packet numbers, RFC 9000 appendix A.3).
func (m *MAC) expand(low uint32) uint64 {
	const win, half = 1 << 32, 1 << 31
	next := uint64(0)
	if m.recvAny {
		next = m.recvMax + 1
	}
	c := next&^(win-1) | uint64(low)
	switch {
	case c+half <= next && c < 1<<62:
		c += win
	case c > next+half && c >= win:
		c -= win
	}
	return c
}

// ResetToken returns the reset token of a side whose connection secret is
// s. An endpoint that derives its secrets from the peer's address and the
// ports (and a key of its own) can recompute the token after it forgot a
// connection, and put it in the RST it answers the peer's next segment
// with: the peer, which learnt s in the handshake, accepts that RST
// although it carries no valid MAC. Nobody who did not see the handshake
// can compute the token.
func ResetToken(s *Secret) Token {
	h := hmac.New(sha256.New, s[:])
	h.Write([]byte("tjunet reset token v1"))
	var t Token
	copy(t[:], h.Sum(nil))
	return t
}
