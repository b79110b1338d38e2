package plot

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tjunet/tjunet/trace"
)

// Colours, from the usual categorical palette so the charts agree.
var (
	colCwnd     = color.RGBA{31, 119, 180, 255}  // blue
	colSsthresh = color.RGBA{255, 127, 14, 255}  // orange
	colRwnd     = color.RGBA{44, 160, 44, 255}   // green
	colSwnd     = color.RGBA{148, 103, 189, 255} // purple
	colRTO      = color.RGBA{214, 39, 40, 255}   // red
	colSample   = color.RGBA{127, 127, 127, 255} // grey
	colAck      = color.RGBA{44, 160, 44, 255}   // green
	colAckOut   = color.RGBA{255, 127, 14, 255}  // orange
	colRecvd    = color.RGBA{148, 103, 189, 255} // purple
	colFill     = color.NRGBA{31, 119, 180, 70}  // translucent blue
)

// cwndMarks styles the CWND event types.
var cwndMarks = map[int]struct {
	col    color.Color
	shape  draw.GlyphDrawer
	radius vg.Length
}{
	trace.CwndSlowStart:      {color.RGBA{44, 160, 44, 255}, draw.CircleGlyph{}, 2},
	trace.CwndCongAvoid:      {color.RGBA{23, 190, 207, 255}, draw.TriangleGlyph{}, 2},
	trace.CwndFastRetransmit: {color.RGBA{255, 127, 14, 255}, draw.SquareGlyph{}, 3.5},
	trace.CwndTimeout:        {color.RGBA{214, 39, 40, 255}, draw.CrossGlyph{}, 5},
}

const timeLabel = "time since the first event (s)"

// newPlot returns a plot with the common furniture: title, axis labels,
// grid, the time axis over the whole trace, and the legend at the top.
func newPlot(d *data, opt Options, title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = opt.title(title)
	p.Title.Padding = 6
	p.X.Label.Text = timeLabel
	p.Y.Label.Text = ylabel
	for _, f := range []struct {
		font *font.Font
		size vg.Length
	}{
		{&p.Title.TextStyle.Font, 14},
		{&p.X.Label.TextStyle.Font, 12},
		{&p.Y.Label.TextStyle.Font, 12},
		{&p.X.Tick.Label.Font, 11},
		{&p.Y.Tick.Label.Font, 11},
		{&p.Legend.TextStyle.Font, 11},
	} {
		f.font.Variant = "Sans"
		f.font.Size = f.size
	}
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = 0.4 * vg.Inch
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{225}
	grid.Horizontal.Color = color.Gray{225}
	p.Add(grid)
	p.X.Min = 0
	if n := len(d.events); n > 0 {
		p.X.Max = max(d.sec(&d.events[n-1]), 0.001)
	}
	return p
}

// headroom sets the Y axis from 0 to above ymax, leaving room at the top for
// a legend of the given number of entries.
func headroom(p *plot.Plot, ymax float64, entries int) {
	p.Y.Min = 0
	if !(ymax > 0) || !finite(ymax) {
		ymax = 1
	}
	p.Y.Max = ymax * (1.08 + 0.06*float64(entries))
}

