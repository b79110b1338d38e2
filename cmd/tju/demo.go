package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
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
	// What the up direction is, in the flags' terms, for the summary.
	rate    int64
	delay   time.Duration
	jitter  time.Duration
	loss    float64 // on average, bursts included
	burst   float64 // mean loss burst length; 0: independent losses
	reorder float64
	dup     float64
	corrupt float64
	queue   string
	cc      string
	plain   bool
	seed    uint64
}

func demoScenarioFrom(o *demoOptions) (demoScenario, error) {
	up, down, err := o.link.configs()
	if err != nil {
		return demoScenario{}, err
	}
	s := demoScenario{
		size: int64(o.size), up: up, down: down, cc: o.cc, plain: o.plain, seed: o.link.seed,
		rate: up.Rate, delay: up.Delay, jitter: up.Jitter, loss: up.Loss,
		reorder: up.Reorder, dup: up.Duplicate, corrupt: up.Corrupt,
	}
	if g := up.Burst; g.BadToGood > 0 {
		s.burst, s.loss = 1/g.BadToGood, g.GoodToBad/(g.GoodToBad+g.BadToGood)
	}
	if s.cc == "" {
		s.cc = tju.DefaultCongestionControl(false)
	}
	switch {
	case s.size <= 0:
		return s, usagef("--size 0: want at least 1 byte")
	case s.rate == 0:
		return s, usagef("--rate: the demo's link needs a rate, like 100Mbit")
	case s.loss >= 0.5:
		return s, usagef("--loss %s: at 50%% or more nothing useful gets through (want less, like 10%%)", units.FormatPercent(s.loss))
	}
	for _, c := range []*netem.Config{&s.up, &s.down} {
		if c.QueueBytes == 0 && c.QueuePackets == 0 {
			bdp := int64(float64(c.Rate) / 8 * (2 * c.Delay).Seconds())
			c.QueueBytes = int(min(max(bdp, 64<<10), math.MaxInt32))
		}
	}
	s.queue = formatBytes(int64(s.up.QueueBytes))
	if s.up.QueuePackets > 0 {
		s.queue = fmt.Sprintf("%d datagrams", s.up.QueuePackets)
	}
	return s, nil
}

