package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/units"
)

func init() { register(newBenchCommand) }

// benchOptions are the flags of tju bench.
type benchOptions struct {
	transportOptions
	server    bool
	client    string
	listen    string
	once      bool
	readyFile string
	mode      string
	duration  time.Duration
	size      units.Size
	count     int
	msgSize   units.Size
	interval  time.Duration
	json      bool
	bind      string
	timeout   time.Duration

	timeGiven, sizeGiven, portGiven bool
}

func newBenchCommand(e *env) *cobra.Command {
	o := &benchOptions{msgSize: 64}
	cmd := &cobra.Command{
		Use:   "bench [flags] server|client HOST[:PORT][/TJUPORT]|loopback",
		Short: "measure throughput and latency between two hosts (or over loopback), like iperf3",
		Long: `Measures TJU TCP between a bench server and a bench client, as iperf3 does
for TCP.

  server    (or -s) listens on --listen (default :20218) and TJU port
            --port (default 1234) and answers clients, several at a time,
            until interrupted (or after one with --once). It prints one
            line per test.
  client    (or -c HOST) connects to a server and runs one test, printing
            a line every --interval, then the totals.
  loopback  runs a server and a client in this process over 127.0.0.1, for
            a quick figure (default --time 3s).

Modes:
  throughput  the client sends for --time (default 10s) or --size bytes and
              the server counts what arrives. Each interval shows the bytes
              the server acknowledged, the bitrate, the retransmissions,
              the congestion window and the smoothed RTT; the test ends when
              the server confirms the total it received.
  latency     the client sends --msg-size requests (default 64 bytes) one at
              a time and the server echoes each; it runs for --time or
              --count requests and reports requests per second and the
              round-trip time's percentiles (p50, p90, p99) and maximum.

--json prints one JSON document at the end instead of the text. Rates are
bits per second (1 Mbit/s = 10^6 bit/s); sizes accept 64MiB, 1GB, 1048576.

Exit status: 0 after a test, 1 if it fails, 2 for a usage error, 130 when
interrupted.`,
		Example: `  # On host B:
  tju bench -s
  # On host A, ten seconds of throughput, then latency:
  tju bench -c hostB
  tju bench -c hostB --mode latency -t 5s

  # A quick figure on this machine, as JSON:
  tju bench loopback --json

  # 1 GiB with CUBIC and one line every half second:
  tju bench loopback --size 1GiB --cc cubic --interval 500ms

  # A server that serves one test, with its counters on a web page:
  tju bench server --once --metrics localhost:6060`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			o.timeGiven, o.sizeGiven, o.portGiven = f.Changed("time"), f.Changed("size"), f.Changed("port")
			return runBench(cmd.Context(), o, args, e)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.server, "server", "s", false, "run the server (as \"tju bench server\")")
	fs.StringVarP(&o.client, "client", "c", "", "run a client against the server at `HOST[:PORT][/TJUPORT]` (as \"tju bench client HOST\")")
	fs.StringVarP(&o.listen, "listen", "L", ":20218", "server: UDP `ADDR` to listen on")
	fs.BoolVarP(&o.once, "once", "1", false, "server: exit after one test")
	fs.StringVar(&o.readyFile, "ready-file", "", "server: once listening, write the address to dial (UDP address/TJU port) into `FILE`")
	fs.StringVarP(&o.mode, "mode", "m", "throughput", "client: what to measure, a `MODE`: throughput or latency")
	fs.DurationVarP(&o.duration, "time", "t", 10*time.Second, "client: how long the test runs, a `DURATION` (loopback: 3s)")
	fs.VarP(&o.size, "size", "n", "client, throughput: send this `SIZE` instead of running for --time (1GiB)")
	fs.IntVarP(&o.count, "count", "k", 0, "client, latency: send `N` requests instead of running for --time")
	fs.VarP(&o.msgSize, "msg-size", "l", "client, latency: the `SIZE` of each request and response")
	fs.DurationVarP(&o.interval, "interval", "i", time.Second, "client: print a line every `INTERVAL` (0: none)")
	fs.BoolVarP(&o.json, "json", "J", false, "client: print the result as JSON")
	fs.StringVarP(&o.bind, "bind", "B", "", "client: local UDP `ADDR` of our endpoint (default: a free port)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "client: give up connecting after this `DURATION`")
	o.addFlags(fs, false)
	return cmd
}

// The bench protocol. The client opens with a 16-byte header:
//
//	"TJUB" | version 1 | mode 'T' or 'L' | 2 zero bytes | message size (uint32) | 4 zero bytes
//
// Throughput ('T'): the client sends data and half-closes; the server
// reads to the end and answers with the byte count (uint64) and the time
// from the first byte to the end in nanoseconds (uint64), then closes.
// Latency ('L'): the client sends requests of the message size and the
// server echoes each, until the client half-closes.
const (
	benchMagic      = "TJUB"
	benchVersion    = 1
	benchHeaderLen  = 16
	benchThroughput = 'T'
	benchLatency    = 'L'
	maxBenchMsg     = 1 << 20
)

type benchParams struct {
	mode     string
	duration time.Duration // 0 when size or count is set
	size     int64
	count    int
	msgSize  int
	interval time.Duration
	json     bool
	timeout  time.Duration
}

func runBench(ctx context.Context, o *benchOptions, args []string, e *env) error {
	switch {
	case o.server && o.client != "":
		return usagef("-s and -c: want one role, server or client")
	case o.server:
		args = append([]string{"server"}, args...)
	case o.client != "":
		args = append([]string{"client", o.client}, args...)
	}
	if len(args) == 0 {
		return usagef("say what to run (want tju bench -s, tju bench -c HOST, or tju bench loopback)")
	}
	switch args[0] {
	case "server":
		if len(args) > 1 {
			return usagef("unexpected arguments %q after server", args[1:])
		}
		return benchServer(ctx, o, e)
	case "client":
		if len(args) != 2 {
			return usagef("tju bench client takes the server's address (want tju bench -c HOST[:PORT][/TJUPORT])")
		}
		p, err := benchParamsFrom(o, false)
		if err != nil {
			return err
		}
		return benchClient(ctx, o, e, args[1], p)
	case "loopback", "local":
		if len(args) > 1 {
			return usagef("unexpected arguments %q after loopback", args[1:])
		}
		p, err := benchParamsFrom(o, true)
		if err != nil {
			return err
		}
		return benchLoopback(ctx, o, e, p)
	}
	return usagef("unknown bench role %q (want server, client or loopback)", args[0])
}

func benchParamsFrom(o *benchOptions, loopback bool) (benchParams, error) {
	p := benchParams{
		mode:     strings.ToLower(o.mode),
		duration: o.duration,
		size:     int64(o.size),
		count:    o.count,
		msgSize:  int(min(int64(o.msgSize), maxBenchMsg+1)),
		interval: o.interval,
		json:     o.json,
		timeout:  o.timeout,
	}
	if loopback && !o.timeGiven {
		p.duration = 3 * time.Second
	}
	switch p.mode {
	case "throughput", "t":
		p.mode = "throughput"
		if p.count != 0 {
			return p, usagef("--count is for --mode latency; use --size or --time")
		}
		if o.sizeGiven {
			if o.timeGiven {
				return p, usagef("give --time or --size, not both")
			}
			if p.size <= 0 {
				return p, usagef("--size must be at least 1 byte")
			}
			p.duration = 0
		}
	case "latency", "l":
		p.mode = "latency"
		if o.sizeGiven {
			return p, usagef("--size is for --mode throughput; use --count or --time")
		}
		if p.count < 0 {
			return p, usagef("--count must be positive")
		}
		if p.count > 0 {
			if o.timeGiven {
				return p, usagef("give --time or --count, not both")
			}
			p.duration = 0
		}
		if p.msgSize < 1 || p.msgSize > maxBenchMsg {
			return p, usagef("--msg-size must be from 1 byte to 1MiB")
		}
	default:
		return p, usagef("--mode %q: want throughput or latency", p.mode)
	}
	if p.duration < 0 || (p.duration == 0 && p.size == 0 && p.count == 0) {
		return p, usagef("--time must be positive")
	}
	if err := checkInterval("--interval", p.interval); err != nil {
		return p, err
	}
	if p.timeout <= 0 {
		return p, usagef("--timeout must be positive")
	}
	return p, nil
}

// benchServer serves tests until ctx ends (or one test with --once).
func benchServer(ctx context.Context, o *benchOptions, e *env) error {
	if err := checkUDPAddr("--listen", o.listen); err != nil {
		return err
	}
	t, err := newTransport(&o.transportOptions, e, trace.RoleServer)
	if err != nil {
		return err
	}
	defer t.Close()
	l, stop, err := t.listen(o.listen, o.readyFile, "tju bench server")
	if err != nil {
		return err
	}
	defer stop()
	stopStats := startStats(ctx, t.con, t.stats, &t.conns)
	defer stopStats()

	out := &lockedWriter{w: e.stdout}
	if o.once {
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return errors.New("interrupted while waiting for a client")
			}
			return err
		}
		return serveBench(ctx, t, c, out)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // a server ends with Ctrl-C
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serveBench(ctx, t, c, out); err != nil {
				t.con.Printf("tju bench server: %s: %v", c.RemoteAddr(), err)
			}
		}()
	}
}

