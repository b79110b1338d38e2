package labpeer

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// The lab's ports (tju-lab.md). labpeer judges implementations, tjunet's
// included, with nothing of tjunet but the wire codec: the values are
// stated here, and a test holds them equal to package tju's.
const (
	LabUDPPort    = 20218 // every lab host's UDP port
	LabServerPort = 1234  // the TJU port the lab's servers listen on
	LabClientPort = 5678  // the TJU port the lab's clients connect from
)

// The lab's host addresses.
var (
	LabServerAddr = netip.MustParseAddrPort("172.17.0.3:20218")
	LabClientAddr = netip.MustParseAddrPort("172.17.0.2:20218")
)

// Shape is the sending shape of data and FIN segments.
type Shape uint8

const (
	// AnyShape accepts either shape (and reports which one it saw).
	AnyShape Shape = iota
	// TCPShape: data and FIN carry the ACK bit and a valid ack, as TCP and
	// the lab's grader do.
	TCPShape
	// SkeletonShape: data with flags 0 and ack 0, FIN with the FIN bit
	// alone, as the lab's skeleton code sends them.
	SkeletonShape
)

func (s Shape) String() string {
	switch s {
	case TCPShape:
		return "tcp"
	case SkeletonShape:
		return "skeleton"
	}
	return "any"
}

// Options says where the implementation is and how to talk to it.
type Options struct {
	// Peer is the implementation's UDP address. A check of a server sends
	// its SYN there. A check of a client takes datagrams from that IP only
	// when it is set, and learns the client's address from its SYN.
	Peer netip.AddrPort

	// LabReply sends every datagram to the peer host's port 20218, whatever
	// port its datagrams came from, as a lab host does. By default replies
	// go to the address the client's SYN came from.
	LabReply bool

	// ServerPort is the server's TJU port (default 1234); ClientPort the
	// TJU port a check of a server connects from (default 5678).
	ServerPort, ClientPort uint16

	// StartWait is how long a check of a client waits for its SYN
	// (default 3 s, as the lab's grader).
	StartWait time.Duration

	// Shape is the sending shape the implementation must use for data and
	// FIN; AnyShape (the default) accepts both.
	Shape Shape

	// Transcript keeps every segment of the connection in the Result.
	Transcript bool
}

func (o Options) withDefaults() Options {
	if o.ServerPort == 0 {
		o.ServerPort = LabServerPort
	}
	if o.ClientPort == 0 {
		o.ClientPort = LabClientPort
	}
	if o.StartWait <= 0 {
		o.StartWait = 3 * time.Second
	}
	return o
}

