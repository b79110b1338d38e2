package plot

import (
	"bytes"
	"html"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/tjunet/tjunet/trace"
)

// overshoot returns a sender's trace with a slow-start peak of peak bytes
// at 1 s, a loss, then a sawtooth between 20 and 40 segments for 20 s,
// with ssthresh "infinite" (1 GiB) until the loss and a receive window of
// rwnd bytes. Segments carry mss bytes.
func overshoot(mss, peak, rwnd int) []trace.Event {
	var ev []trace.Event
	t := int64(1e12)
	add := func(e trace.Event) { e.Time = t; ev = append(ev, e) }
	add(trace.Event{Kind: trace.KindSsth, Size: 1 << 30})
	add(trace.Event{Kind: trace.KindRwnd, Size: rwnd})
	for c := mss; c < peak; c *= 2 {
		add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndSlowStart, Size: c})
		add(trace.Event{Kind: trace.KindSwnd, Size: c})
		add(trace.Event{Kind: trace.KindSend, Seq: 1, Length: mss})
		t += 100000
	}
	add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndSlowStart, Size: peak})
	t += 100000
	c := 40 * mss
	add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndFastRetransmit, Size: c})
	add(trace.Event{Kind: trace.KindSsth, Size: c})
	for range 200 {
		t += 100000
		c += mss
		if c > 40*mss {
			c = 20 * mss
			add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndFastRetransmit, Size: c})
			add(trace.Event{Kind: trace.KindSsth, Size: c})
		} else {
			add(trace.Event{Kind: trace.KindCwnd, Type: trace.CwndCongAvoid, Size: c})
		}
		add(trace.Event{Kind: trace.KindSwnd, Size: c})
		add(trace.Event{Kind: trace.KindSend, Seq: 1, Length: mss / 2})
	}
	return ev
}

// svgText renders p as SVG, where every text it draws (labels, legend,
// title) appears as it is.
func svgText(t *testing.T, p *plot.Plot) string {
	t.Helper()
	w, err := p.WriterTo(10*vg.Inch, 5*vg.Inch, "svg")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return html.UnescapeString(b.String())
}

// The slow-start peak (here 50 times the steady state) must not squash the
// sawtooth: the axis ends near the steady state's top, the peak is marked
// with its value, and the infinite ssthresh does not stretch the axis.
func TestCwndShowsSteadyState(t *testing.T) {
	const mss = 1372
	ev := overshoot(mss, 2000*mss, 6000*mss)
	p, err := Cwnd(ev, Options{})
	if err != nil {
		t.Fatal(err)
	}
	steady := 40.0 * mss / 1000 // kB
	if p.Y.Max < steady || p.Y.Max > 3*steady {
		t.Errorf("cwnd axis up to %.1f kB; want it scaled to the steady state (top %.1f kB), not the peak (%.1f kB)", p.Y.Max, steady, 2000.0*mss/1000)
	}
	if !strings.Contains(p.Title.Text, "segments of 1372 B") {
		t.Errorf("title %q: want segments of the trace's MSS, 1372 B", p.Title.Text)
	}
	if !strings.Contains(p.Y.Label.Text, "segments of 1372 B") {
		t.Errorf("axis %q: want segments of 1372 B", p.Y.Label.Text)
	}
	if got := svgText(t, p); !strings.Contains(got, "peak 2744 kB (2000 segments)") {
		t.Errorf("texts %q: want the peak marked with its value", got)
	}
	if got := svgText(t, p); !strings.Contains(got, "ssthresh = ∞") {
		t.Errorf("legend %q: want the infinite ssthresh named", got)
	}

	// Without an overshoot nothing is clipped.
	p, err = Cwnd(overshoot(mss, 40*mss, 6000*mss), Options{MSS: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Max < 40.0*mss/1000 {
		t.Errorf("axis up to %.1f kB hides the window (max %.1f kB)", p.Y.Max, 40.0*mss/1000)
	}
	if strings.Contains(svgText(t, p), "peak") || !strings.Contains(p.Title.Text, "segments of 1000 B") {
		t.Errorf("no overshoot: texts %q, title %q", svgText(t, p), p.Title.Text)
	}
}

// The windows chart: cwnd and swnd set the scale, and a receive window
// 150 times larger is drawn along the top edge and named with its value.
func TestWindowsShowCwndBesideRwnd(t *testing.T) {
	const mss = 1372
	p, err := Windows(overshoot(mss, 100*mss, 6000*mss), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Max > 3*100*mss/1000 {
		t.Errorf("windows axis up to %.1f kB: the receive window (%.1f kB) flattens cwnd (max %.1f kB)", p.Y.Max, 6000.0*mss/1000, 100.0*mss/1000)
	}
	if got := svgText(t, p); !strings.Contains(got, "rwnd (up to 8232 kB") || !strings.Contains(got, "swnd") {
		t.Errorf("legend %q: want rwnd with its value, and swnd", got)
	}
}
