package netem

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tjunet/tjunet/units"
)

// Impairment describes one impairment flag: its name, what its value is
// and a line of help with the value's placeholder in back quotes (the
// convention of package flag and pflag).
type Impairment struct {
	Name  string // "loss"; the one-direction variants add "-up" and "-down"
	Arg   string // placeholder: "PROBABILITY"
	Usage string

	set func(d *dirFlags, v string) error
	get func(c Config, burst float64) string // for help: the default's text
}

// Impairments lists the impairment flags of every tjunet command that
// emulates a link (tju netem, demo, conform, labnet), in the order help
// shows them. Values are written as package units reads them.
var Impairments = []Impairment{
	{"loss", "PROBABILITY", "random loss `PROBABILITY` (10% or 0.1)",
		func(d *dirFlags, v string) (err error) { d.cfg.Loss, err = parseProbability(v); return err },
		func(c Config, _ float64) string { return percent(c.Loss) }},
	{"burst", "LENGTH", "make --loss bursty: mean burst `LENGTH` in datagrams, at least 1 (Gilbert-Elliott)",
		func(d *dirFlags, v string) error {
			b, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(b >= 1) || math.IsInf(b, 0) {
				return errors.New("want a mean burst length of at least 1 datagram, like 4")
			}
			d.burst = b
			return nil
		},
		func(_ Config, b float64) string { return num(b) }},
	{"delay", "DURATION", "one-way `DURATION` of delay, like 300ms",
		func(d *dirFlags, v string) (err error) { d.cfg.Delay, err = parseDuration(v); return err },
		func(c Config, _ float64) string { return dur(c.Delay) }},
	{"jitter", "DURATION", "the delay varies uniformly by up to ± this `DURATION`; keeps the order unless --jitter-reorders",
		func(d *dirFlags, v string) (err error) { d.cfg.Jitter, err = parseDuration(v); return err },
		func(c Config, _ float64) string { return dur(c.Jitter) }},
	{"reorder", "PROBABILITY", "`PROBABILITY` that a datagram is held back by --reorder-delay, so later ones overtake it",
		func(d *dirFlags, v string) (err error) { d.cfg.Reorder, err = parseProbability(v); return err },
		func(c Config, _ float64) string { return percent(c.Reorder) }},
	{"reorder-delay", "DURATION", "how long a held-back datagram waits, a `DURATION` (0: 10ms)",
		func(d *dirFlags, v string) (err error) { d.cfg.ReorderDelay, err = parseDuration(v); return err },
		func(c Config, _ float64) string { return dur(c.ReorderDelay) }},
	{"dup", "PROBABILITY", "`PROBABILITY` that a datagram is delivered twice",
		func(d *dirFlags, v string) (err error) { d.cfg.Duplicate, err = parseProbability(v); return err },
		func(c Config, _ float64) string { return percent(c.Duplicate) }},
	{"corrupt", "PROBABILITY", "`PROBABILITY` that a datagram has bits flipped",
		func(d *dirFlags, v string) (err error) { d.cfg.Corrupt, err = parseProbability(v); return err },
		func(c Config, _ float64) string { return percent(c.Corrupt) }},
	{"corrupt-bits", "N", "`N` bits flipped in a corrupted datagram (0: 1)",
		func(d *dirFlags, v string) (err error) { d.cfg.CorruptBits, err = parseCount(v); return err },
		func(c Config, _ float64) string { return strconv.Itoa(c.CorruptBits) }},
	{"rate", "RATE", "bottleneck `RATE` in bits/s (10Mbit, 1Gbit) or bytes/s (10MB/s); datagrams queue behind it",
		func(d *dirFlags, v string) error {
			r, err := units.ParseRate(v)
			if err != nil {
				return units.ErrRate
			}
			d.cfg.Rate = r
			return nil
		},
		func(c Config, _ float64) string { return units.FormatRate(c.Rate) }},
	{"queue", "SIZE", "bottleneck queue limit, a `SIZE` in bytes (64KiB) or packets (100p); 0: unbounded",
		func(d *dirFlags, v string) (err error) {
			d.cfg.QueueBytes, d.cfg.QueuePackets, err = parseQueue(v)
			return err
		},
		func(c Config, _ float64) string {
			if c.QueuePackets > 0 {
				return strconv.Itoa(c.QueuePackets) + "p"
			}
			return units.FormatSize(int64(c.QueueBytes))
		}},
	{"mtu", "BYTES", "drop datagrams longer than this many `BYTES`",
		func(d *dirFlags, v string) (err error) { d.cfg.MTU, err = parseCount(v); return err },
		func(c Config, _ float64) string { return strconv.Itoa(c.MTU) }},
}

// Flags collects impairment flags into the Config of each direction of a
// link: "up" (client to server, or what a tool sends) and "down". A flag
// named as in Impairments sets both directions; the same name with "-up"
// or "-down" sets one and wins over the flag for both, whatever their
// order on the command line.
//
// Register Value(name) with package flag or pflag (FlagSet.Var) for each
// Impairment you offer, then call Configs after parsing.
type Flags struct {
	// Defaults is the configuration of both directions before any flag.
	// Help shows its values as the flags' defaults.
	Defaults Config
	// DefaultBurst is the mean loss burst length before any flag; 0 means
	// independent losses.
	DefaultBurst float64

	given map[string]string // flag name -> value, as given
}

