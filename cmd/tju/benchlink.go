package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/perf/linkbench"
)

// benchLinkOptions are the flags of tju bench link.
type benchLinkOptions struct {
	link, cc                         string
	seeds                            int
	seed                             uint64
	duration                         time.Duration
	json, markdown, fairness         bool
	id, save, from                   string
	timeGiven, seedsGiven, seedGiven bool

	// What check made of them.
	links      []linkbench.Link
	transports []linkbench.Transport
	seedList   []uint64
}

func newBenchLinkCommand(e *env) *cobra.Command {
	o := &benchLinkOptions{}
	cmd := &cobra.Command{
		Use:   "link [flags]",
		Short: "tju against the kernel's TCP through the same emulated links, in one run (needs root)",
		Long: `Runs TJU TCP and the kernel's TCP one after another through the same emulated
link, with the same seed: two network namespaces (the lab's hosts, see tju
labnet) with tjunet's emulator between them, a 100 Mbit/s bottleneck with a
drop-tail queue of one BDP, delay and loss in both directions. Each transport
sends from the client host to the server host with the bench protocol.

Links (issue 13):
  a  20 ms one way, no loss, queue 0.5 MB, 20 s
  b  20 ms one way, 1% loss each way, queue 0.5 MB, 20 s
  c  20 ms one way, 5% loss each way, queue 0.5 MB, 20 s
  d  300 ms ± 50 ms one way, 10% loss each way, queue 7.5 MB, 90 s

Transports (--cc): tju (a nil Config: tju's default controller), tju-NAME
(tju with controller NAME: bbr, reno, cubic), tcp-NAME (the kernel's TCP with
TCP_CONGESTION NAME, such as cubic or bbr; see
/proc/sys/net/ipv4/tcp_available_congestion_control).

For each link it prints a table: one row per transport, the means over the
seeds: goodput (Mbit/s = 10^6 bit/s, from the receiver's first byte over the
link's time), the goodput's range over the seeds, the sender's
retransmitted segments (and their share of the segments sent), the mean
wait in the bottleneck queue and the share of packets it dropped (data
direction), and the sender's smoothed RTT (mean over the run). A line per
run goes to stderr as it ends. --fairness adds three runs on link a: two
tju flows, then tju against kernel CUBIC both ways round (tju first, then
CUBIC first); the second flow starts 2 s after the first and the shares
are measured over the next 10 s (--time sets that window too), with
Jain's fairness index.

The ceiling column is the goodput the link's rate allows with the
sender's segment size and the mean packet size at the emulator (tju's
header and MAC cost more than TCP's). Under the tables: the emulator's
own lag for the packets' due times, and any packets the client host
dropped before reaching the emulator (both say a machine too busy for it).

--from FILE prints a saved report again, in any of these forms, and runs
nothing. --markdown prints the summary as Markdown tables instead, the
fairness runs included. --json prints one JSON document instead; --save
FILE writes it into FILE as well, beside the text or the tables:
  runs      link, transport, seed, seconds, bytes, goodput_mbps, mss,
            packet_bytes, ceiling_mbps, retransmits, segments_sent, srtt_ms,
            min_rtt_ms, queue_delay_ms, queue_drop_pct, emulator_lag_ms,
            emulator_max_lag_ms, host_drops, verified, total_bytes,
            elapsed_s, drain_s, error
  summary   per link and transport: runs, failed, goodput_mbps,
            goodput_min_mbps, goodput_max_mbps, ceiling_mbps, retransmits,
            retransmit_pct, queue_delay_ms, queue_drop_pct, srtt_ms
  fairness  name, link, seed, delay_s, window_s, jain, queue_delay_ms,
            queue_drop_pct, error, and flows: transport, bytes,
            goodput_mbps, share, retransmits, srtt_ms, verified
  and links, start, elapsed_s, load, kernel.

Needs root (network namespaces and TUN devices). The kernel TCP settings
(buffers autotuned up to 64 MiB, no cached metrics) are set in the lab's
namespaces only. Exit status: 0 when every run was verified, 1 otherwise
or if the bench cannot run, 2 for a usage error.`,
		Example: `  # Links a to d, 3 seeds, tju against kernel CUBIC and BBR, and the fairness runs:
  sudo tju bench link --seeds 3 --fairness

  # A quick look at link b, 5 s, tju's three controllers and the kernel's BBR:
  sudo tju bench link --link b --time 5s --cc tju-bbr,tju-cubic,tju-reno,tcp-bbr`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			o.timeGiven, o.seedsGiven, o.seedGiven = f.Changed("time"), f.Changed("seeds"), f.Changed("seed")
			if err := o.check(); err != nil {
				return err
			}
			return runBenchLink(cmd, o, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.link, "link", "all", "the `LINKS` to run: a, b, c, d, a list like a,b, or all")
	fs.StringVar(&o.cc, "cc", "tju,tcp-cubic,tcp-bbr", "the `TRANSPORTS` to run, in order: tju, tju-NAME, tcp-NAME")
	fs.IntVar(&o.seeds, "seeds", 1, "run each transport with `N` seeds: --seed, --seed+1, ...")
	fs.Uint64Var(&o.seed, "seed", 1, "the first `SEED` of the emulator's random decisions")
	fs.VarP((*seconds)(&o.duration), "time", "t", "measure each run for this `DURATION` instead of the link's (20 s; d: 90 s)")
	fs.BoolVarP(&o.json, "json", "J", false, "print the results as JSON")
	fs.BoolVar(&o.markdown, "markdown", false, "print the summary as Markdown tables (for a README)")
	fs.BoolVar(&o.fairness, "fairness", false, "add the fairness runs on link a: tju and tju, tju and kernel CUBIC (each starting first)")
	fs.StringVar(&o.from, "from", "", "run nothing: print the report saved in `FILE` (by --save or --json)")
	fs.StringVar(&o.save, "save", "", "also write the JSON report into `FILE` (with the text on stdout)")
	fs.StringVar(&o.id, "id", "", "the lab's `ID` (default: from the process ID); a lab of that ID must not exist")
	return cmd
}

// check reads the flags into the bench's terms.
func (o *benchLinkOptions) check() error {
	var err error
	if o.links, err = linkbench.ParseLinks(o.link); err != nil {
		return usagef("--link %q: %v", o.link, err)
	}
	if o.transports, err = linkbench.ParseTransports(o.cc); err != nil {
		return usagef("--cc %q: %v", o.cc, err)
	}
	if o.seeds < 1 || o.seeds > 1000 {
		return usagef("--seeds %d: want 1 to 1000 seeds", o.seeds)
	}
	o.seedList = nil
	for i := range o.seeds {
		o.seedList = append(o.seedList, o.seed+uint64(i))
	}
	if o.json && o.markdown {
		return usagef("--json and --markdown: want one output")
	}
	if o.timeGiven && (o.duration <= 0 || o.duration > 24*time.Hour) {
		return usagef("--time %v: want a positive duration like 20s", o.duration)
	}
	return nil
}

func runBenchLink(cmd *cobra.Command, o *benchLinkOptions, e *env) error {
	opts := linkbench.Options{Links: o.links, Transports: o.transports, Seeds: o.seedList, Fairness: o.fairness, ID: o.id,
		Progress: func(r linkbench.Run) {
			line := fmt.Sprintf("link %s, %s, seed %d: %.1f Mbit/s, %d retransmits, queue %.1f ms, drops %.2f%%, srtt %.1f ms (%.0f s, %.1f s after the window)",
				r.Link, r.Transport, r.Seed, r.GoodputMbps, r.Retransmits, r.QueueDelayMs, r.QueueDropPct, r.SRTTMs, r.ElapsedS, r.DrainS)
			if r.Error != "" {
				line += "; " + r.Error
			}
			fmt.Fprintln(e.stderr, line)
		},
		FairnessProgress: func(f linkbench.Fairness) {
			fmt.Fprintf(e.stderr, "fairness %s: Jain's index %.3f\n", f.Name, f.Jain)
		},
	}
	if o.timeGiven {
		opts.Duration, opts.FairnessWindow = o.duration, o.duration
	}
	if o.save != "" {
		// Fail now, not after half an hour of runs.
		f, err := os.OpenFile(o.save, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	var rep *linkbench.Report
	var err error
	if o.from != "" {
		rep, err = linkbench.ReadReport(o.from)
	} else {
		rep, err = linkbench.Bench(cmd.Context(), opts)
	}
	if err != nil {
		return err
	}
	if o.save != "" {
		var b bytes.Buffer
		rep.WriteJSON(&b)
		if err := os.WriteFile(o.save, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	switch {
	case o.json:
		err = rep.WriteJSON(e.stdout)
	case o.markdown:
		err = rep.WriteMarkdown(e.stdout)
	default:
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		return err
	}
	return rep.Failed()
}
