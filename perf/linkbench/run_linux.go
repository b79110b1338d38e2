package linkbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tjunet/tjunet/labnet"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/perf"
	"github.com/tjunet/tjunet/tju"
)

// Available reports why a bench cannot run here, or nil: it needs root,
// network namespaces, iproute2 and TUN devices.
func Available() error {
	if err := labnet.Available(); err != nil {
		return err
	}
	return labnet.EmulatorAvailable()
}

// The kernel TCP settings of both hosts: buffers that autotune up to
// 64 MiB (tju's default Config.MaxBuffer), and no metrics cached between
// connections, so that a run does not start from the ssthresh the last
// one learned.
var hostSysctls = [][2]string{
	{"net.ipv4.tcp_rmem", "4096 131072 67108864"},
	{"net.ipv4.tcp_wmem", "4096 16384 67108864"},
	{"net.ipv4.tcp_no_metrics_save", "1"},
}

// minPackets is how many packets a run must have sent for their mean size
// to be that of its full segments (the handshake and the test's header are
// a few small ones).
const minPackets = 1000

// drainGrace is how long a run may take, after its window, to end and
// verify.
const drainGrace = 25 * time.Second

// sendTail is how long a sender writes past the window over l, so that
// the window never runs dry: the window opens a one-way delay after the
// sender starts.
func sendTail(l Link) time.Duration { return time.Second + l.Delay + l.Jitter }

