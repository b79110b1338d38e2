package plot

import (
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"

	"github.com/tjunet/tjunet/trace"
)

// data is a trace prepared for plotting: events in time order and the time
// origin.
type data struct {
	events []trace.Event
	t0     int64 // microseconds of the first event
	counts map[trace.Kind]int
}

func prepare(events []trace.Event) *data {
	d := &data{events: events, counts: map[trace.Kind]int{}}
	if !slices.IsSortedFunc(events, byTime) {
		d.events = slices.Clone(events)
		slices.SortStableFunc(d.events, byTime)
	}
	if len(d.events) > 0 {
		d.t0 = d.events[0].Time
	}
	for i := range d.events {
		d.counts[d.events[i].Kind]++
	}
	return d
}

func byTime(a, b trace.Event) int {
	switch {
	case a.Time < b.Time:
		return -1
	case a.Time > b.Time:
		return 1
	}
	return 0
}

// sec returns the time of e in seconds since the first event.
func (d *data) sec(e *trace.Event) float64 { return float64(e.Time-d.t0) / 1e6 }

// has reports whether the trace holds an event of any of kinds.
func (d *data) has(kinds ...trace.Kind) bool {
	for _, k := range kinds {
		if d.counts[k] > 0 {
			return true
		}
	}
	return false
}

// sizes returns the Size of every event of kind k, divided by div, against time.
func (d *data) sizes(k trace.Kind, div float64) plotter.XYs {
	xys := make(plotter.XYs, 0, d.counts[k])
	for i := range d.events {
		e := &d.events[i]
		if e.Kind == k {
			xys = append(xys, plotter.XY{X: d.sec(e), Y: float64(e.Size) / div})
		}
	}
	return xys
}

// finite reports whether v can be plotted.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// rttSeries returns the RTT sample, the smoothed RTT and the RTO of the RTTS
// events, in milliseconds, leaving out values that are not finite.
func (d *data) rttSeries() (sample, srtt, rto plotter.XYs) {
	n := d.counts[trace.KindRtts]
	sample, srtt, rto = make(plotter.XYs, 0, n), make(plotter.XYs, 0, n), make(plotter.XYs, 0, n)
	for i := range d.events {
		e := &d.events[i]
		if e.Kind != trace.KindRtts {
			continue
		}
		t := d.sec(e)
		if finite(e.SampleRTT) {
			sample = append(sample, plotter.XY{X: t, Y: e.SampleRTT})
		}
		if finite(e.EstimatedRTT) {
			srtt = append(srtt, plotter.XY{X: t, Y: e.EstimatedRTT})
		}
		if finite(e.TimeoutInterval) {
			rto = append(rto, plotter.XY{X: t, Y: e.TimeoutInterval})
		}
	}
	return sample, srtt, rto
}

// maxBins bounds the number of throughput bins, whatever the trace's span.
const maxBins = 100000

// throughputBins sums the sizes of DELV events in bins of width seconds,
// aligned on whole seconds from the first event: one second, or more if the
// deliveries span more than maxBins seconds. It returns the time at which the
// first bin starts, the bytes in each bin, the total, and the time of the
// last delivery.
func (d *data) throughputBins() (start, width float64, bins []float64, total, last float64) {
	first := math.Inf(1)
	last = math.Inf(-1)
	for i := range d.events {
		if e := &d.events[i]; e.Kind == trace.KindDelv && e.Size > 0 {
			t := d.sec(e)
			first, last = min(first, t), max(last, t)
		}
	}
	if first > last {
		return 0, 1, nil, 0, 0
	}
	start, width = math.Floor(first), 1
	if span := last - start; span >= maxBins {
		width = math.Ceil(span / (maxBins - 1))
	}
	bins = make([]float64, int((last-start)/width)+1)
	for i := range d.events {
		e := &d.events[i]
		if e.Kind != trace.KindDelv || e.Size <= 0 {
			continue
		}
		b := min(int((d.sec(e)-start)/width), len(bins)-1)
		bins[b] += float64(e.Size)
		total += float64(e.Size)
	}
	return start, width, bins, total, last
}

// unwrapper turns 32-bit sequence numbers into a 64-bit sequence relative to
// the first one it sees, assuming consecutive values are less than 2^31 apart.
type unwrapper struct {
	started bool
	first   int64
	last    int64
}

func (u *unwrapper) rel(v uint32) int64 {
	if !u.started {
		u.started = true
		u.first, u.last = int64(v), int64(v)
		return 0
	}
	u.last += int64(int32(v - uint32(u.last)))
	return u.last - u.first
}

// seqSeries is what the time-sequence graph draws, in bytes relative to the
// first sequence number of each direction.
type seqSeries struct {
	sent, retrans, acksIn plotter.XYs // our data, its retransmissions, the peer's ACKs of it
	recvd, acksOut        plotter.XYs // the peer's data and our ACKs of it
	nRetrans              int
	dataOut, dataIn       int // segments with a payload sent and received
}

