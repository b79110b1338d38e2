package tcb

// ring is a growable byte ring addressed by logical offsets from its head.
// It backs both the send buffer and the receive buffer. Memory grows on
// demand (doubling) up to the caller's limit, so an idle connection with a
// large configured buffer costs little.
type ring struct {
	buf  []byte // len is zero or a power of two
	head int    // index in buf of logical offset 0
}

const ringMinSize = 16 << 10

// reserve makes room for logical offsets [0, n) keeping the first keep bytes.
func (r *ring) reserve(n, keep int) {
	if n <= len(r.buf) {
		return
	}
	size := max(len(r.buf), ringMinSize)
	for size < n {
		size *= 2
	}
	nb := make([]byte, size)
	if keep > 0 {
		a, b := r.slices(0, keep)
		copy(nb[copy(nb, a):], b)
	}
	r.buf, r.head = nb, 0
}

// slices returns the bytes at logical offsets [off, off+n) as up to two
// slices (the second is non-empty when the range wraps).
func (r *ring) slices(off, n int) (a, b []byte) {
	if n == 0 {
		return nil, nil
	}
	mask := len(r.buf) - 1
	start := (r.head + off) & mask
	if start+n <= len(r.buf) {
		return r.buf[start : start+n], nil
	}
	return r.buf[start:], r.buf[:n-(len(r.buf)-start)]
}

// copyOut copies logical bytes [off, off+len(p)) into p.
func (r *ring) copyOut(p []byte, off int) {
	a, b := r.slices(off, len(p))
	copy(p[copy(p, a):], b)
}

// copyIn copies p to logical offsets [off, off+len(p)); room must be reserved.
func (r *ring) copyIn(off int, p []byte) {
	a, b := r.slices(off, len(p))
	copy(b, p[copy(a, p):])
}

// advance drops n bytes from the head.
func (r *ring) advance(n int) {
	if len(r.buf) > 0 {
		r.head = (r.head + n) & (len(r.buf) - 1)
	}
}
