package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tjunet/tjunet/netem"
)

func init() { register(newNetemCommand) }

// netemImpairment is one impairment flag, declared as --name, --name-up
// and --name-down.
type netemImpairment struct {
	name, arg, usage string // arg names the value in the flag list
	// apply parses v into c; errors are reported as usage errors.
	apply func(c *netemDir, v string) error
}

// netemDir collects one direction's parsed flags before they become a
// netem.Config (the burst length needs the loss rate).
type netemDir struct {
	cfg   netem.Config
	burst float64
}

var netemImpairments = []netemImpairment{
	{"loss", "PROBABILITY", "loss `PROBABILITY` (10% or 0.1)", func(d *netemDir, v string) (err error) {
		d.cfg.Loss, err = parseProbability(v)
		return err
	}},
	{"burst", "LENGTH", "mean loss burst `LENGTH` in datagrams (>= 1): makes --loss bursty (Gilbert-Elliott)", func(d *netemDir, v string) (err error) {
		d.burst, err = strconv.ParseFloat(v, 64)
		if err != nil || !(d.burst >= 1) || math.IsInf(d.burst, 0) {
			return fmt.Errorf("want a number of datagrams >= 1")
		}
		return nil
	}},
	{"delay", "DURATION", "one-way delay `DURATION` (300ms)", func(d *netemDir, v string) (err error) {
		d.cfg.Delay, err = parseNetemDuration(v)
		return err
	}},
	{"jitter", "DURATION", "the delay varies uniformly by up to ± this `DURATION`; keeps the order unless --jitter-reorders", func(d *netemDir, v string) (err error) {
		d.cfg.Jitter, err = parseNetemDuration(v)
		return err
	}},
	{"reorder", "PROBABILITY", "`PROBABILITY` that a datagram is held back by --reorder-delay so later ones overtake it", func(d *netemDir, v string) (err error) {
		d.cfg.Reorder, err = parseProbability(v)
		return err
	}},
	{"reorder-delay", "DURATION", "extra delay `DURATION` of a held-back datagram (default 10ms)", func(d *netemDir, v string) (err error) {
		d.cfg.ReorderDelay, err = parseNetemDuration(v)
		return err
	}},
	{"dup", "PROBABILITY", "duplication `PROBABILITY`", func(d *netemDir, v string) (err error) {
		d.cfg.Duplicate, err = parseProbability(v)
		return err
	}},
	{"corrupt", "PROBABILITY", "`PROBABILITY` that a datagram has bits flipped", func(d *netemDir, v string) (err error) {
		d.cfg.Corrupt, err = parseProbability(v)
		return err
	}},
	{"corrupt-bits", "N", "`N` bits flipped in a corrupted datagram (default 1)", func(d *netemDir, v string) (err error) {
		d.cfg.CorruptBits, err = parseNetemCount(v)
		return err
	}},
	{"rate", "RATE", "bottleneck `RATE` in bits/s (10Mbit); datagrams queue behind it", func(d *netemDir, v string) (err error) {
		d.cfg.Rate, err = parseNetemRate(v)
		return err
	}},
	{"queue", "SIZE", "bottleneck queue limit `SIZE`, bytes (64KiB) or packets (100p); default unbounded", func(d *netemDir, v string) error {
		bytes, packets, err := parseNetemQueue(v)
		d.cfg.QueueBytes, d.cfg.QueuePackets = bytes, packets
		return err
	}},
	{"mtu", "BYTES", "drop datagrams longer than this many `BYTES`", func(d *netemDir, v string) (err error) {
		d.cfg.MTU, err = parseNetemCount(v)
		return err
	}},
}

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
SIGINT or SIGTERM, or after --duration.`,
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

// impairmentOptions are the impairment flags of "tju netem", which demo's
// link, conform's transfer and labnet's emulator take too: --loss, --delay,
// --rate..., with -up and -down variants when a command has directions.
type impairmentOptions struct {
	seed           uint64
	jitterReorders bool
	dirs           bool
	skip           []string
	text           map[string]*string // by flag name: what the command line said
}

// addFlags declares the impairment flags but those named in skip, --seed
// and --jitter-reorders; with dirs, also each flag's -up and -down
// variants. before and after frame each flag's description.
func (o *impairmentOptions) addFlags(fs *pflag.FlagSet, before, after string, dirs bool, skip ...string) {
	o.dirs, o.skip, o.text = dirs, skip, map[string]*string{}
	fs.Uint64Var(&o.seed, "seed", 1, "`SEED` of the impairments' random decisions: the same seed and traffic give the same losses")
	fs.BoolVar(&o.jitterReorders, "jitter-reorders", false, "let jitter reorder datagrams (default: jitter keeps the order)")
	for _, f := range netemImpairments {
		if slices.Contains(skip, f.name) {
			continue
		}
		o.text[f.name] = fs.String(f.name, "", before+f.usage+after)
		if dirs {
			o.text[f.name+"-up"] = fs.String(f.name+"-up", "", "the --"+f.name+" `"+f.arg+"` of the client-to-server direction only")
			o.text[f.name+"-down"] = fs.String(f.name+"-down", "", "the --"+f.name+" `"+f.arg+"` of the server-to-client direction only")
		}
	}
}

// configs builds the two directions from the flags: up (client to server,
// or what we send) and down.
func (o *impairmentOptions) configs() (up, down netem.Config, err error) {
	var d [2]netemDir
	for _, f := range netemImpairments {
		if slices.Contains(o.skip, f.name) {
			continue
		}
		names := []string{f.name}
		if o.dirs {
			names = append(names, f.name+"-up", f.name+"-down")
		}
		for _, name := range names {
			v := strings.TrimSpace(*o.text[name])
			if v == "" {
				continue
			}
			for i, suffix := range []string{"-up", "-down"} {
				if name != f.name && !strings.HasSuffix(name, suffix) {
					continue
				}
				if err := f.apply(&d[i], v); err != nil {
					return up, down, usagef("--%s %q: %v", name, v, err)
				}
			}
		}
	}
	var out [2]netem.Config
	for i, dir := range []string{"up", "down"} {
		c := d[i].cfg
		c.Seed = o.seed + uint64(i)
		c.JitterReorders = o.jitterReorders
		if d[i].burst > 0 {
			if c.Loss == 0 {
				return up, down, usagef("--burst sets the burst length of --loss: give a loss rate too")
			}
			ge, err := netem.BurstLoss(c.Loss, d[i].burst)
			if err != nil {
				return up, down, usagef("--burst: %v", err)
			}
			c.Burst, c.Loss = ge, 0
		}
		if c.Rate == 0 && (c.QueueBytes > 0 || c.QueuePackets > 0) {
			return up, down, usagef("--queue needs --rate (the %s direction has none)", dir)
		}
		if err := c.Validate(); err != nil {
			return up, down, usagef("the %s direction: %v", dir, err)
		}
		out[i] = c
	}
	return out[0], out[1], nil
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

// parseProbability accepts "10%", "0.5%" or a fraction "0.1", in [0, 1].
func parseProbability(s string) (float64, error) {
	scale := 1.0
	if t, ok := strings.CutSuffix(s, "%"); ok {
		s, scale = strings.TrimSpace(t), 0.01
	}
	v, err := strconv.ParseFloat(s, 64)
	v *= scale
	if err != nil || !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("want a probability between 0%% and 100%%, like 10%% or 0.1")
	}
	return v, nil
}

func parseNetemDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a non-negative duration like 300ms")
	}
	return d, nil
}

func parseNetemCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a non-negative whole number")
	}
	return n, nil
}

// parseNetemRate reads a rate in bits per second with the rules of the
// other tju subcommands: "800kbit", "10Mbit", "10Mbps", "10M" and
// "10000000" are bits per second; a capital B means bytes ("1MB/s" is
// 8 Mbit/s). Prefixes are decimal except Ki, Mi, Gi.
func parseNetemRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "/sec")
	bitsPer := 1.0
	lower := strings.ToLower(t)
	switch {
	case strings.HasSuffix(lower, "bits"):
		t = t[:len(t)-4]
	case strings.HasSuffix(lower, "bit"):
		t = t[:len(t)-3]
	case strings.HasSuffix(t, "Bps"):
		t, bitsPer = t[:len(t)-3], 8
	case strings.HasSuffix(t, "bps"):
		t = t[:len(t)-3]
	case strings.HasSuffix(t, "B"):
		t, bitsPer = t[:len(t)-1], 8
	case strings.HasSuffix(t, "b"):
		t = t[:len(t)-1]
	}
	mult := 1.0
	lower = strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"ki", 1 << 10}, {"mi", 1 << 20}, {"gi", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	bps := v * mult * bitsPer
	if err != nil || !(bps >= 1) || bps > 1e15 {
		return 0, fmt.Errorf("want a rate in bits/s like 800kbit, 10Mbit or 1Gbit (or bytes/s like 1MB/s)")
	}
	return int64(math.Round(bps)), nil
}

// parseNetemQueue accepts a packet count ("100p", "100pkt", "100packets") or
// a byte size: "1500", "64KiB" or "64k" (1024), "64KB" (1000), "1MiB" or
// "1m", "1MB", as the other tju subcommands read sizes.
func parseNetemQueue(s string) (bytes, packets int, err error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, suf := range []string{"packets", "pkts", "pkt", "p"} {
		if u, ok := strings.CutSuffix(t, suf); ok {
			n, err := strconv.Atoi(u)
			if err != nil || n <= 0 {
				return 0, 0, fmt.Errorf("want a positive packet count like 100p")
			}
			return 0, n, nil
		}
	}
	mult := 1.0
	for _, u := range []struct {
		suf  string
		mult float64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"kb", 1e3}, {"mb", 1e6}, {"k", 1 << 10}, {"m", 1 << 20}, {"b", 1}} {
		if v, ok := strings.CutSuffix(t, u.suf); ok {
			t, mult = v, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	n := v * mult
	if err != nil || !(n >= 1) || n > math.MaxInt32 {
		return 0, 0, fmt.Errorf("want a size like 64kb or a packet count like 100p")
	}
	return int(n), 0, nil
}