// stepLine draws a value that holds from one event to the next, up to end.
func stepLine(xys plotter.XYs, cols int, end float64, col color.Color, width vg.Length, dashed bool) (*plotter.Line, error) {
	xys = thinLine(xys, cols)
	if n := len(xys); n > 0 && end > xys[n-1].X {
		xys = append(xys[:n:n], plotter.XY{X: end, Y: xys[n-1].Y})
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color = col
	l.Width = width
	if dashed {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	return l, nil
}

// line draws a series joining its points.
func line(xys plotter.XYs, cols int, col color.Color, width vg.Length, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(thinLine(xys, cols))
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = width
	if dashed {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	return l, nil
}

// points draws markers, at most one per pixel, for the points inside the given
// Y range.
func points(xys plotter.XYs, opt Options, xmax, ymin, ymax float64, col color.Color, shape draw.GlyphDrawer, r vg.Length) (*plotter.Scatter, error) {
	cols, rows := opt.pixels()
	s, err := plotter.NewScatter(thinPoints(xys, cols, rows, 0, xmax, ymin, ymax))
	if err != nil {
		return nil, err
	}
	if len(s.XYs) < 200 && r < 3 { // few points: make them easy to see
		r *= 1.6
	}
	s.Color = col
	s.Shape = shape
	s.Radius = r
	return s, nil
}

func (d *data) end() float64 {
	if n := len(d.events); n > 0 {
		return d.sec(&d.events[n-1])
	}
	return 0
}

func noData(chart string, kinds ...trace.Kind) error {
	s := ""
	for i, k := range kinds {
		if i > 0 {
			s += " or "
		}
		s += k.String()
	}
	return fmt.Errorf("%w: %s needs %s events", ErrNoData, chart, s)
}

// kb formats a byte count in kB (10^3 bytes) with at most one decimal.
func kb(bytes float64) string {
	return strconv.FormatFloat(math.Round(bytes/100)/10, 'f', -1, 64)
}

// kbLabel names the unit of the window charts' axes: SI, as everywhere in
// tjunet.
const kbLabel = "kB (1 kB = 1000 bytes)"

// segmentTicks marks a kB axis at round numbers of segments of mss bytes,
// labelled "<kB> (<segments>)".
type segmentTicks struct{ mss float64 }

// Ticks implements plot.Ticker.
func (t segmentTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := niceTicks{}.Ticks(lo*1000/t.mss, hi*1000/t.mss)
	for i := range ticks {
		seg := ticks[i].Value
		ticks[i].Value = seg * t.mss / 1000
		if ticks[i].Label != "" {
			ticks[i].Label = kb(seg*t.mss) + " (" + ticks[i].Label + ")"
		}
	}
	return ticks
}

// segSize returns the segment size the charts count windows in: opt.MSS,
// else the largest data segment the trace sent or received (the
// connection's MSS, the mss: of --stats; 1375 bytes in the lab),
// else SegmentSize.
func (d *data) segSize(opt Options) int {
	if opt.MSS > 0 {
		return opt.MSS
	}
	m := 0
	for i := range d.events {
		if e := &d.events[i]; e.Kind == trace.KindSend || e.Kind == trace.KindRecv {
			m = max(m, e.Length)
		}
	}
	if m == 0 {
		return SegmentSize
	}
	return m
}

// infiniteSsthresh is the slow-start threshold traced before the first
// loss ("infinite": tjunet traces it as 1 GiB, the lab as larger values).
const infiniteSsthresh = 1 << 30

// clipRatio is how far above the steady state a peak must rise before a
// window chart clips its axis to the steady state.
const clipRatio = 2.5

// steadyFrom returns the time from which a trace shows its steady state:
// the first loss (a CWND event of type fast retransmit or timeout), or a
// quarter of the trace if that is later. ok is false if nothing was lost:
// then everything is the steady state.
func (d *data) steadyFrom() (t float64, ok bool) {
	for i := range d.events {
		e := &d.events[i]
		if e.Kind == trace.KindCwnd && (e.Type == trace.CwndFastRetransmit || e.Type == trace.CwndTimeout) {
			return max(d.sec(e), d.end()/4), true
		}
	}
	return 0, false
}

// maxFrom returns the largest Y of xys at or after t, counting the value
// in force at t, and 0 if there is none.
func maxFrom(xys plotter.XYs, t float64) float64 {
	m := 0.0
	for i, p := range xys {
		if p.X >= t || (i+1 < len(xys) && xys[i+1].X > t) {
			m = max(m, p.Y)
		}
	}
	return m
}

// peakOf returns the point of xys with the largest Y.
func peakOf(xys plotter.XYs) plotter.XY {
	var pk plotter.XY
	for _, p := range xys {
		if p.Y > pk.Y {
			pk = p
		}
	}
	return pk
}

// steadyTop returns the value to scale a window chart to so that the
// steady state fills it: the steady state's largest window if the peak
// before it (a slow-start overshoot) is more than clipRatio times higher,
// else 0 (do not clip).
func (d *data) steadyTop(series ...plotter.XYs) float64 {
	t, ok := d.steadyFrom()
	if !ok {
		return 0
	}
	steady, full := 0.0, 0.0
	for _, xys := range series {
		steady = max(steady, maxFrom(xys, t))
		_, _, _, m := xyRange(xys)
		full = max(full, m)
	}
	if steady > 0 && full > clipRatio*steady {
		return steady * 1.25
	}
	return 0
}

// axisRanges are a plot's axis limits, which Add widens to the range of
// whatever is added: a chart that clips saves them and restores them last.
type axisRanges struct{ xmin, xmax, ymin, ymax float64 }

func saveAxes(p *plot.Plot) axisRanges { return axisRanges{p.X.Min, p.X.Max, p.Y.Min, p.Y.Max} }

func (a axisRanges) restore(p *plot.Plot) {
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = a.xmin, a.xmax, a.ymin, a.ymax
}

// markOffScale marks a point above the clipped axis at its time on the top
// edge, with a text saying what and where it is.
func markOffScale(p *plot.Plot, top float64, at plotter.XY, text string, col color.Color) error {
	y := top * 0.965
	s, err := plotter.NewScatter(plotter.XYs{{X: at.X, Y: y}})
	if err != nil {
		return err
	}
	s.Shape = draw.PyramidGlyph{}
	s.Color = col
	s.Radius = 4
	p.Add(s)
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: at.X, Y: y}}, Labels: []string{text}})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = 10
		l.TextStyle[i].Font.Variant = "Sans"
		l.TextStyle[i].Color = col
		l.TextStyle[i].YAlign = draw.YCenter
	}
	l.Offset = vg.Point{X: 7}
	p.Add(l)
	return nil
}

