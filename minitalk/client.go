package minitalk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ClientState is a state of the client, named as in the seed. The states
// ending in W wait for the server's answer.
type ClientState uint8

// Client states.
const (
	Conn   ClientState = iota // about to knock
	ConnW                     // knocked, waiting for accept or reject
	Msg                       // about to send a message flag
	MsgW                      // sent the flag 1, waiting for its answer
	Bit                       // about to send a data bit
	BitW                      // sent a data bit, waiting for its answer
	End                       // sent the flag 0, waiting for the last answer
	Done                      // the server acknowledged the end
	Failed                    // gave up
)

var clientStateNames = [...]string{"conn", "conn_w", "msg", "msg_w", "bit", "bit_w", "end", "done", "failed"}

// String returns the seed's name of the state.
func (s ClientState) String() string {
	if int(s) < len(clientStateNames) {
		return clientStateNames[s]
	}
	return fmt.Sprintf("ClientState(%d)", s)
}

// Errors a client reports.
var (
	// ErrNoAnswer: the server did not answer one symbol within the patience.
	ErrNoAnswer = errors.New("minitalk: server does not answer")
	// ErrBusy: the server kept rejecting the client for longer than allowed.
	ErrBusy = errors.New("minitalk: server stayed busy")
	// ErrTooManyRestarts: the message had to be started over too often.
	ErrTooManyRestarts = errors.New("minitalk: message started over too many times")
)

// ClientConfig sets a client's timing. The zero value of every field means
// its default.
type ClientConfig struct {
	Retry       time.Duration // first retry timeout (DefaultRetry)
	MaxRetry    time.Duration // cap of the retry timeout (DefaultMaxRetry)
	Patience    time.Duration // give up on one unanswered symbol (DefaultPatience)
	Backoff     time.Duration // first sleep after a reject (DefaultBackoff)
	MaxBackoff  time.Duration // cap of the sleep after a reject (DefaultMaxBackoff)
	GiveUp      time.Duration // give up after sleeping this long in total because of rejects; 0: never
	MaxRestarts int           // start the message over at most this often (DefaultMaxRestarts); <0: never
	// Rand draws the jitter of the sleeps. nil: a source seeded from the
	// message, so that a run can be replayed (the state machine reads no
	// global randomness); package driver gives each Send a random one.
	Rand *rand.Rand
}

func (c ClientConfig) withDefaults() ClientConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Retry, DefaultRetry)
	def(&c.MaxRetry, DefaultMaxRetry)
	def(&c.Patience, DefaultPatience)
	def(&c.Backoff, DefaultBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	if c.MaxRetry < c.Retry {
		c.MaxRetry = c.Retry
	}
	if c.MaxBackoff < c.Backoff {
		c.MaxBackoff = c.Backoff
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = DefaultMaxRestarts
	}
	return c
}

// Op is what a state machine asks its driver to do next.
type Op uint8

// Operations.
const (
	OpNone  Op = iota // nothing to do: the answer was not expected
	OpSend            // send Step.Sym, then wait up to Step.Wait for the answer
	OpSleep           // sleep Step.Wait, then call Client.Start
	OpDone            // the message was delivered
	OpFail            // give up with Step.Err
)

// Step is a client's next action and what just happened.
type Step struct {
	Op    Op
	Sym   Symbol        // OpSend: the symbol
	Wait  time.Duration // OpSend: how long to wait for the answer; OpSleep: how long to sleep
	Err   error         // OpFail: why
	Event EventKind     // what happened, for logs; EventNone if nothing worth telling
}

// Client is the client's side of the protocol for one message: a state
// machine with no I/O and no clock. Start it with Start, then feed it every
// answer of the server with Answer, and call Timeout when Step.Wait passed
// without one.
type Client struct {
	cfg      ClientConfig
	payload  []byte
	nbits    int
	state    ClientState
	pos      int    // index of the next data bit
	last     Symbol // last symbol sent
	retry    time.Duration
	base     time.Duration // first retry timeout now: Retry, or more after slow answers
	silent   time.Duration // waited without an answer for the current symbol
	backoff  time.Duration
	slept    time.Duration // slept in total because of rejects
	restarts int
}

// NewClient returns a client that will send msg. The client keeps its own
// copy of msg.
func NewClient(msg []byte, cfg ClientConfig) *Client {
	cfg = cfg.withDefaults()
	p := frame(msg)
	if cfg.Rand == nil {
		crc := binary.BigEndian.Uint32(p[len(msg):])
		cfg.Rand = rand.New(rand.NewPCG(uint64(crc), uint64(len(msg))))
	}
	return &Client{cfg: cfg, payload: p, nbits: 8 * len(p), state: Conn, backoff: cfg.Backoff, base: cfg.Retry}
}

