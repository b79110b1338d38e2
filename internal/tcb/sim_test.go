package tcb

import (
	"container/heap"
	"crypto/sha256"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tjunet/tjunet/internal/wire"
)

// A deterministic two-host simulator: two TCBs, a virtual clock, and a link
// that delays, drops, reorders, duplicates and corrupts datagrams from a seed.

type linkSpec struct {
	delay, jitter time.Duration
	loss          float64
	reorder       float64
	dup           float64
	corrupt       float64

	// A bottleneck: rate bits/s behind a drop-tail queue of queue bytes
	// (0: no bottleneck).
	rate  float64
	queue int
}

// bottleneck is the state of one direction's bottleneck.
type bottleneck struct {
	busy          time.Duration // when the link finishes what is queued
	sent, dropped int
	queueDelay    time.Duration // summed over the datagrams sent
}

type pkt struct {
	at  time.Duration
	to  int
	b   []byte
	idx int
}

type pktHeap []*pkt

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].idx < h[j].idx
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(*pkt)) }
func (h *pktHeap) Pop() any     { o := *h; x := o[len(o)-1]; *h = o[:len(o)-1]; return x }

type sim struct {
	t       *testing.T
	now     time.Duration
	tcb     [2]*TCB
	cfg     [2]Config
	link    [2]linkSpec // link[i]: datagrams sent by side i
	rng     *rand.Rand
	q       pktHeap
	seq     int
	last    [2]time.Duration // last delivery time per direction, to keep jitter in order
	dropped int
	corrupt int
	bn      [2]bottleneck

	// application
	total    int
	written  int
	gen      *rand.ChaCha8
	recvN    int
	srcBuf   []byte
	hashIn   interface{ Write([]byte) (int, error) }
	hashOut  interface{ Write([]byte) (int, error) }
	readStop bool   // receiver stops reading (zero window)
	noHash   bool   // send zeros and check nothing (throughput runs)
	onStep   func() // called after every step of run, if set
}

func defaultCfg(port, peer uint16, isn uint32) Config {
	return Config{
		LocalPort: port, RemotePort: peer, ISN: isn,
		SendBufSize: 1 << 20, RecvBufSize: 1 << 20,
		InitialRTO: time.Second, MinRTO: 200 * time.Millisecond, MaxRTO: 60 * time.Second,
		DelayedACK: 40 * time.Millisecond, NoDelay: true, TimeWait: 2 * time.Second,
		FinWait2Timeout: 60 * time.Second, SynRetries: 6, Retries: 15, Extensions: true,
	}
}

func newSim(t *testing.T, seed uint64, total int, ab, ba linkSpec) *sim {
	s := &sim{t: t, rng: rand.New(rand.NewPCG(seed, 1)), total: total}
	s.link = [2]linkSpec{ab, ba}
	s.cfg[0] = defaultCfg(5678, 1234, 0xfffff000) // near wraparound on purpose
	s.cfg[1] = defaultCfg(1234, 5678, 0x7fff0000)
	var key [32]byte
	key[0] = byte(seed)
	s.gen = rand.NewChaCha8(key)
	h1, h2 := sha256.New(), sha256.New()
	s.hashIn, s.hashOut = h1, h2
	s.tcb[0] = NewActive(s.cfg[0], 0)
	return s
}

func (s *sim) send(from int, b []byte) {
	l := s.link[from]
	if s.rng.Float64() < l.loss {
		s.dropped++
		return
	}
	depart := s.now
	if l.rate > 0 {
		bn := &s.bn[from]
		start := max(s.now, bn.busy)
		wait := start - s.now
		if wait.Seconds()*l.rate/8 > float64(l.queue) {
			bn.dropped++
			return
		}
		bn.sent++
		bn.queueDelay += wait
		// Serialized as an IPv4/UDP packet: 28 header bytes more.
		bn.busy = start + time.Duration(float64((len(b)+28)*8)/l.rate*float64(time.Second))
		depart = bn.busy
	}
	copies := 1
	if s.rng.Float64() < l.dup {
		copies = 2
	}
	for range copies {
		c := append([]byte(nil), b...)
		if s.rng.Float64() < l.corrupt {
			c[s.rng.IntN(len(c))] ^= 1 << s.rng.IntN(8)
			s.corrupt++
		}
		at := depart + l.delay
		if l.jitter > 0 {
			at += time.Duration(s.rng.Int64N(int64(l.jitter)))
		}
		if at < s.last[from] {
			at = s.last[from]
		}
		s.last[from] = at
		if s.rng.Float64() < l.reorder {
			at += l.delay/2 + time.Millisecond
		}
		s.seq++
		heap.Push(&s.q, &pkt{at: at, to: 1 - from, b: c, idx: s.seq})
	}
}

