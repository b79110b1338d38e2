package minitalk

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// runPerfect drives a client and a server against each other with no channel
// at all, returning what the server delivered and the client's symbols.
func runPerfect(t *testing.T, msg []byte) ([]byte, int) {
	t.Helper()
	c := NewClient(msg, ClientConfig{})
	s := NewServer(ServerConfig{})
	now := time.Unix(0, 0)
	var got []byte
	n := 0
	st := c.Start()
	for st.Op == OpSend {
		n++
		ss := s.Receive(7, st.Sym, now)
		if ss.Message != nil {
			got = append([]byte{}, ss.Message...)
		}
		if !ss.Reply || ss.To != 7 {
			t.Fatalf("server did not answer symbol %d: %+v", n, ss)
		}
		st = c.Answer(ss.Sym)
	}
	if st.Op != OpDone {
		t.Fatalf("client ended with %+v", st)
	}
	return got, n
}

func TestTransferWithoutChannelDeliversEveryByteInTwoExchangesPerBit(t *testing.T) {
	for _, msg := range []string{"", "a", "héllo 👋", "nul\x00byte\x00", SeedBanner, SeedLine} {
		got, n := runPerfect(t, []byte(msg))
		if !bytes.Equal(got, []byte(msg)) {
			t.Errorf("delivered %q, want %q", got, msg)
		}
		if want := 2*PayloadBits(len(msg)) + 2; n != want {
			t.Errorf("%q: %d exchanges, want %d", msg, n, want)
		}
	}
}

func TestClientTransitions(t *testing.T) {
	tests := []struct {
		name    string
		answers []Symbol // answers fed in turn after Start
		state   ClientState
		op      Op
		event   EventKind
	}{
		{"knock waits for an answer", nil, ConnW, OpSend, EventNone},
		{"accept sends the first flag", []Symbol{Accept}, MsgW, OpSend, EventAccepted},
		{"reject sleeps", []Symbol{Reject}, Conn, OpSleep, EventRejected},
		{"accepted flag sends a bit", []Symbol{Accept, Accept}, BitW, OpSend, EventNone},
		{"accepted bit sends a flag", []Symbol{Accept, Accept, Accept}, MsgW, OpSend, EventNone},
		{"reject mid-message starts over", []Symbol{Accept, Accept, Reject}, Conn, OpSleep, EventRestarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient([]byte("x"), ClientConfig{})
			st := c.Start()
			for _, a := range tt.answers {
				st = c.Answer(a)
			}
			if c.State() != tt.state || st.Op != tt.op || st.Event != tt.event {
				t.Errorf("state %v op %v event %v, want %v %v %v", c.State(), st.Op, st.Event, tt.state, tt.op, tt.event)
			}
		})
	}
}

func TestClientSendsFlagThenBitMostSignificantFirst(t *testing.T) {
	c := NewClient([]byte{0xA5}, ClientConfig{})
	st := c.Start()
	var syms []Symbol
	for range 17 {
		st = c.Answer(Accept)
		syms = append(syms, st.Sym)
	}
	want := []Symbol{1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1} // flag,bit for 1010 0101, then flag
	if !equalSyms(syms, want) {
		t.Errorf("symbols %v, want %v", syms, want)
	}
}

