package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/tjunet/tjunet/console"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/tjuprom"
	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/trace/traceio"
	"github.com/tjunet/tjunet/xfer"
)

// transportOptions are the flags shared by send, recv and bench, which run
// real connections.
type transportOptions struct {
	port     uint16
	cc       string
	plain    bool
	lab      bool
	skeleton bool
	isn      string
	labWnd   bool
	trace    string
	stats    time.Duration
	metrics  string
	verbose  bool
	progress console.Mode

	keepAlive, userTimeout time.Duration
	fs                     *pflag.FlagSet // to tell a flag left at its default
}

// addFlags declares the transport flags on fs; progress adds --progress.
func (o *transportOptions) addFlags(fs *pflag.FlagSet, progress bool) {
	fs.Uint16VarP(&o.port, "port", "p", tju.DefaultPort, "`TJUPORT` to listen on or dial (the lab's server listens on 1234)")
	ccFlag(fs, &o.cc)
	fs.BoolVar(&o.plain, "plain", false, "offer no tjunet header options (window scaling, SACK, the per-segment MAC or CRC-32C, RST), as the lab's C peers")
	fs.BoolVar(&o.lab, "lab", false, "behave exactly as a TJU lab host: plain segments, replies to the peer's UDP port 20218, client TJU port 5678, a 2 s TIME_WAIT (with --bind/--listen :20218)")
	fs.BoolVar(&o.skeleton, "skeleton", false, "send data with no flag bits and a bare FIN, as the lab's skeleton code does (for lab peers that expect it)")
	fs.StringVar(&o.isn, "isn", "", "start every connection at this initial sequence `NUMBER` instead of a random one (--isn 0 for lab code that assumes the peer's ISN is 0; the lab wants random ISNs)")
	fs.BoolVar(&o.labWnd, "lab-window", false, "take a window of 1 in the peer's SYN or SYN-ACK as a field it never fills (lab skeleton code) and send with the lab's fixed 44,000-byte window")
	fs.StringVar(&o.trace, "trace", "", "write the lab's event trace into `DIR` (client.event.trace or server.event.trace)")
	fs.DurationVar(&o.stats, "stats", 0, "print the connection's state, RTT, windows and counters on stderr every `INTERVAL`, like 1s")
	fs.StringVar(&o.metrics, "metrics", "", "serve the endpoint's and connections' counters at http://`ADDR`/metrics (Prometheus) and /debug/vars (expvar), like localhost:6060")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log connection state changes and retransmission events on stderr")
	fs.DurationVar(&o.keepAlive, "keepalive", tju.DefaultKeepAlive, "probe a peer silent for `DURATION`, and again every DURATION (0: never; off with --lab unless given)")
	fs.DurationVar(&o.userTimeout, "user-timeout", tju.DefaultUserTimeout, "end the connection when data or a probe goes unanswered for `DURATION` (0: never): with the defaults a dead peer is noticed within 55s")
	o.fs = fs
	if progress {
		fs.Var(&o.progress, "progress", "draw a progress bar on stderr: auto (when stderr is a terminal), true or false")
		fs.Lookup("progress").NoOptDefVal = "true"
	}
}

// labMSL keeps a lab-mode command's TIME_WAIT short (2*MSL = 2 s): long
// enough to acknowledge a retransmitted FIN, as the lab's checks want.
const labMSL = time.Second

// transport is what a command made of the transport flags.
type transport struct {
	lab         bool
	port        uint16
	cfg         *tju.Config
	con         *console.Console
	log         *slog.Logger // never nil; discards unless -v
	traceDir    string
	tracer      *traceio.Writer // nil without --trace
	traceClosed bool
	stats       time.Duration
	metrics     string
	progress    bool
	conns       connSet
}

