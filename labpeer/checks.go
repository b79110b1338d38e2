package labpeer

import (
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// The grader's constants (tju-lab.md, "The lab's grader, exactly").
const (
	graderServerISN = 646 // the seq of the grader's SYN-ACK (receiver, close_server)
	graderClientISN = 100 // the seq of the grader's SYN (sender, close_client_for_server)
	graderWindow    = 32
)

const (
	syn = wire.FlagSYN
	ack = wire.FlagACK
	fin = wire.FlagFIN
)

// The grader's "3 s" (whole seconds, strict "greater than": 3 to 4 s; the
// lower bound here).
const graderWait = 3 * time.Second

// finWait is how long a check waits for a FIN's first retransmission: an
// RTO of 1 s (the lab's initial RTO), or the 3 s that a FIN sent before
// any data waits so as to pass close_client_for_server, with 1 s to spare.
const finWait = 4 * time.Second

// SkipAll ignores anything that does not match: the step waits for the
// first segment that does.
var SkipAll = &Filter{"anything else", func(*run, *Segment) bool { return true }}

// skipSYN ignores SYNs and SYN-ACKs: retransmissions already on their way.
var skipSYN = &Filter{"retransmitted SYNs", func(_ *run, s *Segment) bool { return s.Flags&wire.FlagSYN != 0 }}

// skipNoData ignores segments without payload (pure ACKs, a FIN).
var skipNoData = &Filter{"segments without data", func(_ *run, s *Segment) bool { return len(s.Payload) == 0 }}

// clientSYN waits for a client's SYN to TJU port 1234 and saves it as SYN.
func clientSYN() Expect {
	return Expect{What: "the client's SYN", First: true, Skip: SkipNonSYN, Save: "SYN",
		Want: Match{Flags: syn, Mask: syn | ack | fin, Payload: NoData}}
}

// acceptClient answers the client's SYN with the grader's SYN-ACK and
// waits for the third ACK, as the lab's receiver program does (with
// grader, counting time as the program does).
func acceptClient(window uint16, grader bool) []Step {
	return append([]Step{clientSYN()}, answerSYN(window, grader, nil)...)
}

// answerSYN sends the grader's SYN-ACK to the SYN saved as SYN and waits
// for the third ACK, passing over what skip matches (retransmitted SYNs).
func answerSYN(window uint16, grader bool, skip *Filter) []Step {
	return []Step{
		Send{What: "the SYN-ACK", Flags: syn | ack, Seq: Num(graderServerISN), Ack: EndOf("SYN"), Window: window},
		Expect{What: "the third ACK", Within: graderWait, Grader: grader, Skip: skip,
			Want: Match{Flags: ack, Mask: syn | ack, Ack: Num(graderServerISN + 1)}},
	}
}

// connectServer sends the grader's SYN and waits for the SYN-ACK, as the
// lab's sender program does; the SYN-ACK is saved as SYNACK.
func connectServer(window uint16, grader bool) []Step {
	return []Step{
		Send{What: "the SYN", Flags: syn, Seq: Num(graderClientISN), Window: window},
		Expect{What: "the SYN-ACK", Within: graderWait, Grader: grader, Save: "SYNACK",
			Want: Match{Flags: syn | ack, Mask: syn | ack, Ack: Num(graderClientISN + 1)}},
	}
}

// thirdACK completes connectServer's handshake.
func thirdACK(window uint16) Send {
	return Send{What: "the third ACK", Flags: ack, Seq: Num(graderClientISN + 1), Ack: SeqOf("SYNACK").Plus(1), Window: window}
}

// waitFIN waits for the client's FIN, ignoring everything else, as the
// lab's close_server program does.
func waitFIN(grader bool) Expect {
	return Expect{What: "the client's FIN", Within: 15 * time.Second, Grader: grader, Skip: SkipNonFIN, Save: "FIN",
		Want: Match{Flags: fin, Mask: fin | syn}}
}

func steps(parts ...any) []Step {
	var out []Step
	for _, p := range parts {
		switch v := p.(type) {
		case Step:
			out = append(out, v)
		case []Step:
			out = append(out, v...)
		default:
			panic("labpeer: not a step")
		}
	}
	return out
}

// closeServer is the lab's close_server program (tests a client's close):
// the receiver's handshake; every datagram without the FIN bit ignored;
// then a sequential (0) or simultaneous (1) close.
func closeServer(simultaneous bool) Check {
	name, tests := "close_server 0", "a client's close, sequential: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT"
	close := []Step{
		Sleep{D: graderReplyDelay},
		Send{What: "the ACK of the client's FIN", Flags: ack, Seq: Num(graderServerISN + 1), Ack: EndOf("FIN"), Window: graderWindow},
		Sleep{D: time.Second},
		Send{What: "the grader's FIN", Flags: fin | ack, Seq: Num(graderServerISN + 1), Ack: EndOf("FIN"), Window: graderWindow},
	}
	if simultaneous {
		name, tests = "close_server 1", "a client's close, simultaneous: FIN_WAIT_1 -> CLOSING -> TIME_WAIT"
		close = []Step{
			Sleep{D: graderReplyDelay},
			Send{What: "the grader's FIN, not acknowledging the client's", Flags: fin | ack, Seq: Num(graderServerISN + 1), Ack: EndOf("SYN"), Window: graderWindow},
			Send{What: "the ACK of the client's FIN", Flags: ack, Seq: Num(graderServerISN + 2), Ack: EndOf("FIN"), Window: graderWindow},
		}
	}
	return Check{
		Name: name, IUT: Client, Group: Grader, App: AppConnectClose, Tests: tests,
		Steps: steps(acceptClient(graderWindow, true), waitFIN(true), close,
			Expect{What: "the ACK of the grader's FIN", Within: graderWait, Grader: true,
				Want: Match{Seq: EndOf("FIN"), Ack: Num(graderServerISN + 2)}}),
	}
}

// closeClientForServer is the lab's close_client_for_server program (tests
// a server's close). The program is the same for both types; the server's
// application differs: type 0 waits for the peer to close, type 1 closes
// at once after accept.
func closeClientForServer(typ int) Check {
	c := Check{
		Name: "close_client_for_server 0", IUT: Server, Group: Grader, App: AppAcceptReadClose,
		Tests: "a server's close after the client's: CLOSE_WAIT -> LAST_ACK -> CLOSED; the ACK of a FIN on its own",
	}
	if typ == 1 {
		c.Name, c.App = "close_client_for_server 1", AppAcceptClose
		c.Tests = "a server that closes at once after accept, then gets the client's FIN (simultaneous close)"
	}
	c.Steps = steps(connectServer(graderWindow, true), thirdACK(graderWindow),
		Sleep{D: 2 * time.Second},
		Send{What: "the grader's FIN (the FIN bit alone)", Flags: fin, Seq: Num(graderClientISN + 1), Window: graderWindow},
		graderFinish{window: graderWindow})
	return c
}

// Checks returns every check: the lab's grader programs first, then the
// transitions, then the tolerance checks. Each call returns a fresh slice.
func Checks() []Check {
	return []Check{
		// The lab's grader programs.
		{
			Name: "receiver", IUT: Client, Group: Grader, App: AppConnectClose,
			Tests: "a client's connect: CLOSED -> SYN_SENT -> ESTABLISHED; SYN to 1234, then the third ACK and nothing else",
			Steps: steps(acceptClient(graderWindow, true), Serve{What: "the rest of the connection"}),
		},
		{
			Name: "sender", IUT: Server, Group: Grader, App: AppAccept,
			Tests: "a server's accept: LISTEN -> SYN_RECV; the SYN-ACK to the client's port, acknowledging its SYN",
			Steps: connectServer(graderWindow, true),
		},
		closeServer(false),
		closeServer(true),
		closeClientForServer(0),
		closeClientForServer(1),

		// Transitions of a client.
		{
			Name: "syn-retransmit", IUT: Client, Group: Transition, App: AppConnectClose,
			Tests: "SYN_SENT -> SYN_SENT: an unanswered SYN is retransmitted on RTO (about 1 s), with doubling gaps",
			Steps: steps(clientSYN(),
				Backoff{What: "retransmitted SYNs", Of: "SYN", Count: 2, Min: 500 * time.Millisecond, First: graderWait},
				answerSYN(LabWindow, false, skipSYN),
				Serve{What: "the rest of the connection"}),
		},
		{
			Name: "dup-synack", IUT: Client, Group: Transition, App: AppConnectClose,
			Tests: "ESTABLISHED: a duplicate SYN-ACK (the third ACK lost) is answered with a fresh ACK",
			Steps: steps(acceptClient(LabWindow, false),
				Send{What: "the SYN-ACK again", Flags: syn | ack, Seq: Num(graderServerISN), Ack: EndOf("SYN"), Window: LabWindow},
				Expect{What: "a fresh ACK", Within: graderWait, Skip: SkipDataOrFIN,
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(graderServerISN + 1), Payload: NoData}},
				Serve{What: "the rest of the connection"}),
		},
		{
			Name: "fin-retransmit", IUT: Client, Group: Transition, App: AppConnectClose,
			Tests: "FIN_WAIT_1 -> FIN_WAIT_1: an unacknowledged FIN is retransmitted on RTO, with doubling gaps",
			Steps: steps(acceptClient(LabWindow, false), waitFIN(false),
				// Data sent before the FIN is acknowledged, the FIN is not:
				// its timer alone then drives the retransmissions.
				Send{What: "the ACK of any data before the FIN", Flags: ack, Seq: Num(graderServerISN + 1), Ack: SeqOf("FIN"), Window: LabWindow, IfNewAck: true},
				// A FIN with no data before it goes out again no sooner than
				// 3 s (tju.FirstFinRTO); the skeleton's FIN timer is 3 s.
				Backoff{What: "retransmitted FINs", Of: "FIN", Count: 2, Min: 100 * time.Millisecond, First: finWait},
				Serve{What: "the rest of the teardown"}),
		},
		{
			Name: "time-wait", IUT: Client, Group: Transition, App: AppConnectClose,
			Tests: "FIN_WAIT_2 -> TIME_WAIT, and in TIME_WAIT a retransmitted FIN is acknowledged again",
			Steps: steps(acceptClient(LabWindow, false), waitFIN(false),
				Send{What: "the ACK of the client's FIN", Flags: ack, Seq: Num(graderServerISN + 1), Ack: EndOf("FIN"), Window: LabWindow},
				Sleep{D: 500 * time.Millisecond},
				Send{What: "the server's FIN", Flags: fin | ack, Seq: Num(graderServerISN + 1), Ack: EndOf("FIN"), Window: LabWindow},
				Expect{What: "the ACK of the server's FIN", Within: graderWait,
					Want: Match{Flags: ack, Mask: syn | ack | fin, Seq: EndOf("FIN"), Ack: Num(graderServerISN + 2)}},
				Sleep{D: 500 * time.Millisecond},
				Send{What: "the server's FIN again", Flags: fin | ack, Seq: Num(graderServerISN + 1), Ack: EndOf("FIN"), Window: LabWindow},
				Expect{What: "the ACK of the retransmitted FIN, from TIME_WAIT", Within: graderWait,
					Want: Match{Flags: ack, Mask: syn | ack | fin, Seq: EndOf("FIN"), Ack: Num(graderServerISN + 2)}}),
		},
		{
			Name: "fin-wait-1-race", IUT: Client, Group: Transition, App: AppConnectClose,
			Tests: "ESTABLISHED -> FIN_WAIT_1 -> CLOSING: close_server 1's answers sent the moment the FIN arrives, faster than the grader",
			Steps: steps(acceptClient(LabWindow, false), waitFIN(false),
				Send{What: "a FIN, not acknowledging the client's", Flags: fin | ack, Seq: Num(graderServerISN + 1), Ack: EndOf("SYN"), Window: LabWindow},
				Send{What: "the ACK of the client's FIN", Flags: ack, Seq: Num(graderServerISN + 2), Ack: EndOf("FIN"), Window: LabWindow},
				raceProbe{}),
		},
		{
			Name: "data-send", IUT: Client, Group: Transition, App: AppConnectSend,
			Tests: "ESTABLISHED: data starts at ISN+1, in the expected shape, acks right when the ACK bit is set; then the close",
			Steps: steps(acceptClient(LabWindow, false), Serve{What: "the data and the teardown", Graded: true, Data: true}),
		},
		{
			Name: "data-rto", IUT: Client, Group: Transition, App: AppConnectSend,
			Tests: "ESTABLISHED: an unacknowledged data segment is retransmitted on RTO, with doubling gaps",
			Steps: steps(acceptClient(LabWindow, false),
				Expect{What: "the first data segment", Within: 15 * time.Second, Skip: skipNoData, Save: "DATA",
					Want: Match{Payload: HasData}},
				Backoff{What: "retransmissions of the data", Of: "DATA", Count: 3, Min: 100 * time.Millisecond, First: graderWait},
				Serve{What: "the rest of the connection"}),
		},
		{
			Name: "rto-after-syn-retransmit", IUT: Client, Group: Transition, App: AppConnectSend,
			Tests: "SYN_SENT -> ESTABLISHED after a retransmitted SYN: the data's RTO restarts at 3 s (RFC 6298 5.7, a lab rule)",
			Steps: steps(clientSYN(),
				Backoff{What: "a retransmitted SYN", Of: "SYN", Count: 1, Min: 500 * time.Millisecond, First: graderWait},
				answerSYN(LabWindow, false, skipSYN),
				Expect{What: "the first data segment", Within: 15 * time.Second, Skip: skipNoData, Save: "DATA",
					Want: Match{Payload: HasData}},
				Backoff{What: "the data's retransmission", Of: "DATA", Count: 1, Min: 2900 * time.Millisecond, First: 4500 * time.Millisecond},
				Serve{What: "the rest of the connection"}),
		},

		// Transitions of a server.
		{
			Name: "synack-retransmit", IUT: Server, Group: Transition, App: AppAcceptReadClose,
			Tests: "SYN_RECV -> SYN_RECV: an unacknowledged SYN-ACK is retransmitted on RTO, with doubling gaps",
			Steps: steps(connectServer(LabWindow, false),
				Backoff{What: "retransmitted SYN-ACKs", Of: "SYNACK", Count: 2, Min: 500 * time.Millisecond, First: graderWait},
				thirdACK(LabWindow),
				Serve{What: "the teardown", Close: true}),
		},
		{
			Name: "data-receive", IUT: Server, Group: Transition, App: AppAcceptReadClose,
			Tests: "SYN_RECV -> ESTABLISHED, then data: cumulative ACKs, an immediate ACK for out-of-order and duplicate segments",
			Steps: steps(connectServer(LabWindow, false), thirdACK(LabWindow),
				Send{What: "bytes 1-100", Flags: ack, Seq: Num(graderClientISN + 1), Ack: SeqOf("SYNACK").Plus(1), Window: LabWindow, Data: pattern(100, 0)},
				Expect{What: "the ACK of bytes 1-100", Within: graderWait, Skip: SkipOlderAcks(Num(graderClientISN + 101)),
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(graderClientISN + 101), Payload: NoData}},
				Send{What: "bytes 201-300, out of order", Flags: ack, Seq: Num(graderClientISN + 201), Ack: SeqOf("SYNACK").Plus(1), Window: LabWindow, Data: pattern(100, 200)},
				Expect{What: "a duplicate ACK for byte 101", Within: graderWait,
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(graderClientISN + 101), Payload: NoData}},
				Send{What: "bytes 101-200, filling the hole", Flags: ack, Seq: Num(graderClientISN + 101), Ack: SeqOf("SYNACK").Plus(1), Window: LabWindow, Data: pattern(100, 100)},
				Expect{What: "the ACK of bytes 1-300", Within: graderWait, Skip: SkipOlderAcks(Num(graderClientISN + 301)),
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(graderClientISN + 301), Payload: NoData}},
				Send{What: "bytes 1-100 again", Flags: ack, Seq: Num(graderClientISN + 1), Ack: SeqOf("SYNACK").Plus(1), Window: LabWindow, Data: pattern(100, 0)},
				Expect{What: "an ACK of the duplicate", Within: graderWait,
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(graderClientISN + 301), Payload: NoData}},
				Serve{What: "the teardown", Close: true}),
		},
		{
			Name: "last-ack", IUT: Server, Group: Transition, App: AppAcceptReadClose,
			Tests: "CLOSE_WAIT -> LAST_ACK -> CLOSED: the server's FIN is retransmitted until acknowledged, then nothing more",
			Steps: steps(connectServer(LabWindow, false), thirdACK(LabWindow),
				Send{What: "the client's FIN", Flags: fin | ack, Seq: Num(graderClientISN + 1), Ack: SeqOf("SYNACK").Plus(1), Window: LabWindow},
				Expect{What: "the ACK of the client's FIN, on its own", Within: graderWait, Skip: SkipAckNot(Num(graderClientISN + 2)),
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(graderClientISN + 2)}},
				Expect{What: "the server's FIN", Within: 15 * time.Second, Skip: SkipAll, Save: "SFIN",
					Want: Match{Flags: fin, Mask: syn | fin}},
				Backoff{What: "the FIN retransmitted", Of: "SFIN", Count: 1, Min: 100 * time.Millisecond, First: finWait},
				Send{What: "the ACK of the server's FIN", Flags: ack, Seq: Num(graderClientISN + 2), Ack: EndOf("SFIN"), Window: LabWindow},
				Quiet{What: "LAST_ACK -> CLOSED: no more retransmissions", For: graderWait}),
		},

		// Taking what lab implementations send.
		{
			Name: "data-skeleton", IUT: Server, Group: Tolerance, App: AppAcceptReadClose,
			Tests: "a skeleton-shaped client: ISN 0, SYN window 1, data with flags 0 and ack 0, a FIN with the FIN bit alone",
			Steps: steps(
				Send{What: "a SYN with ISN 0 and window 1", Flags: syn, Seq: Num(0), Window: 1},
				Expect{What: "the SYN-ACK", Within: graderWait, Save: "SYNACK",
					Want: Match{Flags: syn | ack, Mask: syn | ack, Ack: Num(1)}},
				Send{What: "the third ACK", Flags: ack, Seq: Num(1), Ack: SeqOf("SYNACK").Plus(1), Window: LabWindow},
				Send{What: "data with flags 0 and ack 0", Seq: Num(1), Window: 1, Data: "hello, lab"},
				Expect{What: "the ACK of the data", Within: graderWait, Skip: SkipOlderAcks(Num(11)),
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(11), Payload: NoData}},
				Send{What: "a FIN with the FIN bit alone", Flags: fin, Seq: Num(11), Window: 1},
				Expect{What: "the ACK of the FIN, on its own", Within: graderWait, Skip: SkipAckNot(Num(12)),
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(12)}},
				Expect{What: "the server's FIN", Within: 15 * time.Second, Skip: SkipAll, Save: "SFIN",
					Want: Match{Flags: fin, Mask: syn | fin}},
				Send{What: "the ACK of the server's FIN", Flags: ack, Seq: Num(12), Ack: EndOf("SFIN"), Window: LabWindow}),
		},
		{
			Name: "data-without-third-ack", IUT: Server, Group: Tolerance, App: AppAcceptReadClose,
			Tests: "SYN_RECV -> ESTABLISHED on data with flags 0 at ISN+1 when the third ACK is lost",
			Steps: steps(
				Send{What: "a SYN with ISN 0 and window 1", Flags: syn, Seq: Num(0), Window: 1},
				Expect{What: "the SYN-ACK", Within: graderWait, Save: "SYNACK",
					Want: Match{Flags: syn | ack, Mask: syn | ack, Ack: Num(1)}},
				Send{What: "data with flags 0 and ack 0 (no third ACK)", Seq: Num(1), Window: 1, Data: "hello, lab"},
				Expect{What: "the ACK of the data", Within: graderWait, Skip: skipSYN,
					Want: Match{Flags: ack, Mask: syn | ack | fin, Ack: Num(11), Payload: NoData}},
				Serve{What: "the teardown", Close: true}),
		},
	}
}

// pattern returns n bytes of a fixed text starting at offset off.
func pattern(n, off int) string {
	const text = "TJU TCP lab data. "
	b := make([]byte, n)
	for i := range b {
		b[i] = text[(off+i)%len(text)]
	}
	return string(b)
}

// Find returns the check named name (as Checks lists it), or nil.
func Find(name string) *Check {
	for _, c := range Checks() {
		if c.Name == name {
			return &c
		}
	}
	return nil
}
