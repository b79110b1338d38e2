package labpeer

import (
	"fmt"
	"time"
)

// graderReplyDelay is how long the lab's grader programs take to answer a
// segment: their receive thread hands it over, they print, then send. The
// grader checks wait as long before answering, so a client that changes
// its state just after sending passes them as it passes the binary; the
// check fin-wait-1-race answers at once and names that race.
const graderReplyDelay = time.Millisecond

// graderFinish is the end of close_client_for_server as the binary reads
// it, strictly in arrival order, everything queued on its socket counting
// (tju-lab.md, "The lab's grader, exactly"). The first datagram after the
// grader's FIN decides the path:
//
//   - a datagram with the FIN bit, whatever its seq and ack, is the
//     server's FIN (a server that closed first; its FIN has been waiting
//     since the handshake). The grader acknowledges it, and the very next
//     datagram must carry ACK with ack 102. A retransmitted copy of the
//     FIN (ack 101) queued in between fails.
//   - otherwise it must be the ACK of the grader's FIN on its own (ACK,
//     no SYN, no FIN, ack 102) within 3 s; then within 15 s the server's
//     FIN with ack 102, which the grader acknowledges. Datagrams without
//     the FIN bit are ignored meanwhile.
type graderFinish struct{ window uint16 }

func (graderFinish) describe() string {
	return "read in arrival order as the binary does: a datagram with the FIN bit first is the server's FIN " +
		"(any seq and ack), acknowledged, and the very next datagram must be an ACK with ack=102; otherwise it must be " +
		"the ACK of the grader's FIN on its own (ack=102, no FIN) within 3 s, then the server's FIN with ack=102 " +
		"within 15 s (ignoring datagrams without the FIN bit), acknowledged (the grader's whole seconds)"
}

func (g graderFinish) do(r *run) error {
	want := Num(graderClientISN + 2)
	const first = "the ACK of the grader's FIN, on its own"
	in, err := r.next(graderDeadline(r.mark, graderWait), first)
	if err == errTimeout {
		return r.fail(first, "ACK, no SYN, no FIN ack=102 within 3s", "nothing"+r.strays())
	}
	if err != nil {
		return err
	}
	s := in.seg
	if s.Flags&fin != 0 {
		return g.finFirst(r, in)
	}
	m := Match{Flags: ack, Mask: syn | ack | fin, Ack: want}
	if why, err := m.mismatch(r, s); err != nil || why != "" {
		if err != nil {
			return err
		}
		return r.fail(first, m.describe(), fmt.Sprintf("%s at %s (%s)", s, fmtAt(s.At), why))
	}
	r.lateAnswer(first, in.at.Sub(r.mark), graderWait)
	r.mark = in.at
	steps := []Step{
		Expect{What: "the server's FIN", Within: 15 * time.Second, Grader: true, Skip: SkipNonFIN, Save: "SFIN",
			Want: Match{Flags: fin, Mask: syn | fin, Ack: want}},
		Send{What: "the ACK of the server's FIN", Flags: ack, Seq: want, Ack: EndOf("SFIN"), Window: g.window},
	}
	for _, st := range steps {
		if err := st.do(r); err != nil {
			return err
		}
	}
	return nil
}