// ssthreshLines draws a slow-start threshold (in kB) as a dashed step line
// where it is finite and as a dotted line along the top edge where it is
// "infinite" (infiniteSsthresh or more), which no axis could show, with a
// text saying so. It adds one legend entry for each kind drawn.
func ssthreshLines(p *plot.Plot, ss plotter.XYs, cols int, end, ytop float64, width vg.Length) error {
	type run struct {
		inf bool
		xys plotter.XYs
	}
	var runs []run
	for _, pt := range ss {
		inf := pt.Y*1000 >= infiniteSsthresh
		if n := len(runs); n > 0 && runs[n-1].inf == inf {
			runs[n-1].xys = append(runs[n-1].xys, pt)
			continue
		}
		if n := len(runs); n > 0 {
			last := runs[n-1].xys[len(runs[n-1].xys)-1]
			runs[n-1].xys = append(runs[n-1].xys, plotter.XY{X: pt.X, Y: last.Y}) // holds until the change
		}
		runs = append(runs, run{inf: inf, xys: plotter.XYs{pt}})
	}
	legendFinite, legendInf := false, false
	for i, r := range runs {
		runEnd := end
		if i+1 < len(runs) {
			runEnd = runs[i+1].xys[0].X
		}
		if !r.inf {
			l, err := stepLine(r.xys, cols, runEnd, colSsthresh, width, true)
			if err != nil {
				return err
			}
			p.Add(l)
			if !legendFinite {
				p.Legend.Add("ssthresh", l)
				legendFinite = true
			}
			continue
		}
		top := ytop * 0.995
		l, err := plotter.NewLine(plotter.XYs{{X: r.xys[0].X, Y: top}, {X: runEnd, Y: top}})
		if err != nil {
			return err
		}
		l.Color = colSsthresh
		l.Width = width + 1
		l.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		p.Add(l)
		p.Legend.YOffs = -vg.Points(6) // below the line along the top
		if !legendInf {
			p.Legend.Add("ssthresh = ∞ (drawn at the top edge)", l)
			legendInf = true
		}
	}
	return nil
}

// Cwnd draws the congestion window against time in kB, with the number of
// segments (of the connection's MSS, see Options.MSS) beside each kB
// value, as a step line; a marker for each CWND event, shaped and coloured
// by its type (slow start, congestion avoidance, fast retransmit,
// timeout); and the slow-start threshold of SSTH events, if any, as a
// dashed line, drawn along the top edge while it is infinite. When the
// slow-start peak towers over the steady state (by more than 2.5 times),
// the axis is scaled to the steady state and the peak is marked on the
// top edge with its value. The error wraps ErrNoData if the trace has no
// CWND event.
func Cwnd(events []trace.Event, opt Options) (*plot.Plot, error) {
	return cwnd(prepare(events), opt)
}

