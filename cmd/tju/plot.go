package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gonum.org/v1/plot/vg"

	"github.com/spf13/cobra"
	"github.com/tjunet/tjunet/plot"
)

func init() { register(newPlotCommand) }

// plotOpts holds the flags of tju plot.
type plotOpts struct {
	out           string
	formats       string
	title         string
	width, height float64
	dpi           int
	maxBad        int
}

func newPlotCommand(e *env) *cobra.Command {
	o := &plotOpts{}
	cmd := &cobra.Command{
		Use:   "plot [flags] TRACE...",
		Short: "draw the lab's charts (windows, RTT, throughput, sequence) from event traces",
		Long: `Reads event traces in the TJU lab's format, as tjunet and the lab's C
framework write them (client.event.trace, server.event.trace; "-" reads
standard input), and draws for each trace every chart it has the events for:

  cwnd        congestion window in kB and segments of the trace's MSS, with the
              slow-start threshold (SSTH) and the CWND event types marked
  rwnd        receive window (the receiver's free buffer)
  swnd        send window
  windows     cwnd, rwnd and swnd together
  rtt         RTT samples, smoothed RTT and RTO, in ms
  throughput  bytes delivered in order (DELV) per second, in Mbit/s
  sequence    time-sequence graph of SEND and RECV, retransmissions marked

A chart whose events are not in a trace is skipped with a note. The charts
go into DIR (default ./tju-plots, created if needed) as <name>-<chart>.png
and .svg, where <name> is the trace's file name without ".event.trace" (or
its extension); the files written are printed, one a line. Lines that are
not in the trace format are reported on stderr with their file name and line
number, and the rest of the trace is still plotted; lines with event names
the lab's format does not know are counted and skipped, as the lab's script
does.

Exit status: 0 if every trace was plotted, 1 if a trace could not be read or
had nothing to plot, 2 for a usage error.`,
		Example: `  # Both sides of a lab run, into ./tju-plots:
  tju plot client.event.trace server.event.trace

  # PNG only, into results/, with a title on every chart:
  tju plot -o results --format png --title "Reno, 10% loss" client.event.trace

  # A trace from a pipe, drawn large for a slide:
  ssh lab cat client.event.trace | tju plot --width 16 --height 9 --dpi 120 -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("no trace file given (want TRACE..., or - for standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runPlot(cmd.Context(), o, args, e) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.out, "output", "o", "tju-plots", "write the charts into `DIR`")
	fs.StringVar(&o.formats, "format", "png,svg", "comma-separated `FORMATS` to write: png, svg")
	fs.StringVar(&o.title, "title", "", "`TEXT` before each chart's title (default: the trace's name)")
	fs.Float64Var(&o.width, "width", 10, "chart width in `INCHES`")
	fs.Float64Var(&o.height, "height", 5, "chart height in `INCHES`")
	fs.IntVar(&o.dpi, "dpi", 96, "PNG resolution in `DOTS` per inch")
	fs.IntVar(&o.maxBad, "max-errors", 20, "report at most `N` bad lines per trace (0: all)")
	return cmd
}

func runPlot(ctx context.Context, o *plotOpts, files []string, e *env) error {
	opt := plot.Options{Width: vg.Length(o.width) * vg.Inch, Height: vg.Length(o.height) * vg.Inch, DPI: o.dpi}
	var err error
	if opt.Formats, err = plot.ParseFormats(o.formats); err != nil {
		return usagef("--format: %v", err)
	}
	if !(o.width > 0 && o.width <= 100) || !(o.height > 0 && o.height <= 100) {
		return usagef("--width and --height must be between 0 and 100 inches")
	}
	if o.dpi < 10 || o.dpi > 1200 {
		return usagef("--dpi must be between 10 and 1200")
	}
	if o.width*float64(o.dpi) > 16384 || o.height*float64(o.dpi) > 16384 {
		return usagef("--width, --height and --dpi make an image over 16384 pixels on a side")
	}
	if o.out == "" {
		return usagef("-o: empty directory name")
	}

	var errs []error
	used := map[string]bool{}
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		prefix := plot.UniquePrefix(plot.ChartPrefix(name), used)
		opt.Title = prefix
		if o.title != "" {
			opt.Title = o.title
			if len(files) > 1 {
				opt.Title += ", " + prefix
			}
		}
		if err := plotTrace(name, prefix, o, opt, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// plotTrace reads one trace, reports its bad lines and writes its charts.
func plotTrace(name, prefix string, o *plotOpts, opt plot.Options, e *env) error {
	var r io.Reader
	display := name
	if name == "-" {
		if e.stdin == nil {
			return errors.New("no standard input to read")
		}
		r, display = e.stdin, "<stdin>"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("cannot read trace: %w", err)
		}
		defer f.Close()
		r = f
	}

	events, err := plot.ReadTrace(r, display, o.maxBad, e.stderr)
	if err != nil {
		return err
	}

	rep, err := plot.WriteAll(events, o.out, prefix, opt)
	if rep != nil {
		for _, f := range rep.Files {
			fmt.Fprintln(e.stdout, f)
		}
		if len(rep.Files) > 0 {
			for _, s := range rep.Skipped {
				fmt.Fprintf(e.stderr, "%s: no %s chart: %v\n", display, s.Chart, strings.TrimPrefix(s.Reason.Error(), plot.ErrNoData.Error()+": "))
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", display, err)
	}
	return nil
}
