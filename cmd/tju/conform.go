package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/netem"
)

func init() {
	register(&command{
		name:     "conform",
		summary:  "check a TJU implementation with the lab's grader programs and transition checks",
		usage:    conformUsage,
		setFlags: conformFlags,
		run:      runConform,
	})
}

const conformUsage = `Usage: tju conform [flags] client
       tju conform [flags] server [HOST[:PORT]]

Plays the TJU lab's four grader programs (receiver, sender, close_server 0
and 1, close_client_for_server 0 and 1) exactly as the lab runs them, and
one check per transition of the lab's connection diagram and teardown
states (retransmission timing observed on the wire included), against a
TJU implementation, and prints a report of every check: what it expected
and what arrived. Every datagram is also held to the lab's wire format (a
20-byte header, exact plen, ext 0, no options, at most 1375 bytes of
payload). Each check is one connection.

"client": the implementation is a client. conform plays the lab's server
host (--listen, default :20218, TJU port 1234) and waits, for each check,
for the client to connect (--wait). Run the client once per check; before
each check conform prints what the client's application must do (for
most: connect, then close, sending at most 32 bytes).

"server": the implementation is a server at HOST:PORT (default
172.17.0.3:20218, the lab's server host). conform connects from --listen
(default :20218, as the lab's client host) once per check, from TJU port
5678 and up (--port-base); the server must accept a connection per check
("tju recv --keep" does).

With --transfer it then runs the lab's transfer check: --size bytes (or
--file) sent to the server, or received from the client, over a link
impaired at conform's own end (--loss, --delay, --jitter, ... as in "tju
netem"), verified byte for byte (the client's --file, or the server's
output --compare), and reports the megabytes delivered within --limit
(90 s), as the lab scores them.

The exit status is 0 when every check passes, 1 otherwise, 2 for a usage
error. --json prints the report as JSON, for CI.

Examples:
  # On the lab's server host: check a client (run it once per check).
  tju conform client

  # Check a server, then send it 10 MB over 2% loss and 20 ms of delay;
  # the server writes what it gets to out.bin, which conform compares.
  tju conform --transfer --size 10MB --compare out.bin --loss 2% --delay 20ms server 172.17.0.3

  # Only the lab's grader programs, as JSON:
  tju conform --group grader --json server 172.17.0.3:20218

  # List the checks:
  tju conform --list client`

func conformFlags(fs *flag.FlagSet) {
	fs.String("listen", ":20218", "UDP `address` of conform's end (the lab's hosts use port 20218)")
	fs.String("check", "", "run only these checks (comma-separated `names`, as --list prints them; \"none\": only --transfer)")
	fs.String("group", "", "run only these groups: grader, transition, tolerance (comma-separated)")
	fs.Bool("list", false, "list the checks for the role and exit")
	fs.String("shape", "any", "the sending shape the implementation must use for data and FIN: any, tcp (with the ACK bit) or skeleton (flags 0, FIN alone)")
	fs.Duration("wait", time.Minute, "client: how long each check waits for the client's SYN")
	fs.Bool("lab", true, "answer the peer host's port 20218 whatever port its datagrams come from, as a lab host (--lab=false: answer the source address)")
	fs.Uint("port-base", labpeer.LabClientPort, "server: the TJU `port` of the first check; each next check uses the next port")
	fs.Bool("transfer", false, "also run the lab's transfer check")
	fs.Var(new(sizeValue), "size", "transfer, server: bytes to send (`size`, default 10MiB; the lab sends 50 MB)")
	fs.String("file", "", "transfer: the `file` to send (server), or the file the client sends, to verify what arrives (client)")
	fs.String("compare", "", "transfer, server: the `file` the server writes, compared with what was sent")
	fs.Duration("limit", labpeer.LabLimit, "transfer: the scoring window; the transfer is cut off there")
	impairmentFlags(fs, "transfer: ", ", on conform's own end, both ways", false)
	fs.Bool("json", false, "print the report as JSON")
	fs.Bool("v", false, "print every check's steps and the transcript of its datagrams")
}

// conformConfig is what runConform read from the command line.
type conformConfig struct {
	role     labpeer.Role
	listen   string
	checks   []labpeer.Check
	opts     labpeer.Options
	portBase uint16
	verbose  bool

	transfer bool
	topts    labpeer.TransferOptions
	file     string // the data: sent (server) or expected (client)
	size     int64
	compare  string
}