func equalSyms(a, b []Symbol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestClientResendsSameSymbolWithDoublingTimeoutThenGivesUp(t *testing.T) {
	c := NewClient([]byte("x"), ClientConfig{Retry: 10 * time.Millisecond, MaxRetry: 40 * time.Millisecond, Patience: 100 * time.Millisecond})
	st := c.Start()
	var waits []time.Duration
	for st.Op == OpSend {
		if st.Sym != One {
			t.Fatalf("resent %v, want the knock 1", st.Sym)
		}
		waits = append(waits, st.Wait)
		st = c.Timeout()
	}
	want := []time.Duration{10, 20, 40, 30}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if st.Op != OpFail || !errors.Is(st.Err, ErrNoAnswer) {
		t.Errorf("ended with %+v, want ErrNoAnswer", st)
	}
}

func TestSlowAnswerLengthensTheRetryTimeoutForTheRestOfTheMessage(t *testing.T) {
	c := NewClient([]byte("x"), ClientConfig{Retry: 10 * time.Millisecond, MaxRetry: time.Second})
	st := c.Start()
	c.Latency(30 * time.Millisecond)
	st = c.Answer(Accept)
	if st.Wait != 120*time.Millisecond {
		t.Fatalf("retry timeout after a 30ms answer %v, want 120ms", st.Wait)
	}
	c.Latency(time.Millisecond) // a fast answer does not shorten it again
	if st = c.Answer(Accept); st.Wait != 120*time.Millisecond {
		t.Fatalf("retry timeout %v, want it kept at 120ms", st.Wait)
	}
	c.Latency(time.Hour)
	if st = c.Answer(Accept); st.Wait != time.Second {
		t.Fatalf("retry timeout %v, want the 1s cap", st.Wait)
	}
}

func TestClientBacksOffWithJitterAndGivesUpWhenBusyTooLong(t *testing.T) {
	c := NewClient(nil, ClientConfig{Backoff: 8 * time.Millisecond, MaxBackoff: 32 * time.Millisecond, GiveUp: 100 * time.Millisecond})
	var sleeps []time.Duration
	st := c.Start()
	for range 20 {
		st = c.Answer(Reject)
		if st.Op != OpSleep {
			break
		}
		sleeps = append(sleeps, st.Wait)
		st = c.Start()
	}
	if st.Op != OpFail || !errors.Is(st.Err, ErrBusy) {
		t.Fatalf("ended with %+v, want ErrBusy", st)
	}
	caps := []time.Duration{8, 16, 32, 32, 32, 32, 32, 32}
	for i, d := range sleeps {
		hi := caps[min(i, len(caps)-1)] * time.Millisecond
		if d < hi/2 || d > hi {
			t.Errorf("sleep %d = %v, want in [%v, %v]", i, d, hi/2, hi)
		}
	}
}

func TestClientFailsAfterTooManyRestarts(t *testing.T) {
	c := NewClient([]byte("x"), ClientConfig{MaxRestarts: 2})
	var st Step
	for range 3 {
		c.Start()
		st = c.Answer(Accept) // flag
		st = c.Answer(Reject) // dropped
	}
	if st.Op != OpFail || !errors.Is(st.Err, ErrTooManyRestarts) {
		t.Errorf("ended with %+v, want ErrTooManyRestarts", st)
	}
}

func TestServerTransitions(t *testing.T) {
	t0 := time.Unix(100, 0)
	type in struct {
		from int
		sym  Symbol
	}
	tests := []struct {
		name  string
		ins   []in
		state ServerState
		peer  int
		want  ServerStep // of the last input, Message ignored
	}{
		{"knock binds and accepts", []in{{1, One}}, SMsgW, 1, ServerStep{Reply: true, To: 1, Sym: Accept, Event: EventBound, Peer: 1}},
		{"zero while waiting is noise", []in{{1, Zero}}, SWait, 0, ServerStep{Event: EventNoise, Peer: 1}},
		{"a knock from no process is noise", []in{{0, One}}, SWait, 0, ServerStep{Event: EventNoise}},
		{"knock while busy is rejected", []in{{1, One}, {2, One}}, SMsgW, 1, ServerStep{Reply: true, To: 2, Sym: Reject, Event: EventBusy, Peer: 2}},
		{"zero from another while busy is ignored", []in{{1, One}, {1, One}, {2, Zero}}, SBitW, 1, ServerStep{Event: EventNoise, Peer: 2}},
		{"flag is accepted", []in{{1, One}, {1, One}}, SBitW, 1, ServerStep{Reply: true, To: 1, Sym: Accept, Peer: 1}},
		{"bit is accepted", []in{{1, One}, {1, One}, {1, Zero}}, SMsgW, 1, ServerStep{Reply: true, To: 1, Sym: Accept, Peer: 1}},
		{"end without a CRC is damaged and rejected", []in{{1, One}, {1, Zero}}, SWait, 0, ServerStep{Reply: true, To: 1, Sym: Reject, Event: EventDamaged, Peer: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer(ServerConfig{})
			var st ServerStep
			for _, x := range tt.ins {
				st = s.Receive(x.from, x.sym, t0)
			}
			same := st.Reply == tt.want.Reply && st.To == tt.want.To && st.Sym == tt.want.Sym && st.Event == tt.want.Event && st.Peer == tt.want.Peer
			if !same || s.State() != tt.state || s.Peer() != tt.peer {
				t.Errorf("step %+v state %v peer %d, want %+v %v %d", st, s.State(), s.Peer(), tt.want, tt.state, tt.peer)
			}
		})
	}
}

func TestServerDropsSilentClientAndRejectsItsNextSymbolOnce(t *testing.T) {
	t0 := time.Unix(100, 0)
	cfg := ServerConfig{FirstSymbol: time.Second, Resend: 2 * time.Second, Drop: 3 * time.Second}
	s := NewServer(cfg)
	s.Receive(1, One, t0)
	s.Receive(1, One, t0) // flag: the client has spoken
	if d, _ := s.Deadline(); !d.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("deadline %v, want resend at +2s", d)
	}
	st := s.Tick(t0.Add(2 * time.Second))
	if !st.Reply || st.To != 1 || st.Sym != Accept || st.Event != EventReanswer {
		t.Fatalf("after 2s silence %+v, want the last answer again", st)
	}
	if st := s.Tick(t0.Add(2500 * time.Millisecond)); st.Reply || st.Event != EventNone {
		t.Fatalf("answered again twice: %+v", st)
	}
	if st := s.Tick(t0.Add(3 * time.Second)); st.Event != EventSilent || s.State() != SWait {
		t.Fatalf("after 3s silence %+v in %v, want dropped", st, s.State())
	}
	if st := s.Receive(1, Zero, t0.Add(4*time.Second)); !st.Reply || st.Sym != Reject || st.Event != EventStale {
		t.Fatalf("dropped client's bit %+v, want reject", st)
	}
	if st := s.Receive(1, One, t0.Add(5*time.Second)); st.Event != EventBound {
		t.Fatalf("dropped client's knock after the reject %+v, want bound", st)
	}
}

