package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/console"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/plot"
	"github.com/tjunet/tjunet/tju"
	"github.com/tjunet/tjunet/tjulink"
	"github.com/tjunet/tjunet/trace"
	"github.com/tjunet/tjunet/trace/traceio"
	"github.com/tjunet/tjunet/units"
)

func init() { register(newDemoCommand) }

// The default scenario: the lab's link (100 Mbit/s, 20 ms each way) with a
// little random loss, so that slow start, fast retransmit and congestion
// avoidance all show in the charts, and a size that finishes in well under
// a minute (32 MiB take 15-25 s of real time, depending on the seed).
const (
	demoDefaultSize  = 32 << 20
	demoDefaultRate  = 100e6
	demoDefaultDelay = 20 * time.Millisecond
	demoDefaultLoss  = 0.001
)

// demoOptions are the flags of tju demo.
type demoOptions struct {
	out      string
	size     units.Size
	link     impairmentOptions
	cc       string
	plain    bool
	charts   bool
	formats  string
	stats    time.Duration
	progress console.Mode
	verbose  bool
}

func newDemoCommand(e *env) *cobra.Command {
	o := &demoOptions{size: demoDefaultSize}
	o.link.flags.Defaults = netem.Config{Rate: demoDefaultRate, Delay: demoDefaultDelay, Loss: demoDefaultLoss}
	o.link.usage = map[string]string{
		"queue": "the bottleneck's queue, a `SIZE` in bytes (64KiB) or packets (100p); 0: one bandwidth-delay product, at least 64KiB",
		"rate":  "the link's `RATE` in each direction, bits/s (100Mbit, 1Gbit) or bytes/s (10MB/s)",
	}
	cmd := &cobra.Command{
		Use:   "demo [flags]",
		Short: "run a transfer over an emulated lossy link and write its traces and charts",
		Long: `Runs a TJU TCP sender and receiver in this process, joined by an emulated
link (package netem), sends --size bytes of random data from one to the
other in real time, and then explains what happened:

  - the goodput (data delivered per second), and how much of the link's
    rate it used;
  - the segments retransmitted, the fast retransmits and the timeouts;
  - the RTT the sender measured, and what the link dropped;
  - whether the SHA-256 of the data is the same at both ends.

It writes into the output folder (-o, default ./tju-demo-out) the lab's
event traces, client.event.trace (the sender) and server.event.trace (the
receiver), and every chart "tju plot" draws from them, as PNG and SVG:
congestion window, receive and send windows, RTT, throughput, and the
time-sequence graph.

The default link is the lab's: 100 Mbit/s, 20 ms each way (an RTT of
40 ms), with 0.1% random loss in each direction and a bottleneck queue of
one bandwidth-delay product. BBR, the default congestion control, fills
most of it (the summary says what its model of the link found); with
--cc reno, the lab's, the window saws down at every loss and the default
32 MiB take 15 to 25 seconds (the summary says why: Mathis et al.).

Rates are bits per second (100Mbit, 1Gbit, 500kbit) unless written as
bytes (10MB/s); sizes are bytes (16MiB, 1GB, 1048576); probabilities are
written 1% or 0.01.

Exit status: 0 if the data arrived intact, 1 if not or on an error, 2 for a
usage error, 130 when interrupted.`,
		Example: `  # The default scenario:
  tju demo

  # The lab's reliability test: 300 ms each way, 10% loss, jitter.
  tju demo --delay 300ms --loss 10% --jitter 50ms --size 1MiB

  # BBR (the default) against Reno and CUBIC on the same losses (the
  # same --seed):
  tju demo            -o bbr
  tju demo --cc reno  -o reno
  tju demo --cc cubic -o cubic

  # Bursts of loss (on average 4 datagrams in a row), some reordering:
  tju demo --loss 0.5% --burst 4 --reorder 1%

  # Corrupted datagrams: CRC-32C catches them; with --plain (the lab's
  # header, which has no checksum) the SHA-256 check fails.
  tju demo --corrupt 0.1% --size 4MiB
  tju demo --corrupt 0.1% --size 4MiB --plain`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), o, e) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.out, "output", "o", "tju-demo-out", "write the traces and charts into `DIR`")
	fs.VarP(&o.size, "size", "n", "the `SIZE` of the data to send: 16MiB, 1GB, 1048576")
	o.link.addFlags(fs, "", "", false)
	ccFlag(fs, &o.cc)
	fs.BoolVar(&o.plain, "plain", false, "use the lab's plain header: no SACK, window scaling or CRC-32C checksum")
	fs.BoolVar(&o.charts, "charts", true, "draw the charts (--charts=false: only the traces)")
	fs.StringVar(&o.formats, "format", "png,svg", "comma-separated chart `FORMATS`: png, svg")
	fs.DurationVar(&o.stats, "stats", 0, "print the sender's state, RTT, windows and counters every `INTERVAL`, like 1s")
	fs.Var(&o.progress, "progress", "draw a progress bar on stderr: auto (when stderr is a terminal), true or false")
	fs.Lookup("progress").NoOptDefVal = "true"
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log connection state changes on stderr")
	return cmd
}

// demoScenario is the link and transfer a demo runs.
type demoScenario struct {
	size     int64
	up, down netem.Config // the link's directions, the sender's first
	link     tjulink.Link // up, in the flags' terms, for the summary
	cc       string
	plain    bool
	seed     uint64
}

