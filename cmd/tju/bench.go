package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/perf"
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

	reverse  bool
	parallel int
	bitrate  units.Rate

	timeGiven, sizeGiven, portGiven, listenGiven bool
}

func newBenchCommand(e *env) *cobra.Command {
	o := &benchOptions{msgSize: 64}
	cmd := &cobra.Command{
		Use:   "bench [flags] server|client HOST[:PORT][/TJUPORT]|loopback",
		Short: "measure throughput and latency between two hosts (or over loopback), like iperf3",
		Long: `Measures TJU TCP between a bench server and a bench client, as iperf3 does
for TCP.

  server    (or -s) listens on --listen and TJU port --port and answers
            clients, several at a time, until interrupted (or after one
            with --once). It prints one line per test.
  client    (or -c HOST) connects to a server and runs one test, printing
            a line every --interval, then the totals.
  loopback  runs a server and a client in this process over 127.0.0.1, for
            a quick figure (3 s unless --time says).
  link      (tju bench link --help) runs tju and the kernel's TCP through
            the same emulated links between two network namespaces, in
            one run, and prints a table per link (needs root).

Modes:
  throughput  the client sends for --time or --size bytes (each of --parallel
              streams; with --reverse the server sends) and the receiver
              counts what arrives. Each interval shows the bytes
              the server acknowledged, the bitrate, the retransmissions,
              the congestion window and the smoothed RTT; the test ends when
              the server confirms the total it received.
  latency     the client sends requests of --msg-size bytes one at a time
              and the server echoes each; it runs for --time or
              --count requests and reports requests per second and the
              round-trip time's percentiles (p50, p90, p99) and maximum.

--json (-J) prints one JSON document at the end instead of the text, in
iperf3's -J schema, with tju's own figures under "tju". Rates are bits per
second (1 Mbit/s = 10^6 bit/s); sizes accept 64MiB, 64M, 1GB, 1048576.

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
			o.listenGiven = f.Changed("listen")
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
	o.duration, o.interval = 10*time.Second, time.Second
	fs.VarP((*seconds)(&o.duration), "time", "t", "client: how long the test runs, a `DURATION` like 10s, or seconds as iperf3 takes them (-t 10); loopback: 3s")
	fs.VarP(&o.size, "size", "n", "client, throughput: send this `SIZE` instead of running for --time (1GiB)")
	fs.IntVarP(&o.count, "count", "k", 0, "client, latency: send `N` requests instead of running for --time")
	fs.VarP(&o.msgSize, "msg-size", "l", "client, latency: the `SIZE` of each request and response")
	fs.VarP((*seconds)(&o.interval), "interval", "i", "client: print a line every `INTERVAL`, like 1s or 0.5 (0: none)")
	fs.BoolVarP(&o.json, "json", "J", false, "client: print the result as JSON, in iperf3's -J schema (tju's own figures under \"tju\")")
	fs.BoolVarP(&o.reverse, "reverse", "R", false, "client, throughput: the server sends and the client receives (as iperf3 -R)")
	fs.IntVarP(&o.parallel, "parallel", "P", 1, "client, throughput: run `N` parallel connections (as iperf3 -P)")
	fs.VarP(&o.bitrate, "bitrate", "b", "client, throughput: hold each stream's sender to this `RATE`, like 10Mbit (as iperf3 -b; 0: unlimited)")
	fs.StringVarP(&o.bind, "bind", "B", "", "client: local UDP `ADDR` of our endpoint (default: a free port); server: the address to listen on, as iperf3 -B (HOST, or HOST:PORT; same as --listen)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "client: give up connecting after this `DURATION`")
	o.addFlags(fs, false)
	cmd.AddCommand(newBenchLinkCommand(e))
	return cmd
}

// seconds is a duration flag that also takes a plain number of seconds,
// as iperf3's -t and -i do.
type seconds time.Duration

func (v *seconds) String() string {
	if *v == 0 {
		return "0" // help shows no default for an unset one
	}
	return time.Duration(*v).String()
}
func (v *seconds) Type() string { return "DURATION" }
func (v *seconds) Set(s string) error {
	if d, err := time.ParseDuration(s); err == nil {
		*v = seconds(d)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return errors.New("want a duration like 10s or 500ms, or a number of seconds like 10")
	}
	*v = seconds(f * float64(time.Second))
	return nil
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
		if o.bind != "" {
			// iperf3 users bind a server with -B HOST.
			if o.listenGiven {
				return usagef("--bind %s and --listen %s: want one address for the server", o.bind, o.listen)
			}
			o.listen = serverBindAddr(o.bind)
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

// serverBindAddr is the server's listen address for --bind: HOST:PORT as
// given, a bare HOST (or [IPv6]) on the lab's UDP port 20218.
func serverBindAddr(bind string) string {
	if _, _, err := net.SplitHostPort(bind); err == nil {
		return bind
	}
	return net.JoinHostPort(strings.Trim(bind, "[]"), strconv.Itoa(tju.LabUDPPort))
}

func benchParamsFrom(o *benchOptions, loopback bool) (perf.Test, error) {
	t := perf.Test{
		Duration: o.duration, Bytes: int64(o.size), Count: o.count, MsgSize: int(min(int64(o.msgSize), perf.MaxMessage+1)),
		Reverse: o.reverse, Rate: int64(o.bitrate), Streams: o.parallel, Interval: o.interval,
	}
	if loopback && !o.timeGiven {
		t.Duration = 3 * time.Second
	}
	switch strings.ToLower(o.mode) {
	case "throughput", "t":
		t.Mode = perf.Throughput
		if o.count != 0 {
			return t, usagef("--count is for --mode latency (want --size or --time)")
		}
		if o.sizeGiven {
			if o.timeGiven {
				return t, usagef("--time and --size: give one, not both")
			}
			if t.Bytes <= 0 {
				return t, usagef("--size 0: want at least 1 byte")
			}
			t.Duration = 0
		}
		if o.parallel < 1 || o.parallel > 128 {
			return t, usagef("--parallel %d: want 1 to 128 streams", o.parallel)
		}
	case "latency", "l":
		t.Mode = perf.Latency
		switch {
		case o.sizeGiven:
			return t, usagef("--size is for --mode throughput (want --count or --time)")
		case o.reverse || o.parallel != 1 || o.bitrate != 0:
			return t, usagef("--reverse, --parallel and --bitrate are for --mode throughput")
		case o.count < 0:
			return t, usagef("--count %d: want a positive number of requests", o.count)
		case o.count > 0 && o.timeGiven:
			return t, usagef("--time and --count: give one, not both")
		case t.MsgSize < 1 || t.MsgSize > perf.MaxMessage:
			return t, usagef("--msg-size: want 1 byte to 1MiB")
		}
		if o.count > 0 {
			t.Duration = 0
		}
	default:
		return t, usagef("--mode %q: want throughput or latency", o.mode)
	}
	if t.Duration < 0 || (t.Duration == 0 && t.Bytes == 0 && t.Count == 0) {
		return t, usagef("--time %v: want a positive duration like 10s", o.duration)
	}
	if err := checkInterval("--interval", t.Interval); err != nil {
		return t, err
	}
	if o.timeout <= 0 {
		return t, usagef("--timeout %v: want a positive duration like 10s", o.timeout)
	}
	return t, nil
}

// benchServer serves tests until ctx ends (or one test with --once).
func benchServer(ctx context.Context, o *benchOptions, e *env) error {
	t, err := newServer(&o.transportOptions, e, o.listen)
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

	accept := func(ctx context.Context) (net.Conn, error) {
		c, err := l.AcceptTJU(ctx)
		if err != nil {
			return nil, err
		}
		t.conns.add(c)
		t.log.Debug("bench: accepted", "conn", c.String())
		return c, nil
	}
	served := func(c net.Conn, rep perf.ServerReport, err error) error {
		t.conns.remove(c.(*tju.Conn))
		if err != nil {
			return connError(ctx, rep.Peer, err)
		}
		fmt.Fprintln(e.stdout, rep)
		return nil
	}
	if o.once {
		c, err := accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return errors.New("interrupted while waiting for a client")
			}
			return err
		}
		rep, err := perf.ServeConn(ctx, c)
		return served(c, rep, err)
	}
	err = perf.Serve(ctx, accept, func(c net.Conn, rep perf.ServerReport, err error) {
		if err := served(c, rep, err); err != nil {
			t.con.Printf("tju bench server: %v", err)
		}
	})
	if ctx.Err() != nil {
		return nil // a server ends with Ctrl-C
	}
	return err
}

// benchLoopback runs a server in this process and a client against it.
func benchLoopback(ctx context.Context, o *benchOptions, e *env, p perf.Test) error {
	srvT, err := newTransport(&o.transportOptions, e, trace.RoleServer)
	if err != nil {
		return err
	}
	defer srvT.Close()
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
	served := make(chan struct{})
	defer func() { stop(); <-served }()
	go func() {
		defer close(served)
		accept := func(ctx context.Context) (net.Conn, error) { return l.AcceptTJU(ctx) }
		perf.Serve(sctx, accept, func(_ net.Conn, _ perf.ServerReport, err error) {
			if err != nil && sctx.Err() == nil {
				srvT.con.Printf("tju bench: server side: %v", err)
			}
		})
	}()
	return benchClient(ctx, o, e, l.Addr().String(), p)
}

// benchClient runs one test against the server at addr.
func benchClient(ctx context.Context, o *benchOptions, e *env, addr string, p perf.Test) error {
	hostport, inAddr, err := splitPeer("server address", addr, o.bind)
	if err != nil {
		return err
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
	ep, closeEP, err := t.openClient(ctx, o.bind, hostport)
	if err != nil {
		return err
	}
	defer closeEP()
	stopStats := startStats(ctx, t.con, t.stats, &t.conns)
	defer stopStats()

	var out io.Writer = e.stdout
	if o.json {
		out = io.Discard
	}
	peer := fmt.Sprintf("%s/%d", hostport, port)
	var head sync.Once // printed once connected, not before a failure
	p.OnInterval = func(iv perf.Interval) { perf.WriteInterval(out, iv) }
	p.OnLatency = func(iv perf.LatencyInterval) { perf.WriteLatencyInterval(out, iv) }
	var dialErr error
	dialer := func(ctx context.Context) (net.Conn, error) {
		c, err := dial(ctx, ep, hostport, port, o.timeout)
		if err != nil {
			dialErr = err // worded by dial already
			return nil, err
		}
		t.conns.add(c)
		head.Do(func() { perf.WriteHead(out, p, peer, cfgName(t.cfg)) })
		return c, nil
	}
	res, err := perf.Run(ctx, dialer, p)
	if err != nil {
		if err != dialErr { // dial's errors are worded already
			err = connError(ctx, "the test failed", err)
		}
		if o.json {
			// As iperf3 -J: scripts read the failure on stdout too.
			json.NewEncoder(e.stdout).Encode(map[string]string{"error": err.Error()})
		}
		return err
	}
	stopStats()
	if err := t.Close(); err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.JSON(version(), ccOf(t.cfg)))
	}
	res.WriteText(out)
	if note := t.traceNote(trace.RoleClient); note != "" {
		t.con.Printf("%s", note)
	}
	return nil
}

// ccOf names the congestion control cfg selects, the default included.
func ccOf(cfg *tju.Config) string {
	if cfg.CongestionControl == "" {
		return tju.DefaultCongestionControl(cfg.Lab)
	}
	return cfg.CongestionControl
}

func cfgName(cfg *tju.Config) string {
	s := ccOf(cfg)
	if cfg.Plain {
		s += ", plain header"
	}
	return s
}