// lockedWriter serializes the lines of concurrent tests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serveBench runs the server's side of one test and prints a line about
// it on out (nil: nowhere).
func serveBench(ctx context.Context, t *transport, c *tju.Conn, out io.Writer) error {
	t.conns.add(c)
	defer t.conns.remove(c)
	stop := context.AfterFunc(ctx, func() { c.Abort() })
	defer stop()
	defer c.Close()
	peer := c.RemoteAddr().String()
	t.log.Debug("bench: accepted", "conn", c.String())

	var h [benchHeaderLen]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, h[:]); err != nil {
		c.Abort()
		return fmt.Errorf("no test header: %w", err)
	}
	c.SetReadDeadline(time.Time{})
	if string(h[:4]) != benchMagic || h[4] != benchVersion {
		c.Abort()
		return errors.New("not a tju bench client (bad header)")
	}
	switch h[5] {
	case benchThroughput:
		buf := make([]byte, 256<<10)
		var n int64
		var first time.Time
		for {
			k, err := c.Read(buf)
			if k > 0 && n == 0 {
				first = time.Now()
			}
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				return connError(ctx, "receiving", err)
			}
		}
		el := time.Duration(0)
		if n > 0 {
			el = time.Since(first)
		}
		var reply [16]byte
		binary.BigEndian.PutUint64(reply[:8], uint64(n))
		binary.BigEndian.PutUint64(reply[8:], uint64(el))
		if _, err := c.Write(reply[:]); err != nil {
			return connError(ctx, "replying", err)
		}
		if out != nil {
			fmt.Fprintf(out, "%s: throughput test: received %s in %s: %s\n", peer, formatBytes(n), formatDuration(el),
				formatBitRate(float64(n)*8/max(el.Seconds(), 1e-9)))
		}
	case benchLatency:
		size := int(binary.BigEndian.Uint32(h[8:12]))
		if size < 1 || size > maxBenchMsg {
			c.Abort()
			return fmt.Errorf("bad message size %d", size)
		}
		buf := make([]byte, size)
		n := 0
		start := time.Now()
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				if err == io.EOF {
					break
				}
				return connError(ctx, "reading a request", err)
			}
			if _, err := c.Write(buf); err != nil {
				return connError(ctx, "answering", err)
			}
			n++
		}
		if out != nil {
			fmt.Fprintf(out, "%s: latency test: echoed %d requests of %d bytes in %s\n", peer, n, size, formatDuration(time.Since(start)))
		}
	default:
		c.Abort()
		return fmt.Errorf("unknown test mode %q", h[5])
	}
	return nil
}

