package labpeer

import (
	"fmt"
	"strings"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// Role is the role of the implementation under test in a check.
type Role uint8

const (
	// Client: the implementation connects; the check plays the server.
	Client Role = 1
	// Server: the implementation accepts; the check plays the client.
	Server Role = 2
)

func (r Role) String() string {
	switch r {
	case Client:
		return "client"
	case Server:
		return "server"
	}
	return "role?"
}

// MarshalText makes a Role read "client" or "server" in JSON.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Group says where a check comes from.
type Group uint8

const (
	// Grader: one of the lab's four grader programs, as the lab runs it.
	Grader Group = 1
	// Transition: one transition of the lab's connection diagram or of its
	// teardown states, retransmission timing included.
	Transition Group = 2
	// Tolerance: taking what lab implementations send (no ACK bit on data
	// and FIN, fixed ISNs, windows of 1): what a peer needs to work with
	// them, beyond what the lab's grader asks.
	Tolerance Group = 3
)

func (g Group) String() string {
	switch g {
	case Grader:
		return "grader"
	case Transition:
		return "transition"
	case Tolerance:
		return "tolerance"
	}
	return "group?"
}

// MarshalText makes a Group read by name in JSON.
func (g Group) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// App is what the implementation's application does during a check.
type App uint8

const (
	// AppConnectClose: connect to the server, then close within a few
	// seconds, sending at most 32 bytes first (the lab's close test client
	// connects, sleeps 1 s and closes).
	AppConnectClose App = iota + 1
	// AppConnectSend: connect, send some data (at least one byte), close.
	AppConnectSend
	// AppAccept: listen and accept (the lab's "sender" never completes the
	// handshake).
	AppAccept
	// AppAcceptReadClose: accept, read until the peer closes, then close
	// (the lab's close test server, type 0; also what "tju recv" does).
	AppAcceptReadClose
	// AppAcceptClose: accept, then close at once (the lab's close test
	// server, type 1).
	AppAcceptClose
)

// String describes what the application must do, for instructions.
func (a App) String() string {
	switch a {
	case AppConnectClose:
		return "connect, then close (sending nothing, or at most 32 bytes)"
	case AppConnectSend:
		return "connect, send at least one byte, then close"
	case AppAccept:
		return "listen on TJU port 1234 and accept"
	case AppAcceptReadClose:
		return "accept, read until the peer closes, then close"
	case AppAcceptClose:
		return "accept, then close at once"
	}
	return "app?"
}

// Check is one scripted conversation with an implementation: one
// connection, the steps the peer takes and what it expects.
type Check struct {
	Name  string // as the lab names its grader runs ("close_server 1"), or after the transition
	IUT   Role   // the role of the implementation under test
	Group Group
	Tests string // what it checks, in one line
	App   App    // what the implementation's application must do
	Steps []Step
}

// Step is one step of a check: Send, Expect, Sleep, Backoff, Quiet or Serve.
type Step interface {
	// describe says what the step does, for the report.
	describe() string
	do(r *run) error
}

// Expr is a sequence or acknowledgement number in a step: a constant, or
// a field of a segment saved by an earlier Expect, plus an offset.
type Expr struct {
	ref   string // saved segment; "" for a constant
	field byte   // 's' seq, 'e' end (seq + len + SYN + FIN)
	off   int64
	set   bool
}

// Num is the constant v.
func Num(v uint32) Expr { return Expr{off: int64(v), set: true} }

// SeqOf is the seq of the segment saved as name.
func SeqOf(name string) Expr { return Expr{ref: name, field: 's', set: true} }

// EndOf is the sequence number after the segment saved as name: its seq
// plus payload, plus one for a SYN or FIN ("FIN+1" in the lab's words).
func EndOf(name string) Expr { return Expr{ref: name, field: 'e', set: true} }

// Plus returns e+n.
func (e Expr) Plus(n int64) Expr { e.off += n; return e }

func (e Expr) String() string {
	if !e.set {
		return "any"
	}
	if e.ref == "" {
		return fmt.Sprint(uint32(e.off))
	}
	var s string
	switch e.field {
	case 's':
		s = e.ref + ".seq"
	default:
		s = e.ref + ".end"
	}
	switch {
	case e.off > 0:
		return fmt.Sprintf("%s+%d", s, e.off)
	case e.off < 0:
		return fmt.Sprintf("%s%d", s, e.off)
	}
	return s
}

// value evaluates e in r (e must be set).
func (e Expr) value(r *run) (uint32, error) {
	if e.ref == "" {
		return uint32(e.off), nil
	}
	s := r.vars[e.ref]
	if s == nil {
		return 0, fmt.Errorf("labpeer: check %q uses %q before saving it", r.c.Name, e.ref)
	}
	var v uint32
	switch e.field {
	case 's':
		v = s.Seq
	default:
		v = s.End()
	}
	return v + uint32(e.off), nil
}

// Payload rules for Match.
const (
	AnyLen  = 0 // payload not checked
	NoData  = 1 // no payload
	HasData = 2 // at least one byte of payload
)

// Match is what an expected segment must look like. Unset fields are not
// checked.
type Match struct {
	Flags, Mask uint8 // flags&Mask must equal Flags
	Seq, Ack    Expr
	Payload     int // AnyLen, NoData or HasData
}

func (m Match) describe() string {
	var parts []string
	if m.Mask != 0 {
		var f []string
		if m.Flags != 0 {
			f = append(f, FlagString(m.Flags))
		}
		for _, b := range []uint8{wire.FlagSYN, wire.FlagFIN, wire.FlagACK} {
			if m.Mask&b != 0 && m.Flags&b == 0 {
				f = append(f, "no "+FlagString(b))
			}
		}
		parts = append(parts, strings.Join(f, ", "))
	}
	if m.Seq.set {
		parts = append(parts, "seq="+m.Seq.String())
	}
	if m.Ack.set {
		parts = append(parts, "ack="+m.Ack.String())
	}
	switch m.Payload {
	case NoData:
		parts = append(parts, "no data")
	case HasData:
		parts = append(parts, "data")
	}
	return strings.Join(parts, " ")
}

// mismatch returns why s does not match, or "" when it does.
func (m Match) mismatch(r *run, s *Segment) (string, error) {
	var why []string
	if s.Flags&m.Mask != m.Flags {
		why = append(why, fmt.Sprintf("flags %s", FlagString(s.Flags)))
	}
	for _, f := range []struct {
		name string
		e    Expr
		got  uint32
	}{{"seq", m.Seq, s.Seq}, {"ack", m.Ack, s.Ack}} {
		if !f.e.set {
			continue
		}
		want, err := f.e.value(r)
		if err != nil {
			return "", err
		}
		if f.got != want {
			why = append(why, fmt.Sprintf("%s %d, not %d", f.name, f.got, want))
		}
	}
	switch {
	case m.Payload == NoData && len(s.Payload) > 0:
		why = append(why, fmt.Sprintf("%d bytes of data", len(s.Payload)))
	case m.Payload == HasData && len(s.Payload) == 0:
		why = append(why, "no data")
	}
	return strings.Join(why, ", "), nil
}

// Filter selects segments an Expect ignores instead of failing on them.
type Filter struct {
	Desc string
	f    func(r *run, s *Segment) bool
}

// Filters for Expect.Skip.
var (
	// SkipNonSYN ignores anything before a SYN: leftovers of an earlier
	// connection on the same ports.
	SkipNonSYN = &Filter{"datagrams without the SYN bit", func(_ *run, s *Segment) bool {
		return s.Flags&wire.FlagSYN == 0
	}}
	// SkipNonFIN ignores every datagram without the FIN bit, as the lab's
	// close_server grader does.
	SkipNonFIN = &Filter{"datagrams without the FIN bit", func(_ *run, s *Segment) bool {
		return s.Flags&wire.FlagFIN == 0
	}}
	// SkipDataOrFIN ignores data and FIN segments (which a client that
	// sends a few bytes and closes may have in flight).
	SkipDataOrFIN = &Filter{"data and FIN segments", func(_ *run, s *Segment) bool {
		return len(s.Payload) > 0 || s.Flags&wire.FlagFIN != 0
	}}
)

// SkipAckNot ignores segments whose ack field is not e: the ones sent
// before the implementation saw the segment e acknowledges.
func SkipAckNot(e Expr) *Filter {
	return &Filter{"datagrams with an ack other than " + e.String(), func(r *run, s *Segment) bool {
		v, err := e.value(r)
		return err == nil && s.Ack != v
	}}
}

// SkipOlderAcks ignores pure ACKs (and window updates) that acknowledge
// less than e.
func SkipOlderAcks(e Expr) *Filter {
	return &Filter{"pure ACKs below " + e.String(), func(r *run, s *Segment) bool {
		v, err := e.value(r)
		return err == nil && len(s.Payload) == 0 && s.Flags&(wire.FlagSYN|wire.FlagFIN) == 0 && int32(s.Ack-v) < 0
	}}
}

// Send sends one segment from the check's TJU port to the implementation's.
type Send struct {
	What     string
	Flags    uint8
	Seq, Ack Expr // an unset Ack is sent as 0
	Window   uint16
	Data     string
	// IfNewAck sends the segment only if its ack acknowledges something
	// the check has not acknowledged yet (a duplicate ACK could make the
	// implementation retransmit).
	IfNewAck bool
}

func (s Send) describe() string {
	ackStr := "0"
	if s.Ack.set {
		ackStr = s.Ack.String()
	}
	d := fmt.Sprintf("send %s: %s seq=%s ack=%s win=%d", s.What, FlagString(s.Flags), s.Seq, ackStr, s.Window)
	if s.Data != "" {
		d += fmt.Sprintf(" len=%d", len(s.Data))
	}
	if s.IfNewAck {
		d += " (only if it acknowledges anything new)"
	}
	return d
}

func (s Send) do(r *run) error {
	seg := Segment{Flags: s.Flags, Window: s.Window, Payload: []byte(s.Data)}
	var err error
	if seg.Seq, err = s.Seq.value(r); err != nil {
		return err
	}
	if s.Ack.set {
		if seg.Ack, err = s.Ack.value(r); err != nil {
			return err
		}
	}
	if s.IfNewAck && r.ackSent && int32(seg.Ack-r.ackMax) <= 0 {
		return nil
	}
	return r.send(&seg)
}

// Expect waits for the next segment of the connection and checks it.
type Expect struct {
	What   string
	Want   Match
	Within time.Duration // counted from the end of the previous step
	// First marks the step that waits for a client's SYN: it waits
	// Options.StartWait, and learns the client's address and TJU port.
	First bool
	// Skip, when set, selects segments that are ignored instead of failing
	// the check when they do not match Want. Without it the next segment
	// must match.
	Skip *Filter
	Save string // name under which later steps refer to the segment
	// Grader counts Within as the lab's grader programs do, in whole
	// seconds of the clock with a strict "greater than": a "3 s" wait
	// lasts until the clock's whole-second count has advanced by 4, so
	// 3 to 4 s by the phase of the clock. An answer later than Within
	// still passes then, with a finding that it passes only on a kind
	// phase.
	Grader bool
}

func (e Expect) describe() string {
	within := e.Within.String()
	if e.First {
		within = "the start wait"
	} else if e.Grader {
		within += " (the grader's whole seconds)"
	}
	d := fmt.Sprintf("expect %s: %s within %s", e.What, e.Want.describe(), within)
	if e.Skip != nil {
		d += " (ignoring " + e.Skip.Desc + ")"
	}
	return d
}

func (e Expect) do(r *run) error {
	deadline := r.mark.Add(e.Within)
	if e.First {
		deadline = time.Now().Add(r.o.StartWait)
	} else if e.Grader {
		deadline = graderDeadline(r.mark, e.Within)
	}
	for {
		in, err := r.next(deadline, e.What)
		if err != nil {
			if err == errTimeout {
				wait := e.Within
				if e.First {
					wait = r.o.StartWait
				}
				return r.fail(e.What, e.Want.describe()+" within "+wait.String(), "nothing within "+wait.String()+r.strays())
			}
			return err
		}
		s := in.seg
		why, err := e.Want.mismatch(r, s)
		if err != nil {
			return err
		}
		if why != "" {
			if e.Skip != nil && e.Skip.f(r, s) {
				r.note(s.At, "ignored: "+s.String())
				continue
			}
			return r.fail(e.What, e.Want.describe(), fmt.Sprintf("%s at %s (%s)", s, fmtAt(s.At), why))
		}
		if e.First {
			r.learn(in)
		}
		if e.Grader {
			r.lateAnswer(e.What, in.at.Sub(r.mark), e.Within)
		}
		if e.Save != "" {
			r.vars[e.Save] = s
		}
		r.mark = in.at
		return nil
	}
}

// lateAnswer notes an answer that the grader takes only when its clock's
// phase allows: after the lower bound of its whole-second wait.
func (r *run) lateAnswer(what string, took, within time.Duration) {
	if took > within {
		r.find(FindGraderClock, fmt.Sprintf("%s came %s after the grader's previous step: the grader's %v wait "+
			"(whole seconds) takes it only when its clock's phase allows; answer within %v to pass every time", what, fmtDur(took), within, within))
	}
}

// Sleep waits.
type Sleep struct{ D time.Duration }

func (s Sleep) describe() string { return "sleep " + s.D.String() }

func (s Sleep) do(r *run) error {
	t := time.NewTimer(s.D)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	r.mark = time.Now()
	return nil
}

// Quiet expects nothing from the connection for a while: no
// retransmission once everything is acknowledged.
type Quiet struct {
	What string
	For  time.Duration
}

func (q Quiet) describe() string { return fmt.Sprintf("expect silence for %v: %s", q.For, q.What) }

func (q Quiet) do(r *run) error {
	in, err := r.next(time.Now().Add(q.For), q.What)
	if err == errTimeout {
		r.mark = time.Now()
		return nil
	}
	if err != nil {
		return err
	}
	return r.fail(q.What, "nothing for "+q.For.String(), fmt.Sprintf("%s at %s", in.seg, fmtAt(in.seg.At)))
}

// Backoff waits for retransmissions of a saved segment (same seq, same SYN
// and FIN bits) and checks their timing: the first within First of the
// original and no sooner than Min, each next gap about twice the previous
// one (exponential backoff, RFC 6298 5.5). Other segments are ignored.
type Backoff struct {
	What  string
	Of    string
	Count int // retransmissions to wait for, at least 1
	Min   time.Duration
	First time.Duration
	Save  string // the last retransmission
}

func (b Backoff) describe() string {
	return fmt.Sprintf("expect %s: %d retransmission(s) of %s, the first after %v to %v, then doubling gaps",
		b.What, b.Count, b.Of, b.Min, b.First)
}

// Backoff tolerances: a gap may be 1.6 to 2.6 times the previous one, with
// 50 ms of scheduling slack either way.
const (
	backoffLow, backoffHigh = 1.6, 2.6
	backoffSlack            = 50 * time.Millisecond
)

func (b Backoff) do(r *run) error {
	orig := r.vars[b.Of]
	if orig == nil {
		return fmt.Errorf("labpeer: check %q uses %q before saving it", r.c.Name, b.Of)
	}
	bits := wire.FlagSYN | wire.FlagFIN
	isRetx := func(s *Segment) bool {
		return s.Seq == orig.Seq && s.Flags&bits == orig.Flags&bits && (len(orig.Payload) == 0) == (len(s.Payload) == 0)
	}
	last := orig
	lastAt := r.start.Add(orig.At)
	var gaps []time.Duration
	for i := 0; i < b.Count; i++ {
		wait := b.First
		if i > 0 {
			wait = time.Duration(backoffHigh*float64(gaps[i-1])) + 2*backoffSlack
		}
		deadline := lastAt.Add(wait)
		for {
			in, err := r.next(deadline, b.What)
			if err == errTimeout {
				return r.fail(b.What, fmt.Sprintf("retransmission %d of %s within %v of the previous copy", i+1, orig, wait),
					"nothing"+gapNote(gaps)+r.strays())
			}
			if err != nil {
				return err
			}
			if !isRetx(in.seg) {
				r.note(in.seg.At, "ignored: "+in.seg.String())
				continue
			}
			gaps = append(gaps, in.seg.At-last.At)
			last, lastAt = in.seg, in.at
			break
		}
	}
	r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s: retransmitted%s", b.Of, gapNote(gaps)))
	if gaps[0] < b.Min {
		return r.fail(b.What, fmt.Sprintf("a first retransmission no sooner than %v", b.Min), "after "+fmtDur(gaps[0]))
	}
	for i := 1; i < len(gaps); i++ {
		lo := time.Duration(backoffLow*float64(gaps[i-1])) - backoffSlack
		hi := time.Duration(backoffHigh*float64(gaps[i-1])) + backoffSlack
		if gaps[i] < lo || gaps[i] > hi {
			return r.fail(b.What, "each gap about twice the previous one (exponential backoff)", "gaps"+gapNote(gaps))
		}
	}
	if b.Save != "" {
		r.vars[b.Save] = last
	}
	r.mark = lastAt
	return nil
}

func gapNote(gaps []time.Duration) string {
	if len(gaps) == 0 {
		return ""
	}
	var b strings.Builder
	for i, g := range gaps {
		if i == 0 {
			b.WriteString(" after ")
		} else {
			b.WriteString(", then ")
		}
		b.WriteString(fmtDur(g))
	}
	return b.String()
}

func fmtDur(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }
func fmtAt(d time.Duration) string  { return fmt.Sprintf("+%.3fs", d.Seconds()) }
