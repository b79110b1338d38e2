// Package plot draws the charts by which the TJU lab judges a transport: the
// congestion, receive and send windows, the RTT estimator, the throughput and
// the time-sequence graph, from the events of a trace (package trace), as PNG
// and SVG files.
//
// Each chart has a function returning a *plot.Plot of gonum.org/v1/plot, for
// callers who want one chart or want to change it, and WriteAll writes every
// chart a trace has the events for:
//
//	events, _, err := traceio.ReadFile("client.event.trace")
//	...
//	rep, err := plot.WriteAll(events, "plots", "client", plot.Options{Title: "client"})
//
// This package's name is that of gonum's; import one of them under another
// name (gplot "gonum.org/v1/plot") to use both.
//
// Time runs along the horizontal axis in seconds from the first event of the
// trace. A chart whose events are absent from the trace is skipped: its
// function returns an error wrapping ErrNoData. Long series are thinned to what
// the image can show (the first, lowest, highest and last value per pixel
// column of a line; one marker per pixel), so traces of millions of events plot
// in seconds and look the same.
package plot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/tjunet/tjunet/trace"
)

// SegmentSize is the segment size of the lab's framework (MAX_DLEN); its
// plotting script shows windows in segments of this many bytes. Charts use
// it for a trace without data segments; otherwise they count in segments
// of the trace's MSS (see Options.MSS).
const SegmentSize = 1375

// ErrNoData is wrapped by the error of a chart whose events are absent from
// the trace, and by WriteAll's error when no chart at all can be drawn.
var ErrNoData = errors.New("no events to plot")

// Options sets how charts look and which files WriteAll writes. The zero
// value is ready to use.
type Options struct {
	// MSS is the segment size the window charts count in; if zero, the
	// largest data segment in the trace (the connection's MSS).
	MSS int
	// Title is put before each chart's own title, such as "client" or a
	// file name; empty for none.
	Title string
	// Width and Height are the size of each chart; 10 by 5 inches if zero.
	Width, Height vg.Length
	// DPI is the resolution of PNG files; 96 if zero.
	DPI int
	// Formats lists the file formats WriteAll writes, of "png" and "svg";
	// both if empty.
	Formats []string
}

func (o Options) size() (w, h vg.Length) {
	w, h = o.Width, o.Height
	if w <= 0 {
		w = 10 * vg.Inch
	}
	if h <= 0 {
		h = 5 * vg.Inch
	}
	return w, h
}

func (o Options) dpi() int {
	if o.DPI <= 0 {
		return vgimg.DefaultDPI
	}
	return o.DPI
}

func (o Options) formats() []string {
	if len(o.Formats) == 0 {
		return []string{"png", "svg"}
	}
	return o.Formats
}

// pixels returns the size of the chart in pixels, roughly, for thinning
// series; within 100x50 and 4096x2048, which is finer than any screen
// shows a line.
func (o Options) pixels() (cols, rows int) {
	w, h := o.size()
	dpi := float64(o.dpi())
	cols = int(min(max(float64(w/vg.Inch)*dpi, 100), 4096))
	rows = int(min(max(float64(h/vg.Inch)*dpi, 50), 2048))
	return cols, rows
}

func (o Options) title(s string) string {
	if o.Title == "" {
		return s
	}
	return o.Title + ": " + s
}

// Chart is one of the charts WriteAll draws.
type Chart struct {
	Name    string // short name, used in file names: "cwnd"
	Summary string // what it shows, in one line
	build   func(*data, Options) (*plot.Plot, error)
}

// Plot draws the chart for events. The error wraps ErrNoData if the trace has
// none of the events the chart needs.
func (c Chart) Plot(events []trace.Event, opt Options) (*plot.Plot, error) {
	return c.build(prepare(events), opt)
}

// Charts returns the charts WriteAll draws, in order.
func Charts() []Chart {
	return []Chart{
		{"cwnd", "congestion window (kB and segments) and slow-start threshold, CWND event types marked", cwnd},
		{"rwnd", "receive window (receiver's free buffer) in kB", rwnd},
		{"swnd", "send window in kB", swnd},
		{"windows", "congestion, receive and send windows together", windows},
		{"rtt", "RTT sample, smoothed RTT and RTO in ms", rtt},
		{"throughput", "bytes delivered in order per 1 s bin, in Mbit/s", throughput},
		{"sequence", "time-sequence graph: sequence numbers of sent and received data and ACKs, retransmissions marked", sequence},
	}
}

// Skip tells why WriteAll did not draw a chart.
type Skip struct {
	Chart  string
	Reason error
}

// Report is what WriteAll did.
type Report struct {
	Files   []string // the files written, in chart order
	Drawn   []string // the charts drawn, by name ("cwnd"), in chart order
	Skipped []Skip   // charts not drawn for lack of events
}

// WriteAll draws every chart of Charts that the events allow and writes it in
// each of opt's formats into dir (created if needed) as
// <prefix>-<chart>.<format>, or <chart>.<format> if prefix is empty. Charts
// without events are listed in the Report's Skipped; if no chart can be drawn
// at all, the error wraps ErrNoData. On a write error, the Report lists the
// files written before it.
func WriteAll(events []trace.Event, dir, prefix string, opt Options) (*Report, error) {
	rep := &Report{}
	for _, f := range opt.formats() {
		if f != "png" && f != "svg" {
			return rep, fmt.Errorf("plot: unsupported format %q (want png or svg)", f)
		}
	}
	d := prepare(events)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return rep, fmt.Errorf("plot: %w", err)
		}
	}
	for _, c := range Charts() {
		p, err := c.build(d, opt)
		if errors.Is(err, ErrNoData) {
			rep.Skipped = append(rep.Skipped, Skip{Chart: c.Name, Reason: err})
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("plot: %s: %w", c.Name, err)
		}
		base := c.Name
		if prefix != "" {
			base = prefix + "-" + c.Name
		}
		for _, f := range opt.formats() {
			name := filepath.Join(dir, base+"."+f)
			if err := Save(p, name, opt); err != nil {
				return rep, err
			}
			rep.Files = append(rep.Files, name)
		}
		rep.Drawn = append(rep.Drawn, c.Name)
	}
	if len(rep.Files) == 0 {
		return rep, fmt.Errorf("plot: %w: the trace has none of the events any chart needs", ErrNoData)
	}
	return rep, nil
}

// Save writes p to the file name in the format its extension names (".png" or
// ".svg"), at opt's size and, for PNG, resolution.
func Save(p *plot.Plot, name string, opt Options) (err error) {
	w, h := opt.size()
	var canvas vg.CanvasWriterTo
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(opt.dpi()))}
	case ".svg":
		canvas = vgsvg.New(w, h)
	default:
		return fmt.Errorf("plot: cannot write %s: unsupported format %q (want .png or .svg)", name, ext)
	}
	p.Draw(draw.New(canvas))
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("plot: %w", cerr)
		}
	}()
	if _, err := canvas.WriteTo(f); err != nil {
		return fmt.Errorf("plot: writing %s: %w", name, err)
	}
	return nil
}