// benchLoopback runs a server in this process and a client against it.
func benchLoopback(ctx context.Context, o *benchOptions, e *env, p benchParams) error {
	srvT, err := newTransport(&o.transportOptions, e, trace.RoleServer)
	if err != nil {
		return err
	}
	defer srvT.Close()
	srvT.metrics, srvT.stats = "", 0 // the client's side reports these
	ep, err := tju.OpenEndpoint("127.0.0.1:0", srvT.cfg)
	if err != nil {
		return err
	}
	defer ep.Close()
	l, err := ep.Listen(srvT.port)
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.AcceptTJU(sctx)
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := serveBench(sctx, srvT, c, nil); err != nil && sctx.Err() == nil {
					srvT.con.Printf("tju bench: server side: %v", err)
				}
			}()
		}
	}()
	return benchClient(ctx, o, e, l.Addr().String(), p)
}

// benchClient runs one test against the server at addr.
func benchClient(ctx context.Context, o *benchOptions, e *env, addr string, p benchParams) error {
	hostport, inAddr, err := splitPeer("server address", addr)
	if err != nil {
		return err
	}
	if o.bind != "" {
		if err := checkUDPAddr("--bind", o.bind); err != nil {
			return err
		}
	}
	t, err := newTransport(&o.transportOptions, e, trace.RoleClient)
	if err != nil {
		return err
	}
	defer t.Close()
	port, err := t.peerPort(o.portGiven, inAddr)
	if err != nil {
		return err
	}
	ep, err := tju.OpenEndpoint(bindAddress(ctx, o.bind, hostport), t.cfg)
	if err != nil {
		return fmt.Errorf("cannot open the local endpoint: %w", inWords(err))
	}
	defer ep.Close()
	stopMetrics, err := t.serve(ep)
	if err != nil {
		return err
	}
	defer stopMetrics()

	c, err := dial(ctx, ep, hostport, port, p.timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	t.conns.add(c)
	stopAbort := context.AfterFunc(ctx, func() { c.Abort() })
	defer stopAbort()
	stopStats := startStats(ctx, t.con, t.stats, &t.conns)
	defer stopStats()

	var h [benchHeaderLen]byte
	copy(h[:], benchMagic)
	h[4] = benchVersion
	h[5] = benchThroughput
	if p.mode == "latency" {
		h[5] = benchLatency
	}
	binary.BigEndian.PutUint32(h[8:12], uint32(p.msgSize))
	if _, err := c.Write(h[:]); err != nil {
		return connError(ctx, "starting the test", err)
	}
	var out io.Writer = e.stdout
	if p.json {
		out = io.Discard
	}
	var res any
	if p.mode == "throughput" {
		res, err = benchThroughputClient(ctx, c, p, out, cfgName(t.cfg))
	} else {
		res, err = benchLatencyClient(ctx, c, p, out)
	}
	if err != nil {
		return err
	}
	stopStats()
	if err := t.Close(); err != nil {
		return err
	}
	if p.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if note := t.traceNote(trace.RoleClient); note != "" {
		t.con.Printf("%s", note)
	}
	return nil
}

func cfgName(cfg *tju.Config) string {
	s := cfg.CongestionControl
	if cfg.Plain {
		s += ", plain header"
	}
	return s
}

// throughputInterval is one line of a throughput test.
type throughputInterval struct {
	Start       float64 `json:"start"`
	End         float64 `json:"end"`
	Bytes       uint64  `json:"bytes"`
	BitsPerSec  float64 `json:"bits_per_second"`
	Retransmits uint64  `json:"retransmits"`
	CwndBytes   int     `json:"cwnd_bytes"`
	SRTTms      float64 `json:"srtt_ms"`
}

// throughputResult is the JSON of a throughput test.
type throughputResult struct {
	Mode       string               `json:"mode"`
	Server     string               `json:"server"`
	CC         string               `json:"congestion_control"`
	Extensions bool                 `json:"extensions"`
	Intervals  []throughputInterval `json:"intervals"`
	End        struct {
		Seconds         float64 `json:"seconds"`
		Bytes           uint64  `json:"bytes"`
		BitsPerSec      float64 `json:"bits_per_second"`
		ReceiverBytes   uint64  `json:"receiver_bytes"`
		ReceiverSeconds float64 `json:"receiver_seconds"`
		ReceiverBPS     float64 `json:"receiver_bits_per_second"`
		SegmentsSent    uint64  `json:"segments_sent"`
		Retransmits     uint64  `json:"retransmits"`
		Timeouts        uint64  `json:"timeouts"`
		FastRecoveries  uint64  `json:"fast_recoveries"`
		SRTTms          float64 `json:"srtt_ms"`
		MinRTTms        float64 `json:"min_rtt_ms"`
	} `json:"end"`
}

const throughputHeader = "         interval     transfer        bitrate    retr        cwnd       rtt\n"

// span formats an interval of a test: "  1.00-  2.00 s".
func span(from, to float64) string { return fmt.Sprintf("%6.2f-%6.2f s", from, to) }

func (i throughputInterval) line() string {
	return fmt.Sprintf("  %s  %11s  %13s  %6d  %10s  %8s\n", span(i.Start, i.End),
		formatBytes(int64(i.Bytes)), formatBitRate(i.BitsPerSec), i.Retransmits,
		formatBytes(int64(i.CwndBytes)), formatDuration(time.Duration(i.SRTTms*float64(time.Millisecond))))
}

func benchThroughputClient(ctx context.Context, c *tju.Conn, p benchParams, out io.Writer, cc string) (*throughputResult, error) {
	res := &throughputResult{Mode: "throughput", Server: c.RemoteAddr().String(), CC: cc, Intervals: []throughputInterval{}}
	what := "for " + p.duration.String()
	if p.duration == 0 {
		what = formatBytes(p.size)
	}
	fmt.Fprintf(out, "tju bench: throughput to %s, %s (%s)\n", res.Server, what, cc)
	fmt.Fprint(out, throughputHeader)

	start := time.Now()
	var mu sync.Mutex // guards res.Intervals and the sampler's state
	lastT, lastAcked, lastRetr := 0.0, uint64(0), uint64(0)
	sample := func(now time.Time) {
		i := c.Info()
		el := now.Sub(start).Seconds()
		mu.Lock()
		defer mu.Unlock()
		if el <= lastT {
			return
		}
		iv := throughputInterval{
			Start: lastT, End: el, Bytes: i.BytesAcked - lastAcked,
			Retransmits: i.Retransmits - lastRetr, CwndBytes: i.Cwnd, SRTTms: ms(i.SRTT),
		}
		iv.BitsPerSec = float64(iv.Bytes) * 8 / (el - lastT)
		lastT, lastAcked, lastRetr = el, i.BytesAcked, i.Retransmits
		res.Intervals = append(res.Intervals, iv)
		fmt.Fprint(out, iv.line())
	}
	stopSampler := func() {}
	if p.interval > 0 {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			tk := time.NewTicker(p.interval)
			defer tk.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case now := <-tk.C:
					sample(now)
				}
			}
		}()
		stopSampler = func() { cancel(); <-done }
	}
	defer stopSampler()

	buf := make([]byte, 256<<10)
	var sent int64
	if p.duration > 0 {
		c.SetWriteDeadline(start.Add(p.duration))
	}
	for p.duration > 0 || sent < p.size {
		b := buf
		if p.duration == 0 {
			b = buf[:min(int64(len(buf)), p.size-sent)]
		}
		n, err := c.Write(b)
		sent += int64(n)
		if err != nil {
			if p.duration > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return nil, connError(ctx, "sending", err)
		}
	}
	c.SetWriteDeadline(time.Time{})
	if err := c.CloseWrite(); err != nil {
		return nil, connError(ctx, "closing", err)
	}
	var reply [16]byte
	if _, err := io.ReadFull(c, reply[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("the peer closed without a result: is it a tju bench server?")
		}
		return nil, connError(ctx, "waiting for the server's count", err)
	}
	end := time.Now()
	stopSampler()
	if p.interval > 0 {
		sample(end)
	}
	el := end.Sub(start)
	i := c.Info()
	io.Copy(io.Discard, c) // the server closes after its count
	res.Extensions = i.Extensions
	e := &res.End
	e.Seconds = el.Seconds()
	e.Bytes = i.BytesAcked - min(i.BytesAcked, benchHeaderLen)
	e.BitsPerSec = float64(e.Bytes) * 8 / e.Seconds
	e.ReceiverBytes = binary.BigEndian.Uint64(reply[:8])
	e.ReceiverSeconds = time.Duration(binary.BigEndian.Uint64(reply[8:])).Seconds()
	if e.ReceiverSeconds > 0 {
		e.ReceiverBPS = float64(e.ReceiverBytes) * 8 / e.ReceiverSeconds
	}
	e.SegmentsSent, e.Retransmits, e.Timeouts, e.FastRecoveries = i.SegmentsSent, i.Retransmits, i.Timeouts, i.FastRecoveries
	e.SRTTms, e.MinRTTms = ms(i.SRTT), ms(i.MinRTT)
	if e.ReceiverBytes != uint64(sent) {
		return nil, fmt.Errorf("the server counted %d bytes, but %d were sent", e.ReceiverBytes, sent)
	}

	fmt.Fprintln(out, "  - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -")
	fmt.Fprintf(out, "  %s  %11s  %13s  %6d  sender (bytes acknowledged)\n", span(0, e.Seconds),
		formatBytes(int64(e.Bytes)), formatBitRate(e.BitsPerSec), e.Retransmits)
	fmt.Fprintf(out, "  %s  %11s  %13s          receiver (first byte to last)\n", span(0, e.ReceiverSeconds),
		formatBytes(int64(e.ReceiverBytes)), formatBitRate(e.ReceiverBPS))
	fmt.Fprintf(out, "  %d segments sent, %d retransmitted, %d %s, %d fast %s; RTT smoothed %s, min %s\n",
		e.SegmentsSent, e.Retransmits, e.Timeouts, pluralize(int(e.Timeouts), "timeout", "timeouts"),
		e.FastRecoveries, pluralize(int(e.FastRecoveries), "recovery", "recoveries"),
		formatDuration(i.SRTT), formatDuration(i.MinRTT))
	return res, nil
}

