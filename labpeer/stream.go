package labpeer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// stream is the transfer check's own end of one connection: scripted
// segments, one timer, no congestion control (the lab's fixed window).
type stream struct {
	pc  net.PacketConn
	o   TransferOptions
	in  chan datagram
	err error

	peer         netip.AddrPort // where segments go
	lport, rport uint16
	known        bool

	iss, sndUna, sndNxt uint32
	irs, rcvNxt         uint32
	wnd                 int // the send window: the peer's, or the lab's when it says 1

	// RFC 6298 estimator: 1 s initial, 200 ms floor, doubling backoff.
	srtt, rttvar, rto time.Duration
	timed             uint32 // the segment being timed (Karn: never a retransmitted one)
	timedAt           time.Time
	timing            bool
	rtoAt             time.Time
	dupAcks           int
}

const (
	streamISS     = 1000
	streamMinRTO  = 200 * time.Millisecond
	streamTries   = 12
	streamFinWait = 5 * time.Second
)

func newStream(pc net.PacketConn, o TransferOptions) *stream {
	e := &stream{pc: pc, o: o, in: make(chan datagram, 4096), rto: time.Second, iss: streamISS}
	go func() {
		defer close(e.in)
		buf := make([]byte, 1<<16)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				if !errors.Is(err, net.ErrClosed) {
					e.err = err
				}
				return
			}
			ap, _ := addrPort(from)
			e.in <- datagram{b: append([]byte(nil), buf[:n]...), from: ap, at: time.Now()}
		}
	}()
	return e
}

func (e *stream) close() {
	e.pc.Close()
	for range e.in {
	}
}

func (e *stream) emit(flags uint8, seq, ack uint32, payload []byte) {
	s := Segment{SrcPort: e.lport, DstPort: e.rport, Seq: seq, Ack: ack, Flags: flags, Window: LabWindow, Payload: payload}
	e.pc.WriteTo(encode(&s), net.UDPAddrFromAddrPort(e.peer))
}

// next returns the next segment of the connection, or nil at deadline.
func (e *stream) next(ctx context.Context, deadline time.Time) (*Segment, netip.AddrPort, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		select {
		case d, ok := <-e.in:
			if !ok {
				return nil, netip.AddrPort{}, fmt.Errorf("socket: %v", e.err)
			}
			s := new(Segment)
			if !parse(d.b, s) || len(d.b) < wire.HeaderLen || int(s.HeaderLen) < wire.HeaderLen {
				continue
			}
			if s.DstPort != e.lport || e.known && (s.SrcPort != e.rport || d.from.Addr() != e.peer.Addr()) {
				continue
			}
			return s, d.from, nil
		case <-t.C:
			return nil, netip.AddrPort{}, nil
		case <-ctx.Done():
			return nil, netip.AddrPort{}, ctx.Err()
		}
	}
}

// sample folds one RTT measurement in (RFC 6298 2.2, 2.3).
func (e *stream) sample(r time.Duration) {
	if e.srtt == 0 {
		e.srtt, e.rttvar = r, r/2
	} else {
		d := max(e.srtt-r, r-e.srtt)
		e.rttvar += (d - e.rttvar) / 4
		e.srtt += (r - e.srtt) / 8
	}
	e.rto = max(e.srtt+max(time.Millisecond, 4*e.rttvar), streamMinRTO)
}