// dirFlags is one direction as the flags describe it: the configuration
// and the loss burst length, which becomes a Gilbert-Elliott model only
// together with the loss rate.
type dirFlags struct {
	cfg   Config
	burst float64
}

// Value is a command-line flag value: a flag.Value and a pflag.Value.
type Value interface {
	String() string
	Set(string) error
	Type() string
}

// Value returns the flag value of the impairment flag name ("loss",
// "loss-up", "loss-down"), or nil if there is no such impairment.
func (f *Flags) Value(name string) Value {
	imp, _, ok := f.lookup(name)
	if !ok {
		return nil
	}
	return &flagValue{f: f, name: name, imp: imp}
}

func (f *Flags) lookup(name string) (Impairment, string, bool) {
	base, dir := name, ""
	for _, d := range []string{"-up", "-down"} {
		if b, ok := strings.CutSuffix(name, d); ok {
			base, dir = b, d[1:]
		}
	}
	for _, imp := range Impairments {
		if imp.Name == base {
			return imp, dir, true
		}
	}
	return Impairment{}, "", false
}

type flagValue struct {
	f    *Flags
	name string
	imp  Impairment
}

// Set checks v at once (so that the flag package reports a bad value
// with the flag's name) and keeps it for Configs.
func (v *flagValue) Set(s string) error {
	var d dirFlags
	if err := v.imp.set(&d, s); err != nil {
		return err
	}
	if v.f.given == nil {
		v.f.given = map[string]string{}
	}
	v.f.given[v.name] = s
	return nil
}

// String returns the value as given, or the default's; "" for a
// one-direction variant that was not given.
func (v *flagValue) String() string {
	if s, ok := v.f.given[v.name]; ok {
		return s
	}
	if v.name != v.imp.Name {
		return ""
	}
	return v.imp.get(v.f.Defaults, v.f.DefaultBurst)
}

func (v *flagValue) Type() string { return v.imp.Arg }

// Given reports whether any impairment flag was on the command line.
func (f *Flags) Given() bool { return len(f.given) > 0 }

// Configs returns the configuration of each direction: Defaults, then the
// flags for both directions, then the -up and -down ones. A loss burst
// length turns the direction's loss rate into the Gilbert model with that
// rate and mean burst (BurstLoss). Both configurations are validated;
// errors name the flags.
func (f *Flags) Configs() (up, down Config, err error) {
	dirs := [2]dirFlags{{cfg: f.Defaults, burst: f.DefaultBurst}, {cfg: f.Defaults, burst: f.DefaultBurst}}
	for _, pass := range []string{"", "up", "down"} {
		for _, imp := range Impairments {
			name := imp.Name
			if pass != "" {
				name += "-" + pass
			}
			v, ok := f.given[name]
			if !ok {
				continue
			}
			for i, d := range []string{"up", "down"} {
				if pass == "" || pass == d {
					if err := imp.set(&dirs[i], v); err != nil {
						return up, down, fmt.Errorf("--%s %q: %w", name, v, err)
					}
				}
			}
		}
	}
	var out [2]Config
	for i, d := range []string{"up", "down"} {
		c := dirs[i].cfg
		if b := dirs[i].burst; b > 0 {
			if c.Loss == 0 {
				return up, down, errors.New("--burst sets the mean burst length of --loss: give a loss rate too")
			}
			ge, err := BurstLoss(c.Loss, b)
			if err != nil {
				return up, down, fmt.Errorf("--burst %s with --loss %s: %s", num(b), percent(c.Loss), strings.TrimPrefix(err.Error(), "netem: "))
			}
			c.Burst, c.Loss = ge, 0
		}
		if c.Rate == 0 && (c.QueueBytes > 0 || c.QueuePackets > 0) {
			return up, down, fmt.Errorf("--queue needs --rate: the %s direction has no bottleneck to queue behind", d)
		}
		if err := c.Validate(); err != nil {
			return up, down, fmt.Errorf("the %s direction: %w", d, err)
		}
		out[i] = c
	}
	return out[0], out[1], nil
}

func parseProbability(v string) (float64, error) {
	p, err := units.ParseProbability(v)
	if err != nil {
		return 0, units.ErrProbability
	}
	return p, nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, errors.New("want a duration like 1s or 300ms, not negative")
	}
	return d, nil
}

func parseCount(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, errors.New("want a whole number, 0 or more")
	}
	return n, nil
}

// parseQueue reads a packet count ("100p", "100pkt", "100packets") or a
// size in bytes as units.ParseSize reads it ("64KiB", "64K", "1500").
func parseQueue(v string) (bytes, packets int, err error) {
	t := strings.ToLower(strings.TrimSpace(v))
	for _, suf := range []string{"packets", "pkts", "pkt", "p"} {
		if u, ok := strings.CutSuffix(t, suf); ok {
			n, err := strconv.Atoi(strings.TrimSpace(u))
			if err != nil || n <= 0 {
				return 0, 0, errors.New("want a positive packet count like 100p")
			}
			return 0, n, nil
		}
	}
	n, err := units.ParseSize(t)
	if err != nil || n > math.MaxInt32 {
		return 0, 0, errors.New("want a size like 64KiB or a packet count like 100p")
	}
	return int(n), 0, nil
}

func percent(p float64) string {
	if p == 0 {
		return "0"
	}
	return units.FormatPercent(p)
}

func dur(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
