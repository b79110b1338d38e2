package tcb

// seqnum is a TCP sequence number. Sequence space wraps modulo 2^32 (RFC
// 793 section 3.3), so numbers are compared with lt, leq, gt and geq (serial
// number arithmetic, RFC 1982), never with < or >: a is before b when b-a,
// taken as a signed 32-bit distance, is positive. The wire codec carries
// plain uint32s; the engine converts at its edges (Handle, emit).
type seqnum uint32

func (a seqnum) lt(b seqnum) bool  { return int32(a-b) < 0 }
func (a seqnum) leq(b seqnum) bool { return int32(a-b) <= 0 }
func (a seqnum) gt(b seqnum) bool  { return int32(a-b) > 0 }
func (a seqnum) geq(b seqnum) bool { return int32(a-b) >= 0 }

// add returns a advanced by n bytes of sequence space.
func (a seqnum) add(n int) seqnum { return a + seqnum(n) }

// since returns the signed distance from b to a (a - b): positive when a is
// after b.
func (a seqnum) since(b seqnum) int { return int(int32(a - b)) }

// seqMin returns the earlier of a and b.
func seqMin(a, b seqnum) seqnum {
	if a.lt(b) {
		return a
	}
	return b
}

// seqMax returns the later of a and b.
func seqMax(a, b seqnum) seqnum {
	if a.gt(b) {
		return a
	}
	return b
}
