package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/trace"
)

// flagValue returns the value of the flag name declared on fs.
func flagValue[T any](fs *flag.FlagSet, name string) T {
	return fs.Lookup(name).Value.(flag.Getter).Get().(T)
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// The flags shared by send, recv and bench, which run real connections.
//
//	--port N        TJU port
//	--cc NAME       congestion control
//	--plain         no tjunet header options (as the lab's C peers)
//	--trace DIR     the lab's event trace
//	--stats D       print each connection's Info every D
//	--metrics ADDR  serve /debug/vars
//	--progress      progress bar (default: when stderr is a terminal)
//	-v              log connection state changes
func transportFlags(fs *flag.FlagSet, progress bool) {
	fs.Uint("port", tju.DefaultPort, "TJU `port` (the lab's server listens on 1234)")
	fs.String("cc", "reno", "congestion control: reno (the lab's), cubic, or bbr (model-based; for lossy long paths)")
	fs.Bool("plain", false, "offer no tjunet header options (window scaling, SACK, CRC-32C, RST), as the lab's C peers")
	fs.Bool("lab", false, "behave exactly as a TJU lab host: plain segments, replies to the peer's UDP port 20218, client TJU port 5678, a 2 s TIME_WAIT (with --bind/--listen :20218)")
	fs.Bool("skeleton", false, "send data with no flag bits and a bare FIN, as the lab's skeleton code does (for lab peers that expect it)")
	fs.String("trace", "", "write the lab's event trace into `DIR` (client.event.trace or server.event.trace)")
	fs.Duration("stats", 0, "print the connection's state, RTT, windows and counters on stderr every `interval` (1s)")
	fs.String("metrics", "", "serve the expvar page http://ADDR/debug/vars with the endpoint's and connections' counters on `addr` (localhost:6060)")
	fs.Bool("v", false, "verbose: log connection state changes and retransmission events on stderr")
	if progress {
		fs.Var(&progressMode{}, "progress", "draw a progress bar on stderr (default: only when stderr is a terminal; --progress=false: never)")
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
	con         *console
	log         *slog.Logger // never nil; discards unless -v
	traceDir    string
	tracer      *trace.Writer // nil without --trace
	traceClosed bool
	stats       time.Duration
	metrics     string
	progress    bool
	conns       connSet
}

// newTransport reads the transport flags. role names the trace file
// (trace.RoleClient or trace.RoleServer). Close must be called when done.
func newTransport(fs *flag.FlagSet, e *env, role string) (*transport, error) {
	t := &transport{con: newConsole(e.stderr)}
	port := flagValue[uint](fs, "port")
	if port == 0 || port > 65535 {
		return nil, usagef("--port %d: want a TJU port from 1 to 65535", port)
	}
	t.port = uint16(port)
	cc := strings.ToLower(flagValue[string](fs, "cc"))
	if err := checkCC(cc); err != nil {
		return nil, err
	}
	t.stats = flagValue[time.Duration](fs, "stats")
	if t.stats < 0 || (t.stats > 0 && t.stats < 10*time.Millisecond) {
		return nil, usagef("--stats %v: want an interval of at least 10ms, like 1s", t.stats)
	}
	t.metrics = flagValue[string](fs, "metrics")
	if fs.Lookup("progress") != nil {
		t.progress = flagValue[progressMode](fs, "progress").enabled(e.stderr)
	}
	t.lab = flagValue[bool](fs, "lab")
	t.cfg = &tju.Config{Port: t.port, CongestionControl: cc, Plain: flagValue[bool](fs, "plain"),
		Lab: t.lab, SkeletonShape: flagValue[bool](fs, "skeleton")}
	if t.lab {
		t.cfg.MSL = labMSL
	}
	if flagValue[bool](fs, "v") {
		t.log = slog.New(slog.NewTextHandler(t.con, &slog.HandlerOptions{Level: slog.LevelDebug}))
		t.cfg.Logger = t.log
	} else {
		t.log = slog.New(slog.DiscardHandler)
	}
	if dir := flagValue[string](fs, "trace"); dir != "" {
		w, err := trace.Create(dir, role)
		if err != nil {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		t.traceDir, t.tracer, t.cfg.Tracer = dir, w, w
	}
	return t, nil
}

// serve starts --metrics for ep, if asked, and returns a function that
// stops it.
func (t *transport) serve(ep *tju.Endpoint) (stop func(), err error) {
	if t.metrics == "" {
		return func() {}, nil
	}
	m, err := startMetrics(t.metrics, endpointVars(ep, &t.conns))
	if err != nil {
		return nil, err
	}
	t.con.Printf("metrics at %s", m.URL())
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
// the TJU port, 0 if not given.
func splitPeer(s string) (hostport string, tjuPort uint16, err error) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		p, perr := strconv.ParseUint(s[i+1:], 10, 16)
		if perr != nil || p == 0 {
			return "", 0, fmt.Errorf("bad TJU port after / in %q", s)
		}
		s, tjuPort = s[:i], uint16(p)
	}
	if s == "" {
		return "", 0, errors.New("empty address")
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		host := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if strings.Contains(host, ":") && !strings.HasPrefix(s, "[") && strings.Count(host, ":") == 1 {
			return "", 0, fmt.Errorf("bad address %q: %v", s, err)
		}
		s = net.JoinHostPort(host, "20218")
	}
	return s, tjuPort, nil
}

// peerPort picks the TJU port to dial: the one in the address, else --port.
func (t *transport) peerPort(fs *flag.FlagSet, inAddr uint16) (uint16, error) {
	if inAddr == 0 {
		return t.port, nil
	}
	if flagSet(fs, "port") && inAddr != t.port {
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
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("%s refused the connection: its endpoint is up but nothing listens on TJU port %d (see --port)", addr, port)
	}
	return nil, fmt.Errorf("cannot connect to %s: %w", where, err)
}

// connError turns an error of a transfer into words.
func connError(ctx context.Context, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: interrupted", what)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%s: the peer reset the connection (it stopped or failed)", what)
	case errors.Is(err, syscall.ETIMEDOUT):
		return fmt.Errorf("%s: the peer stopped answering (retransmissions ran out)", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// positionalArgs returns the arguments left after the flags main parsed,
// parsing the flags that follow them ("tju send HOST FILE --cc cubic").
// A "--" ends the flags. After --help it prints the usage and returns
// errHelpShown.
func positionalArgs(fs *flag.FlagSet, e *env, name string) ([]string, error) {
	var pos []string
	args := fs.Args()
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--":
			return append(pos, args[1:]...), nil
		case len(a) > 1 && a[0] == '-':
			fs.SetOutput(io.Discard) // run reports the error
			if err := fs.Parse(args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					printUsage(e.stdout, commands[name], fs)
					return nil, errHelpShown
				}
				return nil, usageError{err}
			}
			args = fs.Args()
		default:
			pos = append(pos, a)
			args = args[1:]
		}
	}
	return pos, nil
}

// errHelpShown says that the usage was printed for a --help after the
// arguments; a command returns it as it is and run exits 0.
var errHelpShown = errors.New("help shown")

// checkCC reports a --cc value the transport does not know.
func checkCC(cc string) error {
	switch cc {
	case "reno", "cubic", "bbr":
		return nil
	}
	return usagef("--cc %q: want reno, cubic or bbr", cc)
}

// listen opens the endpoint at --listen, listens on the TJU port, serves
// --metrics and announces the address on stderr (and in --ready-file):
// what every server-side command does before accepting. The returned
// function undoes it all.
func (t *transport) listen(fs *flag.FlagSet, who string) (*tju.Listener, func(), error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	ep, err := tju.OpenEndpoint(flagValue[string](fs, "listen"), t.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot listen: %w", err)
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
	if rf := flagValue[string](fs, "ready-file"); rf != "" {
		if err := writeFileAtomic(rf, addr+"\n"); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("--ready-file: %w", err)
		}
	}
	return l, cleanup, nil
}