func readConformFlags(fs *flag.FlagSet) (*conformConfig, bool, error) {
	args := fs.Args()
	if len(args) == 0 {
		return nil, false, usagef("missing the role: client or server")
	}
	cfg := &conformConfig{listen: flagValue[string](fs, "listen"), verbose: flagValue[bool](fs, "v")}
	switch args[0] {
	case "client":
		cfg.role = labpeer.Client
		if len(args) > 1 {
			return nil, false, usagef("unexpected arguments %q: a client comes to conform", args[1:])
		}
	case "server":
		cfg.role = labpeer.Server
		peer := labpeer.LabServerAddr.String()
		if len(args) > 2 {
			return nil, false, usagef("unexpected arguments %q", args[2:])
		}
		if len(args) == 2 {
			peer = args[1]
		}
		ap, err := resolvePeer(peer)
		if err != nil {
			return nil, false, usagef("server address: %v", err)
		}
		cfg.opts.Peer = ap
	default:
		return nil, false, usagef("unknown role %q: want client or server", args[0])
	}
	checks, err := selectChecks(cfg.role, flagValue[string](fs, "check"), flagValue[string](fs, "group"))
	if err != nil {
		return nil, false, err
	}
	cfg.checks = checks
	if len(checks) == 0 && !flagValue[bool](fs, "transfer") {
		return nil, false, usagef("--check none runs no check: add --transfer")
	}
	if flagValue[bool](fs, "list") {
		return cfg, true, nil
	}
	switch s := flagValue[string](fs, "shape"); s {
	case "any":
	case "tcp":
		cfg.opts.Shape = labpeer.TCPShape
	case "skeleton":
		cfg.opts.Shape = labpeer.SkeletonShape
	default:
		return nil, false, usagef("--shape %q: want any, tcp or skeleton", s)
	}
	cfg.opts.StartWait = flagValue[time.Duration](fs, "wait")
	if cfg.opts.StartWait <= 0 {
		return nil, false, usagef("--wait must be positive")
	}
	cfg.opts.LabReply = flagValue[bool](fs, "lab")
	cfg.opts.Transcript = true
	pb := flagValue[uint](fs, "port-base")
	if pb == 0 || pb > 65535-uint(len(cfg.checks)) {
		return nil, false, usagef("--port-base %d: want a TJU port with room for %d checks", pb, len(cfg.checks))
	}
	cfg.portBase = uint16(pb)

	cfg.transfer = flagValue[bool](fs, "transfer")
	cfg.file = flagValue[string](fs, "file")
	cfg.size = flagValue[int64](fs, "size")
	cfg.compare = flagValue[string](fs, "compare")
	t := &cfg.topts
	t.IUT, t.Peer, t.Lab = cfg.role, cfg.opts.Peer, cfg.opts.LabReply
	t.Skeleton = cfg.opts.Shape == labpeer.SkeletonShape
	t.Limit = flagValue[time.Duration](fs, "limit")
	t.Wait = cfg.opts.StartWait
	if t.Limit <= 0 {
		return nil, false, usagef("--limit must be positive")
	}
	if cfg.role == labpeer.Client && (cfg.compare != "" || flagSet(fs, "size")) {
		return nil, false, usagef("--size and --compare are for checking a server; a client sends what it sends (verify it with --file)")
	}
	if !cfg.transfer && (cfg.file != "" || cfg.compare != "" || flagSet(fs, "size")) {
		return nil, false, usagef("--file, --size and --compare describe the transfer check: add --transfer")
	}
	if cfg.size == 0 {
		cfg.size = 10 << 20
	}
	t.Out, t.In, err = readImpairments(fs, false)
	if err != nil {
		return nil, false, err
	}
	return cfg, false, nil
}

