package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/units"
)

func init() { register(newConformCommand) }

// conformOptions are the flags of tju conform.
type conformOptions struct {
	listen    string
	check     string
	group     string
	list      bool
	shape     string
	wait      time.Duration
	lab       bool
	portBase  uint16
	transfer  bool
	size      units.Size
	sizeGiven bool
	file      string
	compare   string
	limit     time.Duration
	impair    impairmentOptions
	json      bool
	verbose   bool
}

func newConformCommand(e *env) *cobra.Command { return conformCommand(&conformOptions{}, e) }

// conformCommand is tju conform with its flags bound to o.
func conformCommand(o *conformOptions, e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conform [flags] client|server [HOST[:PORT]]",
		Short: "check a TJU implementation with the lab's grader programs and transition checks",
		Long: `Plays the TJU lab's four grader programs (receiver, sender, close_server 0
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
error, 130 when interrupted. --json prints the report as JSON, for CI.`,
		Example: `  # On the lab's server host: check a client (run it once per check).
  tju conform client

  # Check a server, then send it 10 MB over 2% loss and 20 ms of delay;
  # the server writes what it gets to out.bin, which conform compares.
  tju conform --transfer --size 10MB --compare out.bin --loss 2% --delay 20ms server 172.17.0.3

  # Only the lab's grader programs, as JSON:
  tju conform --group grader --json server 172.17.0.3:20218

  # List the checks:
  tju conform --list client`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.sizeGiven = cmd.Flags().Changed("size")
			return runConform(cmd.Context(), o, args, e)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *conformOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.listen, "listen", "l", ":20218", "UDP `ADDR` of conform's end (the lab's hosts use port 20218)")
	fs.StringVar(&o.check, "check", "", "run only these checks (comma-separated `NAMES`, as --list prints them; \"none\": only --transfer)")
	fs.StringVar(&o.group, "group", "", "run only these `GROUPS`: grader, transition, tolerance (comma-separated)")
	fs.BoolVar(&o.list, "list", false, "list the checks for the role and exit")
	fs.StringVar(&o.shape, "shape", "any", "the sending `SHAPE` the implementation must use for data and FIN: any, tcp (with the ACK bit) or skeleton (flags 0, FIN alone)")
	fs.DurationVar(&o.wait, "wait", time.Minute, "client: how long each check waits for the client's SYN (a `DURATION`)")
	fs.BoolVar(&o.lab, "lab", true, "answer the peer host's port 20218 whatever port its datagrams come from, as a lab host (--lab=false: answer the source address)")
	fs.Uint16Var(&o.portBase, "port-base", labpeer.LabClientPort, "server: the `TJUPORT` of the first check; each next check uses the next port")
	fs.BoolVar(&o.transfer, "transfer", false, "also run the lab's transfer check")
	fs.Var(&o.size, "size", "transfer, server: bytes to send (a `SIZE`, default 10MiB; the lab sends 50 MB)")
	fs.StringVar(&o.file, "file", "", "transfer: the `FILE` to send (server), or the file the client sends, to verify what arrives (client)")
	fs.StringVar(&o.compare, "compare", "", "transfer, server: the `FILE` the server writes, compared with what was sent")
	fs.DurationVar(&o.limit, "limit", labpeer.LabLimit, "transfer: the scoring window (a `DURATION`); the transfer is cut off there")
	o.impair.addFlags(fs, "transfer: ", ", on conform's own end, both ways", false)
	fs.BoolVarP(&o.json, "json", "J", false, "print the report as JSON")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "print every check's steps and the transcript of its datagrams")
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

func readConformFlags(o *conformOptions, args []string) (*conformConfig, bool, error) {
	if len(args) == 0 {
		return nil, false, usagef("missing the role: client or server")
	}
	cfg := &conformConfig{listen: o.listen, verbose: o.verbose}
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
	checks, err := selectChecks(cfg.role, o.check, o.group)
	if err != nil {
		return nil, false, err
	}
	cfg.checks = checks
	if len(checks) == 0 && !o.transfer {
		return nil, false, usagef("--check none runs no check: add --transfer")
	}
	if o.list {
		return cfg, true, nil
	}
	switch s := o.shape; s {
	case "any":
	case "tcp":
		cfg.opts.Shape = labpeer.TCPShape
	case "skeleton":
		cfg.opts.Shape = labpeer.SkeletonShape
	default:
		return nil, false, usagef("--shape %q: want any, tcp or skeleton", s)
	}
	cfg.opts.StartWait = o.wait
	if cfg.opts.StartWait <= 0 {
		return nil, false, usagef("--wait must be positive")
	}
	cfg.opts.LabReply = o.lab
	cfg.opts.Transcript = true
	pb := o.portBase
	if pb == 0 || int(pb) > 65535-len(cfg.checks) {
		return nil, false, usagef("--port-base %d: want a TJU port with room for %d checks", pb, len(cfg.checks))
	}
	cfg.portBase = pb

	cfg.transfer = o.transfer
	cfg.file = o.file
	cfg.size = int64(o.size)
	cfg.compare = o.compare
	t := &cfg.topts
	t.IUT, t.Peer, t.Lab = cfg.role, cfg.opts.Peer, cfg.opts.LabReply
	t.Skeleton = cfg.opts.Shape == labpeer.SkeletonShape
	t.Limit = o.limit
	t.Wait = cfg.opts.StartWait
	if t.Limit <= 0 {
		return nil, false, usagef("--limit must be positive")
	}
	if cfg.role == labpeer.Client && (cfg.compare != "" || o.sizeGiven) {
		return nil, false, usagef("--size and --compare are for checking a server; a client sends what it sends (verify it with --file)")
	}
	if !cfg.transfer && (cfg.file != "" || cfg.compare != "" || o.sizeGiven) {
		return nil, false, usagef("--file, --size and --compare describe the transfer check: add --transfer")
	}
	if cfg.size == 0 {
		cfg.size = 10 << 20
	}
	t.Out, t.In, err = o.impair.configs()
	if err != nil {
		return nil, false, err
	}
	return cfg, false, nil
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

func runConform(ctx context.Context, o *conformOptions, args []string, e *env) error {
	cfg, list, err := readConformFlags(o, args)
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
	jsonOut := o.json
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