// latencyResult is the JSON of a latency test.
type latencyResult struct {
	Mode       string            `json:"mode"`
	Server     string            `json:"server"`
	MsgSize    int               `json:"msg_size"`
	Requests   int               `json:"requests"`
	Seconds    float64           `json:"seconds"`
	PerSecond  float64           `json:"requests_per_second"`
	LatencyUS  latencySummary    `json:"latency_us"`
	Intervals  []latencyInterval `json:"intervals"`
	Retransmit uint64            `json:"retransmits"`
}

type latencySummary struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

type latencyInterval struct {
	Start    float64 `json:"start"`
	End      float64 `json:"end"`
	Requests int     `json:"requests"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
}

// percentile returns the p-th percentile (nearest rank) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

func summarize(lat []time.Duration) latencySummary {
	s := slices.Clone(lat)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	if len(s) == 0 {
		return latencySummary{}
	}
	return latencySummary{
		Min: us(s[0]), Mean: us(sum / time.Duration(len(s))), P50: us(percentile(s, 50)),
		P90: us(percentile(s, 90)), P99: us(percentile(s, 99)), Max: us(s[len(s)-1]),
	}
}

func usDur(v float64) string { return formatDuration(time.Duration(v * 1000)) }

func benchLatencyClient(ctx context.Context, c *tju.Conn, p benchParams, out io.Writer) (*latencyResult, error) {
	res := &latencyResult{Mode: "latency", Server: c.RemoteAddr().String(), MsgSize: p.msgSize, Intervals: []latencyInterval{}}
	what := "for " + p.duration.String()
	if p.duration == 0 {
		what = fmt.Sprintf("%d requests", p.count)
	}
	fmt.Fprintf(out, "tju bench: latency to %s, %d-byte requests, %s\n", res.Server, p.msgSize, what)
	fmt.Fprint(out, "         interval   requests     req/s       p50       p99\n")
	req := make([]byte, p.msgSize)
	resp := make([]byte, p.msgSize)
	var lat []time.Duration
	start := time.Now()
	ivStart, ivFirst := start, 0
	flush := func(now time.Time) {
		if len(lat) == ivFirst {
			return
		}
		s := summarize(lat[ivFirst:])
		iv := latencyInterval{Start: ivStart.Sub(start).Seconds(), End: now.Sub(start).Seconds(), Requests: len(lat) - ivFirst, P50us: s.P50, P99us: s.P99}
		res.Intervals = append(res.Intervals, iv)
		fmt.Fprintf(out, "  %s  %9d  %8.0f  %8s  %8s\n", span(iv.Start, iv.End), iv.Requests,
			float64(iv.Requests)/(iv.End-iv.Start), usDur(s.P50), usDur(s.P99))
		ivStart, ivFirst = now, len(lat)
	}
	for {
		now := time.Now()
		if p.duration > 0 && now.Sub(start) >= p.duration || p.count > 0 && len(lat) >= p.count {
			break
		}
		if p.interval > 0 && now.Sub(ivStart) >= p.interval {
			flush(now)
		}
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			return nil, connError(ctx, "sending a request", err)
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("the peer closed without answering: is it a tju bench server?")
			}
			return nil, connError(ctx, "waiting for a response", err)
		}
		lat = append(lat, time.Since(t0))
	}
	end := time.Now()
	if p.interval > 0 {
		flush(end)
	}
	if err := c.CloseWrite(); err != nil {
		return nil, connError(ctx, "closing", err)
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return nil, connError(ctx, "closing", err)
	}
	res.Requests = len(lat)
	res.Seconds = end.Sub(start).Seconds()
	res.PerSecond = float64(res.Requests) / res.Seconds
	res.LatencyUS = summarize(lat)
	res.Retransmit = c.Info().Retransmits
	s := res.LatencyUS
	fmt.Fprintln(out, "  - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -")
	fmt.Fprintf(out, "  %d requests in %s: %.0f per second; %d %s retransmitted\n", res.Requests,
		formatDuration(end.Sub(start)), res.PerSecond, res.Retransmit, pluralize(int(res.Retransmit), "segment", "segments"))
	fmt.Fprintf(out, "  round trip: min %s, mean %s, p50 %s, p90 %s, p99 %s, max %s\n",
		usDur(s.Min), usDur(s.Mean), usDur(s.P50), usDur(s.P90), usDur(s.P99), usDur(s.Max))
	return res, nil
}