func TestServerDropsAKnockerThatNeverSendsAFlag(t *testing.T) {
	t0 := time.Unix(100, 0)
	s := NewServer(ServerConfig{})
	s.Receive(9, One, t0)
	if st := s.Tick(t0.Add(DefaultFirstSymbol)); st.Event != EventSilent || s.State() != SWait {
		t.Fatalf("%+v in %v, want the silent knocker dropped", st, s.State())
	}
	if st := s.Receive(2, One, t0.Add(DefaultFirstSymbol)); st.Event != EventBound {
		t.Fatalf("next knock %+v, want bound", st)
	}
}

func TestServerPeerGoneReturnsToWait(t *testing.T) {
	s := NewServer(ServerConfig{})
	s.Receive(3, One, time.Unix(0, 0))
	if st := s.PeerGone(); st.Event != EventGone || st.Peer != 3 || s.State() != SWait {
		t.Fatalf("%+v in %v", st, s.State())
	}
}

func TestServerRejectsOversizedMessage(t *testing.T) {
	s := NewServer(ServerConfig{MaxMessage: 1})
	now := time.Unix(0, 0)
	s.Receive(1, One, now)
	var st ServerStep
	for i := 0; i < 8*(1+crcLen+1) && s.State() != SWait; i++ {
		s.Receive(1, One, now)
		st = s.Receive(1, One, now)
	}
	if st.Event != EventDamaged || st.Sym != Reject || s.State() != SWait {
		t.Fatalf("%+v in %v, want damaged", st, s.State())
	}
}

func TestServerReportsEveryTransitionOfTheSeed(t *testing.T) {
	var seen []string
	s := NewServer(ServerConfig{OnTransition: func(from, to ServerState) { seen = append(seen, from.String()+">"+to.String()) }})
	now := time.Unix(0, 0)
	s.Receive(1, One, now)  // knock
	s.Receive(1, One, now)  // flag
	s.Receive(1, Zero, now) // bit
	want := "wait>conn_w conn_w>msg_w msg_w>msg msg>bit_w bit_w>bit bit>msg_w"
	if got := join(seen); got != want {
		t.Errorf("transitions %q, want %q", got, want)
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}

// BenchmarkCoreExchange measures the protocol's own cost per acknowledged
// exchange, client and server state machines together, with no channel.
func BenchmarkCoreExchange(b *testing.B) {
	msg := bytes.Repeat([]byte("asdfjkl;"), 128)
	s := NewServer(ServerConfig{})
	now := time.Unix(0, 0)
	b.ReportAllocs()
	exchanges := 0
	for b.Loop() {
		c := NewClient(msg, ClientConfig{})
		st := c.Start()
		for st.Op == OpSend {
			ss := s.Receive(7, st.Sym, now)
			st = c.Answer(ss.Sym)
			exchanges++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(exchanges), "ns/exchange")
}

func TestEveryRestartDoublesTheRetryTimeoutUpToTheCap(t *testing.T) {
	c := NewClient([]byte("x"), ClientConfig{MaxRestarts: -1})
	want := DefaultRetry
	for range 8 {
		st := c.Start()
		if st.Wait != want {
			t.Fatalf("knock waits %v, want %v", st.Wait, want)
		}
		c.Answer(Accept) // accepted: the first flag follows
		if st = c.Answer(Reject); st.Op != OpSleep {
			t.Fatalf("a reject mid-message: %+v, want a sleep before starting over", st)
		}
		want = min(2*want, DefaultMaxRetry)
	}
	if want != DefaultMaxRetry {
		t.Fatalf("the test never reached the cap")
	}
}
