package minitalk

import (
	"encoding/binary"
	"hash/crc32"
)

// crcLen is the length of the CRC-32 that follows every message.
const crcLen = 4

// frame returns the payload that carries msg: msg followed by its CRC-32.
func frame(msg []byte) []byte {
	p := make([]byte, len(msg)+crcLen)
	copy(p, msg)
	binary.BigEndian.PutUint32(p[len(msg):], crc32.ChecksumIEEE(msg))
	return p
}

// unframe checks a received payload and returns the message it carries.
func unframe(p []byte) ([]byte, bool) {
	if len(p) < crcLen {
		return nil, false
	}
	msg := p[:len(p)-crcLen]
	return msg, binary.BigEndian.Uint32(p[len(msg):]) == crc32.ChecksumIEEE(msg)
}

// PayloadBits is the number of data bits a message of n bytes takes on the
// channel; the whole transfer is 2*PayloadBits(n)+2 acknowledged exchanges
// (the knock, a flag and a bit per data bit, and the end flag).
func PayloadBits(n int) int { return 8 * (n + crcLen) }
