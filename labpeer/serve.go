package labpeer

import (
	"errors"
	"fmt"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// LabWindow is the window a lab host advertises in its pure ACKs: the
// framework's receive buffer, 32 x 1375 bytes.
const LabWindow = 44000

// Serve plays a plain lab peer until the connection is closed both ways:
// it acknowledges every data segment and FIN at once, answers the
// implementation's FIN with its own, and retransmits that FIN every second
// (three times at most) until it is acknowledged. With Close it sends its
// FIN first instead of waiting for the implementation's.
//
// A graded Serve fails the check when the teardown does not complete or,
// with Data, when the data does not follow the lab's rules: the first byte
// at ISN+1, an ack field that acknowledges what the check sent when the
// ACK bit is set, the sending shape Options.Shape asks for, and at least
// one byte before the FIN. An ungraded Serve is a courtesy that lets the
// implementation finish; its trouble is only noted.
type Serve struct {
	What   string
	Graded bool
	Data   bool
	Close  bool
	Window uint16        // default LabWindow
	Idle   time.Duration // give up after this long without progress (default 15 s)
}

func (v Serve) describe() string {
	d := "serve " + v.What
	if v.Close {
		d += ": close first, acknowledge everything, finish the teardown"
	} else {
		d += ": acknowledge everything, answer the FIN with a FIN, finish the teardown"
	}
	if v.Data {
		d += "; data must start at ISN+1, in the expected shape"
	}
	if !v.Graded {
		d += " (not graded)"
	}
	return d
}

func (v Serve) do(r *run) error {
	err := v.serve(r)
	var f *Failure
	if err != nil && !v.Graded && errors.As(err, &f) {
		r.res.Notes = append(r.res.Notes, "teardown (not graded): "+f.Error())
		return nil
	}
	return err
}

func (v Serve) serve(r *run) error {
	if !r.irsSet || !r.issSet || !r.known {
		return fmt.Errorf("labpeer: check %q serves before the handshake", r.c.Name)
	}
	win := v.Window
	if win == 0 {
		win = LabWindow
	}
	idle := v.Idle
	if idle <= 0 {
		idle = 15 * time.Second
	}
	var (
		finSent, finAcked, ackedFin bool
		finSeq                      uint32
		finTries                    int
		finAt                       time.Time
		dataSegs                    int
		seen                        [3]int // data segments by shape: TCP, skeleton
		sawData                     bool
	)
	sendFin := func() error {
		if !finSent {
			finSeq = r.sndNxt
		}
		finSent, finTries, finAt = true, finTries+1, time.Now()
		return r.send(&Segment{Flags: wire.FlagFIN | wire.FlagACK, Seq: finSeq, Ack: r.rcvNxt, Window: win})
	}
	ack := func() error {
		return r.send(&Segment{Flags: wire.FlagACK, Seq: r.sndNxt, Ack: r.rcvNxt, Window: win})
	}
	// What arrived before Serve began is acknowledged now.
	if r.rcvNxt != r.irs+1 {
		if err := ack(); err != nil {
			return err
		}
		ackedFin = r.peerFin
	}
	if v.Close || r.peerFin {
		if err := sendFin(); err != nil {
			return err
		}
	}
	// However busy the implementation keeps it, the teardown ends within
	// four idle periods (a peer retransmitting what Serve cannot place
	// must not hold it for ever).
	giveUp := time.Now().Add(4 * idle)
	for !(finAcked && ackedFin) {
		if !time.Now().Before(giveUp) {
			return r.fail(v.What, "the teardown to complete", fmt.Sprintf("not complete after %v", 4*idle))
		}
		deadline := time.Now().Add(idle)
		if giveUp.Before(deadline) {
			deadline = giveUp
		}
		if finSent && !finAcked && finAt.Add(time.Second).Before(deadline) {
			deadline = finAt.Add(time.Second)
		}
		in, err := r.next(deadline, v.What)
		if err == errTimeout {
			if finSent && !finAcked && finTries < 4 && time.Now().Before(finAt.Add(idle)) {
				if err := sendFin(); err != nil {
					return err
				}
				continue
			}
			missing := "the implementation's FIN"
			switch {
			case ackedFin && !finAcked:
				missing = "the ACK of the check's FIN"
			case !ackedFin && v.Data && !sawData:
				missing = "data, then the implementation's FIN"
			}
			return r.fail(v.What, missing, "nothing for "+idle.String()+r.strays())
		}
		if err != nil {
			return err
		}
		s := in.seg
		if v.Data {
			if err := v.judgeData(r, s, &sawData, &dataSegs, &seen); err != nil {
				return err
			}
		}
		if s.Flags&wire.FlagACK != 0 && finSent && s.Ack == finSeq+1 {
			finAcked = true
		}
		if len(s.Payload) == 0 && s.Flags&wire.FlagFIN == 0 {
			continue
		}
		if err := ack(); err != nil {
			return err
		}
		if r.peerFin {
			ackedFin = true
			if !finSent {
				if err := sendFin(); err != nil {
					return err
				}
			}
		}
	}
	if v.Data {
		shape := "tcp (data with the ACK bit)"
		switch {
		case seen[SkeletonShape] > 0 && seen[TCPShape] > 0:
			shape = "mixed"
		case seen[SkeletonShape] > 0:
			shape = "skeleton (data with flags 0)"
		}
		r.res.Notes = append(r.res.Notes, fmt.Sprintf("received %d bytes in order in %d data segment(s); shape %s",
			r.rcvNxt-r.irs-2, dataSegs, shape))
	}
	return nil
}

// judgeData holds a segment of the implementation's data phase to the lab's
// rules.
func (v Serve) judgeData(r *run, s *Segment, sawData *bool, segs *int, seen *[3]int) error {
	fin := s.Flags&wire.FlagFIN != 0
	if len(s.Payload) == 0 && !fin {
		return nil
	}
	if s.Flags&wire.FlagACK != 0 && (int32(s.Ack-(r.iss+1)) < 0 || int32(r.sndNxt-s.Ack) < 0) {
		return r.fail(v.What, fmt.Sprintf("an ack field from %d to %d with the ACK bit set", r.iss+1, r.sndNxt),
			fmt.Sprintf("%s at %s", s, fmtAt(s.At)))
	}
	if fin && len(s.Payload) == 0 && r.o.Shape != AnyShape {
		// A bare FIN: FIN|ACK in TCP's shape, the FIN bit alone in the
		// skeleton's (a FIN on data is judged as data).
		want := wire.FlagFIN | wire.FlagACK
		if r.o.Shape == SkeletonShape {
			want = wire.FlagFIN
		}
		if s.Flags != want {
			return r.fail(v.What, "a FIN in the "+r.o.Shape.String()+" shape: "+FlagString(want), fmt.Sprintf("%s at %s", s, fmtAt(s.At)))
		}
	}
	if len(s.Payload) == 0 {
		if !*sawData {
			return r.fail(v.What, "at least one byte of data before the FIN", fmt.Sprintf("%s at %s", s, fmtAt(s.At)))
		}
		return nil
	}
	if !*sawData && s.Seq != r.irs+1 {
		return r.fail(v.What, fmt.Sprintf("the first data byte at ISN+1 = %d", r.irs+1),
			fmt.Sprintf("%s at %s: data at ISN%+d", s, fmtAt(s.At), int32(s.Seq-r.irs)))
	}
	*sawData = true
	*segs++
	shape := TCPShape
	if s.Flags&wire.FlagACK == 0 {
		shape = SkeletonShape
	}
	seen[shape]++
	if r.o.Shape != AnyShape && shape != r.o.Shape {
		return r.fail(v.What, "data in the "+r.o.Shape.String()+" shape", fmt.Sprintf("%s at %s", s, fmtAt(s.At)))
	}
	return nil
}