// impairmentFlags declares the impairment flags of "tju netem" (--loss,
// --delay, --jitter, --rate...) but those named in skip, --seed and
// --jitter-reorders; with dirs, also each flag's -up and -down variants.
func impairmentFlags(fs *flag.FlagSet, before, after string, dirs bool, skip ...string) {
	fs.Uint64("seed", 1, "seed of the impairments' random decisions")
	fs.Bool("jitter-reorders", false, "let jitter reorder datagrams (default: jitter keeps the order)")
	for _, f := range netemImpairments {
		if slices.Contains(skip, f.name) {
			continue
		}
		fs.String(f.name, "", before+f.usage+after)
		if dirs {
			fs.String(f.name+"-up", "", "the --"+f.name+" `"+f.arg+"` of the client-to-server direction only")
			fs.String(f.name+"-down", "", "the --"+f.name+" `"+f.arg+"` of the server-to-client direction only")
		}
	}
}

// readImpairments builds the two directions from impairmentFlags' flags
// (declared with the same dirs and skip): up (client to server, or what
// we send) and down.
func readImpairments(fs *flag.FlagSet, dirs bool, skip ...string) (up, down netem.Config, err error) {
	var d [2]netemDir
	for _, f := range netemImpairments {
		if slices.Contains(skip, f.name) {
			continue
		}
		names := []string{f.name}
		if dirs {
			names = append(names, f.name+"-up", f.name+"-down")
		}
		for _, name := range names {
			v := strings.TrimSpace(fs.Lookup(name).Value.String())
			if v == "" {
				continue
			}
			for i, suffix := range []string{"-up", "-down"} {
				if name != f.name && !strings.HasSuffix(name, suffix) {
					continue
				}
				if err := f.apply(&d[i], v); err != nil {
					return up, down, usagef("invalid --%s %q: %v", name, v, err)
				}
			}
		}
	}
	var out [2]netem.Config
	for i := range d {
		c := d[i].cfg
		c.Seed = flagValue[uint64](fs, "seed") + uint64(i)
		c.JitterReorders = flagValue[bool](fs, "jitter-reorders")
		if d[i].burst > 0 {
			if c.Loss == 0 {
				return up, down, usagef("--burst sets the burst length of --loss: give a loss rate too")
			}
			ge, err := netem.BurstLoss(c.Loss, d[i].burst)
			if err != nil {
				return up, down, usageError{err}
			}
			c.Burst, c.Loss = ge, 0
		}
		if c.Rate == 0 && (c.QueueBytes > 0 || c.QueuePackets > 0) {
			return up, down, usagef("--queue needs --rate")
		}
		if err := c.Validate(); err != nil {
			return up, down, usageError{err}
		}
		out[i] = c
	}
	return out[0], out[1], nil
}

// resolvePeer reads HOST[:PORT] (port 20218 if absent).
func resolvePeer(s string) (netip.AddrPort, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(s, fmt.Sprint(labpeer.LabUDPPort))
	}
	ua, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// selectChecks returns the checks of a role, filtered by name and group.
func selectChecks(role labpeer.Role, names, groups string) ([]labpeer.Check, error) {
	if names == "none" {
		return nil, nil // only the transfer check
	}
	wantName := splitList(names)
	wantGroup := splitList(groups)
	for g := range wantGroup {
		if g != "grader" && g != "transition" && g != "tolerance" {
			return nil, usagef("--group %q: want grader, transition or tolerance", g)
		}
	}
	var out []labpeer.Check
	for _, c := range labpeer.Checks() {
		if c.IUT != role {
			continue
		}
		if len(wantName) > 0 && !wantName[c.Name] {
			continue
		}
		if len(wantGroup) > 0 && !wantGroup[c.Group.String()] {
			continue
		}
		delete(wantName, c.Name)
		out = append(out, c)
	}
	for n := range wantName {
		if labpeer.Find(n) != nil {
			return nil, usagef("--check %q is a check of a %s, not of a %s", n, labpeer.Find(n).IUT, role)
		}
		return nil, usagef("--check %q: no such check (see --list)", n)
	}
	if len(out) == 0 {
		return nil, usagef("no check selected")
	}
	return out, nil
}

func splitList(s string) map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			m[p] = true
		}
	}
	return m
}

// conformReport is the outcome of a run: what --json prints.
type conformReport struct {
	Role     string                  `json:"role"`
	Peer     string                  `json:"peer,omitempty"`
	Shape    string                  `json:"shape"`
	Results  []*labpeer.Result       `json:"results"`
	Transfer *labpeer.TransferResult `json:"transfer,omitempty"`
	Passed   int                     `json:"passed"`
	Total    int                     `json:"total"`
}

