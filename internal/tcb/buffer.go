package tcb

import "time"

// Buffer autotuning. The send and receive buffers start at the configured
// sizes and grow with what the path needs, up to MaxSendBufSize and
// MaxRecvBufSize. Memory follows use (the rings grow on demand), so a
// large ceiling costs nothing on a short path.
//
// Receive side (like Linux's dynamic right-sizing): when data arrives
// within the last quarter of the window we offered, the sender is using
// nearly all of it, so the window may be what limits it. The buffer, and
// with it the window, then doubles, at most once per round trip. A sender
// with a window of a whole bandwidth-delay product, plus the holes a lossy
// path keeps open, is never held back by a buffer smaller than the
// ceiling.
//
// Send side: the buffer holds everything between SND.UNA and what the
// application wrote, so a sender whose congestion window is a large BDP,
// with SACKed data held until the holes below it are repaired, needs the
// span in flight plus room for two more windows of new data.

// autotuneRecv grows the receive buffer when data ending at end arrives
// in the last quarter of the window offered.
func (t *TCB) autotuneRecv(end seqnum, now time.Duration) {
	limit := t.rbuf.limit
	if t.cfg.MaxRecvBufSize <= limit || t.rcvShift == 0 {
		return
	}
	offered := int(t.advRight - t.rbuf.nxt)
	if offered <= 0 || end.since(t.rbuf.nxt) < offered-offered/4 {
		return
	}
	if t.rcvGrownAt != 0 && now-t.rcvGrownAt < max(t.rtt.srtt, time.Millisecond) {
		return
	}
	t.rbuf.limit = min(2*limit, t.cfg.MaxRecvBufSize)
	t.rcvGrownAt = now
	t.ackNow = true // tell the sender at once
}

// sendBufLimit is the send buffer's size in force.
func (t *TCB) sendBufLimit() int {
	base := t.cfg.SendBufSize
	if t.cfg.MaxSendBufSize <= base || t.cc == nil {
		return base
	}
	need := int(t.sndNxt-t.sndUna) + 2*t.cc.Window()
	// It never shrinks: Writable must not drop below what was written.
	t.sndBufHigh = min(max(base, need, t.sndBufHigh), t.cfg.MaxSendBufSize)
	return t.sndBufHigh
}