func cwnd(d *data, opt Options) (*plot.Plot, error) {
	if !d.has(trace.KindCwnd) {
		return nil, noData("cwnd", trace.KindCwnd)
	}
	cols, _ := opt.pixels()
	mss := float64(d.segSize(opt))
	all := d.sizes(trace.KindCwnd, 1000)
	_, _, _, ymax := xyRange(all)
	byType := map[int]plotter.XYs{}
	counts := map[int]int{}
	j := 0
	for i := range d.events {
		e := &d.events[i]
		if e.Kind == trace.KindCwnd {
			byType[e.Type] = append(byType[e.Type], all[j])
			counts[e.Type]++
			j++
		}
	}
	title := fmt.Sprintf("congestion window (max %s kB = %.1f segments of %.0f B)", kb(ymax*1000), ymax*1000/mss, mss)
	if n := counts[trace.CwndFastRetransmit] + counts[trace.CwndTimeout]; n > 0 {
		title += fmt.Sprintf("; fast retransmits: %d, timeouts: %d", counts[trace.CwndFastRetransmit], counts[trace.CwndTimeout])
	}
	top := d.steadyTop(all)
	ylabel := fmt.Sprintf("cwnd, kB (segments of %.0f B)", mss)
	if top > 0 {
		ylabel += ", steady state"
	}
	p := newPlot(d, opt, title, ylabel)
	p.Y.Tick.Marker = segmentTicks{mss}

	l, err := stepLine(all, cols, d.end(), colCwnd, 1.5, false)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	p.Legend.Add("cwnd", l)
	var ss plotter.XYs
	entries := 1 + len(byType)
	if d.has(trace.KindSsth) {
		ss = d.sizes(trace.KindSsth, 1000)
		entries += 2
		// A finite threshold a little above the window still shows.
		if smax := finiteMax(ss); top == 0 && smax <= 2*ymax {
			ymax = max(ymax, smax)
		}
	}
	if top > 0 {
		ymax = top
	}
	headroom(p, ymax, entries)
	axes := saveAxes(p)
	if ss != nil {
		if err := ssthreshLines(p, ss, cols, d.end(), axes.ymax, 1.5); err != nil {
			return nil, err
		}
	}
	// Rare types last, so they are drawn on top.
	for _, typ := range sortedTypes(byType) {
		m, ok := cwndMarks[typ]
		if !ok {
			m.col, m.shape, m.radius = color.Black, draw.PlusGlyph{}, 3
		}
		s, err := points(byType[typ], opt, p.X.Max, 0, p.Y.Max, m.col, m.shape, m.radius)
		if err != nil {
			return nil, err
		}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", trace.CwndTypeName(typ), counts[typ]), s)
	}
	if top > 0 {
		pk := peakOf(all)
		err := markOffScale(p, axes.ymax, pk, fmt.Sprintf("slow-start peak %s kB (%.0f segments) at %.2f s, off the scale",
			kb(pk.Y*1000), pk.Y*1000/mss, pk.X), colCwnd)
		if err != nil {
			return nil, err
		}
	}
	axes.restore(p) // Add widened them to every line's range
	return p, nil
}

// finiteMax returns the largest Y of xys below infiniteSsthresh bytes
// (xys in kB).
func finiteMax(xys plotter.XYs) float64 {
	m := 0.0
	for _, p := range xys {
		if p.Y*1000 < infiniteSsthresh {
			m = max(m, p.Y)
		}
	}
	return m
}

