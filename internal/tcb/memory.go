package tcb

import "unsafe"

// Memory: a connection holds its buffers only while it can still use them.
// A closed connection the application keeps a reference to, and one the
// endpoint keeps for TIME_WAIT, cost a few hundred bytes, not the send and
// receive rings they grew to during the transfer.

// Trim frees the buffers the connection no longer needs in its current
// state. The caller runs it after each event; it is cheap when there is
// nothing to free.
//
//   - The send ring and the retransmission queue go once nothing can be
//     sent again: everything, FIN included, is acknowledged (TIME_WAIT, or
//     FIN_WAIT_2 after a close), or the connection is CLOSED.
//   - The receive ring goes once nobody will read it and it holds no
//     out-of-order data: the application closed, or the connection is
//     CLOSED and every byte was read.
//
// Buffers grow again on demand (ring.reserve), so trimming too early would
// cost an allocation, never data.
func (t *TCB) Trim() {
	done := t.state == Closed || t.state == TimeWait
	if (done || t.finAcked) && t.sbuf.buf != nil {
		t.sbuf = ring{}
		t.sbufSeq = t.sbufSeq.add(t.sbufLen) // nothing left to send or resend
		t.sbufLen = 0
	}
	if done && t.recs.len() == 0 && t.recs.q.a != nil {
		t.recs = scoreboard{}
	} else if t.state == Closed && t.recs.q.a != nil {
		t.recs = scoreboard{} // reset or timed out: nothing will be resent
	}
	if t.rbuf.r.buf != nil && (t.appClosed || t.state == Closed) {
		if t.appClosed && t.state == Closed {
			t.rbuf.ready, t.rbuf.hi, t.rbuf.ranges = 0, 0, nil
		}
		if t.rbuf.ready == 0 && t.rbuf.hi == 0 {
			t.rbuf.r = ring{}
			t.rbuf.ranges = nil
		}
	}
	if done && t.unreported != nil {
		t.unreported = nil
	}
	if t.state == Closed && !t.rstPending {
		t.mac = nil // nothing will be sent or accepted again
	}
}

// BufferBytes returns the bytes of memory the connection's send and
// receive buffers and its retransmission queue hold now.
func (t *TCB) BufferBytes() int {
	return len(t.sbuf.buf) + len(t.rbuf.r.buf) + cap(t.recs.q.a)*int(unsafe.Sizeof(rec{})) +
		cap(t.unreported)*int(unsafe.Sizeof(pendingSACK{})) + cap(t.rbuf.ranges)*int(unsafe.Sizeof(span{}))
}