// Result is the outcome of one check.
type Result struct {
	Check string   `json:"check"`
	IUT   Role     `json:"iut"`
	Group Group    `json:"group"`
	Tests string   `json:"tests"`
	Pass  bool     `json:"pass"`
	Step  string   `json:"step,omitempty"` // the step that failed
	Want  string   `json:"want,omitempty"` // what it expected
	Got   string   `json:"got,omitempty"`  // what arrived instead
	Notes []string `json:"notes,omitempty"`
	// Findings are faults seen beyond what the check scores, named in
	// words a student acts on. They never change Pass: a grader check
	// passes or fails as the lab's binary would.
	Findings []Finding     `json:"beyond_grader,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	// ISN is the implementation's initial sequence number, when its SYN or
	// SYN-ACK arrived.
	ISN        *uint32 `json:"isn,omitempty"`
	Transcript []Event `json:"transcript,omitempty"`
}

// Event is one line of a check's transcript.
type Event struct {
	At   time.Duration `json:"at_ns"`
	Dir  string        `json:"dir"` // "in", "out", "stray" (another connection) or "note"
	Text string        `json:"text"`
}

func (e Event) String() string {
	arrow := map[string]string{"in": "<-", "out": "->", "stray": "<~", "note": "  "}[e.Dir]
	return fmt.Sprintf("%9s %s %s", fmtAt(e.At), arrow, e.Text)
}

// Failure is the error of a failed check.
type Failure struct{ Step, Want, Got string }

func (f *Failure) Error() string {
	return fmt.Sprintf("%s: want %s; got %s", f.Step, f.Want, f.Got)
}

var errTimeout = errors.New("labpeer: timeout")

// run is one check in progress.
type run struct {
	ctx context.Context
	h   *Host
	c   *Check
	o   Options
	res *Result

	start, mark  time.Time
	lport, rport uint16
	remote       netip.AddrPort
	known        bool // remote and rport are known
	vars         map[string]*Segment
	log          []Event
	strayN       int
	lastStray    string

	// What each side has sent, for Serve.
	irsSet  bool
	irs     uint32 // the implementation's ISN
	rcvNxt  uint32 // the next sequence number expected from it
	peerFin bool   // its FIN arrived in order
	dataNxt uint32 // the sequence number its FIN should carry
	issSet  bool
	iss     uint32 // our ISN
	sndNxt  uint32 // our next sequence number
	ackSent bool
	ackMax  uint32 // the highest ack the check sent
}

// find records a finding once per check.
func (r *run) find(code, text string) {
	for _, f := range r.res.Findings {
		if f.Code == code {
			return
		}
	}
	r.res.Findings = append(r.res.Findings, Finding{Code: code, Text: text})
}

// graderDeadline is when the lab's grader gives up a wait of d begun at
// from: its timer thread compares whole seconds of the clock with a strict
// "greater than", so it fails once the whole-second count has advanced by
// more than d (a "3 s" wait lasts 3 to 4 s, by the phase of the clock).
func graderDeadline(from time.Time, d time.Duration) time.Time {
	return from.Truncate(time.Second).Add(d.Truncate(time.Second) + time.Second)
}

// habits notes what the implementation does that lab implementations are
// known to do and a TCP peer trips over, beyond any check's verdict.
func (r *run) habits(s *Segment) {
	switch {
	case s.Flags&wire.FlagSYN != 0 && s.Window == 1:
		what := "SYN"
		if s.Flags&wire.FlagACK != 0 {
			what = "SYN-ACK"
		}
		r.find(FindWindow1, fmt.Sprintf("your %s window is 1: a sender that obeys it sends one byte per round trip; "+
			"advertise your free receive buffer (at most 65535), as the lab's flow control asks", what))
	case s.Flags&wire.FlagSYN == 0 && s.Flags&wire.FlagACK != 0 && r.issSet && r.iss != 0 && s.Ack == 1:
		r.find(FindPeerISN0, fmt.Sprintf("you assume the peer's ISN is 0: you acknowledge 1 (ISN 0 + 1) while the peer's ISN is %d; "+
			"take the peer's ISN from its SYN and acknowledge the bytes that arrived", r.iss))
	case s.Flags&wire.FlagFIN != 0 && r.irsSet && r.finOutside(s):
		next := r.rcvNxt
		if r.peerFin {
			next = r.dataNxt
		}
		r.find(FindFINSeq, fmt.Sprintf("your FIN carries seq %d instead of your next sequence number %d: "+
			"the FIN takes the sequence number after your last data byte", s.Seq, next))
	}
}

// finOutside reports whether a FIN lies before the implementation's
// sequence space (the skeleton's FIN with seq 0).
func (r *run) finOutside(s *Segment) bool {
	return int32(s.Seq-(r.irs+1)) < 0 || (s.Seq == 0 && r.irs+1 != 0)
}

type arrival struct {
	seg  *Segment
	from netip.AddrPort
	at   time.Time
}

// Run runs check c against the implementation described by o and returns
// its result. It returns early, failed, when ctx ends.
func (h *Host) Run(ctx context.Context, c *Check, o Options) *Result {
	o = o.withDefaults()
	r := &run{
		ctx: ctx, h: h, c: c, o: o,
		res:  &Result{Check: c.Name, IUT: c.IUT, Group: c.Group, Tests: c.Tests},
		vars: map[string]*Segment{},
	}
	r.start = time.Now()
	r.mark = r.start
	if c.IUT == Client {
		r.lport = o.ServerPort
		if o.Peer.IsValid() {
			r.remote = o.Peer
		}
	} else {
		r.lport, r.rport, r.remote, r.known = o.ClientPort, o.ServerPort, o.Peer, true
		if o.LabReply {
			r.remote = netip.AddrPortFrom(o.Peer.Addr(), LabUDPPort)
		}
	}
	var err error
	for _, s := range c.Steps {
		if err = s.do(r); err != nil {
			break
		}
	}
	r.res.Elapsed = time.Since(r.start)
	var f *Failure
	switch {
	case err == nil:
		r.res.Pass = true
	case errors.As(err, &f):
		r.res.Step, r.res.Want, r.res.Got = f.Step, f.Want, f.Got
	case ctx.Err() != nil:
		r.res.Step, r.res.Want, r.res.Got = "run", "the check to finish", "interrupted: "+ctx.Err().Error()
	default:
		r.res.Step, r.res.Want, r.res.Got = "run", "no error", err.Error()
	}
	if o.Transcript {
		// Datagrams are logged when a step reads them: put them in time order.
		sort.SliceStable(r.log, func(i, j int) bool { return r.log[i].At < r.log[j].At })
		r.res.Transcript = r.log
	}
	return r.res
}

func (r *run) fail(step, want, got string) error {
	return &Failure{Step: step, Want: want, Got: got}
}

func (r *run) note(at time.Duration, text string) {
	r.log = append(r.log, Event{At: at, Dir: "note", Text: text})
}

// strays summarizes datagrams that belonged to no connection of the check.
func (r *run) strays() string {
	if r.strayN == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d datagram(s) for another connection, the last: %s)", r.strayN, r.lastStray)
}

// learn takes the client's address and TJU port from its SYN.
func (r *run) learn(in arrival) {
	r.rport = in.seg.SrcPort
	r.remote = in.from
	if r.o.LabReply {
		r.remote = netip.AddrPortFrom(in.from.Addr(), LabUDPPort)
	}
	r.known = true
}

// next returns the next datagram of the connection, judging its format, or
// errTimeout at deadline. step names the step for a format failure.
func (r *run) next(deadline time.Time, step string) (arrival, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		var d datagram
		select {
		case d = <-r.h.in:
		case <-t.C:
			return arrival{}, errTimeout
		case <-r.h.done:
			r.h.mu.Lock()
			err := r.h.err
			r.h.mu.Unlock()
			return arrival{}, fmt.Errorf("labpeer: socket: %w", err)
		case <-r.ctx.Done():
			return arrival{}, r.ctx.Err()
		}
		s := new(Segment)
		ok := parse(d.b, s)
		s.At = d.at.Sub(r.start)
		if !r.mine(d.from, s, ok) {
			r.strayN++
			r.lastStray = fmt.Sprintf("%d bytes from %v", len(d.b), d.from)
			if ok && len(d.b) >= wire.HeaderLen {
				r.lastStray = s.String() + " from " + d.from.String()
			}
			r.log = append(r.log, Event{At: s.At, Dir: "stray", Text: r.lastStray})
			continue
		}
		r.log = append(r.log, Event{At: s.At, Dir: "in", Text: s.String()})
		if bad := hygiene(s); bad != "" {
			return arrival{}, r.fail(step, "the lab's wire format", bad+": "+s.String())
		}
		r.habits(s)
		r.absorb(s)
		return arrival{seg: s, from: d.from, at: d.at}, nil
	}
}

// mine reports whether a datagram belongs to the check's connection.
func (r *run) mine(from netip.AddrPort, s *Segment, parsed bool) bool {
	if r.remote.IsValid() && from.Addr() != r.remote.Addr() {
		return false
	}
	if r.known && !r.o.LabReply && from != r.remote {
		return false
	}
	if !parsed {
		// Too short to name its ports: it comes from the implementation's
		// address, so it is judged (and fails the format).
		return r.remote.IsValid()
	}
	if s.DstPort != r.lport {
		return false
	}
	return !r.known || s.SrcPort == r.rport
}

// absorb follows the implementation's sequence space: its ISN and the data
// and FIN received in order.
func (r *run) absorb(s *Segment) {
	if s.Flags&wire.FlagSYN != 0 {
		if !r.irsSet {
			r.irsSet, r.irs, r.rcvNxt, r.dataNxt = true, s.Seq, s.Seq+1, s.Seq+1
			isn := s.Seq
			r.res.ISN = &isn
		}
		return
	}
	if !r.irsSet || r.peerFin {
		return
	}
	if s.Flags&wire.FlagFIN != 0 && r.finOutside(s) {
		// The skeleton's FIN with seq 0: the lab's graders take it as the
		// FIN (and acknowledge seq+1), and so does a check.
		r.dataNxt = r.rcvNxt
		r.rcvNxt, r.peerFin = s.End(), true
		return
	}
	if end := s.End(); int32(s.Seq-r.rcvNxt) <= 0 && int32(end-r.rcvNxt) > 0 {
		r.rcvNxt = end
		r.dataNxt = end
		if s.Flags&wire.FlagFIN != 0 {
			r.peerFin, r.dataNxt = true, end-1
		}
	}
}

// send sends seg to the implementation from the check's port.
func (r *run) send(seg *Segment) error {
	if !r.known {
		return fmt.Errorf("labpeer: check %q sends before it knows the client", r.c.Name)
	}
	seg.SrcPort, seg.DstPort = r.lport, r.rport
	b := encode(seg)
	seg.At = time.Since(r.start)
	if err := r.h.send(b, r.remote); err != nil {
		return fmt.Errorf("labpeer: send: %w", err)
	}
	r.log = append(r.log, Event{At: seg.At, Dir: "out", Text: seg.String()})
	if seg.Flags&wire.FlagACK != 0 && (!r.ackSent || int32(seg.Ack-r.ackMax) > 0) {
		r.ackSent, r.ackMax = true, seg.Ack
	}
	if seg.Flags&wire.FlagSYN != 0 {
		r.issSet, r.iss, r.sndNxt = true, seg.Seq, seg.End()
	} else if end := seg.End(); int32(end-r.sndNxt) > 0 {
		r.sndNxt = end
	}
	r.mark = r.start.Add(seg.At)
	return nil
}

// Describe lists a check's steps, one a line.
func (c *Check) Describe() string {
	var b strings.Builder
	for i, s := range c.Steps {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s.describe())
	}
	return b.String()
}

// ISNCheck judges the implementation's initial sequence numbers across
// the connections of several checks: the lab asks for a random ISN, so
// the same ISN in every connection fails. It returns nil when fewer than
// two connections showed their ISN.
func ISNCheck(results []*Result) *Result {
	var isns []uint32
	for _, r := range results {
		if r.ISN != nil {
			isns = append(isns, *r.ISN)
		}
	}
	if len(isns) < 2 {
		return nil
	}
	res := &Result{Check: "isn-random", Group: Transition, Pass: false,
		Tests: "CLOSED -> SYN_SENT / LISTEN -> SYN_RECV: a random (not constant) ISN in each connection (lab rule)"}
	for _, v := range isns[1:] {
		if v != isns[0] {
			res.Pass = true
			res.Notes = []string{fmt.Sprintf("%d connections, ISNs from %d different values", len(isns), distinct(isns))}
			return res
		}
	}
	res.Step = "the ISNs of all connections"
	res.Want = "different ISNs"
	res.Got = fmt.Sprintf("ISN %d in each of %d connections", isns[0], len(isns))
	return res
}

func distinct(v []uint32) int {
	m := map[uint32]bool{}
	for _, x := range v {
		m[x] = true
	}
	return len(m)
}

// Finding is a fault seen beyond a check's verdict.
type Finding struct {
	Code string `json:"code"` // one of the Find constants
	Text string `json:"text"` // what is wrong and what to do, addressed to the implementation's author
}

// Finding codes.
const (
	FindFINSeq       = "fin-seq"         // the FIN's seq is not the next sequence number (the skeleton's seq 0)
	FindPeerISN0     = "peer-isn-0"      // ACKs that assume the peer's ISN is 0
	FindWindow1      = "window-1"        // a SYN or SYN-ACK window of 1 (a field never filled)
	FindFinWait1Race = "fin-wait-1-race" // the state changes after the FIN goes out: a fast answer is dropped
	FindGraderClock  = "grader-clock"    // an answer after the grader's lower bound: it passes only on a kind clock phase
	FindFINRetx      = "fin-retransmit"  // a FIN retransmitted before the grader's FIN arrived
	FindPiggyback    = "fin-piggyback"   // the FIN put on the ACK of the peer's FIN
)
