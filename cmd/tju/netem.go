package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tjunet/tjunet/netem"
)

func init() {
	register(&command{
		name:     "netem",
		summary:  "relay UDP between two programs over an emulated bad link",
		usage:    netemUsage,
		setFlags: netemFlags,
		run:      runNetem,
	})
}

const netemUsage = `Usage: tju netem --to HOST:PORT [--listen HOST:PORT] [impairments] [--seed N] [--duration D]

Listens on --listen and forwards every datagram to --to, and the replies
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

Examples:
  # A TJU TCP receiver on port 20218, its sender talking to 127.0.0.1:9000:
  # 300 ms each way with 50 ms of jitter, 10% loss.
  tju netem --listen 127.0.0.1:9000 --to 127.0.0.1:20218 --delay 300ms --jitter 50ms --loss 10%

  # Bursty loss (2% on average, bursts of 4 datagrams) only towards the server,
  # a 10 Mbit/s bottleneck with a 64 KiB queue, and 1% reordering.
  tju netem --to 127.0.0.1:20218 --loss-up 2% --burst-up 4 --rate 10Mbit --queue 64KiB --reorder 1%

  # Duplication and corruption for one minute, with a fixed seed.
  tju netem --to 127.0.0.1:20218 --dup 1% --corrupt 0.5% --seed 42 --duration 1m`

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
	{"loss", "probability", "loss `probability` (10% or 0.1)", func(d *netemDir, v string) (err error) {
		d.cfg.Loss, err = parseProbability(v)
		return err
	}},
	{"burst", "length", "mean loss burst `length` in datagrams (>= 1): makes --loss bursty (Gilbert-Elliott)", func(d *netemDir, v string) (err error) {
		d.burst, err = strconv.ParseFloat(v, 64)
		if err != nil || !(d.burst >= 1) || math.IsInf(d.burst, 0) {
			return fmt.Errorf("want a number of datagrams >= 1")
		}
		return nil
	}},
	{"delay", "duration", "one-way delay `duration` (300ms)", func(d *netemDir, v string) (err error) {
		d.cfg.Delay, err = parseNetemDuration(v)
		return err
	}},
	{"jitter", "duration", "the delay varies uniformly by up to ± this `duration`; keeps the order unless --jitter-reorders", func(d *netemDir, v string) (err error) {
		d.cfg.Jitter, err = parseNetemDuration(v)
		return err
	}},
	{"reorder", "probability", "`probability` that a datagram is held back by --reorder-delay so later ones overtake it", func(d *netemDir, v string) (err error) {
		d.cfg.Reorder, err = parseProbability(v)
		return err
	}},
	{"reorder-delay", "duration", "extra delay `duration` of a held-back datagram (default 10ms)", func(d *netemDir, v string) (err error) {
		d.cfg.ReorderDelay, err = parseNetemDuration(v)
		return err
	}},
	{"dup", "probability", "duplication `probability`", func(d *netemDir, v string) (err error) {
		d.cfg.Duplicate, err = parseProbability(v)
		return err
	}},
	{"corrupt", "probability", "`probability` that a datagram has bits flipped", func(d *netemDir, v string) (err error) {
		d.cfg.Corrupt, err = parseProbability(v)
		return err
	}},
	{"corrupt-bits", "n", "`n` bits flipped in a corrupted datagram (default 1)", func(d *netemDir, v string) (err error) {
		d.cfg.CorruptBits, err = parseNetemCount(v)
		return err
	}},
	{"rate", "bits/s", "bottleneck rate in `bits/s` (10Mbit); datagrams queue behind it", func(d *netemDir, v string) (err error) {
		d.cfg.Rate, err = parseNetemRate(v)
		return err
	}},
	{"queue", "size", "bottleneck queue limit `size`, bytes (64KiB) or packets (100p); default unbounded", func(d *netemDir, v string) error {
		bytes, packets, err := parseNetemQueue(v)
		d.cfg.QueueBytes, d.cfg.QueuePackets = bytes, packets
		return err
	}},
	{"mtu", "bytes", "drop datagrams longer than this many `bytes`", func(d *netemDir, v string) (err error) {
		d.cfg.MTU, err = parseNetemCount(v)
		return err
	}},
}