// finFirst is the path of a server whose FIN was waiting: the grader
// takes the first FIN as the server's and wants an ACK of its own FIN
// as the very next datagram.
func (g graderFinish) finFirst(r *run, in arrival) error {
	sfin := in.seg
	r.vars["SFIN"] = sfin
	r.note(sfin.At, "the grader takes this as the server's FIN (it closed first)")
	r.mark = in.at
	if err := r.send(&Segment{Flags: ack, Seq: graderClientISN + 2, Ack: sfin.End(), Window: g.window}); err != nil {
		return err
	}
	const step = "the ACK of the grader's FIN, after the server's FIN"
	want := "a datagram with ACK and ack=102 next"
	in2, err := r.next(graderDeadline(r.mark, graderWait), step)
	if err == errTimeout {
		if sfin.Flags&ack != 0 && sfin.Ack == graderClientISN+2 {
			r.find(FindPiggyback, "you put your FIN on the ACK of the peer's FIN: acknowledge a FIN on its own, then send yours")
		}
		return r.fail(step, want+" within 3s", "nothing"+r.strays())
	}
	if err != nil {
		return err
	}
	s := in2.seg
	if s.Flags&ack != 0 && s.Ack == graderClientISN+2 {
		r.lateAnswer(step, in2.at.Sub(r.mark), graderWait)
		return nil
	}
	why := fmt.Sprintf("ack %d, not 102", s.Ack)
	if s.Flags&ack == 0 {
		why = "no ACK bit"
	}
	if s.Flags&fin != 0 && s.Seq == sfin.Seq {
		why = "a retransmission of your FIN, queued before your ACK of the grader's FIN"
		r.find(FindFINRetx, fmt.Sprintf("you retransmitted your FIN %s after sending it, before the grader's FIN "+
			"(sent 2 s after the handshake) arrived; the grader reads datagrams in order and takes that copy as the ACK of "+
			"its FIN: retransmit a FIN no sooner than 3 s after sending it", fmtDur(s.At-sfin.At)))
	}
	return r.fail(step, want, fmt.Sprintf("%s at %s (%s)", s, fmtAt(s.At), why))
}

// raceProbe follows close_server 1's answers sent at once (no
// graderReplyDelay): it expects the client's ACK of the check's FIN. When
// none comes, it sends the same answers again; an answer to the repeat
// shows that the first ones arrived before the client entered FIN_WAIT_1.
type raceProbe struct{}

func (raceProbe) describe() string {
	return "expect the ACK of the check's FIN (seq=FIN.end ack=648) within 2s, ignoring retransmitted FINs; " +
		"if none comes, send the same FIN and ACK again and tell a dropped first answer (a race) from no answer at all"
}

func (raceProbe) do(r *run) error {
	const step = "the ACK of the check's FIN, answered at once"
	m := Match{Flags: ack, Mask: syn | ack | fin, Seq: EndOf("FIN"), Ack: Num(graderServerISN + 2)}
	cfin := r.vars["FIN"]
	wait := func(d time.Duration) (bool, error) {
		deadline := time.Now().Add(d)
		for {
			in, err := r.next(deadline, step)
			if err == errTimeout {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			s := in.seg
			if s.Flags&fin != 0 && cfin != nil && s.Seq == cfin.Seq {
				r.note(s.At, "ignored: a retransmitted FIN")
				continue
			}
			why, err := m.mismatch(r, s)
			if err != nil {
				return false, err
			}
			if why != "" {
				return false, r.fail(step, m.describe(), fmt.Sprintf("%s at %s (%s)", s, fmtAt(s.At), why))
			}
			return true, nil
		}
	}
	ok, err := wait(2 * time.Second)
	if ok || err != nil {
		return err
	}
	answers := []Send{
		{What: "the FIN again", Flags: fin | ack, Seq: Num(graderServerISN + 1), Ack: EndOf("SYN"), Window: LabWindow},
		{What: "the ACK of the client's FIN again", Flags: ack, Seq: Num(graderServerISN + 2), Ack: EndOf("FIN"), Window: LabWindow},
	}
	for _, a := range answers {
		if err := a.do(r); err != nil {
			return err
		}
	}
	ok, err = wait(3 * time.Second)
	if err != nil {
		return err
	}
	if ok {
		r.find(FindFinWait1Race, "you answer before entering FIN_WAIT_1 (a race): you send your FIN and only then enter FIN_WAIT_1, "+
			"so the peer's answer arriving at once found you in ESTABLISHED and was dropped (the same answer 2 s later was taken); "+
			"enter FIN_WAIT_1 before sending the FIN")
		return r.fail(step, m.describe()+" within 2s", "nothing: the answers sent at once were dropped, the same answers 2 s later were taken (a race)")
	}
	return r.fail(step, m.describe()+" within 2s", "nothing, also after the answers were sent again"+r.strays())
}
