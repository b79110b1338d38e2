package tcb

// recvBuf holds received bytes that the application has not read, in order,
// followed by out-of-order data that arrived ahead of a gap. Out-of-order
// data is stored in place, at its final offset, and the ranges that hold
// valid bytes are kept in a short sorted list (they become SACK blocks).
type recvBuf struct {
	r      ring
	limit  int    // capacity in bytes: the most we ever advertise
	nxt    seqnum // sequence number of the next in-order byte (RCV.NXT)
	ready  int    // in-order bytes not yet read; they end at nxt
	hi     int    // bytes stored past nxt (offset of the furthest byte + 1)
	ranges []span // out-of-order ranges beyond nxt, sorted, disjoint, not adjacent
}

// span is a half-open range of sequence numbers [left, right).
type span struct{ left, right seqnum }

// free is the window we can offer: room beyond nxt.
func (b *recvBuf) free() int { return b.limit - b.ready }

// write stores payload p that starts at sequence number seq. It returns the
// number of bytes that became readable in order, and whether the segment
// brought no new byte at all (a duplicate).
func (b *recvBuf) write(seq seqnum, p []byte) (delivered int, dup bool) {
	off := seq.since(b.nxt)
	if off < 0 {
		if -off >= len(p) {
			return 0, true
		}
		p = p[-off:]
		off = 0
	}
	if room := b.free() - off; len(p) > room {
		if room <= 0 {
			return 0, false
		}
		p = p[:room]
	}
	if len(p) == 0 {
		return 0, false
	}
	start := b.nxt.add(off)
	end := start.add(len(p))
	if off > 0 && b.covered(start, end) {
		return 0, true
	}
	b.r.reserve(b.ready+off+len(p), b.ready+b.hi)
	b.r.copyIn(b.ready+off, p)
	b.hi = max(b.hi, off+len(p))
	if off > 0 {
		b.addRange(start, end)
		return 0, false
	}
	// In order: advance nxt over this segment and any ranges it reaches.
	newNxt := end
	for len(b.ranges) > 0 && b.ranges[0].left.leq(newNxt) {
		newNxt = seqMax(newNxt, b.ranges[0].right)
		b.ranges = b.ranges[:copy(b.ranges, b.ranges[1:])]
	}
	delivered = int(newNxt - b.nxt)
	b.nxt = newNxt
	b.ready += delivered
	b.hi -= delivered
	return delivered, false
}

// covered reports whether [l, r) lies within one stored out-of-order range.
func (b *recvBuf) covered(l, r seqnum) bool {
	for _, s := range b.ranges {
		if s.left.leq(l) && r.leq(s.right) {
			return true
		}
	}
	return false
}

func (b *recvBuf) addRange(l, r seqnum) {
	i := 0
	for i < len(b.ranges) && b.ranges[i].right.lt(l) {
		i++
	}
	j := i
	for j < len(b.ranges) && b.ranges[j].left.leq(r) {
		l = seqMin(l, b.ranges[j].left)
		r = seqMax(r, b.ranges[j].right)
		j++
	}
	if i == j {
		b.ranges = append(b.ranges, span{})
		copy(b.ranges[i+1:], b.ranges[i:])
	} else {
		b.ranges = append(b.ranges[:i+1], b.ranges[j:]...)
	}
	b.ranges[i] = span{l, r}
}

// read copies up to len(p) in-order bytes into p and consumes them.
func (b *recvBuf) read(p []byte) int {
	n := min(len(p), b.ready)
	if n == 0 {
		return 0
	}
	b.r.copyOut(p[:n], 0)
	b.r.advance(n)
	b.ready -= n
	if b.ready == 0 && b.hi == 0 {
		b.r.head = 0
	}
	return n
}