// conformRun runs the checks and the transfer. open opens conform's socket
// (it is called again for the transfer, on the same address); progress
// receives one line per event as the run goes.
func conformRun(ctx context.Context, cfg *conformConfig, open func() (net.PacketConn, error), progress func(string)) (*conformReport, error) {
	rep := &conformReport{Role: cfg.role.String(), Shape: cfg.opts.Shape.String()}
	if cfg.opts.Peer.IsValid() {
		rep.Peer = cfg.opts.Peer.String()
	}
	pc, err := open()
	if err != nil {
		return nil, err
	}
	h := labpeer.NewHost(pc)
	for i, c := range cfg.checks {
		o := cfg.opts
		if cfg.role == labpeer.Server {
			o.ClientPort = cfg.portBase + uint16(i)
		} else {
			progress(fmt.Sprintf("[%d/%d] %s: waiting up to %v for the client to connect; its application must %s",
				i+1, len(cfg.checks), c.Name, o.StartWait, c.App))
		}
		r := h.Run(ctx, &c, o)
		rep.Results = append(rep.Results, r)
		progress(fmt.Sprintf("[%d/%d] %s: %s", i+1, len(cfg.checks), c.Name, passWord(r.Pass)))
		if ctx.Err() != nil {
			break
		}
	}
	h.Close()
	if r := labpeer.ISNCheck(rep.Results); r != nil {
		rep.Results = append(rep.Results, r)
	}
	if cfg.transfer && ctx.Err() == nil {
		rep.Transfer, err = conformTransfer(ctx, cfg, open, progress)
		if err != nil {
			return nil, err
		}
	}
	for _, r := range rep.Results {
		rep.Total++
		if r.Pass {
			rep.Passed++
		}
	}
	if rep.Transfer != nil {
		rep.Total++
		if rep.Transfer.Pass {
			rep.Passed++
		}
	}
	if !cfg.verbose {
		// Transcripts are kept for failed checks only.
		for _, r := range rep.Results {
			if r.Pass {
				r.Transcript = nil
			}
		}
	}
	return rep, nil
}

func conformTransfer(ctx context.Context, cfg *conformConfig, open func() (net.PacketConn, error), progress func(string)) (*labpeer.TransferResult, error) {
	t := cfg.topts
	data := func() (io.Reader, func(), error) {
		if cfg.file != "" {
			f, err := os.Open(cfg.file)
			if err != nil {
				return nil, nil, err
			}
			return f, func() { f.Close() }, nil
		}
		if cfg.role == labpeer.Server {
			return io.LimitReader(rand.NewChaCha8(transferSeed), cfg.size), func() {}, nil
		}
		return nil, func() {}, nil
	}
	src, done, err := data()
	if err != nil {
		return nil, err
	}
	t.Data = src
	pc, err := open()
	if err != nil {
		done()
		return nil, err
	}
	if cfg.role == labpeer.Server {
		progress(fmt.Sprintf("transfer: sending to the server at %v, cut off after %v", t.Peer, t.Limit))
	} else {
		progress(fmt.Sprintf("transfer: waiting up to %v for the client to connect and send its data", t.Wait))
	}
	res := labpeer.Transfer(ctx, pc, t)
	done()
	if cfg.role == labpeer.Server && cfg.compare != "" && res.Complete {
		want, done, err := data()
		if err != nil {
			return nil, err
		}
		res.Verified = "the server's copy: " + labpeer.CompareFile(cfg.compare, want, res.Bytes)
		if strings.HasSuffix(res.Verified, ": identical") {
			res.Verified = "identical"
		}
		done()
		res.Judge()
	}
	return res, nil
}

// transferSeed seeds the data of the transfer check when no --file is given.
var transferSeed = [32]byte{'t', 'j', 'u', 'n', 'e', 't'}

