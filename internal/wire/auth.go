package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
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
// (AES-GCM with no plaintext: the whole datagram is the additional data),
// one key per direction. Each segment carries a 32-bit packet counter
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
}

// NewMAC derives the keys for one side of a connection (client is true on
// the active opener) with HKDF-SHA256.
func NewMAC(in *KeyInput, client bool) *MAC {
	secret := make([]byte, 0, 2*SecretLen)
	secret = append(secret, in.ClientSecret[:]...)
	secret = append(secret, in.ServerSecret[:]...)
	info := []byte("tjunet MAC v1 ")
	info = binary.BigEndian.AppendUint32(info, in.ClientISN)
	info = binary.BigEndian.AppendUint32(info, in.ServerISN)
	info = binary.BigEndian.AppendUint16(info, in.ClientPort)
	info = binary.BigEndian.AppendUint16(info, in.ServerPort)
	keys, err := hkdf.Key(sha256.New, secret, nil, string(info), 32)
	if err != nil {
		panic(err) // 32 bytes from SHA-256 cannot fail
	}
	c2s, s2c := newGMAC(keys[:16]), newGMAC(keys[16:])
	m := &MAC{send: c2s, recv: s2c}
	if !client {
		m.send, m.recv = s2c, c2s
	}
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

// tagOf computes the full tag of b (whose MAC option is at off) under
// aead for counter ctr, with the tag bytes taken as zero.
func (m *MAC) tagOf(aead cipher.AEAD, b []byte, off int, ctr uint64) []byte {
	binary.BigEndian.PutUint64(m.nonce[4:], ctr)
	clear(b[off+4 : off+4+MACLen])
	return aead.Seal(m.tag[:0], m.nonce[:], nil, b)
}

// Sign fills the MAC option of datagram b, written by Put with MAC set,
// once the payload is in place. Each call uses the next counter value.
func (m *MAC) Sign(b []byte) {
	ctr := m.sendCtr
	m.sendCtr++
	binary.BigEndian.PutUint32(b[macOffset:], uint32(ctr))
	tag := m.tagOf(m.send, b, macOffset, ctr)
	copy(b[macOffset+4:], tag[:MACLen])
}

// Verify reports whether s, decoded from a datagram that carries a MAC
// option, is authentic. It compares in constant time. The tag bytes of
// s.Raw are restored before it returns.
func (m *MAC) Verify(s *Segment) bool {
	if !s.HasMAC {
		return false
	}
	b, off := s.Raw, s.macAt
	ctr := m.expand(binary.BigEndian.Uint32(b[off:]))
	var got [MACLen]byte
	copy(got[:], b[off+4:])
	tag := m.tagOf(m.recv, b, off, ctr)
	copy(b[off+4:], got[:])
	if subtle.ConstantTimeCompare(tag[:MACLen], got[:]) != 1 {
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