// newTransport makes the transport of the flags in o. role names the
// trace file (trace.RoleClient or trace.RoleServer). Close must be called
// when done.
func newTransport(o *transportOptions, e *env, role string) (*transport, error) {
	t := &transport{con: console.New(e.stderr)}
	if o.port == 0 {
		return nil, usagef("--port 0: want a TJU port from 1 to 65535")
	}
	t.port = o.port
	cc := o.cc
	t.stats = o.stats
	if err := checkInterval("--stats", t.stats); err != nil {
		return nil, err
	}
	t.metrics = o.metrics
	t.progress = o.progress.Enabled(e.stderr)
	t.lab = o.lab
	t.cfg = &tju.Config{Port: t.port, CongestionControl: cc, Plain: o.plain,
		Lab: t.lab, SkeletonShape: o.skeleton}
	if t.lab {
		t.cfg.MSL = labMSL
	}
	if o.keepAlive < 0 || o.userTimeout < 0 {
		return nil, usagef("--keepalive %v, --user-timeout %v: want durations of 0 (never) or more, like 15s", o.keepAlive, o.userTimeout)
	}
	switch {
	case o.keepAlive == 0:
		t.cfg.KeepAlive = -1
	case t.lab && !o.fs.Changed("keepalive"):
		// A lab host sends no keep-alives: leave the library's lab default.
	default:
		t.cfg.KeepAlive = o.keepAlive
	}
	t.cfg.UserTimeout = o.userTimeout
	if o.userTimeout == 0 {
		t.cfg.UserTimeout = -1
	}
	t.cfg.LabWindow = o.labWnd
	if o.isn != "" {
		isn, err := strconv.ParseUint(o.isn, 0, 32)
		if err != nil {
			return nil, usagef("--isn %q: want a sequence number from 0 to 4294967295", o.isn)
		}
		t.cfg.ISN = new(uint32(isn))
	}
	if o.verbose {
		t.log = slog.New(slog.NewTextHandler(t.con, &slog.HandlerOptions{Level: slog.LevelDebug}))
		t.cfg.Logger = t.log
	} else {
		t.log = slog.New(slog.DiscardHandler)
	}
	if dir := o.trace; dir != "" {
		w, err := traceio.Create(dir, role)
		if err != nil {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		t.traceDir, t.tracer, t.cfg.Tracer = dir, w, w
	}
	return t, nil
}

// newServer makes the transport of a server-side command (recv, bench -s)
// after checking its --listen address.
func newServer(o *transportOptions, e *env, listen string) (*transport, error) {
	if err := checkUDPAddr("--listen", listen); err != nil {
		return nil, err
	}
	return newTransport(o, e, trace.RoleServer)
}

// openClient opens a client's endpoint at bind (empty: a free port of the
// peer's family, or the lab's UDP port with --lab) and serves --metrics
// for it. The returned function closes both.
func (t *transport) openClient(ctx context.Context, bind, peer string) (*tju.Endpoint, func(), error) {
	if bind == "" && t.lab {
		bind = fmt.Sprintf(":%d", tju.LabUDPPort) // a lab host's one UDP port
	}
	if bind == "" {
		bind = tju.LocalAddrFor(ctx, peer)
	}
	ep, err := tju.OpenEndpoint(bind, t.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the local endpoint: %w", inWords(err))
	}
	stopMetrics, err := t.serve(ep)
	if err != nil {
		ep.Close()
		return nil, nil, err
	}
	return ep, func() { stopMetrics(); ep.Close() }, nil
}

// checkInterval reports a reporting interval that is negative or so short
// that printing would be all the command does.
func checkInterval(flag string, d time.Duration) error {
	if d < 0 || (d > 0 && d < 10*time.Millisecond) {
		return usagef("%s %v: want 0 (none) or an interval of at least 10ms, like 1s", flag, d)
	}
	return nil
}

// serve starts --metrics for ep, if asked, and returns a function that
// stops it.
func (t *transport) serve(ep *tju.Endpoint) (stop func(), err error) {
	if t.metrics == "" {
		return func() {}, nil
	}
	m, err := tjuprom.Serve(t.metrics, ep, t.conns.list, t.conns.seen.Load)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	t.con.Printf("metrics at %s/metrics (Prometheus) and %s/debug/vars (expvar)", m.URL(), m.URL())
	return m.Close, nil
}

// Close flushes and closes the trace; it may be called again.
func (t *transport) Close() error {
	if t.tracer == nil || t.traceClosed {
		return nil
	}
	t.traceClosed = true
	err := t.tracer.Close()
	if err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}
	return nil
}

// traceNote says where the trace went, for the summary.
func (t *transport) traceNote(role string) string {
	if t.tracer == nil {
		return ""
	}
	return "trace written to " + filepath.Join(t.traceDir, trace.FileName(role))
}

// splitPeer reads HOST[:PORT][/TJUPORT] for send and bench client: the UDP
// address of the peer's endpoint (port 20218, the lab's, if omitted) and
// the TJU port, 0 if not given. Its errors are usage errors.
// bind, if not empty, is the client's --bind, checked too.
func splitPeer(what, s, bind string) (hostport string, tjuPort uint16, err error) {
	hostport, tjuPort, err = tju.ParseAddr(s)
	var ae *tju.AddrError
	if errors.As(err, &ae) {
		return "", 0, usagef("%s %q: %s", what, s, ae.Why)
	}
	if err == nil && bind != "" {
		err = checkUDPAddr("--bind", bind)
	}
	return hostport, tjuPort, err
}