func demoScenarioFrom(o *demoOptions) (demoScenario, error) {
	up, down, err := o.link.configs()
	if err != nil {
		return demoScenario{}, err
	}
	s := demoScenario{size: int64(o.size), up: up, down: down, cc: o.cc, plain: o.plain, seed: o.link.seed, link: tjulink.LinkOf(up)}
	if s.cc == "" {
		s.cc = tju.DefaultCongestionControl(false)
	}
	switch {
	case s.size <= 0:
		return s, usagef("--size 0: want at least 1 byte")
	case s.link.Rate == 0:
		return s, usagef("--rate: the demo's link needs a rate, like 100Mbit")
	case s.link.Loss >= 0.5:
		return s, usagef("--loss %s: at 50%% or more nothing useful gets through (want less, like 10%%)", units.FormatPercent(s.link.Loss))
	}
	tjulink.QueueOneBDP(&s.up)
	tjulink.QueueOneBDP(&s.down)
	s.link.QueueBytes, s.link.QueuePackets = s.up.QueueBytes, s.up.QueuePackets
	return s, nil
}

func runDemo(ctx context.Context, o *demoOptions, e *env) error {
	s, err := demoScenarioFrom(o)
	if err != nil {
		return err
	}
	stats := o.stats
	if err := checkInterval("--stats", stats); err != nil {
		return err
	}
	dir := o.out
	formats, err := plot.ParseFormats(o.formats)
	if err != nil {
		return usagef("--format: %v", err)
	}
	con := console.New(e.stderr)
	out := e.stdout

	// The lab's trace files, one per host.
	cliTrace, err := traceio.Create(dir, trace.RoleClient)
	if err != nil {
		return fmt.Errorf("cannot write into the output folder: %w", err)
	}
	defer cliTrace.Close()
	srvTrace, err := traceio.Create(dir, trace.RoleServer)
	if err != nil {
		return fmt.Errorf("cannot write into the output folder: %w", err)
	}
	defer srvTrace.Close()

	var logger *slog.Logger
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(con, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	base := tju.Config{CongestionControl: s.cc, Plain: s.plain, Logger: logger}
	cliCfg, srvCfg := base, base
	cliCfg.Tracer, srvCfg.Tracer = cliTrace, srvTrace
	pair, err := tjulink.NewRealTime(s.up, s.down, &cliCfg, &srvCfg)
	if err != nil {
		return err
	}
	defer pair.Close()

	fmt.Fprintf(out, "TJU TCP demo: sending %s over an emulated link\n", units.FormatBytes(s.size))
	fmt.Fprintf(out, "  link        %s (seed %d)\n", s.link, s.seed)
	ext := "SACK, window scaling and the keyed integrity tag (AES-GMAC) negotiated"
	if s.plain {
		ext = "the lab's plain header (no SACK, no checksum)"
	}
	fmt.Fprintf(out, "  transport   %s congestion control; %s\n\n", strings.ToUpper(s.cc), ext)

	var received atomic.Int64
	var set connSet
	prog := con.StartProgress(o.progress.Enabled(e.stderr), s.size, "transfer", received.Load)
	stopStats := func() {}
	tr, err := pair.Transfer(ctx, s.size, tjulink.Options{Seed: s.seed, Received: &received, Dialed: func(c *tju.Conn) {
		set.add(c)
		stopStats = startStats(ctx, con, stats, &set)
	}})
	prog.Stop(err == nil)
	stopStats()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		elapsed := time.Duration(0)
		if tr != nil {
			elapsed = tr.Elapsed
		}
		return fmt.Errorf("the transfer failed after %s: %w (the traces so far are in %s)", units.FormatDuration(elapsed), err, dir)
	}

	up, down := pair.ClientEnd.Stats(), pair.ServerEnd.Stats()
	if err := errors.Join(cliTrace.Close(), srvTrace.Close()); err != nil {
		return fmt.Errorf("writing the traces: %w", err)
	}
	intact := tr.Intact()
	tr.WriteSummary(out, s.link, s.cc, up, down)

	if o.charts {
		fmt.Fprintln(out)
		if err := writeDemoCharts(out, dir, formats); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "\nTraces in %s: %s, %s (draw them with: tju plot -o %s %s %s)\n", dir,
			trace.FileName(trace.RoleClient), trace.FileName(trace.RoleServer), dir,
			filepath.Join(dir, trace.FileName(trace.RoleClient)), filepath.Join(dir, trace.FileName(trace.RoleServer)))
	}
	if !intact {
		return fmt.Errorf("the data arrived damaged: the SHA-256 differs between sender and receiver")
	}
	return nil
}

// writeDemoCharts reads the two traces back and draws their charts.
func writeDemoCharts(w io.Writer, dir string, formats []string) error {
	fmt.Fprintf(w, "Files in %s\n", dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, role := range []string{trace.RoleClient, trace.RoleServer} {
		name := filepath.Join(dir, trace.FileName(role))
		events, _, err := traceio.ReadFile(name)
		if err != nil {
			return fmt.Errorf("reading back the trace: %w", err)
		}
		side := "sender"
		if role == trace.RoleServer {
			side = "receiver"
		}
		rep, err := plot.WriteAll(events, dir, role, plot.Options{Title: role + " (" + side + ")", Formats: formats})
		if err != nil && (rep == nil || len(rep.Files) == 0) {
			return fmt.Errorf("drawing the %s's charts: %w", side, err)
		}
		fmt.Fprintf(tw, "  %s\tthe %s's event trace, %d events (the lab's format)\n", trace.FileName(role), side, len(events))
		fmt.Fprintf(tw, "  %s-*.%s\tits charts: %s\n", role, strings.Join(formats, ", ."), strings.Join(rep.Drawn, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nStart with %s: the congestion window (reno's sawtooth; under bbr, startup's\ndoubling and then about twice the bandwidth-delay product).\n", filepath.Join(dir, "client-cwnd."+formats[0]))
	fmt.Fprintf(w, "Try another link: tju demo --delay 100ms --loss 1%% --size 4MiB, or see tju demo --help.\n")
	return nil
}