func (s *sim) pollAll() {
	buf := make([]byte, wire.MaxDatagram)
	for i, c := range s.tcb {
		if c == nil {
			continue
		}
		for {
			n := c.Poll(s.now, buf)
			if n == 0 {
				break
			}
			s.send(i, buf[:n])
		}
	}
}

func (s *sim) app() {
	a, b := s.tcb[0], s.tcb[1]
	for s.written < s.total {
		room := min(a.Writable(), s.total-s.written, 64<<10)
		if room <= 0 {
			break
		}
		if len(s.srcBuf) < room {
			s.srcBuf = make([]byte, room)
		}
		p := s.srcBuf[:room]
		if !s.noHash {
			s.gen.Read(p)
			s.hashIn.Write(p)
		}
		if n := a.Write(p); n != room {
			s.t.Fatalf("Write accepted %d of %d", n, room)
		}
		s.written += room
	}
	if s.written == s.total && a.Synchronized() && !a.finQueued {
		a.Close(s.now)
	}
	if b != nil && !s.readStop {
		var rb [32 << 10]byte
		for {
			n := b.Read(rb[:])
			if n == 0 {
				break
			}
			if !s.noHash {
				s.hashOut.Write(rb[:n])
			}
			s.recvN += n
		}
		if b.EOF() && !b.finQueued {
			b.Close(s.now)
		}
	}
}

func (s *sim) deliver(p *pkt) {
	var seg wire.Segment
	if err := wire.Decode(p.b, &seg); err != nil {
		return
	}
	if p.to == 1 && s.tcb[1] == nil {
		if seg.Flags == wire.FlagSYN || seg.Flags&(wire.FlagSYN|wire.FlagACK) == wire.FlagSYN {
			s.tcb[1] = NewPassive(s.cfg[1], &seg, s.now)
		}
		return
	}
	if c := s.tcb[p.to]; c != nil {
		c.Handle(&seg, s.now)
	}
}

// run drives the simulation until both sides are closed or limit passes.
func (s *sim) run(limit time.Duration) {
	for step := 0; ; step++ {
		s.app()
		s.pollAll()
		if s.done() {
			return
		}
		next := time.Duration(-1)
		if len(s.q) > 0 {
			next = s.q[0].at
		}
		for _, c := range s.tcb {
			if c != nil {
				if d := c.NextDeadline(); d != 0 && (next < 0 || d < next) {
					next = d
				}
			}
		}
		if next < 0 {
			s.t.Fatalf("stalled at %v: nothing scheduled; %s", s.now, s.describe())
		}
		if next > limit {
			s.t.Fatalf("not finished by %v; %s", limit, s.describe())
		}
		if next > s.now {
			s.now = next
		}
		for len(s.q) > 0 && s.q[0].at <= s.now {
			s.deliver(heap.Pop(&s.q).(*pkt))
		}
		for _, c := range s.tcb {
			if c != nil {
				if d := c.NextDeadline(); d != 0 && d <= s.now {
					c.OnTimer(s.now)
				}
			}
		}
		if s.onStep != nil {
			s.onStep()
		}
	}
}

func (s *sim) done() bool {
	a, b := s.tcb[0], s.tcb[1]
	return a != nil && b != nil && a.State() == Closed && b.State() == Closed && len(s.q) == 0
}

func (s *sim) describe() string {
	d := fmt.Sprintf("written %d/%d received %d", s.written, s.total, s.recvN)
	for i, c := range s.tcb {
		if c != nil {
			in := c.Info()
			d += fmt.Sprintf("\n side %d: %v err=%v una=%d nxt=%d wnd=%d cwnd=%d pipe=%d lost=%d sacked=%d recs=%d rto=%v info=%+v",
				i, c.State(), c.Err(), c.sndUna, c.sndNxt, c.sndWnd, in.Cwnd, c.recs.pipe, c.recs.lost, c.recs.sacked, c.recs.len(), c.timers[timerRTO], in)
		}
	}
	return d
}

func (s *sim) check() {
	s.t.Helper()
	if s.recvN != s.total {
		s.t.Fatalf("received %d of %d bytes; %s", s.recvN, s.total, s.describe())
	}
	a := s.hashIn.(interface{ Sum([]byte) []byte }).Sum(nil)
	b := s.hashOut.(interface{ Sum([]byte) []byte }).Sum(nil)
	if string(a) != string(b) {
		s.t.Fatalf("SHA-256 differs after %d bytes", s.total)
	}
	for i, c := range s.tcb {
		if err := c.Err(); err != nil {
			s.t.Fatalf("side %d ended with %v", i, err)
		}
	}
}