// State returns the client's state.
func (c *Client) State() ClientState { return c.state }

// Start knocks: it moves the client from conn to conn_w and returns the knock.
// Call it first, and again after every OpSleep.
func (c *Client) Start() Step {
	if c.state != Conn {
		return c.fail(fmt.Errorf("minitalk: Start in state %v", c.state))
	}
	c.pos = 0
	return c.send(ConnW, One, EventNone)
}

// send moves to the waiting state w and asks for s to be sent.
func (c *Client) send(w ClientState, s Symbol, ev EventKind) Step {
	c.state, c.last, c.retry, c.silent = w, s, c.base, 0
	return Step{Op: OpSend, Sym: s, Wait: c.retry, Event: ev}
}

// flag sends the message flag that comes next: 1 if a data bit follows, 0
// at the end.
func (c *Client) flag(ev EventKind) Step {
	if c.pos < c.nbits {
		return c.send(MsgW, One, ev)
	}
	return c.send(End, Zero, ev)
}

func (c *Client) fail(err error) Step {
	c.state = Failed
	return Step{Op: OpFail, Err: err, Event: EventFailed}
}

// slowFactor is how many times the slowest answer seen the retry timeout
// becomes: a server that was once that slow to answer may be again, and a
// retry sent while it holds the symbol unanswered would be read twice.
const slowFactor = 4

// Latency tells the client how long the answer to its last symbol took. An
// answer slower than a quarter of the retry timeout makes the timeout longer
// (up to MaxRetry) for the rest of the message.
func (c *Client) Latency(d time.Duration) {
	if b := min(slowFactor*d, c.cfg.MaxRetry); b > c.base {
		c.base = b
	}
}

// Answer takes the server's answer to the last symbol sent.
func (c *Client) Answer(s Symbol) Step {
	switch c.state {
	case ConnW:
		if s == Accept {
			c.backoff = c.cfg.Backoff
			return c.flag(EventAccepted)
		}
		return c.sleep(EventRejected)
	case MsgW:
		if s == Accept {
			bit := Symbol(c.payload[c.pos/8] >> (7 - c.pos%8) & 1)
			return c.send(BitW, bit, EventNone)
		}
	case BitW:
		if s == Accept {
			c.pos++
			return c.flag(EventNone)
		}
	case End:
		if s == Accept {
			c.state = Done
			return Step{Op: OpDone, Event: EventDone}
		}
	default:
		// Not waiting for an answer: nothing to do (the driver drains stale
		// answers before it knocks).
		return Step{}
	}
	// A reject in the middle of a message: the server does not (or no
	// longer) hold this client, or the message arrived damaged.
	c.restarts++
	if c.cfg.MaxRestarts >= 0 && c.restarts > c.cfg.MaxRestarts {
		return c.fail(fmt.Errorf("%w (%d times)", ErrTooManyRestarts, c.restarts-1))
	}
	// A damaged message is most often a retry read twice: the server was
	// kept from answering for longer than the retry timeout (a loaded
	// machine), and its answer to the original came after the retry, so
	// Latency did not see the stall. Wait twice as long before a retry
	// from now on.
	c.base = min(2*c.base, c.cfg.MaxRetry)
	return c.sleep(EventRestarted)
}

// sleep returns to conn and asks for a sleep with jitter before the next knock.
func (c *Client) sleep(ev EventKind) Step {
	c.state = Conn
	if c.cfg.GiveUp > 0 && c.slept >= c.cfg.GiveUp {
		return c.fail(fmt.Errorf("%w: rejected for %v", ErrBusy, c.slept))
	}
	d := c.backoff
	c.backoff = min(2*c.backoff, c.cfg.MaxBackoff)
	half := int64(d / 2)
	d = time.Duration(half + c.cfg.Rand.Int64N(half+1))
	c.slept += d
	return Step{Op: OpSleep, Wait: d, Event: ev}
}

// Timeout tells the client that the Step.Wait of its last OpSend passed with
// no answer. It resends the same symbol with a doubled timeout, or fails with
// ErrNoAnswer once the patience is spent.
func (c *Client) Timeout() Step {
	switch c.state {
	case ConnW, MsgW, BitW, End:
	default:
		return c.fail(fmt.Errorf("minitalk: Timeout in state %v", c.state))
	}
	c.silent += c.retry
	if c.silent >= c.cfg.Patience {
		return c.fail(fmt.Errorf("%w: no answer in %v in state %v", ErrNoAnswer, c.silent, c.state))
	}
	c.retry = min(2*c.retry, c.cfg.MaxRetry, c.cfg.Patience-c.silent)
	return Step{Op: OpSend, Sym: c.last, Wait: c.retry, Event: EventResent}
}