// describe says what the link is, in words.
func (s demoScenario) describe() string {
	parts := []string{formatBitRate(float64(s.rate)), fmt.Sprintf("%v each way (RTT %v)", s.delay, 2*s.delay)}
	if s.jitter > 0 {
		parts = append(parts, fmt.Sprintf("jitter ±%v", s.jitter))
	}
	switch {
	case s.loss > 0 && s.burst > 0:
		parts = append(parts, fmt.Sprintf("%s loss in bursts of %.3g datagrams", units.FormatPercent(s.loss), s.burst))
	case s.loss > 0:
		parts = append(parts, units.FormatPercent(s.loss)+" loss")
	default:
		parts = append(parts, "no loss")
	}
	if s.reorder > 0 {
		parts = append(parts, units.FormatPercent(s.reorder)+" reordered")
	}
	if s.dup > 0 {
		parts = append(parts, units.FormatPercent(s.dup)+" duplicated")
	}
	if s.corrupt > 0 {
		parts = append(parts, units.FormatPercent(s.corrupt)+" corrupted")
	}
	parts = append(parts, "queue "+s.queue)
	return strings.Join(parts, ", ")
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
	formats, err := chartFormats(o.formats)
	if err != nil {
		return err
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
	pair, err := tjulink.New(s.up, s.down, &cliCfg, &srvCfg)
	if err != nil {
		return err
	}
	defer pair.Close()

	fmt.Fprintf(out, "TJU TCP demo: sending %s over an emulated link\n", formatBytes(s.size))
	fmt.Fprintf(out, "  link        %s (seed %d)\n", s.describe(), s.seed)
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
		return fmt.Errorf("the transfer failed after %s: %w (the traces so far are in %s)", formatDuration(elapsed), err, dir)
	}

	up, down := pair.ClientEnd.Stats(), pair.ServerEnd.Stats()
	if err := errors.Join(cliTrace.Close(), srvTrace.Close()); err != nil {
		return fmt.Errorf("writing the traces: %w", err)
	}
	intact := tr.Intact()
	writeDemoSummary(out, s, tr, up, down)

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

// writeDemoSummary explains the transfer to a student.
func writeDemoSummary(w io.Writer, s demoScenario, tr *tjulink.Transfer, up, down netem.Stats) {
	sent, got, elapsed := tr.Sent, tr.Received, tr.Elapsed
	si, ri := sent.Conn.Info(), got.Conn.Info()
	bps := float64(got.Bytes) * 8 / elapsed.Seconds()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Result\n")
	fmt.Fprintf(tw, "  time\t%s, from the first SYN to the receiver's FIN\n", formatDuration(elapsed))
	fmt.Fprintf(tw, "  goodput\t%s: %.1f%% of the link's %s\n", formatGoodput(got.Bytes, elapsed), bps/float64(s.rate)*100, formatBitRate(float64(s.rate)))
	if tr.Intact() {
		fmt.Fprintf(tw, "  data\tintact: %d bytes, the same SHA-256 at both ends:\n\t%x\n", got.Bytes, got.Sum)
	} else {
		fmt.Fprintf(tw, "  data\tDAMAGED: the SHA-256 differs\n\tsent     %d bytes, %x\n\treceived %d bytes, %x\n", sent.Bytes, sent.Sum, got.Bytes, got.Sum)
	}
	fmt.Fprintf(tw, "\nThe sender (client)\n")
	pct := 0.0
	if si.SegmentsSent > 0 {
		pct = float64(si.Retransmits) / float64(si.SegmentsSent) * 100
	}
	fmt.Fprintf(tw, "  segments\t%d sent, %d of them retransmissions (%.2f%%)\n", si.SegmentsSent, si.Retransmits, pct)
	fmt.Fprintf(tw, "  recoveries\t%d fast (on duplicate ACKs or SACK), %d %s (RTO expired)\n", si.FastRecoveries, si.Timeouts, pluralize(int(si.Timeouts), "timeout", "timeouts"))
	fmt.Fprintf(tw, "  rtt\tsmoothed %s, min %s (the link's own is %s; the rest is queueing)\n", formatDuration(si.SRTT), formatDuration(si.MinRTT), 2*s.delay)
	mss := max(si.MSS, 1)
	if m := si.Model; m.Mode != "" {
		writeModelSummary(tw, s, si, mss)
	} else {
		fmt.Fprintf(tw, "  cwnd\t%d segments of %d bytes at the end (%s); ssthresh %s\n", si.Cwnd/mss, si.MSS, formatBytes(int64(si.Cwnd)), ssthreshText(si.Ssthresh, mss))
	}
	fmt.Fprintf(tw, "\nThe receiver (server)\n")
	fmt.Fprintf(tw, "  segments\t%d received, %d duplicates (already had those bytes)\n", ri.SegmentsRecv, ri.DuplicateSegs)
	fmt.Fprintf(tw, "\nThe link\n")
	fmt.Fprintf(tw, "  data\t%s\n", linkText(up))
	fmt.Fprintf(tw, "  acks\t%s\n", linkText(down))
	if up.QueueDropped > 0 {
		fmt.Fprintf(tw, "  \tThe queue overflows when the sender goes faster than the link for longer than the\n")
		fmt.Fprintf(tw, "  \tqueue can absorb: above all at the end of slow start, when cwnd doubles past it.\n")
	}
	if s.cc == "reno" && s.loss > 0 && s.delay > 0 && si.MSS > 0 {
		// Mathis et al. 1997: Reno's rate is about MSS/RTT * sqrt(3/2)/sqrt(p).
		rtt := (2 * s.delay).Seconds()
		limit := float64(si.MSS) * 8 / rtt * math.Sqrt(1.5) / math.Sqrt(s.loss)
		if limit < float64(s.rate) && bps < float64(s.rate)/2 {
			fmt.Fprintf(tw, "\nWhy not faster? With %s loss and an RTT of %v, Reno halves its window so often that\n", units.FormatPercent(s.loss), 2*s.delay)
			fmt.Fprintf(tw, "in the long run it averages about MSS/RTT x 1.22/sqrt(p) = %s (Mathis et al.);\n", formatBitRate(limit))
			fmt.Fprintf(tw, "only the first second, before the first loss, goes faster. Try --loss 0.01%%.\n")
		}
	}
	tw.Flush()
}

// writeModelSummary says what a model-based controller (BBR) did: when
// startup ended and at what bandwidth, the model it holds, and the pacing
// rate and window it derives from it.
func writeModelSummary(w io.Writer, s demoScenario, si tju.Info, mss int) {
	m := si.Model
	if m.StartupDone {
		fmt.Fprintf(w, "  startup\tpacing at 2.77 x the bandwidth found so far, the rate doubled every round trip;\n")
		fmt.Fprintf(w, "  \tit ended %s after the handshake at %s, when three round trips in a row\n", formatDuration(m.StartupEnd), formatBitRate(m.StartupBandwidth*8))
		fmt.Fprintf(w, "  \tbrought less than 25%% more (the link was full), and drained the queue it built\n")
	} else {
		fmt.Fprintf(w, "  startup\tstill in startup at the end: the transfer was too short to fill the link\n")
	}
	bdp := m.Bandwidth * m.MinRTT.Seconds()
	fmt.Fprintf(w, "  model\tbottleneck bandwidth %s of payload (the link: %s), min RTT %s;\n", formatBitRate(m.Bandwidth*8), formatBitRate(float64(s.rate)), formatDuration(m.MinRTT))
	fmt.Fprintf(w, "  \ttheir product, the bandwidth-delay product, is %s\n", formatBytes(int64(bdp)))
	fmt.Fprintf(w, "  pacing\t%s at the end (phase %s: it cycles 1.25, 0.75 and 1 x the bandwidth\n", formatBitRate(si.PacingRate*8), m.Mode)
	fmt.Fprintf(w, "  \tto probe for more and drain what probing queued), one quantum per wakeup\n")
	fmt.Fprintf(w, "  cwnd\t%d segments of %d bytes (%s) at the end; the model's target is 2 x that product\n", si.Cwnd/mss, si.MSS, formatBytes(int64(si.Cwnd)))
	if m.CongestedRounds > 0 {
		fmt.Fprintf(w, "  loss\t%d of %d round trips lost more than usual while the RTT showed a queue:\n", m.CongestedRounds, m.Rounds)
		fmt.Fprintf(w, "  \tthose, and only those, lowered the window; random loss does not\n")
	} else {
		fmt.Fprintf(w, "  loss\tnone of %d round trips showed loss with a queue: random loss never lowered the window\n", m.Rounds)
	}
}

func ssthreshText(ss, mss int) string {
	if ss <= 0 || ss >= 1<<30 {
		return "not set yet (no loss seen: still in slow start)"
	}
	return fmt.Sprintf("%d segments (%s)", ss/mss, formatBytes(int64(ss)))
}

// linkText describes what one direction of the emulated link did.
func linkText(st netem.Stats) string {
	lost := st.Lost + st.BurstLost
	s := fmt.Sprintf("%d datagrams, %d lost", st.Offered, lost)
	if st.Offered > 0 {
		s += fmt.Sprintf(" (%.2f%%)", float64(lost)/float64(st.Offered)*100)
	}
	if st.QueueDropped > 0 {
		s += fmt.Sprintf(", %d dropped by the full queue", st.QueueDropped)
	}
	if st.Duplicated > 0 {
		s += fmt.Sprintf(", %d duplicated", st.Duplicated)
	}
	if st.Reordered > 0 {
		s += fmt.Sprintf(", %d reordered", st.Reordered)
	}
	if st.Corrupted > 0 {
		s += fmt.Sprintf(", %d corrupted", st.Corrupted)
	}
	return s
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
		var charts []string
		for _, f := range rep.Files {
			if ext := "." + formats[0]; strings.HasSuffix(f, ext) {
				charts = append(charts, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), role+"-"), ext))
			}
		}
		fmt.Fprintf(tw, "  %s\tthe %s's event trace, %d events (the lab's format)\n", trace.FileName(role), side, len(events))
		fmt.Fprintf(tw, "  %s-*.%s\tits charts: %s\n", role, strings.Join(formats, ", ."), strings.Join(charts, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nStart with %s: the congestion window (reno's sawtooth; under bbr, startup's\ndoubling and then about twice the bandwidth-delay product).\n", filepath.Join(dir, "client-cwnd."+formats[0]))
	fmt.Fprintf(w, "Try another link: tju demo --delay 100ms --loss 1%% --size 4MiB, or see tju demo --help.\n")
	return nil
}

// chartFormats reads --format.
func chartFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "png" && f != "svg" {
			return nil, usagef("--format: unknown format %q (want png, svg or png,svg)", f)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}