// receive plays the lab's server: it accepts the client's connection,
// acknowledges every segment at once, delivers in order, and closes when
// the client's FIN arrives in order (or at the limit).
func (e *stream) receive(ctx context.Context, res *TransferResult) {
	e.lport = e.o.ServerPort
	h := sha256.New()
	v := &verifier{want: e.o.Data, h: h}
	var start time.Time
	ooo := map[uint32][]byte{}
	finAt := uint32(0)
	finKnown, finRcvd, finAcked := false, false, false
	tries := 0
	deadline := time.Now().Add(e.o.Wait)
	for {
		s, from, err := e.next(ctx, deadline)
		now := time.Now()
		if err != nil {
			res.Problem = err.Error()
			break
		}
		if s == nil { // a deadline
			switch {
			case !e.known:
				res.Problem = fmt.Sprintf("no client connected within %v", e.o.Wait)
			case finRcvd && !finAcked && tries < 4:
				tries++
				e.emit(wire.FlagFIN|wire.FlagACK, e.iss+1, e.rcvNxt, nil)
				deadline = now.Add(time.Second << tries)
				continue
			case finRcvd:
			case now.Sub(start) >= e.o.Limit:
				res.Problem = fmt.Sprintf("cut off at the %v limit after %d bytes", e.o.Limit, res.Bytes)
			default:
				res.Problem = fmt.Sprintf("nothing from the client for %v after %d bytes", streamFinWait*6, res.Bytes)
			}
			break
		}
		if !e.known {
			if s.Flags&(wire.FlagSYN|wire.FlagACK) != wire.FlagSYN {
				continue
			}
			e.known, e.rport, e.irs, e.rcvNxt = true, s.SrcPort, s.Seq, s.Seq+1
			e.peer = from
			if e.o.Lab {
				e.peer = netip.AddrPortFrom(from.Addr(), LabUDPPort)
			}
			start = now
		}
		switch {
		case s.Flags&wire.FlagSYN != 0:
			e.emit(wire.FlagSYN|wire.FlagACK, e.iss, e.irs+1, nil) // its SYN again: our SYN-ACK was lost
		case finRcvd:
			if s.Flags&wire.FlagACK != 0 && s.Ack == e.iss+2 {
				finAcked = true
			}
			if s.Flags&wire.FlagFIN != 0 {
				e.emit(wire.FlagACK, e.iss+2, e.rcvNxt, nil)
			}
		default:
			if p := s.Payload; len(p) > 0 {
				off := int32(s.Seq - e.rcvNxt)
				if off < 0 && int(-off) < len(p) { // overlaps what we have
					p, off = p[-off:], 0
				}
				if off == 0 {
					deliver := func(p []byte) {
						v.write(p, res)
						e.rcvNxt += uint32(len(p))
						if now.Sub(start) <= e.o.Limit {
							res.WithinLimit = res.Bytes
						}
					}
					deliver(p)
					// What arrived ahead of the hole, now in order.
					for more := true; more; {
						more = false
						for seq, b := range ooo {
							if done := int32(e.rcvNxt - seq); done >= 0 {
								delete(ooo, seq)
								if int(done) < len(b) {
									deliver(b[done:])
									more = true
								}
							}
						}
					}
				} else if off > 0 && off < 8<<20 {
					ooo[s.Seq] = append([]byte(nil), p...)
				}
			}
			if s.Flags&wire.FlagFIN != 0 {
				finAt, finKnown = s.Seq+uint32(len(s.Payload)), true
				if s.Seq == 0 && len(ooo) == 0 {
					finAt = e.rcvNxt // the skeleton's FIN with seq 0
				}
			}
			if finKnown && finAt == e.rcvNxt {
				finRcvd = true
				e.rcvNxt++
				e.emit(wire.FlagACK, e.iss+1, e.rcvNxt, nil)
				// The client waits for our FIN.
				e.emit(wire.FlagFIN|wire.FlagACK, e.iss+1, e.rcvNxt, nil)
				res.Elapsed, res.Complete = now.Sub(start), true
				deadline = now.Add(time.Second)
				continue
			}
			if len(s.Payload) > 0 || s.Flags&wire.FlagFIN != 0 {
				e.emit(wire.FlagACK, e.iss+1, e.rcvNxt, nil)
			}
		}
		if finRcvd {
			if finAcked {
				break
			}
			continue
		}
		if e.known {
			deadline = now.Add(6 * streamFinWait)
			if lim := start.Add(e.o.Limit); lim.Before(deadline) {
				deadline = lim
			}
		}
	}
	if !res.Complete && !start.IsZero() {
		res.Elapsed = time.Since(start)
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	v.judge(res)
}

// verifier hashes what arrives in order and compares it with want.
type verifier struct {
	want     io.Reader
	h        hash.Hash
	mismatch int64
	buf      []byte
	set      bool
}

func (v *verifier) write(p []byte, res *TransferResult) {
	v.h.Write(p)
	if v.want != nil && !v.set {
		if len(v.buf) < len(p) {
			v.buf = make([]byte, len(p))
		}
		k, _ := io.ReadFull(v.want, v.buf[:len(p)])
		if i := firstDiff(p, v.buf[:k]); i >= 0 {
			v.mismatch, v.set = res.Bytes+int64(i), true
		}
	}
	res.Bytes += int64(len(p))
}

func (v *verifier) judge(res *TransferResult) {
	if v.want == nil {
		return
	}
	switch {
	case v.set:
		res.Verified = fmt.Sprintf("differs at byte %d", v.mismatch)
	case res.Complete:
		if n, _ := io.ReadFull(v.want, make([]byte, 1)); n > 0 {
			res.Verified = fmt.Sprintf("short: the file is longer than the %d bytes received", res.Bytes)
		} else {
			res.Verified = "identical"
		}
	default:
		res.Verified = fmt.Sprintf("identical for the %d bytes received", res.Bytes)
	}
}

// send plays the lab's client: it connects, sends the data with the
// lab's fixed window, closes, and waits for the server to close in turn
// (it then has every byte).
func (e *stream) send(ctx context.Context, res *TransferResult) {
	e.lport, e.rport, e.peer, e.known = e.o.ClientPort, e.o.ServerPort, e.o.Peer, true
	var src io.Reader = e.o.Data
	if src == nil {
		src = eofReader{}
	}
	if e.o.Size > 0 {
		src = io.LimitReader(src, e.o.Size)
	}
	h := sha256.New()
	dataFlags := uint8(wire.FlagACK)
	finFlags := uint8(wire.FlagFIN | wire.FlagACK)
	if e.o.Skeleton {
		dataFlags, finFlags = 0, wire.FlagFIN
	}
	// Connect.
	start := time.Now()
	connected := false
	for tries := 0; !connected; tries++ {
		if tries > 6 || time.Since(start) > e.o.Wait {
			res.Problem = "cannot connect: no SYN-ACK acknowledging our SYN"
			return
		}
		e.emit(wire.FlagSYN, e.iss, 0, nil)
		deadline := time.Now().Add(time.Second << tries)
		for {
			s, _, err := e.next(ctx, deadline)
			if err != nil {
				res.Problem = "cannot connect: " + err.Error()
				return
			}
			if s == nil {
				break
			}
			if s.Has(wire.FlagSYN|wire.FlagACK) && s.Ack == e.iss+1 {
				e.irs, e.rcvNxt, connected = s.Seq, s.Seq+1, true
				e.wnd = int(s.Window)
				if e.wnd <= 1 {
					e.wnd = LabWindow // a field never filled (the skeleton's window 1)
				}
				break
			}
		}
	}
	e.sndUna, e.sndNxt = e.iss+1, e.iss+1
	e.emit(wire.FlagACK, e.iss+1, e.rcvNxt, nil)
	start = time.Now()
	limit := start.Add(e.o.Limit)

	var unacked []byte // from sndUna
	eof, finSent, finAcked, peerFin := false, false, false, false
	var finSeq uint32
	tries := 0
	readBuf := make([]byte, wire.LabMaxPayload)
	idle := time.Now()
	for !(finAcked && peerFin) {
		now := time.Now()
		// Fill the window.
		for !eof && int(e.sndNxt-e.sndUna) < min(e.wnd, LabWindow) {
			room := min(min(e.wnd, LabWindow)-int(e.sndNxt-e.sndUna), wire.LabMaxPayload)
			n, err := io.ReadFull(src, readBuf[:room])
			if n > 0 {
				h.Write(readBuf[:n])
				unacked = append(unacked, readBuf[:n]...)
				e.emit(dataFlags, e.sndNxt, e.ackField(dataFlags), readBuf[:n])
				if !e.timing {
					e.timing, e.timed, e.timedAt = true, e.sndNxt, now
				}
				e.sndNxt += uint32(n)
				if e.rtoAt.IsZero() {
					e.rtoAt = now.Add(e.rto)
				}
			}
			if err != nil {
				eof = true
			}
		}
		if eof && len(unacked) == 0 && !finSent {
			finSent, finSeq = true, e.sndNxt
			e.sndNxt++
			e.emit(finFlags, finSeq, e.ackField(finFlags), nil)
			e.rtoAt = now.Add(e.rto)
		}
		deadline := limit
		if !e.rtoAt.IsZero() && e.rtoAt.Before(deadline) {
			deadline = e.rtoAt
		}
		if finAcked && idle.Add(streamFinWait*6).Before(deadline) {
			deadline = idle.Add(streamFinWait * 6) // waiting for the server to close
		}
		s, _, err := e.next(ctx, deadline)
		now = time.Now()
		if err != nil {
			res.Problem = fmt.Sprintf("the connection failed after %d bytes acknowledged: %v", res.Bytes, err)
			break
		}
		if !now.Before(limit) {
			res.Problem = fmt.Sprintf("cut off at the %v limit after %d bytes acknowledged", e.o.Limit, res.Bytes)
			break
		}
		if s == nil && finAcked {
			res.Problem = fmt.Sprintf("the server did not close within %v of acknowledging our FIN", streamFinWait*6)
			break
		}
		if s == nil { // the retransmission timer
			if tries++; tries > streamTries || now.Sub(idle) > 2*time.Minute {
				res.Problem = fmt.Sprintf("the connection failed after %d bytes acknowledged: %d retransmissions unanswered", res.Bytes, tries-1)
				break
			}
			e.rto = min(2*e.rto, 60*time.Second)
			e.timing = false
			e.retransmit(unacked, finSent, finSeq, dataFlags, finFlags)
			e.rtoAt = now.Add(e.rto)
			continue
		}
		if s.Flags&wire.FlagFIN != 0 && s.Flags&wire.FlagSYN == 0 {
			// The server's FIN, once it has read ours (any seq: the
			// skeleton's has seq 0).
			if finAcked || finSent && s.Flags&wire.FlagACK != 0 && s.Ack == finSeq+1 {
				finAcked, peerFin = true, true
				e.emit(wire.FlagACK, e.sndNxt, s.Seq+1, nil)
				continue
			}
		}
		if s.Flags&wire.FlagACK == 0 || s.Flags&wire.FlagSYN != 0 {
			if s.Has(wire.FlagSYN | wire.FlagACK) {
				e.emit(wire.FlagACK, e.iss+1, e.rcvNxt, nil) // our third ACK was lost
			}
			continue
		}
		if s.Window > 1 {
			e.wnd = int(s.Window)
		}
		acked := int32(s.Ack - e.sndUna)
		switch {
		case acked > 0 && int32(s.Ack-e.sndNxt) <= 0:
			if e.timing && int32(s.Ack-e.timed) > 0 {
				e.sample(now.Sub(e.timedAt))
				e.timing = false
			}
			n := min(int(acked), len(unacked))
			unacked = unacked[n:]
			res.Bytes += int64(n)
			if now.Before(limit) {
				res.WithinLimit = res.Bytes
			}
			e.sndUna = s.Ack
			if finSent && s.Ack == finSeq+1 {
				finAcked = true
			}
			e.rtoAt = time.Time{}
			if e.sndUna != e.sndNxt {
				e.rtoAt = now.Add(e.rto)
			}
			e.dupAcks, tries, idle = 0, 0, now
		case acked == 0 && e.sndUna != e.sndNxt && len(s.Payload) == 0:
			if e.dupAcks++; e.dupAcks == 3 {
				e.timing = false
				e.retransmit(unacked, finSent, finSeq, dataFlags, finFlags)
			}
		}
	}
	res.Elapsed = time.Since(start)
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	if finAcked && peerFin {
		res.Complete = true
	} else if res.Problem == "" {
		res.Problem = "the server did not close after our FIN"
	}
	if res.Bytes == 0 && res.Problem != "" {
		res.Problem += " (does it take the peer's ISN from its SYN? a receiver that assumes ISN 0 acknowledges 1)"
	}
	e.linger(ctx)
}

// ackField is the ack a data segment or FIN carries in the shape asked.
func (e *stream) ackField(flags uint8) uint32 {
	if flags&wire.FlagACK == 0 && flags&wire.FlagFIN == 0 {
		return 0
	}
	return e.rcvNxt
}

// retransmit sends the oldest unacknowledged segment again.
func (e *stream) retransmit(unacked []byte, finSent bool, finSeq uint32, dataFlags, finFlags uint8) {
	if len(unacked) > 0 {
		n := min(len(unacked), wire.LabMaxPayload)
		e.emit(dataFlags, e.sndUna, e.ackField(dataFlags), unacked[:n])
		return
	}
	if finSent {
		e.emit(finFlags, finSeq, e.ackField(finFlags), nil)
	}
}

// linger acknowledges a retransmitted FIN of the server for a while, as
// TIME_WAIT would.
func (e *stream) linger(ctx context.Context) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, _, err := e.next(ctx, deadline)
		if err != nil || s == nil {
			return
		}
		if s.Flags&wire.FlagFIN != 0 {
			e.emit(wire.FlagACK, e.sndNxt, s.Seq+1, nil)
		}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
