package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/tjunet/tjunet/trace"
)

func chartNames() []string {
	var names []string
	for _, c := range Charts() {
		names = append(names, c.Name)
	}
	return names
}

// checkPNG decodes a PNG file and checks its size in pixels.
func checkPNG(t *testing.T, name string, w, h int) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
	}
}

// checkSVG checks that a file is well-formed XML with an svg root element.
func checkSVG(t *testing.T, name string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", name, root)
	}
}

func TestWriteAllSyntheticTrace(t *testing.T) {
	events := synth(60)
	dir := t.TempDir()
	rep, err := WriteAll(events, dir, "client", Options{Title: "synthetic Reno"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 0 {
		t.Errorf("skipped %v", rep.Skipped)
	}
	var want []string
	for _, n := range chartNames() {
		want = append(want, filepath.Join(dir, "client-"+n+".png"), filepath.Join(dir, "client-"+n+".svg"))
	}
	if !slices.Equal(rep.Files, want) {
		t.Fatalf("files %v\nwant %v", rep.Files, want)
	}
	for _, name := range rep.Files {
		if strings.HasSuffix(name, ".png") {
			checkPNG(t, name, 960, 480)
		} else {
			checkSVG(t, name)
		}
	}
}

func TestOptionsSizeAndFormat(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Width: 4 * 72, Height: 3 * 72, DPI: 50, Formats: []string{"png"}}
	rep, err := WriteAll(synth(20), dir, "", opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) != len(Charts()) {
		t.Fatalf("files %v", rep.Files)
	}
	checkPNG(t, filepath.Join(dir, "cwnd.png"), 200, 150)
	if _, err := WriteAll(synth(2), dir, "", Options{Formats: []string{"pdf"}}); err == nil {
		t.Error("WriteAll accepted format pdf")
	}
}

func TestAbsentEventsSkipCharts(t *testing.T) {
	only := func(kinds ...trace.Kind) []trace.Event {
		var out []trace.Event
		for _, e := range synth(30) {
			if slices.Contains(kinds, e.Kind) {
				out = append(out, e)
			}
		}
		return out
	}
	tests := []struct {
		name   string
		events []trace.Event
		drawn  []string
	}{
		{"receive window only", only(trace.KindRwnd), []string{"rwnd", "windows"}},
		{"sender without RTT", only(trace.KindSend, trace.KindRecv, trace.KindCwnd), []string{"cwnd", "windows", "sequence"}},
		{"deliveries only", only(trace.KindDelv), []string{"throughput"}},
		{"rtt and ssthresh", only(trace.KindRtts, trace.KindSsth), []string{"rtt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rep, err := WriteAll(tt.events, dir, "x", Options{Formats: []string{"svg"}})
			if err != nil {
				t.Fatal(err)
			}
			var drawn, skipped []string
			for _, f := range rep.Files {
				drawn = append(drawn, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "x-"), ".svg"))
			}
			for _, s := range rep.Skipped {
				skipped = append(skipped, s.Chart)
				if !errors.Is(s.Reason, ErrNoData) {
					t.Errorf("skip reason %v does not wrap ErrNoData", s.Reason)
				}
			}
			if !slices.Equal(drawn, tt.drawn) {
				t.Errorf("drew %v, want %v", drawn, tt.drawn)
			}
			if len(drawn)+len(skipped) != len(Charts()) {
				t.Errorf("drawn %v + skipped %v is not every chart", drawn, skipped)
			}
		})
	}
}

func TestNothingToPlot(t *testing.T) {
	for _, events := range [][]trace.Event{
		nil,
		{{Kind: trace.KindSsth, Size: 1}},
		{{Kind: trace.KindSend, Flags: trace.FlagACK}}, // a pure ACK: no sequence space used
	} {
		dir := t.TempDir()
		rep, err := WriteAll(events, dir, "", Options{})
		if !errors.Is(err, ErrNoData) {
			t.Errorf("WriteAll(%v) = %v, want ErrNoData", events, err)
		}
		if len(rep.Files) != 0 {
			t.Errorf("files written: %v", rep.Files)
		}
	}
	if _, err := Cwnd(nil, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("Cwnd(nil) = %v", err)
	}
}