// checkUDPAddr reports a --listen or --bind address that is not
// [HOST]:PORT with a port from 0 (any free one) to 65535, as a usage error.
func checkUDPAddr(flag, s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return usagef("%s %q: want [HOST]:PORT, like :20218 or 127.0.0.1:0", flag, s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil || strings.TrimLeft(port, "0123456789") != "" {
		return usagef("%s %q: want a UDP port from 0 to 65535 after the colon", flag, s)
	}
	if strings.ContainsAny(host, " /") {
		return usagef("%s %q: %q is not a host name or IP address", flag, s, host)
	}
	return nil
}

// peerPort picks the TJU port to dial: the one in the address, else --port.
// portGiven says whether --port was on the command line.
func (t *transport) peerPort(portGiven bool, inAddr uint16) (uint16, error) {
	if inAddr == 0 {
		return t.port, nil
	}
	if portGiven && inAddr != t.port {
		return 0, usagef("the address says TJU port %d but --port says %d", inAddr, t.port)
	}
	return inAddr, nil
}

// dial connects ep to TJU port port at addr within timeout, with an error
// message that says what went wrong in words.
func dial(ctx context.Context, ep *tju.Endpoint, addr string, port uint16, timeout time.Duration) (*tju.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := ep.Dial(dctx, addr, port)
	if err == nil {
		return c, nil
	}
	where := fmt.Sprintf("%s (TJU port %d)", addr, port)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("interrupted while connecting to %s", where)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, tju.ErrConnTimeout):
		return nil, fmt.Errorf("no answer from %s within %v: is a receiver (tju recv, tju bench server) running there, on that UDP port and TJU port? (--timeout sets how long to wait)", where, timeout)
	case errors.Is(err, tju.ErrPortUnreachable):
		return nil, fmt.Errorf("nothing listens at %s: its host answered ICMP port unreachable (is tju recv or tju bench -s running there, on that UDP port?)", addr)
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("%s refused the connection: its endpoint is up but nothing listens on TJU port %d (see --port)", addr, port)
	}
	return nil, fmt.Errorf("cannot connect to %s: %w", where, inWords(err))
}

// connError turns an error of a transfer into words.
func connError(ctx context.Context, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: interrupted", what)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%s: the peer reset the connection (it stopped or failed)", what)
	}
	// A timeout says itself for how long the peer was silent and what
	// went unanswered: "connection timed out: the peer stopped answering
	// for 55s (3 keep-alive probes unanswered)".
	return fmt.Errorf("%s: %w", what, inWords(err))
}

// inWords strips what the message of a library error repeats of the
// command's own words: the "dial tju 127.0.0.1:9/1234:" of a
// *net.OpError (the command names the peer itself) and the "tju: "
// package prefix, so that a line reads "tju send: cannot connect to
// HOST: WHY", not "tju send: ...: dial tju HOST: tju: WHY". The error
// stays in the chain for errors.Is.
func inWords(err error) error {
	var oe *net.OpError
	inner := err
	for errors.As(inner, &oe) && oe.Err != nil {
		inner = oe.Err
	}
	msg := inner.Error()
	for {
		m, ok := strings.CutPrefix(msg, "tju: ")
		if !ok {
			break
		}
		msg = m
	}
	if msg == err.Error() {
		return err
	}
	return &wordedError{msg: msg, err: err}
}

// wordedError is an error with a shorter message than the error it wraps.
type wordedError struct {
	msg string
	err error
}

func (e *wordedError) Error() string { return e.msg }
func (e *wordedError) Unwrap() error { return e.err }

// ccFlag declares --cc (-C) on fs, bound to p: a name of
// tju.CongestionControls, checked as it is parsed.
func ccFlag(fs *pflag.FlagSet, p *string) {
	*p = "" // the library's default: bbr, or reno with --lab
	var help []string
	for _, c := range tju.CongestionControls {
		help = append(help, c.Name+" ("+c.What+")")
	}
	fs.VarP((*ccName)(p), "cc", "C", "congestion control `NAME`: "+strings.Join(help, ", "))
}

// ccName is the value of --cc.
type ccName string

func (c *ccName) String() string { return string(*c) }
func (c *ccName) Type() string   { return "NAME" }
func (c *ccName) Set(s string) error {
	if !tju.IsCongestionControl(s) {
		names := tju.CongestionControlNames()
		return fmt.Errorf("want %s or %s", strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
	}
	*c = ccName(strings.ToLower(s))
	return nil
}

// listen opens the endpoint at --listen, listens on the TJU port, serves
// --metrics and announces the address on stderr (and in --ready-file):
// what every server-side command does before accepting. The returned
// function undoes it all.
func (t *transport) listen(listen, readyFile, who string) (*tju.Listener, func(), error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	ep, err := tju.OpenEndpoint(listen, t.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot listen on %s: %w", listen, inWords(err))
	}
	undo = append(undo, func() { ep.Close() })
	l, err := ep.Listen(t.port)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	undo = append(undo, func() { l.Close() })
	stopMetrics, err := t.serve(ep)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	undo = append(undo, stopMetrics)
	addr := l.Addr().String()
	t.con.Printf("%s: listening on %s", who, addr)
	if rf := readyFile; rf != "" {
		if err := xfer.WriteFileAtomic(rf, addr+"\n"); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("--ready-file: %w", err)
		}
	}
	return l, cleanup, nil
}