// sequence extracts the time-sequence graph from SEND and RECV events. Data
// segments (with a payload, or SYN or FIN, which take one sequence number) are
// plotted at their first sequence number; a SEND whose first sequence number
// was sent before is a retransmission. ACK numbers count only when the ACK flag
// is set (lab data segments often carry ack 0 without it).
func (d *data) sequence() seqSeries {
	var s seqSeries
	var ours, theirs unwrapper // our send sequence space, the peer's
	var sentEnd int64 = math.MinInt64
	for i := range d.events {
		e := &d.events[i]
		if e.Kind != trace.KindSend && e.Kind != trace.KindRecv {
			continue
		}
		t := d.sec(e)
		span := int64(max(e.Length, 0))
		if e.Flags&(trace.FlagSYN|trace.FlagFIN) != 0 {
			span++
		}
		if e.Kind == trace.KindSend {
			seq := ours.rel(e.Seq)
			if e.Length > 0 {
				s.dataOut++
			}
			if span > 0 {
				if seq < sentEnd {
					s.retrans = append(s.retrans, plotter.XY{X: t, Y: float64(seq)})
					s.nRetrans++
				} else {
					s.sent = append(s.sent, plotter.XY{X: t, Y: float64(seq)})
				}
				sentEnd = max(sentEnd, seq+span)
			}
			if e.Flags&trace.FlagACK != 0 {
				s.acksOut = append(s.acksOut, plotter.XY{X: t, Y: float64(theirs.rel(e.Ack))})
			}
			continue
		}
		seq := theirs.rel(e.Seq)
		if e.Length > 0 {
			s.dataIn++
		}
		if span > 0 {
			s.recvd = append(s.recvd, plotter.XY{X: t, Y: float64(seq)})
		}
		if e.Flags&trace.FlagACK != 0 {
			s.acksIn = append(s.acksIn, plotter.XY{X: t, Y: float64(ours.rel(e.Ack))})
		}
	}
	return s
}

// thinLine reduces a time-ordered series to at most four points per column,
// for cols columns across its time range: the first, lowest, highest and last
// point of each, in their order. Drawn as a line (or steps) the result looks
// the same as the whole series at that resolution.
func thinLine(xys plotter.XYs, cols int) plotter.XYs {
	if cols < 1 || len(xys) <= 4*cols {
		return xys
	}
	x0, x1 := xys[0].X, xys[len(xys)-1].X
	if !(x1 > x0) {
		return xys
	}
	scale := float64(cols) / (x1 - x0)
	out := make(plotter.XYs, 0, 4*cols+1)
	for i := 0; i < len(xys); {
		col := int((xys[i].X - x0) * scale)
		j := i
		lo, hi := i, i
		for j < len(xys) && int((xys[j].X-x0)*scale) == col {
			if xys[j].Y < xys[lo].Y {
				lo = j
			}
			if xys[j].Y > xys[hi].Y {
				hi = j
			}
			j++
		}
		keep := [4]int{i, lo, hi, j - 1}
		slices.Sort(keep[:])
		prev := -1
		for _, k := range keep {
			if k != prev {
				out = append(out, xys[k])
				prev = k
			}
		}
		i = j
	}
	return out
}

// thinPoints keeps one point per cell of a cols x rows grid over the given
// ranges: drawn as markers, the result covers the same pixels as the whole set.
// Points outside the ranges are dropped (a Scatter does not clip).
func thinPoints(xys plotter.XYs, cols, rows int, xmin, xmax, ymin, ymax float64) plotter.XYs {
	cols, rows = max(cols, 1), max(rows, 1)
	xs, ys := xmax-xmin, ymax-ymin
	if !(xs > 0) {
		xs = 1
	}
	if !(ys > 0) {
		ys = 1
	}
	seen := make([]uint64, (cols*rows+63)/64)
	out := make(plotter.XYs, 0, min(len(xys), cols*4))
	for _, p := range xys {
		c := int(math.Floor((p.X - xmin) / xs * float64(cols-1)))
		r := int(math.Floor((p.Y - ymin) / ys * float64(rows-1)))
		if c < 0 || c >= cols || r < 0 || r >= rows {
			continue
		}
		cell := r*cols + c
		if seen[cell/64]&(1<<(cell%64)) != 0 {
			continue
		}
		seen[cell/64] |= 1 << (cell % 64)
		out = append(out, p)
	}
	return out
}

// xyRange returns the bounds of several series together.
func xyRange(series ...plotter.XYs) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s {
			xmin, xmax = min(xmin, p.X), max(xmax, p.X)
			ymin, ymax = min(ymin, p.Y), max(ymax, p.Y)
		}
	}
	return
}
