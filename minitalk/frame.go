package minitalk

import (
	"encoding/binary"
	"hash/crc32"
)

// crcLen is the length of the check that follows every message.
const crcLen = 4

// check is the CRC-32 (IEEE) of msg with its lowest bit cleared, so that the
// last bit of every payload is 0. A symbol read twice flips the server's
// alternation of flags and bits; the client's data bits then fall where the
// server expects flags, and the first data bit 0 ends the message early, with
// a bad check, before the client's own end flag could be taken for a data bit
// and the client believe the message arrived. The last bit being 0 makes sure
// such a data bit 0 comes.
func check(msg []byte) uint32 { return crc32.ChecksumIEEE(msg) &^ 1 }

// frame returns the payload that carries msg: msg followed by its check.
func frame(msg []byte) []byte {
	p := make([]byte, len(msg)+crcLen)
	copy(p, msg)
	binary.BigEndian.PutUint32(p[len(msg):], check(msg))
	return p
}

// unframe checks a received payload and returns the message it carries.
func unframe(p []byte) ([]byte, bool) {
	if len(p) < crcLen {
		return nil, false
	}
	msg := p[:len(p)-crcLen]
	return msg, binary.BigEndian.Uint32(p[len(msg):]) == check(msg)
}

// PayloadBits is the number of data bits a message of n bytes takes on the
// channel; the whole transfer is 2*PayloadBits(n)+2 acknowledged exchanges
// (the knock, a flag and a bit per data bit, and the end flag).
func PayloadBits(n int) int { return 8 * (n + crcLen) }