func netemFlags(fs *flag.FlagSet) {
	fs.String("listen", "127.0.0.1:9000", "UDP `address` the relay listens on for clients (port 0 picks one)")
	fs.String("to", "", "UDP `address` of the upstream program (required)")
	fs.Uint64("seed", 1, "seed of the random decisions: the same seed and traffic give the same losses")
	fs.Duration("duration", 0, "stop after this long (default: run until interrupted)")
	fs.Duration("every", 0, "also print the counters at this interval (default: only at the end)")
	fs.Duration("idle", 0, "close a client's session after this long without traffic (default: never)")
	fs.Bool("jitter-reorders", false, "let jitter reorder datagrams (default: jitter keeps the order)")
	for _, f := range netemImpairments {
		arg := "`" + f.arg + "`"
		fs.String(f.name, "", f.usage)
		fs.String(f.name+"-up", "", "the --"+f.name+" "+arg+" for the client-to-upstream direction only")
		fs.String(f.name+"-down", "", "the --"+f.name+" "+arg+" for the upstream-to-client direction only")
	}
}

// netemConfigs builds the relay's configuration from the parsed flags.
func netemConfigs(fs *flag.FlagSet) (netem.RelayConfig, error) {
	get := func(name string) string { return fs.Lookup(name).Value.String() }
	var up, down netemDir
	for _, f := range netemImpairments {
		for _, set := range []struct {
			flag string
			dirs []*netemDir
		}{{f.name, []*netemDir{&up, &down}}, {f.name + "-up", []*netemDir{&up}}, {f.name + "-down", []*netemDir{&down}}} {
			v := strings.TrimSpace(get(set.flag))
			if v == "" {
				continue
			}
			for _, d := range set.dirs {
				if err := f.apply(d, v); err != nil {
					return netem.RelayConfig{}, usagef("invalid --%s %q: %v", set.flag, v, err)
				}
			}
		}
	}
	if (up.burst > 0 && up.cfg.Loss == 0) && (down.burst > 0 && down.cfg.Loss == 0) ||
		(up.burst > 0 && up.cfg.Loss == 0 && down.burst == 0) || (down.burst > 0 && down.cfg.Loss == 0 && up.burst == 0) {
		return netem.RelayConfig{}, usagef("--burst sets the burst length of --loss: give a loss rate too")
	}
	seed, _ := strconv.ParseUint(get("seed"), 10, 64)
	jitterReorders := get("jitter-reorders") == "true"
	for _, d := range []struct {
		name string
		spec *netemDir
	}{{"up", &up}, {"down", &down}} {
		c := &d.spec.cfg
		c.Seed = seed
		c.JitterReorders = jitterReorders
		if d.spec.burst > 0 && c.Loss > 0 {
			ge, err := netem.BurstLoss(c.Loss, d.spec.burst)
			if err != nil {
				return netem.RelayConfig{}, usageError{fmt.Errorf("%s direction: %w", d.name, err)}
			}
			c.Burst, c.Loss = ge, 0
		}
		if c.Rate == 0 && (c.QueueBytes > 0 || c.QueuePackets > 0) {
			return netem.RelayConfig{}, usagef("--queue needs --rate for the %s direction", d.name)
		}
		if err := c.Validate(); err != nil {
			return netem.RelayConfig{}, usageError{fmt.Errorf("%s direction: %w", d.name, err)}
		}
	}
	rc := netem.RelayConfig{Listen: get("listen"), Upstream: get("to"), Up: up.cfg, Down: down.cfg}
	rc.IdleTimeout, _ = time.ParseDuration(get("idle"))
	if rc.Upstream == "" {
		return rc, usagef("--to is required: the UDP address of the program to relay to")
	}
	for _, a := range []struct{ flag, addr string }{{"listen", rc.Listen}, {"to", rc.Upstream}} {
		ua, err := net.ResolveUDPAddr("udp", a.addr)
		if err != nil {
			return rc, usagef("invalid --%s %q: %v", a.flag, a.addr, err)
		}
		if a.flag == "to" && ua.Port == 0 {
			return rc, usagef("invalid --to %q: want a port", a.addr)
		}
	}
	return rc, nil
}

func runNetem(ctx context.Context, fs *flag.FlagSet, e *env) error {
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	rc, err := netemConfigs(fs)
	if err != nil {
		return err
	}
	var duration, every time.Duration
	duration, _ = time.ParseDuration(fs.Lookup("duration").Value.String())
	every, _ = time.ParseDuration(fs.Lookup("every").Value.String())
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
