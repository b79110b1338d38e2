package main

import (
	"context"
	"fmt"
	"io"
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
and 1, close_client_for_server 0 and 1) as the official binaries decide
them (their read order, their whole-second timers), and one check per
transition of the lab's connection diagram and teardown states
(retransmission timing observed on the wire included), against a TJU
implementation, and prints a report of every check: what it expected and
what arrived. The graders' verdicts are scored apart; faults seen beyond
them (a FIN with seq 0, ACKs that assume the peer's ISN is 0, a SYN-ACK
window of 1, a state changed after the FIN went out) are named with what
to change, and against a server the tju send flags that talk to it are
suggested. Every datagram is also held to the lab's wire format (a 20-byte
header, exact plen, ext 0, no options, at most 1375 bytes of payload).
Each check is one connection.

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
	fs.StringVar(&o.check, "check", "", "run exactly these checks (comma-separated `NAMES`, as --list prints them; \"none\": only --transfer)")
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
	suite  labpeer.Suite
	listen string
	list   bool
	json   bool
}

func readConformFlags(o *conformOptions, args []string) (*conformConfig, error) {
	if len(args) == 0 {
		return nil, usagef("missing the role: client or server")
	}
	cfg := &conformConfig{listen: o.listen, list: o.list, json: o.json}
	s := &cfg.suite
	switch args[0] {
	case "client":
		s.Role = labpeer.Client
		if len(args) > 1 {
			return nil, usagef("unexpected arguments %q: a client comes to conform", args[1:])
		}
	case "server":
		s.Role = labpeer.Server
		if len(args) > 2 {
			return nil, usagef("unexpected arguments %q", args[2:])
		}
		peer := labpeer.LabServerAddr.String()
		if len(args) == 2 {
			peer = args[1]
		}
		ap, err := labpeer.ResolvePeer(peer)
		if err != nil {
			return nil, usagef("server address: %v", err)
		}
		s.Options.Peer = ap
	default:
		return nil, usagef("unknown role %q: want client or server", args[0])
	}
	if o.check != "none" {
		checks, err := labpeer.Select(s.Role, splitList(o.check), splitList(o.group))
		if err != nil {
			return nil, usagef("%v (see --list)", err)
		}
		s.Checks = checks
	} else if !o.transfer {
		return nil, usagef("--check none runs no check: add --transfer")
	}
	if o.list {
		return cfg, nil
	}
	switch o.shape {
	case "any":
	case "tcp":
		s.Options.Shape = labpeer.TCPShape
	case "skeleton":
		s.Options.Shape = labpeer.SkeletonShape
	default:
		return nil, usagef("--shape %q: want any, tcp or skeleton", o.shape)
	}
	if s.Options.StartWait = o.wait; o.wait <= 0 {
		return nil, usagef("--wait must be positive")
	}
	s.Options.LabReply, s.Options.Transcript, s.Verbose = o.lab, true, o.verbose
	if o.portBase == 0 || int(o.portBase) > 65535-len(s.Checks) {
		return nil, usagef("--port-base %d: want a TJU port with room for %d checks", o.portBase, len(s.Checks))
	}
	s.PortBase = o.portBase
	if s.Role == labpeer.Client && (o.compare != "" || o.sizeGiven) {
		return nil, usagef("--size and --compare are for checking a server; a client sends what it sends (verify it with --file)")
	}
	if !o.transfer {
		if o.file != "" || o.compare != "" || o.sizeGiven {
			return nil, usagef("--file, --size and --compare describe the transfer check: add --transfer")
		}
		return cfg, nil
	}
	t := &labpeer.TransferOptions{IUT: s.Role, Peer: s.Options.Peer, Lab: o.lab,
		Skeleton: s.Options.Shape == labpeer.SkeletonShape, Limit: o.limit, Wait: o.wait}
	if t.Limit <= 0 {
		return nil, usagef("--limit must be positive")
	}
	var err error
	if t.Out, t.In, err = o.impair.configs(); err != nil {
		return nil, err
	}
	size := int64(o.size)
	if size == 0 {
		size = 10 << 20
	}
	if s.Role == labpeer.Server {
		t.Size = size
	}
	s.Transfer, s.Compare = t, o.compare
	switch file := o.file; {
	case file != "":
		s.Data = func() (io.ReadCloser, error) { return os.Open(file) }
	case s.Role == labpeer.Server:
		s.Data = labpeer.SeededData(size)
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runConform(ctx context.Context, o *conformOptions, args []string, e *env) error {
	cfg, err := readConformFlags(o, args)
	if err != nil {
		return err
	}
	s := &cfg.suite
	if cfg.list {
		labpeer.WriteList(e.stdout, s.Checks)
		return nil
	}
	s.Progress = func(line string) { fmt.Fprintf(e.stderr, "tju conform: %s\n", line) }
	if s.Role == labpeer.Server {
		s.Progress(fmt.Sprintf("checking the server at %v, one connection per check (it must accept each)", s.Options.Peer))
	}
	rep, err := s.Run(ctx, labpeer.Opener(cfg.listen))
	if err != nil {
		return err
	}
	if cfg.json {
		if err := rep.WriteJSON(e.stdout); err != nil {
			return err
		}
	} else {
		rep.WriteText(e.stdout, s.Verbose)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return rep.Err()
}
