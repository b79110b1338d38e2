package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tjunet/tjunet/netem"
)

func init() { register(newNetemCommand) }

// netemOptions are the flags of tju netem.
type netemOptions struct {
	listen   string
	to       string
	duration time.Duration
	every    time.Duration
	idle     time.Duration
	impair   impairmentOptions
}

func newNetemCommand(e *env) *cobra.Command {
	o := &netemOptions{}
	cmd := &cobra.Command{
		Use:   "netem --to HOST:PORT [--listen HOST:PORT] [impairments]",
		Short: "relay UDP between two programs over an emulated bad link",
		Long: `Listens on --listen and forwards every datagram to --to, and the replies
back, through an emulated link. Each client address gets its own session
(and its own socket towards --to), like a NAT, so the program behind --to
sees one peer per client. "up" is the client-to-upstream direction, "down"
the way back.

Every impairment flag applies to both directions; the same flag with -up
or -down (for example --loss-up) overrides it for one direction.
Probabilities are written 10% or 0.1; durations 300ms, 1.5s; rates in
bits per second: 800kbit, 10Mbit, 1Gbit, 10Mbps (a capital B means
bytes: 1MB/s is 8 Mbit/s); queue sizes in bytes (64KiB or 64k, 64KB,
1500) or packets (100p).

The counters of both directions are printed when the relay stops: on
SIGINT or SIGTERM, or after --duration.

Exit status: 0 when stopped that way, its normal end; 1 if the relay
fails (an address in use, say); 2 for a usage error.`,
		Example: `  # A TJU TCP receiver on port 20218, its sender talking to 127.0.0.1:9000:
  # 300 ms each way with 50 ms of jitter, 10% loss.
  tju netem --listen 127.0.0.1:9000 --to 127.0.0.1:20218 --delay 300ms --jitter 50ms --loss 10%

  # Bursty loss (2% on average, bursts of 4 datagrams) only towards the server,
  # a 10 Mbit/s bottleneck with a 64 KiB queue, and 1% reordering.
  tju netem --to 127.0.0.1:20218 --loss-up 2% --burst-up 4 --rate 10Mbit --queue 64KiB --reorder 1%

  # Duplication and corruption for one minute, with a fixed seed.
  tju netem --to 127.0.0.1:20218 --dup 1% --corrupt 0.5% --seed 42 --duration 1m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runNetem(cmd.Context(), o, e) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.listen, "listen", "l", "127.0.0.1:9000", "UDP `ADDR` the relay listens on for clients (port 0 picks one)")
	fs.StringVarP(&o.to, "to", "t", "", "UDP `ADDR` of the upstream program (required)")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "stop after this `DURATION` (default: run until interrupted)")
	fs.DurationVar(&o.every, "every", 0, "also print the counters every `INTERVAL` (default: only at the end)")
	fs.DurationVar(&o.idle, "idle", 0, "close a client's session after this `DURATION` without traffic (default: never)")
	o.impair.addFlags(fs, "", "", true)
	return cmd
}

// impairmentOptions are the impairment flags of package netem (--loss,
// --delay, --rate...), which tju netem, demo, conform and labnet share,
// with --seed and --jitter-reorders.
type impairmentOptions struct {
	flags          netem.Flags
	seed           uint64
	jitterReorders bool
	usage          map[string]string // a command's own help for some flags
}

// addFlags declares the impairment flags but those named in skip; with
// dirs, also each flag's -up and -down variants. before and after frame
// each flag's description.
func (o *impairmentOptions) addFlags(fs *pflag.FlagSet, before, after string, dirs bool, skip ...string) {
	fs.Uint64Var(&o.seed, "seed", 1, "`SEED` of the impairments' random decisions: the same seed and traffic give the same losses")
	fs.BoolVar(&o.jitterReorders, "jitter-reorders", false, "let jitter reorder datagrams (default: jitter keeps the order)")
	for _, imp := range netem.Impairments {
		if slices.Contains(skip, imp.Name) {
			continue
		}
		usage := imp.Usage
		if u, ok := o.usage[imp.Name]; ok {
			usage = u
		}
		fs.Var(o.flags.Value(imp.Name), imp.Name, before+usage+after)
		if dirs {
			fs.Var(o.flags.Value(imp.Name+"-up"), imp.Name+"-up", "the --"+imp.Name+" `"+imp.Arg+"` of the client-to-server direction only")
			fs.Var(o.flags.Value(imp.Name+"-down"), imp.Name+"-down", "the --"+imp.Name+" `"+imp.Arg+"` of the server-to-client direction only")
		}
	}
}

// configs builds the two directions from the flags: up (client to server,
// or what we send) and down, seeded --seed and --seed+1.
func (o *impairmentOptions) configs() (up, down netem.Config, err error) {
	up, down, err = o.flags.Configs()
	if err != nil {
		return up, down, usageError{Err: err}
	}
	up.Seed, down.Seed = o.seed, o.seed+1
	up.JitterReorders, down.JitterReorders = o.jitterReorders, o.jitterReorders
	return up, down, nil
}

// netemConfigs builds the relay's configuration from the flags.
func netemConfigs(o *netemOptions) (netem.RelayConfig, error) {
	up, down, err := o.impair.configs()
	if err != nil {
		return netem.RelayConfig{}, err
	}
	rc := netem.RelayConfig{Listen: o.listen, Upstream: o.to, Up: up, Down: down, IdleTimeout: o.idle}
	if rc.Upstream == "" {
		return rc, usagef("--to is required: the UDP address of the program to relay to")
	}
	if err := checkUDPAddr("--listen", rc.Listen); err != nil {
		return rc, err
	}
	if err := checkUDPAddr("--to", rc.Upstream); err != nil {
		return rc, err
	}
	if _, port, _ := net.SplitHostPort(rc.Upstream); port == "0" {
		return rc, usagef("--to %q: want the upstream program's port, not 0", rc.Upstream)
	}
	return rc, nil
}

func runNetem(ctx context.Context, o *netemOptions, e *env) error {
	rc, err := netemConfigs(o)
	if err != nil {
		return err
	}
	duration, every := o.duration, o.every
	if duration < 0 || every < 0 || rc.IdleTimeout < 0 {
		return usagef("--duration, --every and --idle must not be negative")
	}
	r, err := netem.NewRelay(rc)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(e.stdout, "tju netem: listening on %v, relaying to %v\n", r.Addr(), r.Upstream())
	fmt.Fprintf(e.stdout, "  up   (client -> %v): %s\n", r.Upstream(), rc.Up)
	fmt.Fprintf(e.stdout, "  down (%v -> client): %s\n", r.Upstream(), rc.Down)

	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-tick:
			printNetemStats(e.stdout, r, time.Since(start))
		}
	}
	closeErr := r.Close()
	fmt.Fprintln(e.stdout, "tju netem: stopped")
	printNetemStats(e.stdout, r, time.Since(start))
	if closeErr != nil {
		return fmt.Errorf("closing the relay: %w", closeErr)
	}
	return nil
}

func printNetemStats(w io.Writer, r *netem.Relay, elapsed time.Duration) {
	up, down := r.Stats()
	fmt.Fprintf(w, "after %v: sessions %d (%d open), rejected datagrams %d\n",
		elapsed.Round(time.Millisecond), r.TotalSessions(), r.Sessions(), r.Rejected())
	fmt.Fprintf(w, "  up:   %v\n", up)
	fmt.Fprintf(w, "  down: %v\n", down)
}