// sortedTypes orders CWND types by how many events they have, most first.
func sortedTypes(m map[int]plotter.XYs) []int {
	types := make([]int, 0, len(m))
	for t := range m {
		types = append(types, t)
	}
	slices.SortFunc(types, func(a, b int) int {
		if c := cmp.Compare(len(m[b]), len(m[a])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return types
}

// windowChart draws the Size of one kind of window event as a step line.
func windowChart(d *data, opt Options, k trace.Kind, chart, title, label string, col color.Color) (*plot.Plot, error) {
	if !d.has(k) {
		return nil, noData(chart, k)
	}
	cols, _ := opt.pixels()
	xys := d.sizes(k, 1000)
	_, _, ymin, ymax := xyRange(xys)
	p := newPlot(d, opt, fmt.Sprintf("%s (min %s kB, max %s kB)", title, kb(ymin*1000), kb(ymax*1000)), kbLabel)
	l, err := stepLine(xys, cols, d.end(), col, 1.5, false)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	p.Legend.Add(label, l)
	headroom(p, ymax, 1)
	if ymin < 0 {
		p.Y.Min = ymin * 1.1
	}
	return p, nil
}

// Rwnd draws the receive window of RWND events (the receiver's free buffer)
// against time, in kB. The error wraps ErrNoData if the trace has no RWND
// event.
func Rwnd(events []trace.Event, opt Options) (*plot.Plot, error) {
	return rwnd(prepare(events), opt)
}

func rwnd(d *data, opt Options) (*plot.Plot, error) {
	return windowChart(d, opt, trace.KindRwnd, "rwnd", "receive window", "rwnd", colRwnd)
}

// Swnd draws the send window of SWND events against time, in kB. The error
// wraps ErrNoData if the trace has no SWND event.
func Swnd(events []trace.Event, opt Options) (*plot.Plot, error) {
	return swnd(prepare(events), opt)
}

func swnd(d *data, opt Options) (*plot.Plot, error) {
	return windowChart(d, opt, trace.KindSwnd, "swnd", "send window", "swnd", colSwnd)
}

// Windows draws the congestion, receive and send windows (and the slow-start
// threshold, if traced) together against time, in kB, each as far as the
// trace has its events. The error wraps ErrNoData if it has none of CWND,
// RWND and SWND.
func Windows(events []trace.Event, opt Options) (*plot.Plot, error) {
	return windows(prepare(events), opt)
}

func windows(d *data, opt Options) (*plot.Plot, error) {
	if !d.has(trace.KindCwnd, trace.KindRwnd, trace.KindSwnd) {
		return nil, noData("windows", trace.KindCwnd, trace.KindRwnd, trace.KindSwnd)
	}
	cols, _ := opt.pixels()
	cw, sw, rw := d.sizes(trace.KindCwnd, 1000), d.sizes(trace.KindSwnd, 1000), d.sizes(trace.KindRwnd, 1000)
	_, _, _, cmax := xyRange(cw, sw)
	_, _, _, rmax := xyRange(rw)
	// The sender's windows set the scale: a receive window far above them
	// (a large buffer) is drawn along the top edge, and a slow-start peak
	// far above the steady state is clipped and marked.
	ymax := cmax
	top := d.steadyTop(cw, sw)
	if top > 0 {
		ymax = top
	}
	pinRwnd := cmax > 0 && rmax > clipRatio*ymax
	if !pinRwnd {
		ymax = max(ymax, rmax)
	}
	ylabel := kbLabel
	if top > 0 {
		ylabel += ", steady state"
	}
	p := newPlot(d, opt, "windows: congestion, receive and send", ylabel)
	headroom(p, ymax, 5)
	axes := saveAxes(p)
	type series struct {
		xys  plotter.XYs
		name string
		col  color.Color
		wid  vg.Length
	}
	rwTop := p.Y.Max * 0.985
	if pinRwnd {
		pinned := make(plotter.XYs, len(rw))
		for i, pt := range rw {
			pinned[i] = plotter.XY{X: pt.X, Y: min(pt.Y, rwTop)}
		}
		rw = pinned
		p.Legend.YOffs = -vg.Points(6) // below the line along the top
	}
	// swnd wide and pale beneath cwnd, so that both show where they are
	// equal.
	for _, w := range []series{
		{rw, "rwnd", colRwnd, 2.5},
		{sw, "swnd", color.NRGBA{148, 103, 189, 150}, 5},
		{cw, "cwnd", colCwnd, 1.5},
	} {
		if len(w.xys) == 0 {
			continue
		}
		l, err := stepLine(w.xys, cols, d.end(), w.col, w.wid, false)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		name := w.name
		if w.name == "rwnd" && pinRwnd {
			name = fmt.Sprintf("rwnd (up to %s kB: drawn at the top edge)", kb(rmax*1000))
		}
		p.Legend.Add(name, l)
	}
	if d.has(trace.KindSsth) {
		if err := ssthreshLines(p, d.sizes(trace.KindSsth, 1000), cols, d.end(), axes.ymax, 1); err != nil {
			return nil, err
		}
	}
	if top > 0 {
		pk := peakOf(cw)
		if err := markOffScale(p, axes.ymax, pk, fmt.Sprintf("cwnd peak %s kB at %.2f s, off the scale", kb(pk.Y*1000), pk.X), colCwnd); err != nil {
			return nil, err
		}
	}
	axes.restore(p)
	return p, nil
}

// RTT draws the RTT estimator of RTTS events against time in milliseconds:
// each RTT sample as a dot, the smoothed RTT (EstimatedRTT) and the
// retransmission timeout (TimeoutInterval) as lines. The error wraps ErrNoData
// if the trace has no RTTS event.
func RTT(events []trace.Event, opt Options) (*plot.Plot, error) {
	return rtt(prepare(events), opt)
}

func rtt(d *data, opt Options) (*plot.Plot, error) {
	sample, srtt, rto := d.rttSeries()
	if len(sample)+len(srtt)+len(rto) == 0 {
		return nil, noData("rtt", trace.KindRtts)
	}
	cols, _ := opt.pixels()
	_, _, _, ymax := xyRange(sample, srtt, rto)
	title := "RTT: samples, smoothed RTT and RTO"
	if n := len(srtt); n > 0 {
		title += fmt.Sprintf(" (last smoothed %.1f ms, RTO %.1f ms)", srtt[n-1].Y, lastY(rto))
	}
	p := newPlot(d, opt, title, "milliseconds")
	headroom(p, ymax, 3)
	// Samples first, so the smoothed RTT is drawn over them.
	if len(sample) > 0 {
		s, err := points(sample, opt, p.X.Max, p.Y.Min, p.Y.Max, colSample, draw.CircleGlyph{}, 1.5)
		if err != nil {
			return nil, err
		}
		p.Add(s)
		p.Legend.Add("RTT sample (SampleRTT)", s)
	}
	if len(srtt) > 0 {
		l, err := line(srtt, cols, colCwnd, 2, false)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("smoothed RTT (EstimatedRTT)", l)
	}
	if len(rto) > 0 {
		l, err := stepLine(rto, cols, d.end(), colRTO, 1.5, true)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("RTO (TimeoutInterval)", l)
	}
	return p, nil
}

func lastY(xys plotter.XYs) float64 {
	if len(xys) == 0 {
		return math.NaN()
	}
	return xys[len(xys)-1].Y
}

// Throughput draws the bytes delivered in order (DELV events) in bins of one
// second from the first event, in Mbit/s (10^6 bits per second); the last bin
// may cover less than a second of the trace, and so look low. Deliveries
// spread over more than 100,000 seconds get wider bins. The title
// gives the total and the mean rate from the first event to the last
// delivery. The error wraps ErrNoData if the trace has no DELV event with
// bytes.
func Throughput(events []trace.Event, opt Options) (*plot.Plot, error) {
	return throughput(prepare(events), opt)
}

func throughput(d *data, opt Options) (*plot.Plot, error) {
	start, width, bins, total, last := d.throughputBins()
	if total == 0 {
		return nil, noData("throughput", trace.KindDelv)
	}
	xys := make(plotter.XYs, 0, len(bins)+1)
	ymax := 0.0
	for i, b := range bins {
		mbps := b * 8 / 1e6 / width
		ymax = max(ymax, mbps)
		xys = append(xys, plotter.XY{X: start + float64(i)*width, Y: mbps})
	}
	xys = append(xys, plotter.XY{X: start + float64(len(bins))*width, Y: xys[len(xys)-1].Y})
	mean := 0.0
	if last > 0 {
		mean = total * 8 / 1e6 / last
	}
	binName := "1 s bins"
	if width != 1 {
		binName = strconv.FormatFloat(width, 'f', -1, 64) + " s bins"
	}
	p := newPlot(d, opt, fmt.Sprintf("throughput in %s: %.2f MB delivered, mean %.2f Mbit/s", binName, total/1e6, mean), "Mbit/s delivered in order")
	p.X.Max = max(p.X.Max, xys[len(xys)-1].X)
	l, err := plotter.NewLine(thinLine(xys, 4096))
	if err != nil {
		return nil, err
	}
	l.StepStyle = plotter.PostStep
	l.Color = colCwnd
	l.Width = 1.5
	l.FillColor = colFill
	p.Add(l)
	p.Legend.Add("delivered (DELV), per "+strings.TrimSuffix(binName, " bins"), l)
	headroom(p, ymax, 1)
	return p, nil
}

// Sequence draws the time-sequence graph of SEND and RECV events: the first
// sequence number of each data segment sent, with retransmissions (a SEND
// whose sequence number was sent before) marked apart; the ACK numbers
// received for them; and, if the trace shows data coming in, the sequence
// numbers received and the ACK numbers sent. Sequence numbers are unwrapped
// past 2^32 and drawn relative to the first one of their direction, in bytes,
// kB or MB. The error wraps ErrNoData if the trace has no SEND or RECV event
// with data, SYN or FIN.
func Sequence(events []trace.Event, opt Options) (*plot.Plot, error) {
	return sequence(prepare(events), opt)
}

func sequence(d *data, opt Options) (*plot.Plot, error) {
	s := d.sequence()
	if len(s.sent)+len(s.retrans)+len(s.recvd) == 0 {
		return nil, fmt.Errorf("%w: sequence needs SEND or RECV events with data, SYN or FIN", ErrNoData)
	}
	// Show a direction with its ACKs if it carries data, or, in a trace
	// without any data, if it has a SYN or FIN.
	out, in := s.dataOut > 0, s.dataIn > 0
	if !out && !in {
		out, in = len(s.sent)+len(s.retrans) > 0, len(s.recvd) > 0
	}
	if !out {
		s.sent, s.retrans, s.acksIn, s.nRetrans = nil, nil, nil, 0
	}
	if !in {
		s.recvd, s.acksOut = nil, nil
	}
	_, _, ymin, ymax := xyRange(s.sent, s.retrans, s.acksIn, s.recvd, s.acksOut)
	div, unit := 1.0, "bytes"
	switch {
	case ymax >= 10e6:
		div, unit = 1e6, "MB"
	case ymax >= 10e3:
		div, unit = 1e3, "kB"
	}
	for _, xys := range []plotter.XYs{s.sent, s.retrans, s.acksIn, s.recvd, s.acksOut} {
		for i := range xys {
			xys[i].Y /= div
		}
	}
	ymin, ymax = ymin/div, ymax/div
	var parts []string
	if out {
		parts = append(parts, fmt.Sprintf("%d segments sent, %d retransmitted", len(s.sent)+len(s.retrans), s.nRetrans))
	}
	if in {
		parts = append(parts, fmt.Sprintf("%d received", len(s.recvd)))
	}
	title := "time-sequence graph (" + strings.Join(parts, "; ") + ")"
	p := newPlot(d, opt, title, "sequence number from the first, "+unit)
	cols, _ := opt.pixels()
	headroom(p, ymax, 5)
	p.Y.Min = min(0, ymin)

	if len(s.acksIn) > 0 {
		l, err := stepLine(s.acksIn, cols, d.end(), colAck, 1.5, false)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("ACK received", l)
	}
	if len(s.acksOut) > 0 {
		l, err := stepLine(s.acksOut, cols, d.end(), colAckOut, 1.5, false)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add("ACK sent", l)
	}
	for _, set := range []struct {
		xys   plotter.XYs
		name  string
		col   color.Color
		shape draw.GlyphDrawer
		r     vg.Length
	}{
		{s.recvd, "data received", colRecvd, draw.CircleGlyph{}, 1.5},
		{s.sent, "data sent", colCwnd, draw.CircleGlyph{}, 1.5},
		{s.retrans, "retransmission", colRTO, draw.CrossGlyph{}, 4},
	} {
		if len(set.xys) == 0 {
			continue
		}
		sc, err := points(set.xys, opt, p.X.Max, p.Y.Min, p.Y.Max, set.col, set.shape, set.r)
		if err != nil {
			return nil, err
		}
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("%s (%d)", set.name, len(set.xys)), sc)
	}
	return p, nil
}