func TestSimTransfer(t *testing.T) {
	cases := []struct {
		name  string
		size  int
		link  linkSpec
		limit time.Duration
	}{
		{"clean", 8 << 20, linkSpec{delay: 20 * time.Millisecond}, time.Minute},
		{"lab harshest: 10% loss, 300ms, 50ms jitter", 4 << 20, linkSpec{delay: 300 * time.Millisecond, jitter: 50 * time.Millisecond, loss: 0.10}, 30 * time.Minute},
		{"reorder dup corrupt", 4 << 20, linkSpec{delay: 10 * time.Millisecond, reorder: 0.05, dup: 0.01, corrupt: 0.005}, 5 * time.Minute},
		{"tiny", 1, linkSpec{delay: time.Millisecond}, time.Minute},
		{"empty", 0, linkSpec{delay: time.Millisecond}, time.Minute},
	}
	for _, c := range cases {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", c.name, seed), func(t *testing.T) {
				s := newSim(t, seed, c.size, c.link, c.link)
				s.run(c.limit)
				s.check()
				t.Logf("%v virtual, %d dropped, %d corrupted; sender %+v", s.now, s.dropped, s.corrupt, s.tcb[0].Info())
			})
		}
	}
}

// TestSimCongestionControllers moves 4 MiB over the lab's harshest link
// with each controller and checks what tells them apart: the window a loss
// leaves (Reno halves it, CUBIC keeps 70%, BBR keeps it whole: random loss
// is not congestion to it), pacing (only BBR paces and reports a model),
// and BBR's speed on this path.
func TestSimCongestionControllers(t *testing.T) {
	lossy := linkSpec{delay: 300 * time.Millisecond, jitter: 50 * time.Millisecond, loss: 0.10}
	took := map[string]time.Duration{}
	for _, cc := range []string{"reno", "cubic", "bbr"} {
		t.Run(cc, func(t *testing.T) {
			s := newSim(t, 1, 4<<20, lossy, lossy)
			s.cfg[0].CongestionControl, s.cfg[1].CongestionControl = cc, cc
			s.tcb[0] = NewActive(s.cfg[0], 0)
			// The window before and after each fast retransmit, from a
			// window of at least 8 segments (below that the 2-segment
			// floor decides).
			var prevCwnd int
			var prevFR uint64
			var ratios []float64
			paced := false
			s.onStep = func() {
				i := s.tcb[0].Info()
				if i.FastRecovery > prevFR && prevCwnd >= 8*i.MSS {
					ratios = append(ratios, float64(i.Cwnd)/float64(prevCwnd))
				}
				prevCwnd, prevFR = i.Cwnd, i.FastRecovery
				paced = paced || i.PacingRate > 0
			}
			s.run(3 * time.Hour)
			s.check()
			took[cc] = s.now
			i := s.tcb[0].Info()
			slices.Sort(ratios)
			med := math.NaN()
			if len(ratios) > 0 {
				med = ratios[len(ratios)/2]
			}
			t.Logf("%s: 4 MiB in %v virtual; retransmits %d, timeouts %d, fast recoveries %d, TLPs %d; receiver saw %d duplicates; window after a fast retransmit / before: median %.2f of %d; paced %v, model %q",
				cc, s.now, i.SegsRetrans, i.Timeouts, i.FastRecovery, i.TLPs, s.tcb[1].Info().DupSegsRecv, med, len(ratios), paced, i.Model.Mode)
			want := map[string][2]float64{"reno": {0.35, 0.6}, "cubic": {0.6, 0.8}, "bbr": {0.95, 1.5}}[cc]
			if len(ratios) < 3 || !(med >= want[0] && med <= want[1]) {
				t.Errorf("median window kept by a fast retransmit %.2f (%d samples), want [%g, %g]", med, len(ratios), want[0], want[1])
			}
			if paced != (cc == BBR) || (i.Model.Mode != "") != (cc == BBR) {
				t.Errorf("paced %v, model %q: only bbr paces and models the path", paced, i.Model.Mode)
			}
		})
	}
	if r, b := took["reno"], took["bbr"]; r > 0 && b > 0 && b > r/3 {
		t.Errorf("bbr took %v, reno %v: bbr should be at least three times as fast on this path", b, r)
	}
}