func TestOddValuesDoNotBreakCharts(t *testing.T) {
	events := []trace.Event{
		{Time: 5, Kind: trace.KindRtts, SampleRTT: math.NaN(), EstimatedRTT: math.Inf(1), TimeoutInterval: 1000},
		{Time: 3, Kind: trace.KindCwnd, Type: 9, Size: 0}, // out of order, unknown type
		{Time: 3, Kind: trace.KindRwnd, Size: -5},
		{Time: 3, Kind: trace.KindSwnd, Size: 7},
		{Time: 4, Kind: trace.KindDelv, Size: 100},
		{Time: 4, Kind: trace.KindSsth, Size: math.MaxInt32},
	}
	for _, c := range Charts() {
		p, err := c.Plot(events, Options{})
		if errors.Is(err, ErrNoData) {
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if err := Save(p, filepath.Join(t.TempDir(), c.Name+".png"), Options{DPI: 30}); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

func TestLargeTrace(t *testing.T) {
	events := synth(900)
	if len(events) < 300000 {
		t.Fatalf("only %d events", len(events))
	}
	start := time.Now()
	rep, err := WriteAll(events, t.TempDir(), "big", Options{Formats: []string{"svg"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events: %d files in %v", len(events), len(rep.Files), time.Since(start))
	for _, f := range rep.Files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		// Thinning keeps the files small whatever the number of events.
		if fi.Size() > 2<<20 {
			t.Errorf("%s is %d bytes", f, fi.Size())
		}
	}
}

func TestSequenceUnwrapsAndFindsRetransmissions(t *testing.T) {
	const mss = 1000
	isn := uint32(math.MaxUint32 - 2500)
	var events []trace.Event
	seq := isn
	for i := range 10 { // crosses 2^32 at the third segment
		events = append(events, trace.Event{Time: int64(i), Kind: trace.KindSend, Seq: seq, Length: mss})
		seq += mss
	}
	events = append(events,
		trace.Event{Time: 10, Kind: trace.KindSend, Seq: isn + 3*mss, Length: mss},      // retransmission
		trace.Event{Time: 11, Kind: trace.KindSend, Seq: isn + 3*mss + 500, Length: 10}, // partial, also
		trace.Event{Time: 12, Kind: trace.KindSend, Seq: seq, Length: mss},              // new data
		trace.Event{Time: 13, Kind: trace.KindRecv, Ack: isn + 5*mss, Flags: trace.FlagACK},
		trace.Event{Time: 14, Kind: trace.KindRecv, Ack: 77}, // no ACK flag: ignored
	)
	s := prepare(events).sequence()
	if len(s.sent) != 11 || s.nRetrans != 2 {
		t.Fatalf("sent %d, retransmitted %d; want 11, 2", len(s.sent), s.nRetrans)
	}
	for i, p := range s.sent[:10] {
		if p.Y != float64(i*mss) {
			t.Errorf("segment %d at %v, want %d", i, p.Y, i*mss)
		}
	}
	if s.sent[10].Y != 10*mss || s.retrans[0].Y != 3*mss || s.retrans[1].Y != 3*mss+500 {
		t.Errorf("new data at %v, retransmissions at %v", s.sent[10].Y, s.retrans)
	}
	if len(s.acksIn) != 1 || s.acksIn[0].Y != 5*mss {
		t.Errorf("acks %v", s.acksIn)
	}
}

func TestThinLineKeepsExtremes(t *testing.T) {
	var xys plotter.XYs
	for i := range 100000 {
		y := float64(i % 1000)
		if i == 54321 {
			y = 1e6 // a spike
		}
		xys = append(xys, plotter.XY{X: float64(i), Y: y})
	}
	out := thinLine(xys, 500)
	if len(out) > 4*500+4 {
		t.Errorf("%d points left", len(out))
	}
	_, _, lo, hi := xyRange(out)
	if lo != 0 || hi != 1e6 || out[0] != xys[0] || out[len(out)-1] != xys[len(xys)-1] {
		t.Errorf("range %v..%v, ends %v %v", lo, hi, out[0], out[len(out)-1])
	}
	for i := 1; i < len(out); i++ {
		if out[i].X < out[i-1].X {
			t.Fatalf("out of order at %d", i)
		}
	}
}

func TestThinPointsOnePerCell(t *testing.T) {
	var xys plotter.XYs
	for i := range 10000 {
		xys = append(xys, plotter.XY{X: float64(i % 10), Y: float64(i % 7)})
	}
	xys = append(xys, plotter.XY{X: 50, Y: 1}) // outside: dropped
	out := thinPoints(xys, 10, 7, 0, 9, 0, 6)
	if len(out) != 70 {
		t.Errorf("%d points, want 70", len(out))
	}
}

func BenchmarkWriteAllPNG(b *testing.B) {
	events := synth(1000)
	dir := b.TempDir()
	for b.Loop() {
		if _, err := WriteAll(events, dir, "", Options{Formats: []string{"png"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(events)), "events")
}