// Bench runs o and returns what it measured. It fails before running
// anything if it cannot run here (see Available) or the kernel lacks a
// congestion control o names; a run that fails is reported in its Run
// and the bench goes on. It removes its lab when done, also after an
// error or when ctx ends.
func Bench(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if err := Available(); err != nil {
		return nil, err
	}
	if err := checkKernelCC(o); err != nil {
		return nil, err
	}
	id := o.ID
	if id == "" {
		id = fmt.Sprintf("lb%d", os.Getpid()%1000000)
	}
	rep := &Report{Start: time.Now()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.Load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		rep.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	lab, err := labnet.Create(labnet.Config{ID: id})
	if err != nil {
		return nil, err
	}
	defer lab.Close()
	for _, h := range []labnet.Host{labnet.Server, labnet.Client} {
		for _, kv := range hostSysctls {
			if err := lab.SetSysctl(h, kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range o.Links {
		if o.Duration > 0 {
			l.Duration = o.Duration
		}
		rep.Links = append(rep.Links, linkJSON(l))
		for _, seed := range o.Seeds {
			for _, t := range o.Transports {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				r := runOne(ctx, id, l, t, seed)
				rep.Runs = append(rep.Runs, r)
				if o.Progress != nil {
					o.Progress(r)
				}
			}
		}
	}
	if o.Fairness {
		l := Links[0]
		first := o.Transports[0]
		for _, t := range o.Transports {
			if !t.Kernel {
				first = t
				break
			}
		}
		if first.Kernel {
			first = Transport{Name: "tju"}
		}
		cubic := Transport{Name: "tcp-cubic", Kernel: true, CC: "cubic"}
		for _, pair := range [][2]Transport{{first, first}, {first, cubic}, {cubic, first}} {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			f := runFairness(ctx, id, l, pair, o.Seeds[0], o.FairnessDelay, o.FairnessWindow)
			rep.Fairness = append(rep.Fairness, f)
			if o.FairnessProgress != nil {
				o.FairnessProgress(f)
			}
		}
	}
	rep.Summary = Summarize(rep.Runs)
	rep.Elapsed = time.Since(rep.Start).Seconds()
	return rep, nil
}

// checkKernelCC checks that the kernel offers every congestion control
// the kernel transports of o (and the fairness run's CUBIC) name.
func checkKernelCC(o Options) error {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
	if err != nil {
		return fmt.Errorf("linkbench: which congestion controls the kernel has: %w", err)
	}
	have := strings.Fields(string(b))
	want := []string{}
	for _, t := range o.Transports {
		if t.Kernel {
			want = append(want, t.CC)
		}
	}
	if o.Fairness {
		want = append(want, "cubic")
	}
	for _, cc := range want {
		found := false
		for _, h := range have {
			found = found || h == cc
		}
		if !found {
			return fmt.Errorf("linkbench: the kernel has no TCP congestion control %q (it has %s; try modprobe tcp_%s)",
				cc, strings.Join(have, ", "), cc)
		}
	}
	return nil
}

// emulate puts the emulator with link l's impairments and seed in the
// path of lab id.
func emulate(id string, l Link, seed uint64) (*labnet.Lab, error) {
	cfg := netem.Config{Rate: l.Rate, QueueBytes: l.QueueBytes, Delay: l.Delay, Jitter: l.Jitter, Loss: l.Loss, Seed: seed}
	lab := labnet.Open(labnet.Config{ID: id, Up: cfg, Down: cfg})
	if err := lab.Emulate(); err != nil {
		return nil, err
	}
	return lab, nil
}

// runOne runs transport t over link l with seed.
func runOne(ctx context.Context, id string, l Link, t Transport, seed uint64) (r Run) {
	r = Run{Link: l.Name, Transport: t.Name, Seed: seed, Seconds: l.Duration.Seconds()}
	start := time.Now()
	defer func() { r.ElapsedS = time.Since(start).Seconds() }()
	lab, err := emulate(id, l, seed)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer lab.StopEmulator()
	f, err := startFlow(ctx, lab, t, l.Duration+sendTail(l), l.Duration)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer f.close()
	select {
	case <-f.windowDone:
	case <-f.done: // ended early: an error, or the window never opened
	}
	up, _, _ := lab.EmulatorStats()
	r.QueueDelayMs = ms(up.MeanQueueDelay())
	r.QueueDropPct = 100 * up.QueueDropRate()
	r.LagMs, r.MaxLagMs = ms(up.MeanLag()), ms(up.MaxLag)
	if up.Offered >= minPackets {
		r.PacketBytes = float64(up.OfferedBytes) / float64(up.Offered)
	}
	if n, err := lab.DeviceDrops(labnet.Client); err == nil {
		r.HostDrops = n
	}
	windowEnd := time.Now()
	f.wait(drainGrace)
	r.DrainS = time.Since(windowEnd).Seconds()
	f.fill(&r)
	if r.MSS > 0 && r.PacketBytes > 0 {
		r.CeilingMbps = float64(l.Rate) / 1e6 * float64(r.MSS) / r.PacketBytes
	}
	return r
}

// runFairness runs two flows over link l: the second starts delay after
// the first, and their shares are measured over the window after that.
func runFairness(ctx context.Context, id string, l Link, pair [2]Transport, seed uint64, delay, window time.Duration) Fairness {
	fr := Fairness{Name: pair[0].Name + " vs " + pair[1].Name, Link: l.Name, Seed: seed, DelayS: delay.Seconds(), WindowS: window.Seconds()}
	lab, err := emulate(id, l, seed)
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	defer lab.StopEmulator()
	var flows []*flow
	defer func() {
		for _, f := range flows {
			f.close()
		}
	}()
	for i, t := range pair {
		dur := window + sendTail(l)
		if i == 0 {
			dur += delay
		}
		f, err := startFlow(ctx, lab, t, dur, 0)
		if err != nil {
			fr.Error = err.Error()
			return fr
		}
		flows = append(flows, f)
		if i == 0 {
			if !sleep(ctx, delay) {
				fr.Error = ctx.Err().Error()
				return fr
			}
		}
	}
	at0 := []int64{flows[0].recv.count(), flows[1].recv.count()}
	up0, _, _ := lab.EmulatorStats()
	if !sleep(ctx, window) {
		fr.Error = ctx.Err().Error()
		return fr
	}
	at1 := []int64{flows[0].recv.count(), flows[1].recv.count()}
	up1, _, _ := lab.EmulatorStats()
	var rates []float64
	var sum float64
	for i, f := range flows {
		info, _ := f.sender()
		n := at1[i] - at0[i]
		rate := float64(n) * 8 / window.Seconds() / 1e6
		rates = append(rates, rate)
		sum += rate
		fr.Flows = append(fr.Flows, FlowShare{Transport: pair[i].Name, Bytes: n, GoodputMbps: rate,
			Retransmits: info.retransmits, SRTTMs: ms(info.srtt)})
	}
	for i := range fr.Flows {
		if sum > 0 {
			fr.Flows[i].Share = rates[i] / sum
		}
	}
	fr.Jain = Jain(rates...)
	if q := up1.Queued - up0.Queued; q > 0 {
		fr.QueueDelayMs = ms((up1.QueueDelay - up0.QueueDelay) / time.Duration(q))
	}
	if d, q := up1.QueueDropped-up0.QueueDropped, up1.Queued-up0.Queued; d+q > 0 {
		fr.QueueDropPct = 100 * float64(d) / float64(d+q)
	}
	var errs []string
	for i, f := range flows {
		f.wait(drainGrace)
		fr.Flows[i].Verified = f.err == nil
		if f.err != nil {
			errs = append(errs, fmt.Sprintf("flow %d: %v", i+1, f.err))
		}
	}
	fr.Error = strings.Join(errs, "; ")
	return fr
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// senderInfo is what a sender reports of itself.
type senderInfo struct {
	retransmits, segments uint64
	srtt, minRTT          time.Duration
	mss                   int
}

// flow is one perf test from the client host to the server host.
type flow struct {
	cancel     context.CancelFunc
	recv       *countingConn                     // the server's end, once accepted
	serverDone chan struct{}                     // closed when the server's side has ended
	senderFn   atomic.Pointer[func() senderInfo] // set once connected
	windowDone chan struct{}                     // closed at the window's end (never without a window)
	done       chan struct{}                     // closed when the test has ended
	closers    []func()

	// Set at the window's end.
	window      time.Duration
	inWindow    int64
	atWindow    senderInfo
	srttSum     time.Duration
	srttSamples int

	// Set when done is closed.
	res       *perf.Result
	err       error
	served    perf.ServerReport
	serverErr error
}

// startFlow starts a perf throughput test of dur from the client host to
// the server host over transport t. With window > 0, the flow measures
// its window: from the receiver's first byte, window long.
func startFlow(ctx context.Context, lab *labnet.Lab, t Transport, dur, window time.Duration) (*flow, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &flow{cancel: cancel, serverDone: make(chan struct{}), windowDone: make(chan struct{}), done: make(chan struct{}), window: window}
	f.recv = &countingConn{started: make(chan struct{})}
	f.recv.atEnd.Store(-1)
	var accept func() (net.Conn, error)
	var dial perf.Dialer
	if t.Kernel {
		var ln net.Listener
		err := lab.Do(labnet.Server, func() (err error) {
			lc := net.ListenConfig{Control: setCC(t.CC)}
			ln, err = lc.Listen(ctx, "tcp4", labnet.Server.Addr().String()+":0")
			return err
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("listening on the server: %w", err)
		}
		f.closers = append(f.closers, func() { ln.Close() })
		context.AfterFunc(ctx, func() { ln.Close() }) // Accept returns when the flow ends
		accept = ln.Accept
		addr := ln.Addr().String()
		dial = func(ctx context.Context) (c net.Conn, err error) {
			err = lab.Do(labnet.Client, func() (err error) {
				d := net.Dialer{Control: setCC(t.CC), Timeout: 10 * time.Second}
				c, err = d.DialContext(ctx, "tcp4", addr)
				return err
			})
			if err != nil {
				return nil, err
			}
			fn := func() senderInfo { return tcpInfo(c) }
			f.senderFn.Store(&fn)
			return c, nil
		}
	} else {
		var cfg *tju.Config
		if t.CC != "" {
			cfg = &tju.Config{CongestionControl: t.CC}
		}
		var sep, cep *tju.Endpoint
		err := lab.Do(labnet.Server, func() (err error) {
			sep, err = tju.OpenEndpoint(labnet.Server.Addr().String()+":0", cfg)
			return err
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("opening the server's endpoint: %w", err)
		}
		f.closers = append(f.closers, func() { sep.Close() })
		ln, err := sep.Listen(tju.DefaultPort)
		if err != nil {
			f.close()
			return nil, err
		}
		accept = func() (net.Conn, error) { return ln.AcceptTJU(ctx) }
		err = lab.Do(labnet.Client, func() (err error) {
			cep, err = tju.OpenEndpoint(labnet.Client.Addr().String()+":0", cfg)
			return err
		})
		if err != nil {
			f.close()
			return nil, fmt.Errorf("opening the client's endpoint: %w", err)
		}
		f.closers = append(f.closers, func() { cep.Close() })
		addr := sep.Addr().String()
		dial = func(ctx context.Context) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c, err := cep.Dial(dctx, addr, tju.DefaultPort)
			if err != nil {
				return nil, err
			}
			fn := func() senderInfo {
				i := c.Info()
				return senderInfo{retransmits: i.Retransmits, segments: i.SegmentsSent, srtt: i.SRTT, minRTT: i.MinRTT, mss: i.MSS}
			}
			f.senderFn.Store(&fn)
			return c, nil
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { // the server: one test
		defer close(f.serverDone)
		c, err := accept()
		if err != nil {
			f.serverErr = err
			return
		}
		f.recv.Conn = c
		f.served, f.serverErr = perf.ServeConn(ctx, f.recv)
	})
	if window > 0 {
		wg.Go(func() { f.measure(ctx) })
	}
	go func() {
		f.res, f.err = perf.Run(ctx, dial, perf.Test{Mode: perf.Throughput, Duration: dur})
		if f.err == nil {
			<-f.serverDone
		}
		cancel() // ends the server and the sampler if they still wait
		wg.Wait()
		if f.err == nil && f.serverErr != nil {
			f.err = fmt.Errorf("the server's side: %w", f.serverErr)
		}
		close(f.done)
	}()
	return f, nil
}

// measure samples the sender over the window and closes windowDone at its
// end.
func (f *flow) measure(ctx context.Context) {
	select {
	case <-f.recv.started:
	case <-ctx.Done():
		return
	}
	first := time.Unix(0, f.recv.first.Load())
	end := first.Add(f.window)
	f.recv.windowEnd.Store(end.UnixNano())
	tk := time.NewTicker(100 * time.Millisecond)
	defer tk.Stop()
	stop := time.NewTimer(time.Until(end))
	defer stop.Stop()
	for {
		select {
		case <-tk.C:
			if i, ok := f.sender(); ok {
				f.srttSum += i.srtt
				f.srttSamples++
			}
		case <-stop.C:
			f.atWindow, _ = f.sender()
			f.inWindow = f.recv.countBy(end)
			close(f.windowDone)
			return
		case <-ctx.Done():
			return
		}
	}
}

// sender returns what the sender says of itself, once connected.
func (f *flow) sender() (senderInfo, bool) {
	if fn := f.senderFn.Load(); fn != nil {
		return (*fn)(), true
	}
	return senderInfo{}, false
}

// wait waits for the test to end, for at most grace; then it ends it.
func (f *flow) wait(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-f.done:
		return
	case <-t.C:
	}
	f.cancel()
	<-f.done
	if f.err == nil || errors.Is(f.err, context.Canceled) {
		f.err = fmt.Errorf("the test had not ended %v after its window", grace)
	}
}

// close ends the flow and frees its sockets; the flow has ended, or
// never started.
func (f *flow) close() {
	f.cancel()
	for _, c := range f.closers {
		c()
	}
	f.closers = nil
}

// fill puts what the flow measured into r; the flow has ended.
func (f *flow) fill(r *Run) {
	select {
	case <-f.windowDone:
		r.Bytes = max(f.inWindow-headerBytes, 0)
		r.GoodputMbps = float64(r.Bytes) * 8 / f.window.Seconds() / 1e6
		r.Retransmits, r.SegmentsSent = f.atWindow.retransmits, f.atWindow.segments
		r.MinRTTMs = ms(f.atWindow.minRTT)
		r.MSS = f.atWindow.mss
		if f.srttSamples > 0 {
			r.SRTTMs = ms(f.srttSum / time.Duration(f.srttSamples))
		}
	default:
		if f.err == nil {
			f.err = errors.New("the test ended before its window did")
		}
	}
	if f.err == nil {
		r.Verified = true
		r.TotalBytes = int64(f.res.Received.Bytes)
	} else {
		r.Error = f.err.Error()
	}
}

// headerBytes is the perf test header, which the receiver's count
// includes.
const headerBytes = 32

// countingConn is the server's end of a test: it counts the bytes read and
// notes when the first came and how many had come by the window's end.
type countingConn struct {
	net.Conn
	n         atomic.Int64
	first     atomic.Int64 // UnixNano of the first byte
	windowEnd atomic.Int64 // UnixNano; 0 until known
	atEnd     atomic.Int64 // bytes read by windowEnd; -1 until known
	started   chan struct{}
	once      sync.Once
}

func (c *countingConn) Read(b []byte) (int, error) {
	k, err := c.Conn.Read(b)
	if k > 0 {
		now := time.Now().UnixNano()
		c.once.Do(func() {
			c.first.Store(now)
			close(c.started)
		})
		if e := c.windowEnd.Load(); e != 0 && now > e {
			c.atEnd.CompareAndSwap(-1, c.n.Load())
		}
		c.n.Add(int64(k))
	}
	return k, err
}

// count returns the bytes read so far.
func (c *countingConn) count() int64 { return c.n.Load() }

// countBy returns the bytes read by end, which is now or just past: a read
// that returned after end does not count.
func (c *countingConn) countBy(end time.Time) int64 {
	c.atEnd.CompareAndSwap(-1, c.n.Load())
	return c.atEnd.Load()
}

// CloseWrite and Abort pass through, as perf uses them.
func (c *countingConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.New("the connection cannot half-close")
}

// Abort aborts the connection if its transport can, or closes it.
func (c *countingConn) Abort() {
	if a, ok := c.Conn.(interface{ Abort() error }); ok {
		a.Abort()
		return
	}
	c.Conn.Close()
}

// setCC returns a socket control function that sets TCP_CONGESTION.
func setCC(cc string) func(network, address string, rc syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, cc)
		})
		if serr != nil {
			return fmt.Errorf("TCP_CONGESTION %s: %w", cc, serr)
		}
		return err
	}
}

// tcpInfo reads the kernel's TCP_INFO of c.
func tcpInfo(c net.Conn) senderInfo {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return senderInfo{}
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return senderInfo{}
	}
	var i *unix.TCPInfo
	rc.Control(func(fd uintptr) { i, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if i == nil {
		return senderInfo{}
	}
	us := func(v uint32) time.Duration { return time.Duration(v) * time.Microsecond }
	return senderInfo{retransmits: uint64(i.Total_retrans), segments: uint64(i.Segs_out), srtt: us(i.Rtt), minRTT: us(i.Min_rtt),
		mss: int(i.Snd_mss)}
}
