package minitalk

import (
	"fmt"
	"time"
)

// ServerState is a state of the server, named as in the seed (with an S for
// server). Between symbols the server rests in SWait, SMsgW or SBitW; SConnW,
// SMsg and SBit are the moments in which it has just read a knock, a flag or
// a bit and answers it.
type ServerState uint8

// Server states.
const (
	SWait  ServerState = iota // no client: waiting for a knock
	SConnW                    // read a knock, answering it
	SMsgW                     // bound: waiting for a message flag
	SMsg                      // read a message flag, answering it
	SBitW                     // bound: waiting for a data bit
	SBit                      // read a data bit, answering it
)

var serverStateNames = [...]string{"wait", "conn_w", "msg_w", "msg", "bit_w", "bit"}

// String returns the seed's name of the state.
func (s ServerState) String() string {
	if int(s) < len(serverStateNames) {
		return serverStateNames[s]
	}
	return fmt.Sprintf("ServerState(%d)", s)
}

// ServerConfig sets a server's timing and limits. The zero value of every
// field means its default.
type ServerConfig struct {
	FirstSymbol time.Duration // silence after an accept before the client is dropped (DefaultFirstSymbol)
	Release     time.Duration // silence before a client that is not running is dropped (DefaultRelease)
	Resend      time.Duration // silence before the last answer is sent again (DefaultResend)
	Drop        time.Duration // silence before the client is dropped (DefaultDrop)
	MaxMessage  int           // longest message kept, in bytes (DefaultMaxMessage)
	// OnTransition, if set, is called on every change of state, for the
	// demo and for tests.
	OnTransition func(from, to ServerState)
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.FirstSymbol <= 0 {
		c.FirstSymbol = DefaultFirstSymbol
	}
	if c.Release <= 0 {
		c.Release = DefaultRelease
	}
	if c.Resend <= 0 {
		c.Resend = DefaultResend
	}
	if c.Drop <= 0 {
		c.Drop = DefaultDrop
	}
	if c.Drop < c.Resend {
		c.Drop = c.Resend
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	return c
}

// ServerStep is what the server asks its driver to do after an input: print
// Message if it is not nil (before sending the answer), then send Sym to To if
// Reply is set.
type ServerStep struct {
	Reply   bool
	To      int
	Sym     Symbol
	Message []byte    // a whole message; valid until the next call
	Event   EventKind // what happened, for logs; EventNone if nothing worth telling
	Peer    int       // the process the event is about
}

// staleSlots is how many dropped clients the server remembers.
const staleSlots = 16

// Server is the server's side of the protocol: a state machine with no I/O.
// Feed it every symbol with Receive, call Tick when Deadline passes,
// PeerGone when the bound client's process no longer exists, and PeerIdle
// when it exists but is not running (stopped, or asleep).
type Server struct {
	cfg     ServerConfig
	state   ServerState
	peer    int
	last    Symbol    // last answer sent to peer
	heard   time.Time // when peer last spoke (or was accepted)
	got     bool      // peer spoke since it was accepted
	resent  bool      // last answer sent again since peer last spoke
	buf     []byte
	cur     byte
	n       uint // bits in cur
	stale   [staleSlots]int
	staleAt int
}

// NewServer returns a server in state wait.
func NewServer(cfg ServerConfig) *Server {
	return &Server{cfg: cfg.withDefaults()}
}

// State returns the server's state.
func (s *Server) State() ServerState { return s.state }

// Peer returns the bound client's process ID, or 0 in state wait.
func (s *Server) Peer() int { return s.peer }

func (s *Server) to(st ServerState) {
	if s.cfg.OnTransition != nil && st != s.state {
		s.cfg.OnTransition(s.state, st)
	}
	s.state = st
}

// answer answers the bound client and rests in state rest.
func (s *Server) answer(via, rest ServerState, a Symbol, ev EventKind) ServerStep {
	s.to(via)
	s.to(rest)
	s.last = a
	return ServerStep{Reply: true, To: s.peer, Sym: a, Event: ev, Peer: s.peer}
}

// Receive takes symbol sym from process from, read at time now.
func (s *Server) Receive(from int, sym Symbol, now time.Time) ServerStep {
	if from <= 0 {
		// Not from a process that can be answered (the kernel, or a
		// sender the channel could not name).
		return ServerStep{Event: EventNoise, Peer: from}
	}
	if from != s.peer || s.state == SWait {
		return s.other(from, sym, now)
	}
	s.heard, s.got, s.resent = now, true, false
	switch s.state {
	case SMsgW:
		if sym == One {
			return s.answer(SMsg, SBitW, Accept, EventNone)
		}
		return s.end()
	case SBitW:
		s.cur = s.cur<<1 | byte(sym)
		s.n++
		if s.n == 8 {
			if len(s.buf) >= s.cfg.MaxMessage+crcLen {
				return s.damaged()
			}
			s.buf = append(s.buf, s.cur)
			s.cur, s.n = 0, 0
			if len(s.buf) == 1 {
				return s.answer(SBit, SMsgW, Accept, EventReceiving)
			}
		}
		return s.answer(SBit, SMsgW, Accept, EventNone)
	}
	return ServerStep{}
}

// end handles the message flag 0: print the message if it is whole.
func (s *Server) end() ServerStep {
	msg, ok := unframe(s.buf)
	if !ok || s.n != 0 {
		return s.damaged()
	}
	st := s.answer(SMsg, SWait, Accept, EventDelivered)
	st.Message = msg
	s.unbind()
	return st
}

func (s *Server) damaged() ServerStep {
	st := s.answer(SMsg, SWait, Reject, EventDamaged)
	s.unbind()
	return st
}

func (s *Server) unbind() {
	s.to(SWait)
	s.peer = 0
	s.buf, s.cur, s.n = s.buf[:0], 0, 0
}

// other handles a symbol from a process that is not the bound client.
func (s *Server) other(from int, sym Symbol, now time.Time) ServerStep {
	if s.forget(from) {
		// A client dropped earlier speaks again: it believes it is bound.
		return ServerStep{Reply: true, To: from, Sym: Reject, Event: EventStale, Peer: from}
	}
	if sym == Zero {
		return ServerStep{Event: EventNoise, Peer: from}
	}
	if s.state != SWait {
		return ServerStep{Reply: true, To: from, Sym: Reject, Event: EventBusy, Peer: from}
	}
	s.peer = from
	s.heard, s.got, s.resent = now, false, false
	s.buf, s.cur, s.n = s.buf[:0], 0, 0
	return s.answer(SConnW, SMsgW, Accept, EventBound)
}

// forget removes pid from the dropped clients and reports whether it was one.
func (s *Server) forget(pid int) bool {
	for i, p := range s.stale {
		if p == pid && pid != 0 {
			s.stale[i] = 0
			return true
		}
	}
	return false
}

// drop unbinds the client and remembers it, so that its next symbol is
// rejected rather than read as a knock.
func (s *Server) drop(ev EventKind) ServerStep {
	p := s.peer
	s.stale[s.staleAt] = p
	s.staleAt = (s.staleAt + 1) % staleSlots
	s.unbind()
	return ServerStep{Event: ev, Peer: p}
}

// Quiet returns how long the bound client has been silent at time now, or 0
// in state wait.
func (s *Server) Quiet(now time.Time) time.Duration {
	if s.state == SWait {
		return 0
	}
	return now.Sub(s.heard)
}

// Deadline returns when Tick must be called next, if the server is bound.
func (s *Server) Deadline() (time.Time, bool) {
	if s.state == SWait {
		return time.Time{}, false
	}
	switch {
	case !s.got:
		return s.heard.Add(s.cfg.FirstSymbol), true
	case !s.resent:
		return s.heard.Add(s.cfg.Resend), true
	}
	return s.heard.Add(s.cfg.Drop), true
}

// Tick tells the server the time: a silent client gets its last answer again
// or is dropped.
func (s *Server) Tick(now time.Time) ServerStep {
	if s.state == SWait {
		return ServerStep{}
	}
	quiet := now.Sub(s.heard)
	switch {
	case !s.got && quiet >= s.cfg.FirstSymbol, quiet >= s.cfg.Drop:
		return s.drop(EventSilent)
	case s.got && !s.resent && quiet >= s.cfg.Resend:
		s.resent = true
		return ServerStep{Reply: true, To: s.peer, Sym: s.last, Event: EventReanswer, Peer: s.peer}
	}
	return ServerStep{}
}

// PeerIdle tells the server that at time now the bound client's process
// exists but is not running: it is stopped, or asleep in something other than
// waiting for a symbol (a client of this protocol waits for its answers, and
// for its retry timer, in the channel's receive). If the client has been
// silent for ServerConfig.Release, it is dropped, so that the next client is
// served; a running or waiting client (merely slow, or whose symbols keep
// merging with others') is kept until ServerConfig.Drop.
func (s *Server) PeerIdle(now time.Time) ServerStep {
	if s.state == SWait || now.Sub(s.heard) < s.cfg.Release {
		return ServerStep{}
	}
	return s.drop(EventIdle)
}

// PeerGone tells the server that the bound client's process no longer exists.
func (s *Server) PeerGone() ServerStep {
	if s.state == SWait {
		return ServerStep{}
	}
	return s.drop(EventGone)
}