func passWord(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// writeConformReport prints the report for people.
func writeConformReport(w io.Writer, rep *conformReport, checks []labpeer.Check, verbose bool) {
	steps := map[string]string{}
	for _, c := range checks {
		steps[c.Name] = c.Describe()
	}
	width := 0
	for _, r := range rep.Results {
		width = max(width, len(r.Check))
	}
	what := "a client"
	if rep.Role == "server" {
		what = "a server at " + rep.Peer
	}
	fmt.Fprintf(w, "tju conform: %s, shape %s\n\n", what, rep.Shape)
	count := map[string][2]int{}
	var order []string
	for _, r := range rep.Results {
		g := r.Group.String()
		if _, ok := count[g]; !ok {
			order = append(order, g)
		}
		c := count[g]
		c[1]++
		if r.Pass {
			c[0]++
		}
		count[g] = c
		fmt.Fprintf(w, "%s  %-*s  %-10s %6.2fs  %s\n", passWord(r.Pass), width, r.Check, g, r.Elapsed.Seconds(), r.Tests)
		if !r.Pass {
			fmt.Fprintf(w, "      step: %s\n      want: %s\n      got:  %s\n", r.Step, r.Want, r.Got)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "      note: %s\n", n)
		}
		if verbose && steps[r.Check] != "" {
			fmt.Fprintf(w, "      steps:\n%s", indent(steps[r.Check], "        "))
		}
		if len(r.Transcript) > 0 {
			fmt.Fprintln(w, "      transcript:")
			for _, e := range r.Transcript {
				fmt.Fprintf(w, "        %s\n", e)
			}
		}
	}
	if t := rep.Transfer; t != nil {
		fmt.Fprintf(w, "\n%s  transfer: %d bytes delivered in %.2fs (%s); data %s\n      impaired: %s\n",
			passWord(t.Pass), t.Bytes, t.Elapsed.Seconds(), completeWord(t.Complete), t.Verified, t.Impaired)
		if t.Problem != "" {
			fmt.Fprintf(w, "      problem: %s\n", t.Problem)
		}
		fmt.Fprintf(w, "      score: %.2f MB delivered within %v (the lab's 2026 scoring counts MB delivered within 90 s on a lossy link; about 100 MB is full marks)\n",
			t.MB, t.Limit)
		fmt.Fprintf(w, "      sha256 %s\n", t.SHA256)
		order = append(order, "transfer")
		c := [2]int{0, 1}
		if t.Pass {
			c[0] = 1
		}
		count["transfer"] = c
	}
	var parts []string
	for _, g := range order {
		parts = append(parts, fmt.Sprintf("%s %d/%d", g, count[g][0], count[g][1]))
	}
	verdict := fmt.Sprintf("all %d checks pass", rep.Total)
	switch {
	case rep.Total == 1 && rep.Passed == 1:
		verdict = "the check passes"
	case rep.Total == 1:
		verdict = "the check fails"
	case rep.Passed < rep.Total:
		verdict = fmt.Sprintf("%d of %d checks fail", rep.Total-rep.Passed, rep.Total)
	}
	fmt.Fprintf(w, "\nscore: %s; %s\n", strings.Join(parts, ", "), verdict)
}

func completeWord(ok bool) string {
	if ok {
		return "complete"
	}
	return "incomplete"
}

func indent(s, pre string) string {
	var b bytes.Buffer
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

func runConform(ctx context.Context, fs *flag.FlagSet, e *env) error {
	cfg, list, err := readConformFlags(fs)
	if err != nil {
		return err
	}
	if list {
		for _, c := range cfg.checks {
			fmt.Fprintf(e.stdout, "%-26s %-10s %s\n    app: %s\n%s", c.Name, c.Group, c.Tests, c.App, indent(c.Describe(), "    "))
		}
		return nil
	}
	listen := cfg.listen
	open := func() (net.PacketConn, error) {
		pc, err := net.ListenPacket("udp", listen)
		if err != nil {
			return nil, fmt.Errorf("cannot open %s: %w", listen, err)
		}
		listen = pc.LocalAddr().String() // the transfer reopens the same port
		return pc, nil
	}
	jsonOut := flagValue[bool](fs, "json")
	progress := func(s string) { fmt.Fprintf(e.stderr, "tju conform: %s\n", s) }
	if cfg.role == labpeer.Server {
		progress(fmt.Sprintf("checking the server at %v, one connection per check (it must accept each)", cfg.opts.Peer))
	}
	rep, err := conformRun(ctx, cfg, open, progress)
	if err != nil {
		return err
	}
	if jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeConformReport(e.stdout, rep, cfg.checks, cfg.verbose)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if rep.Passed < rep.Total {
		return fmt.Errorf("%d of %d checks fail", rep.Total-rep.Passed, rep.Total)
	}
	return nil
}
